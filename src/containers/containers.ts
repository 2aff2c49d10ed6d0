// Containers as OpenAI has them: a sandboxed Python interpreter (sandbox.ts) with files under
// /mnt/data, created explicitly (`POST /v1/containers`) or by a code_interpreter tool with
// `container: {type: "auto"}`, expiring after `expires_after.minutes` idle (default 20). They
// live in this process's memory: a restart of the server ends them. The files of a container
// are kept on the host side too (copied out after every cell), so they survive an interpreter
// restart (time limit) and can be read without waking the interpreter.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Files } from '../files/files.js';
import { badRequest, notFound } from '../protocol/errors.js';
import { PythonSandbox, stopSpares, type RunResult, type SandboxLimits } from './sandbox.js';

export const DATA_DIR = '/mnt/data';
const DEFAULT_IDLE_MINUTES = 20;
const nowSeconds = () => Math.floor(Date.now() / 1000);
const hex = (n: number) => randomBytes(n).toString('hex');

export interface ContainerObject {
  id: string;
  object: 'container';
  created_at: number;
  status: 'running' | 'expired';
  expires_after: { anchor: 'last_active_at'; minutes: number };
  last_active_at: number;
  name: string;
  memory_limit?: string;
}

export interface ContainerFileObject {
  id: string;
  object: 'container.file';
  bytes: number;
  container_id: string;
  created_at: number;
  path: string;
  source: 'user' | 'assistant';
}

interface StoredFile extends ContainerFileObject {
  data: Uint8Array;
  mtime: number;
}

export interface CellResult extends RunResult {
  /** Files the cell created or changed. */
  written: ContainerFileObject[];
}

export class Container {
  readonly files = new Map<string, StoredFile>();
  readonly sandbox: PythonSandbox;

  constructor(
    readonly object: ContainerObject,
    limits: SandboxLimits,
  ) {
    // A fresh interpreter gets the files back; their new mtimes are not changes.
    this.sandbox = new PythonSandbox(limits, () =>
      [...this.files.values()].map((f) => {
        f.mtime = 0;
        return { path: f.path, data: f.data };
      }),
    );
  }

  get id(): string {
    return this.object.id;
  }

  touch(): void {
    this.object.last_active_at = nowSeconds();
  }

  fileObject(f: StoredFile): ContainerFileObject {
    const { data: _data, mtime: _mtime, ...object } = f;
    return object;
  }

  async addFile(path: string, data: Uint8Array, source: 'user' | 'assistant'): Promise<ContainerFileObject> {
    const full = normalisePath(path);
    const existing = this.files.get(full);
    const file: StoredFile = {
      id: existing?.id ?? `cfile_${hex(16)}`,
      object: 'container.file',
      bytes: data.length,
      container_id: this.id,
      created_at: existing?.created_at ?? nowSeconds(),
      path: full,
      source,
      data,
      mtime: 0,
    };
    this.files.set(full, file);
    this.touch();
    await this.sandbox.writeFile(full, data);
    return this.fileObject(file);
  }

  fileById(id: string): StoredFile | undefined {
    for (const f of this.files.values()) if (f.id === id) return f;
    return undefined;
  }

  async deleteFile(id: string): Promise<boolean> {
    const file = this.fileById(id);
    if (!file) return false;
    this.files.delete(file.path);
    await this.sandbox.deleteFile(file.path);
    return true;
  }

  /** Runs one cell; files it wrote are copied out. Never rejects for what the code does. */
  async run(code: string): Promise<CellResult> {
    this.touch();
    const result = await this.sandbox.run(code);
    this.touch();
    const written: ContainerFileObject[] = [];
    if (result.status === 'timeout' || result.status === 'crashed') return { ...result, written };
    const present = new Set<string>();
    for (const f of result.files) {
      present.add(f.path);
      const known = this.files.get(f.path);
      if (known && known.bytes === f.bytes && known.mtime === f.mtime) continue;
      const data = await this.sandbox.readFile(f.path).catch(() => null);
      if (!data) continue;
      if (known && known.mtime === 0 && sameBytes(known.data, data)) {
        known.mtime = f.mtime; // a file copied in, unchanged by the cell
        continue;
      }
      const file: StoredFile = {
        id: known?.id ?? `cfile_${hex(16)}`,
        object: 'container.file',
        bytes: data.length,
        container_id: this.id,
        created_at: known?.created_at ?? nowSeconds(),
        path: f.path,
        source: 'assistant',
        data,
        mtime: f.mtime,
      };
      this.files.set(f.path, file);
      written.push(this.fileObject(file));
    }
    for (const path of [...this.files.keys()]) if (!present.has(path)) this.files.delete(path);
    return { ...result, written };
  }

  close(): Promise<void> {
    return this.sandbox.close();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** `/mnt/data/x`, `x` or `sub/x` → an absolute path under /mnt/data. */
export function normalisePath(path: string): string {
  const full = posix.normalize(path.startsWith('/') ? path : `${DATA_DIR}/${path}`);
  if (!full.startsWith(`${DATA_DIR}/`) || full.endsWith('/')) throw badRequest(`Invalid file path '${path}': files live under ${DATA_DIR}/.`, 'file', 'invalid_value');
  return full;
}

export const containerNotFound = (id: string) => notFound(`No such Container: ${id}`, 'container_id');

export class Containers {
  private readonly all = new Map<string, Container>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly limits: SandboxLimits,
    private readonly files?: Files,
  ) {
    this.sweeper = setInterval(() => void this.expire(), 30_000);
    this.sweeper.unref();
  }

  async create(params: { name?: string; expiresAfterMinutes?: number; fileIds?: readonly string[]; memoryLimit?: string }): Promise<Container> {
    const { container, ready } = this.open(params);
    await ready;
    return container;
  }

  /** Makes a container at once; `ready` settles when the files named are copied in. */
  open(params: { name?: string; expiresAfterMinutes?: number; fileIds?: readonly string[]; memoryLimit?: string }): { container: Container; ready: Promise<void> } {
    const minutes = params.expiresAfterMinutes ?? DEFAULT_IDLE_MINUTES;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 20) {
      throw badRequest("Invalid value for 'expires_after.minutes': expected an integer from 1 to 20.", 'expires_after.minutes', 'invalid_value');
    }
    for (const id of params.fileIds ?? []) this.requireFile(id);
    const now = nowSeconds();
    const object: ContainerObject = {
      id: `cntr_${hex(24)}`,
      object: 'container',
      created_at: now,
      status: 'running',
      expires_after: { anchor: 'last_active_at', minutes },
      last_active_at: now,
      name: params.name ?? '',
      ...(params.memoryLimit ? { memory_limit: params.memoryLimit } : {}),
    };
    const container = new Container(object, this.limits);
    this.all.set(object.id, container);
    const ready = (async () => {
      for (const id of params.fileIds ?? []) await this.copyFile(container, id);
    })();
    return { container, ready };
  }

  get(id: string): Container | undefined {
    const container = this.all.get(id);
    if (container && this.isExpired(container)) {
      void this.remove(id);
      return undefined;
    }
    return container;
  }

  require(id: string): Container {
    const container = this.get(id);
    if (!container) throw containerNotFound(id);
    return container;
  }

  list(query: { limit?: number; after?: string; order?: 'asc' | 'desc'; name?: string }) {
    let data = [...this.all.values()].filter((c) => !this.isExpired(c)).map((c) => c.object);
    if (query.name) data = data.filter((c) => c.name === query.name);
    if (query.order !== 'asc') data.reverse();
    return page(data, query);
  }

  async remove(id: string): Promise<boolean> {
    const container = this.all.get(id);
    if (!container) return false;
    this.all.delete(id);
    await container.close();
    return true;
  }

  /** Copies a Files API file into the container (`{file_id}`). */
  async copyFile(container: Container, fileId: string): Promise<ContainerFileObject> {
    const file = this.requireFile(fileId);
    const { readFile } = await import('node:fs/promises');
    const data = new Uint8Array(await readFile(this.files!.contentPath(file.id)));
    return container.addFile(file.filename, data, 'user');
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.all.keys()].map((id) => this.remove(id)));
    await stopSpares();
  }

  /** Throws the 404 a request naming an unknown file gets. */
  checkFile(id: string, param: string): void {
    if (!this.files) throw badRequest('This server has no Files API.', param, 'invalid_value');
    if (!this.files.get(id)) throw notFound(`No such File object: ${id}`, param);
  }

  private requireFile(id: string) {
    if (!this.files) throw badRequest('This server has no Files API.', 'file_ids', 'invalid_value');
    return this.files.require(id);
  }

  private isExpired(c: Container): boolean {
    return nowSeconds() - c.object.last_active_at > c.object.expires_after.minutes * 60;
  }

  private async expire(): Promise<void> {
    for (const [id, c] of this.all) if (this.isExpired(c)) await this.remove(id);
  }
}

export function page<T extends { id: string }>(all: T[], query: { limit?: number; after?: string }) {
  let start = 0;
  if (query.after) {
    const at = all.findIndex((x) => x.id === query.after);
    start = at < 0 ? all.length : at + 1;
  }
  const limit = query.limit ?? 20;
  const data = all.slice(start, start + limit);
  return { object: 'list' as const, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: start + limit < all.length };
}
