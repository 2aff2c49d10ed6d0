// A sandboxed Python runtime: Pyodide (CPython compiled to WebAssembly) in a worker thread, one
// per container. What is isolated, and what is not:
//
// Isolated
// - Time: each cell has a wall-clock limit (PARLEY_CODE_TIMEOUT_MS). Past it the worker is
//   terminated and a fresh one starts on the next cell: variables are lost, the container's
//   files (kept on the host side after every cell) are copied back in.
// - Memory: the interpreter's WebAssembly memory has a maximum (PARLEY_CODE_MEMORY_MB; the
//   maximum of pyodide.asm.wasm's memory is lowered before it is compiled), so an allocation
//   past it is a Python MemoryError; the worker's JavaScript heap has `resourceLimits`. A worker
//   that dies anyway (out of memory) is replaced; the cell's result says so.
// - Network: none. `import js` and `import pyodide_js` fail (both modules are unregistered, and
//   an import hook refuses them with `pyodide.http`, `pyodide.code` and `micropip`); the worker's
//   `fetch`, `XMLHttpRequest`, `WebSocket`, `EventSource`, `eval`, `process` and `require` are
//   deleted before any user code runs; Python sockets have no WebSocket to tunnel through and
//   fail. Packages are never downloaded: only the standard library is there.
// - Host: the Function / AsyncFunction / generator constructors lose their `constructor` link,
//   so a JavaScript object Python can still get (a proxy made with `pyodide.ffi.to_js`) cannot be
//   used to compile new JavaScript; the worker runs with an empty environment (`env: {}`); the
//   filesystem Python sees is Pyodide's in-memory one (`/mnt/data` holds the container's files).
//
// Not isolated
// - It is a thread of the server's process, not a separate process: a bug in V8's WebAssembly
//   or in Node's worker implementation would reach the server. There is no seccomp, no cgroup.
// - CPU: a cell may use one core fully until its time limit.
// - Pyodide's own JavaScript runtime stays reachable from Python through `pyodide.ffi` (proxies
//   of the objects it creates); with the constructors and globals above gone we know of no way
//   from there to the host, but it is a blocklist, not a capability boundary.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';

export interface SandboxLimits {
  timeoutMs: number;
  memoryMb: number;
}

export interface SandboxFile {
  path: string;
  bytes: number;
  mtime: number;
}

export interface RunResult {
  status: 'ok' | 'error' | 'memory' | 'timeout' | 'crashed';
  /** stdout and stderr, interleaved as written. */
  output: string;
  /** Every file under /mnt/data after the cell (empty after a timeout or crash). */
  files: SandboxFile[];
  /** The interpreter was restarted: variables from earlier cells are gone. */
  restarted: boolean;
  ms: number;
}

const require = createRequire(import.meta.url);
const PYODIDE_DIR = dirname(require.resolve('pyodide/package.json'));
const INDEX_URL = PYODIDE_DIR + '/';
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(`./python-worker.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url);

const compiled = new Map<number, Promise<WebAssembly.Module>>();
/** A fresh interpreter's memory, per memory cap: the first worker makes it, later ones start from it. */
const snapshots = new Map<number, Uint8Array>();

/** pyodide.asm.wasm compiled once per process and memory cap: later containers start from it. */
export function pyodideModule(memoryMb: number): Promise<WebAssembly.Module> {
  let module = compiled.get(memoryMb);
  if (!module) {
    const bytes = readFileSync(`${PYODIDE_DIR}/pyodide.asm.wasm`);
    module = WebAssembly.compile(capMemory(bytes, Math.ceil((memoryMb * 1024 * 1024) / 65536)) as Uint8Array<ArrayBuffer>);
    compiled.set(memoryMb, module);
  }
  return module;
}

/** The module with its (one, defined) memory's maximum set to `maxPages` 64 KiB pages. */
export function capMemory(wasm: Uint8Array, maxPages: number): Uint8Array<ArrayBuffer> {
  let at = 8;
  while (at < wasm.length) {
    const id = wasm[at];
    const [size, sizeEnd] = leb(wasm, at + 1);
    const body = sizeEnd;
    if (id === 5) {
      const [count, p0] = leb(wasm, body);
      if (count !== 1) throw new Error('pyodide.asm.wasm: expected one memory');
      const flags = wasm[p0];
      const [min, p1] = leb(wasm, p0 + 1);
      let rest = p1;
      if (flags & 1) rest = leb(wasm, p1)[1];
      const max = Math.max(min, maxPages);
      const section = [...uleb(1), flags | 1, ...uleb(min), ...uleb(max), ...wasm.subarray(rest, body + size)];
      const out = new Uint8Array(at + 1 + uleb(section.length).length + section.length + (wasm.length - body - size));
      out.set(wasm.subarray(0, at + 1), 0);
      let o = at + 1;
      for (const b of uleb(section.length)) out[o++] = b;
      out.set(section, o);
      out.set(wasm.subarray(body + size), o + section.length);
      return out;
    }
    at = body + size;
  }
  throw new Error('pyodide.asm.wasm: no memory section (is the memory imported?)');
}

function leb(bytes: Uint8Array, at: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(b & 0x80)) return [result, at];
  }
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** A booted interpreter kept ready per memory cap once one container has started: a new container takes it. */
const spares = new Map<number, Promise<Worker>>();

async function bootWorker(memoryMb: number): Promise<Worker> {
  const wasm = await pyodideModule(memoryMb);
  // Run from the TypeScript sources (tests, `npm run dev`), the worker registers tsx first.
  const entry = FROM_SOURCE
    ? `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`
    : `import(${JSON.stringify(WORKER_URL.href)});`;
  const worker = new Worker(entry, {
    eval: true,
    workerData: { indexURL: INDEX_URL, wasm, snapshot: snapshots.get(memoryMb) ?? null },
    env: {},
    stdout: true,
    stderr: true,
    resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32, stackSizeMb: 8 },
  });
  worker.unref();
  await new Promise<void>((resolve, reject) => {
    const onMessage = (msg: { ready?: boolean; snapshot?: Uint8Array }) => {
      if (msg.snapshot && !snapshots.has(memoryMb)) snapshots.set(memoryMb, msg.snapshot);
      if (!msg.ready) return;
      worker.off('error', onError);
      worker.off('message', onMessage);
      resolve();
    };
    const onError = (error: Error) => reject(error);
    worker.once('error', onError);
    worker.once('exit', (code) => reject(new Error(`the Python worker exited while starting (${code})`)));
    worker.on('message', onMessage);
  });
  worker.removeAllListeners('exit');
  return worker;
}

/** A ready interpreter: the spare if there is one (then another spare boots), else a new one. */
async function takeWorker(memoryMb: number): Promise<Worker> {
  const spare = spares.get(memoryMb);
  spares.delete(memoryMb);
  const worker = spare ? await spare.catch(() => bootWorker(memoryMb)) : await bootWorker(memoryMb);
  const next = bootWorker(memoryMb);
  next.catch(() => spares.delete(memoryMb));
  spares.set(memoryMb, next);
  return worker;
}

/** Stops the spare interpreters (they start again with the next container). */
export async function stopSpares(): Promise<void> {
  const all = [...spares.values()];
  spares.clear();
  await Promise.all(all.map(async (w) => (await w.catch(() => null))?.terminate()));
}

type Pending = { resolve(value: unknown): void; reject(error: Error): void };

/** One Python interpreter in its worker; `run` never rejects for anything the code does. */
export class PythonSandbox {
  private worker: Worker | null = null;
  private starting: Promise<Worker> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private lostState = false;
  private closed = false;

  constructor(
    private readonly limits: SandboxLimits,
    /** Files to copy into /mnt/data whenever a fresh interpreter starts. */
    private readonly restore: () => Array<{ path: string; data: Uint8Array }> = () => [],
  ) {}

  /** Starts the interpreter now (it starts on first use otherwise). */
  warm(): Promise<void> {
    return this.serial(async () => void (await this.ensure()));
  }

  run(code: string): Promise<RunResult> {
    return this.serial(async () => {
      const started = performance.now();
      const restarted = this.lostState;
      const worker = await this.ensure();
      this.lostState = false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.limits.timeoutMs)));
      try {
        const result = await Promise.race([this.call(worker, { op: 'run', code }), timeout]);
        if (result === 'timeout') {
          await this.kill();
          return { status: 'timeout', output: '', files: [], restarted, ms: performance.now() - started };
        }
        const value = result as { status: RunResult['status']; output: string; files: SandboxFile[] };
        return { ...value, restarted, ms: performance.now() - started };
      } catch (error) {
        await this.kill();
        return { status: 'crashed', output: String((error as Error).message ?? error), files: [], restarted, ms: performance.now() - started };
      } finally {
        clearTimeout(timer);
      }
    });
  }

  /** Copies a file in if the interpreter runs; else `restore` brings it in when it starts. */
  writeFile(path: string, data: Uint8Array): Promise<void> {
    return this.serial(async () => {
      if (this.worker) await this.call(this.worker, { op: 'write', path, data });
    });
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.serial(async () => ((await this.call(await this.ensure(), { op: 'read', path })) as { data: Uint8Array }).data);
  }

  deleteFile(path: string): Promise<void> {
    return this.serial(async () => {
      if (this.worker) await this.call(this.worker, { op: 'delete', path }).catch(() => undefined);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.kill();
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async ensure(): Promise<Worker> {
    if (this.closed) throw new Error('the container is closed');
    if (this.worker) return this.worker;
    this.starting ??= this.start();
    try {
      return await this.starting;
    } finally {
      this.starting = null;
    }
  }

  private async start(): Promise<Worker> {
    const worker = await takeWorker(this.limits.memoryMb);
    worker.removeAllListeners('exit');
    worker.on('message', (msg: { id?: number; ok?: boolean; value?: unknown; error?: string }) => {
      if (msg.id === undefined) return;
      const pending = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.ok) pending?.resolve(msg.value);
      else pending?.reject(new Error(msg.error));
    });
    const fail = (error: Error) => {
      if (this.worker === worker) {
        this.worker = null;
        this.lostState = true;
      }
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
    worker.on('error', (error) => fail(new Error(`the Python worker failed: ${error.message}`)));
    worker.on('exit', (code) => fail(new Error(`the Python worker stopped (exit code ${code}; out of memory?)`)));
    this.worker = worker;
    for (const file of this.restore()) await this.call(worker, { op: 'write', path: file.path, data: file.data });
    return worker;
  }

  private call(worker: Worker, message: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id });
    });
  }

  private async kill(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    this.lostState = true;
    await worker.terminate();
  }
}
