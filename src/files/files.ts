// The Files API's storage: one row per file in the SQLite database, the bytes in
// <data dir>/files/<id>, written to a temporary name, synced and renamed into place before the
// row exists, so a listed file always has its content. Deleting a file first lets the modules
// that use it let go of it (vector stores drop it), then removes the row and the bytes.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { FileObject } from 'openai/resources/files';
import { notFound } from '../protocol/errors.js';
import { newFileId } from './ids.js';

export const FILE_PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'] as const;
export type FilePurpose = (typeof FILE_PURPOSES)[number];

export interface ListPage<T> {
  object: 'list';
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface FileListQuery {
  purpose?: string;
  limit?: number;
  after?: string;
  order?: 'asc' | 'desc';
}

export interface NewFile {
  filename: string;
  bytes: number;
  purpose: FilePurpose;
  /** `expires_after.seconds` (anchor `created_at`). */
  expiresAfterSeconds?: number;
}

export const fileNotFound = (id: string) => notFound(`No such File object: ${id}`, 'file_id');

const nowSeconds = () => Math.floor(Date.now() / 1000);

export class Files {
  readonly dir: string;
  private readonly deleteHooks: Array<(fileId: string) => void> = [];
  private readonly insert: Database.Statement;
  private readonly select: Database.Statement<[string], { json: string; expires_at: number | null }>;
  private readonly rowid: Database.Statement<[string], { rowid: number }>;
  private readonly remove: Database.Statement<[string]>;
  private readonly expired: Database.Statement<[number], { id: string }>;

  constructor(
    private readonly db: Database.Database,
    dataDir: string,
  ) {
    this.dir = path.join(dataDir, 'files');
    fs.mkdirSync(this.dir, { recursive: true });
    // Uploads cut short by a crash leave their temporary file behind.
    for (const name of fs.readdirSync(this.dir)) if (name.startsWith('.upload-')) fs.rmSync(path.join(this.dir, name), { force: true });
    this.insert = db.prepare(`INSERT INTO files (id, created_at, purpose, expires_at, json) VALUES (?, ?, ?, ?, ?)`);
    this.select = db.prepare(`SELECT json, expires_at FROM files WHERE id = ?`);
    this.rowid = db.prepare(`SELECT rowid FROM files WHERE id = ?`);
    this.remove = db.prepare(`DELETE FROM files WHERE id = ?`);
    this.expired = db.prepare(`SELECT id FROM files WHERE expires_at IS NOT NULL AND expires_at <= ?`);
  }

  /** Runs inside the deletion's transaction, before the row goes. */
  onDelete(hook: (fileId: string) => void): void {
    this.deleteHooks.push(hook);
  }

  /** Where an upload is written before it becomes a file. */
  temporaryPath(): string {
    return path.join(this.dir, `.upload-${randomBytes(12).toString('hex')}`);
  }

  contentPath(id: string): string {
    return path.join(this.dir, id);
  }

  /** Moves a fully written, synced upload into place and records it. */
  async add(temporaryPath: string, file: NewFile): Promise<FileObject> {
    const id = newFileId();
    const createdAt = nowSeconds();
    const object: FileObject = {
      id,
      object: 'file',
      bytes: file.bytes,
      created_at: createdAt,
      filename: file.filename,
      purpose: file.purpose as FileObject['purpose'],
      status: 'processed',
    };
    if (file.expiresAfterSeconds !== undefined) object.expires_at = createdAt + file.expiresAfterSeconds;
    await fs.promises.rename(temporaryPath, this.contentPath(id));
    await syncDirectory(this.dir);
    try {
      this.insert.run(id, createdAt, file.purpose, object.expires_at ?? null, JSON.stringify(object));
    } catch (error) {
      await fs.promises.rm(this.contentPath(id), { force: true });
      throw error;
    }
    return object;
  }

  /** The file, or null (also once it has expired). */
  get(id: string): FileObject | null {
    const row = this.select.get(id);
    if (!row || (row.expires_at !== null && row.expires_at <= nowSeconds())) return null;
    return JSON.parse(row.json) as FileObject;
  }

  require(id: string): FileObject {
    const file = this.get(id);
    if (!file) throw fileNotFound(id);
    return file;
  }

  list(query: FileListQuery): ListPage<FileObject> {
    const order = query.order === 'asc' ? 'ASC' : 'DESC';
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? 10_000) || 10_000, 1), 10_000);
    const where = ['(expires_at IS NULL OR expires_at > ?)'];
    const params: unknown[] = [nowSeconds()];
    if (query.purpose) {
      where.push('purpose = ?');
      params.push(query.purpose);
    }
    if (query.after) {
      const after = this.rowid.get(query.after);
      if (!after) return { object: 'list', data: [], first_id: null, last_id: null, has_more: false };
      where.push(order === 'ASC' ? 'rowid > ?' : 'rowid < ?');
      params.push(after.rowid);
    }
    const rows = this.db
      .prepare(`SELECT json FROM files WHERE ${where.join(' AND ')} ORDER BY rowid ${order} LIMIT ?`)
      .all(...params, limit + 1) as Array<{ json: string }>;
    const data = rows.slice(0, limit).map((r) => JSON.parse(r.json) as FileObject);
    return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: rows.length > limit };
  }

  /** Deletes the file everywhere; false if there was none. */
  delete(id: string): boolean {
    const deleted = this.db.transaction(() => {
      if (!this.select.get(id)) return false;
      for (const hook of this.deleteHooks) hook(id);
      return this.remove.run(id).changes > 0;
    })();
    if (deleted) fs.rmSync(this.contentPath(id), { force: true });
    return deleted;
  }

  /** Deletes the files whose `expires_at` has passed; returns how many. */
  sweepExpired(): number {
    const ids = this.expired.all(nowSeconds()).map((r) => r.id);
    for (const id of ids) this.delete(id);
    return ids.length;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | null = null;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems cannot sync a directory; the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}
