// The SQL of vector stores (migration 3): stores, their files and batches, chunks and their FTS5
// index, extracted texts, and file_search call outputs. Synchronous (better-sqlite3): callers
// group statements into transactions and keep each one short.
import type Database from 'better-sqlite3';
import type { Attributes } from './filters.js';

export type VectorStoreFileStatus = 'in_progress' | 'completed' | 'cancelled' | 'failed';

/** What a vector_stores row holds as JSON. */
export interface StoreRecord {
  name: string;
  description?: string;
  metadata: Record<string, string> | null;
  expires_after?: { anchor: 'last_active_at'; days: number };
  last_active_at: number;
}

export interface StoreRow {
  id: string;
  created_at: number;
  record: StoreRecord;
}

export interface FileRow {
  seq: number;
  vector_store_id: string;
  file_id: string;
  batch_id: string | null;
  created_at: number;
  status: VectorStoreFileStatus;
  usage_bytes: number;
  last_error: { code: 'server_error' | 'unsupported_file' | 'invalid_file'; message: string } | null;
  attributes: Attributes | null;
  chunking: { max_chunk_size_tokens: number; chunk_overlap_tokens: number };
}

export interface Counts {
  in_progress: number;
  completed: number;
  failed: number;
  cancelled: number;
  total: number;
}

export interface BatchRow {
  id: string;
  vector_store_id: string;
  created_at: number;
  cancelled: boolean;
}

export interface ChunkInsert {
  position: number;
  text: string;
  embedding: Float32Array | null;
}

export interface ListQuery {
  limit?: number;
  after?: string;
  before?: string;
  order?: 'asc' | 'desc';
}

interface RawFileRow {
  seq: number;
  vector_store_id: string;
  file_id: string;
  batch_id: string | null;
  created_at: number;
  status: VectorStoreFileStatus;
  usage_bytes: number;
  last_error: string | null;
  attributes: string | null;
  chunking_strategy: string;
}

const parseFileRow = (row: RawFileRow): FileRow => ({
  seq: row.seq,
  vector_store_id: row.vector_store_id,
  file_id: row.file_id,
  batch_id: row.batch_id,
  created_at: row.created_at,
  status: row.status,
  usage_bytes: row.usage_bytes,
  last_error: row.last_error ? JSON.parse(row.last_error) : null,
  attributes: row.attributes ? JSON.parse(row.attributes) : null,
  chunking: JSON.parse(row.chunking_strategy),
});

const emptyCounts = (): Counts => ({ in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 });

export function clampLimit(limit: number | undefined, fallback = 20, max = 100): number {
  const n = Number.isFinite(limit) ? Math.trunc(limit!) : fallback;
  return Math.min(Math.max(n, 1), max);
}

export class VectorStoreRepo {
  private readonly s;

  constructor(readonly db: Database.Database) {
    this.s = {
      insertStore: db.prepare(`INSERT INTO vector_stores (id, created_at, json) VALUES (?, ?, ?)`),
      selectStore: db.prepare<[string], { id: string; created_at: number; json: string }>(`SELECT id, created_at, json FROM vector_stores WHERE id = ?`),
      updateStore: db.prepare(`UPDATE vector_stores SET json = ? WHERE id = ?`),
      deleteStore: db.prepare(`DELETE FROM vector_stores WHERE id = ?`),
      storeRowid: db.prepare<[string], { rowid: number }>(`SELECT rowid FROM vector_stores WHERE id = ?`),
      counts: db.prepare<[string], { status: VectorStoreFileStatus; n: number; bytes: number }>(
        `SELECT status, COUNT(*) AS n, SUM(usage_bytes) AS bytes FROM vector_store_files WHERE vector_store_id = ? GROUP BY status`,
      ),
      batchCounts: db.prepare<[string], { status: VectorStoreFileStatus; n: number }>(
        `SELECT status, COUNT(*) AS n FROM vector_store_files WHERE batch_id = ? GROUP BY status`,
      ),
      insertFile: db.prepare(
        `INSERT INTO vector_store_files (vector_store_id, file_id, batch_id, created_at, status, usage_bytes, last_error, attributes, chunking_strategy)
         VALUES (?, ?, ?, ?, 'in_progress', 0, NULL, ?, ?)`,
      ),
      selectFile: db.prepare<[string, string], RawFileRow>(`SELECT * FROM vector_store_files WHERE vector_store_id = ? AND file_id = ?`),
      filesOf: db.prepare<[string], RawFileRow>(`SELECT * FROM vector_store_files WHERE file_id = ?`),
      filesIn: db.prepare<[string], RawFileRow>(`SELECT * FROM vector_store_files WHERE vector_store_id = ?`),
      completedIn: db.prepare<[string], { file_id: string; attributes: string | null; seq: number }>(
        `SELECT file_id, attributes, seq FROM vector_store_files WHERE vector_store_id = ? AND status = 'completed'`,
      ),
      ingesting: db.prepare<[string, string, number], { seq: number }>(
        `SELECT seq FROM vector_store_files WHERE vector_store_id = ? AND file_id = ? AND seq = ? AND status = 'in_progress'`,
      ),
      inProgress: db.prepare<[], RawFileRow>(`SELECT * FROM vector_store_files WHERE status = 'in_progress' ORDER BY seq`),
      deleteFile: db.prepare(`DELETE FROM vector_store_files WHERE vector_store_id = ? AND file_id = ?`),
      deleteFilesIn: db.prepare(`DELETE FROM vector_store_files WHERE vector_store_id = ?`),
      setAttributes: db.prepare(`UPDATE vector_store_files SET attributes = ? WHERE vector_store_id = ? AND file_id = ?`),
      complete: db.prepare(
        `UPDATE vector_store_files SET status = 'completed', usage_bytes = ?, last_error = NULL
         WHERE vector_store_id = ? AND file_id = ? AND seq = ? AND status = 'in_progress'`,
      ),
      fail: db.prepare(
        `UPDATE vector_store_files SET status = 'failed', usage_bytes = 0, last_error = ?
         WHERE vector_store_id = ? AND file_id = ? AND seq = ? AND status = 'in_progress'`,
      ),
      cancelBatchFiles: db.prepare<[string], { vector_store_id: string; file_id: string }>(
        `UPDATE vector_store_files SET status = 'cancelled' WHERE batch_id = ? AND status = 'in_progress' RETURNING vector_store_id, file_id`,
      ),
      insertBatch: db.prepare(`INSERT INTO vector_store_file_batches (id, vector_store_id, created_at) VALUES (?, ?, ?)`),
      selectBatch: db.prepare<[string, string], { id: string; vector_store_id: string; created_at: number; cancelled: number }>(
        `SELECT * FROM vector_store_file_batches WHERE id = ? AND vector_store_id = ?`,
      ),
      markBatchCancelled: db.prepare(`UPDATE vector_store_file_batches SET cancelled = 1 WHERE id = ?`),
      deleteBatchesIn: db.prepare(`DELETE FROM vector_store_file_batches WHERE vector_store_id = ?`),
      insertChunk: db.prepare(`INSERT INTO chunks (vector_store_id, file_id, position, text, embedding) VALUES (?, ?, ?, ?, ?)`),
      deleteChunks: db.prepare(`DELETE FROM chunks WHERE vector_store_id = ? AND file_id = ?`),
      deleteChunksIn: db.prepare(`DELETE FROM chunks WHERE vector_store_id = ?`),
      chunkUsage: db.prepare<[string, string], { bytes: number | null }>(
        `SELECT SUM(length(CAST(text AS BLOB)) + COALESCE(length(embedding), 0)) AS bytes FROM chunks WHERE vector_store_id = ? AND file_id = ?`,
      ),
      selectText: db.prepare<[string], { text: string }>(`SELECT text FROM file_texts WHERE file_id = ?`),
      insertText: db.prepare(`INSERT OR REPLACE INTO file_texts (file_id, text) VALUES (?, ?)`),
      deleteText: db.prepare(`DELETE FROM file_texts WHERE file_id = ?`),
      insertCall: db.prepare(`INSERT OR REPLACE INTO file_search_calls (item_id, created_at, output) VALUES (?, ?, ?)`),
      selectCall: db.prepare<[string], { output: string }>(`SELECT output FROM file_search_calls WHERE item_id = ?`),
    };
  }

  /**
   * Runs `fn` in a transaction that takes the write lock first (BEGIN IMMEDIATE): the ingestion
   * workers write to the same database through their own connections, and a transaction that
   * read before it wrote would fail with SQLITE_BUSY rather than wait for them.
   */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /**
   * Counts this connection's changes to vector store files and chunks: search caches what they
   * say (with SQLite's data_version, which counts the other connections' commits).
   */
  version = 0;

  // Vector stores ------------------------------------------------------------------------------

  insertStore(id: string, createdAt: number, record: StoreRecord): void {
    this.s.insertStore.run(id, createdAt, JSON.stringify(record));
  }

  store(id: string): StoreRow | null {
    const row = this.s.selectStore.get(id);
    return row ? { id: row.id, created_at: row.created_at, record: JSON.parse(row.json) } : null;
  }

  updateStore(id: string, record: StoreRecord): void {
    this.s.updateStore.run(JSON.stringify(record), id);
  }

  /** Deletes the store, its files, batches and chunks. */
  deleteStore(id: string): boolean {
    this.version++;
    return this.transaction(() => {
      this.s.deleteChunksIn.run(id);
      this.s.deleteFilesIn.run(id);
      this.s.deleteBatchesIn.run(id);
      return this.s.deleteStore.run(id).changes > 0;
    });
  }

  listStores(query: ListQuery): { rows: StoreRow[]; hasMore: boolean } {
    return this.page('vector_stores', 'rowid', [], query, (id) => this.s.storeRowid.get(id)?.rowid, (r: { id: string; created_at: number; json: string }) => ({
      id: r.id,
      created_at: r.created_at,
      record: JSON.parse(r.json),
    }));
  }

  /** File counts by status and the bytes the completed files use. */
  counts(storeId: string): { counts: Counts; usageBytes: number } {
    const counts = emptyCounts();
    let usageBytes = 0;
    for (const row of this.s.counts.all(storeId)) {
      counts[row.status] = row.n;
      counts.total += row.n;
      if (row.status === 'completed') usageBytes += row.bytes ?? 0;
    }
    return { counts, usageBytes };
  }

  // Vector store files -------------------------------------------------------------------------

  /** Attaches a file (replacing an earlier attachment): in_progress, no chunks yet. */
  insertFile(storeId: string, fileId: string, batchId: string | null, createdAt: number, attributes: Attributes | null, chunking: FileRow['chunking']): FileRow {
    this.version++;
    this.s.deleteChunks.run(storeId, fileId);
    this.s.deleteFile.run(storeId, fileId);
    this.s.insertFile.run(storeId, fileId, batchId, createdAt, attributes ? JSON.stringify(attributes) : null, JSON.stringify(chunking));
    return this.file(storeId, fileId)!;
  }

  file(storeId: string, fileId: string): FileRow | null {
    const row = this.s.selectFile.get(storeId, fileId);
    return row ? parseFileRow(row) : null;
  }

  /** Every vector store file of one uploaded file. */
  attachmentsOf(fileId: string): FileRow[] {
    return this.s.filesOf.all(fileId).map(parseFileRow);
  }

  filesIn(storeId: string): FileRow[] {
    return this.s.filesIn.all(storeId).map(parseFileRow);
  }

  completedFiles(storeId: string): Array<{ fileId: string; attributes: Attributes | null; seq: number }> {
    return this.s.completedIn.all(storeId).map((r) => ({ fileId: r.file_id, attributes: r.attributes ? JSON.parse(r.attributes) : null, seq: r.seq }));
  }

  /** Whether attachment `seq` is still there and still being ingested. */
  ingesting(storeId: string, fileId: string, seq: number): boolean {
    return this.s.ingesting.get(storeId, fileId, seq) !== undefined;
  }

  inProgressFiles(): FileRow[] {
    return this.s.inProgress.all().map(parseFileRow);
  }

  /** Detaches a file and drops its chunks. */
  deleteFile(storeId: string, fileId: string): boolean {
    this.version++;
    this.s.deleteChunks.run(storeId, fileId);
    return this.s.deleteFile.run(storeId, fileId).changes > 0;
  }

  setAttributes(storeId: string, fileId: string, attributes: Attributes | null): void {
    this.version++;
    this.s.setAttributes.run(attributes ? JSON.stringify(attributes) : null, storeId, fileId);
  }

  /** in_progress → completed for attachment `seq` only (not one that replaced it); false if it is gone. */
  complete(storeId: string, fileId: string, seq: number): boolean {
    this.version++;
    const usage = this.s.chunkUsage.get(storeId, fileId)?.bytes ?? 0;
    return this.s.complete.run(usage, storeId, fileId, seq).changes > 0;
  }

  fail(storeId: string, fileId: string, seq: number, error: NonNullable<FileRow['last_error']>): boolean {
    this.version++;
    this.s.deleteChunks.run(storeId, fileId);
    return this.s.fail.run(JSON.stringify(error), storeId, fileId, seq).changes > 0;
  }

  listFiles(storeId: string, query: ListQuery & { filter?: string; batchId?: string }): { rows: FileRow[]; hasMore: boolean } {
    const where = ['vector_store_id = ?'];
    const params: unknown[] = [storeId];
    if (query.filter) {
      where.push('status = ?');
      params.push(query.filter);
    }
    if (query.batchId) {
      where.push('batch_id = ?');
      params.push(query.batchId);
    }
    return this.page(
      'vector_store_files',
      'seq',
      [where, params],
      query,
      (id) => this.s.selectFile.get(storeId, id)?.seq,
      parseFileRow,
    );
  }

  // Batches ------------------------------------------------------------------------------------

  insertBatch(id: string, storeId: string, createdAt: number): void {
    this.s.insertBatch.run(id, storeId, createdAt);
  }

  batch(storeId: string, id: string): BatchRow | null {
    const row = this.s.selectBatch.get(id, storeId);
    return row ? { id: row.id, vector_store_id: row.vector_store_id, created_at: row.created_at, cancelled: row.cancelled === 1 } : null;
  }

  batchCounts(id: string): Counts {
    const counts = emptyCounts();
    for (const row of this.s.batchCounts.all(id)) {
      counts[row.status] = row.n;
      counts.total += row.n;
    }
    return counts;
  }

  /** Marks the batch cancelled and its unfinished files `cancelled` (their chunks go); returns those files. */
  cancelBatch(id: string): Array<{ vector_store_id: string; file_id: string }> {
    this.version++;
    this.s.markBatchCancelled.run(id);
    const cancelled = this.s.cancelBatchFiles.all(id);
    for (const f of cancelled) this.s.deleteChunks.run(f.vector_store_id, f.file_id);
    return cancelled;
  }

  // Chunks, texts, call outputs ----------------------------------------------------------------

  insertChunks(storeId: string, fileId: string, chunks: readonly ChunkInsert[]): void {
    this.version++;
    for (const c of chunks) {
      const embedding = c.embedding ? Buffer.from(c.embedding.buffer, c.embedding.byteOffset, c.embedding.byteLength) : null;
      this.s.insertChunk.run(storeId, fileId, c.position, c.text, embedding);
    }
  }

  deleteChunks(storeId: string, fileId: string): void {
    this.version++;
    this.s.deleteChunks.run(storeId, fileId);
  }

  fileText(fileId: string): string | null {
    return this.s.selectText.get(fileId)?.text ?? null;
  }

  setFileText(fileId: string, text: string): void {
    this.s.insertText.run(fileId, text);
  }

  deleteFileText(fileId: string): void {
    this.s.deleteText.run(fileId);
  }

  saveCallOutput(itemId: string, output: string): void {
    this.s.insertCall.run(itemId, Math.floor(Date.now() / 1000), output);
  }

  callOutput(itemId: string): string | null {
    return this.s.selectCall.get(itemId)?.output ?? null;
  }

  // Pagination ---------------------------------------------------------------------------------

  /** Cursor pagination by insertion order (`key`): after/before are ids, order desc by default. */
  private page<R, T>(
    table: string,
    key: string,
    [where, params]: [string[], unknown[]] | [],
    query: ListQuery,
    position: (id: string) => number | undefined,
    map: (row: R) => T,
  ): { rows: T[]; hasMore: boolean } {
    const clauses = [...(where ?? [])];
    const args = [...(params ?? [])];
    const desc = query.order !== 'asc';
    const limit = clampLimit(query.limit);
    for (const [cursor, forward] of [
      [query.after, true],
      [query.before, false],
    ] as const) {
      if (cursor === undefined) continue;
      const at = position(cursor);
      if (at === undefined) return { rows: [], hasMore: false };
      clauses.push(`${key} ${forward === desc ? '<' : '>'} ?`);
      args.push(at);
    }
    // With only `before`, the page is the `limit` rows nearest the cursor: walk back, then flip.
    const backwards = query.before !== undefined && query.after === undefined;
    const direction = backwards === desc ? 'ASC' : 'DESC';
    const sql = `SELECT * FROM ${table}${clauses.length ? ` WHERE ${clauses.join(' AND ')}` : ''} ORDER BY ${key} ${direction} LIMIT ?`;
    const rows = (this.db.prepare(sql).all(...args, limit + 1) as R[]).map(map);
    const hasMore = rows.length > limit;
    const page = rows.slice(0, limit);
    if (backwards) page.reverse();
    return { rows: page, hasMore };
  }
}
