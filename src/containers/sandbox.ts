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
// - Other containers: each has its own worker, WebAssembly instance and memory, and JavaScript
//   heap. What the workers share is read-only by convention and only used while a worker starts
//   (SharedArrayBuffers: the memory snapshot, python_stdlib.zip, V8's code cache of
//   pyodide.asm.mjs); the worker drops every reference to them before any user code runs, and
//   MEMFS keeps its own copy of the zip.
//
// Starting (see python-worker.ts for the details): the first worker of a memory cap boots CPython
// (seconds) and takes a memory snapshot; later ones start from it in a few hundred ms. Spare
// interpreters (PARLEY_CODE_SPARES, 0 … 4, default 1) are started in the background, one at a
// time, so that a new container usually finds one ready; they have run no user code.
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
import { pathToFileURL } from 'node:url';
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

/** A fresh interpreter's memory, as python-worker.ts takes it (see `Snapshot` there). */
interface Snapshot {
  header: Uint8Array;
  memory: Uint8Array;
  pages: Uint32Array;
}
/** Per memory cap: the first worker makes it, later ones start from it. */
const snapshots = new Map<number, Snapshot>();
const PAGE = 4096;

/**
 * Pyodide's snapshot split for the workers: the header (each worker gets a copy), and the
 * memory image in a SharedArrayBuffer (no worker gets a copy: sending 30 MB to a worker cost
 * ~300 ms of copying), with the runs of its pages that are not all zeros.
 */
function keepSnapshot(memoryMb: number, made: Uint8Array): void {
  if (snapshots.has(memoryMb)) return;
  // Pyodide's format: u32 magic, u32 offset of the memory image, … (little-endian).
  const at = new DataView(made.buffer, made.byteOffset, made.byteLength).getUint32(4, true);
  if (at % 4 || at < 16 || at >= made.length) throw new Error(`unexpected Pyodide snapshot header (memory at ${at} of ${made.length})`);
  const memory = new Uint8Array(new SharedArrayBuffer(made.length - at));
  memory.set(made.subarray(at));
  const zero = Buffer.alloc(PAGE);
  const view = Buffer.from(memory.buffer, memory.byteOffset, memory.byteLength);
  const runs: number[] = [];
  for (let page = 0; page * PAGE < memory.length; page++) {
    const empty = view.compare(zero, 0, Math.min(PAGE, memory.length - page * PAGE), page * PAGE, Math.min((page + 1) * PAGE, memory.length)) === 0;
    if (empty) continue;
    if (runs.length && runs[runs.length - 1] === page) runs[runs.length - 1] = page + 1;
    else runs.push(page, page + 1);
  }
  snapshots.set(memoryMb, { header: made.slice(0, at), memory, pages: Uint32Array.from(runs) });
}

interface PyodideFiles {
  /** python_stdlib.zip, shared with the workers (which only read it). */
  stdlib: Uint8Array;
  lockfile: string;
  /** pyodide.asm.mjs, as python-worker.ts loads it: see `emscriptenScript`. */
  asm: { url: string; source: string | null };
}
let pyodideFiles: PyodideFiles | undefined;
/** V8's code cache of the pyodide.asm.mjs script, made by a worker that started from a snapshot. */
let codeCache: { data: Uint8Array; fromSnapshot: boolean } | null = null;
/** The tiny WebAssembly modules Emscripten makes while linking (python-worker.ts, `CachedModule`), compiled once. */
const tinyModules = new Map<string, WebAssembly.Module>();

/** Pyodide's files, read once. */
function sharedFiles(): PyodideFiles {
  if (!pyodideFiles) {
    const zip = readFileSync(`${PYODIDE_DIR}/python_stdlib.zip`);
    const stdlib = new Uint8Array(new SharedArrayBuffer(zip.length));
    stdlib.set(zip);
    pyodideFiles = {
      stdlib,
      lockfile: readFileSync(`${PYODIDE_DIR}/pyodide-lock.json`, 'utf8'),
      asm: { url: pathToFileURL(`${PYODIDE_DIR}/pyodide.asm.mjs`).href, source: emscriptenScript(readFileSync(`${PYODIDE_DIR}/pyodide.asm.mjs`, 'utf8')) },
    };
  }
  return pyodideFiles;
}

/**
 * pyodide.asm.mjs (Emscripten's JavaScript, an ES module) as a script that V8 can cache the
 * compiled code of (python-worker.ts): a function expression taking what `import.meta.url` and
 * `import()` were (in Node 20 a script compiled from a code cache cannot run its own `import()`).
 * Null when the file is not as expected (another Pyodide): the worker imports the module as is.
 *
 * One change of behaviour: when the instance is linked, Emscripten adds every exported function
 * of the main module to the function table and makes a GOT entry (a WebAssembly.Global) for every
 * export: 8,560 of them, ~70 ms of a start. Those entries are only for side modules (shared
 * libraries loaded later, which the sandbox has none of: no packages), and a side module's
 * imports are resolved from the exports when it is loaded anyway (`reportUndefinedSymbols`), so
 * only the GOT entries the main module itself imports are filled at start. Function pointers
 * get other table slots than in stock Pyodide, the same in every worker (the snapshot's included).
 */
export function emscriptenScript(module: string): string | null {
  const tail = 'export default _createPyodideModule;';
  const end = module.lastIndexOf(tail);
  if (end < 0 || module.slice(end + tail.length).trim() !== '') return null;
  const link = 'updateGOT(origExports);LDSO.init();';
  let body = module.slice(0, end);
  if (body.split(link).length === 2) {
    body = body.replace(link, 'updateGOT(Object.fromEntries(Object.keys(GOT).filter((name) => Object.hasOwn(origExports, name)).map((name) => [name, origExports[name]])));LDSO.init();');
  }
  // A module is strict code.
  body = body.replaceAll('import.meta.url', 'importMetaUrl').replace(/(?<![\w$.])import\(/g, 'importModule(');
  return `(function (importMetaUrl, importModule) { 'use strict';\n${body}\nreturn _createPyodideModule; })`;
}

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

/** When a worker started: when it was spawned and ready, and when each step inside it ended (epoch ms). */
export interface StartTiming {
  memoryMb: number;
  fromSnapshot: boolean;
  /** Whether pyodide.asm.mjs started from V8's code cache. */
  codeCache: 'none' | 'used' | 'rejected';
  spawned: number;
  ready: number;
  marks: Array<[string, number]>;
}
let timingListener: ((timing: StartTiming) => void) | null = null;
/** Reports every worker start (benchmark); null stops. */
export function onWorkerStart(listener: ((timing: StartTiming) => void) | null): void {
  timingListener = listener;
}

async function bootWorker(memoryMb: number): Promise<Worker> {
  const wasm = await pyodideModule(memoryMb);
  const { stdlib, lockfile, asm } = sharedFiles();
  // Run from the TypeScript sources (tests, `npm run dev`), the worker registers tsx first.
  const entry = FROM_SOURCE
    ? `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`
    : `import(${JSON.stringify(WORKER_URL.href)});`;
  const snapshot = snapshots.get(memoryMb) ?? null;
  const cache = codeCache;
  const makeCodeCache = !cache || (!cache.fromSnapshot && Boolean(snapshot));
  const spawned = performance.timeOrigin + performance.now();
  const listener = timingListener;
  const worker = new Worker(entry, {
    eval: true,
    workerData: {
      indexURL: INDEX_URL,
      wasm,
      snapshot,
      stdlib,
      lockfile,
      asm: { ...asm, codeCache: cache?.data ?? null, makeCodeCache },
      tinyModules: [...tinyModules],
      verifyRestore,
      timings: Boolean(listener),
    },
    env: {},
    // Not the server's flags (`--import` hooks, profilers): the worker loads what it needs itself.
    execArgv: [],
    stdout: true,
    stderr: true,
    resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32, stackSizeMb: 8 },
  });
  worker.unref();
  // What the worker sends for the next ones, just after `ready` (messages without an id are not the sandbox's).
  const onShared = (msg: { shared?: boolean; codeCache?: Uint8Array; tinyModules?: Array<[string, WebAssembly.Module]> | null }) => {
    if (!msg.shared) return;
    worker.off('message', onShared);
    for (const [key, module] of msg.tinyModules ?? []) if (!tinyModules.has(key)) tinyModules.set(key, module);
    if (!msg.codeCache || (codeCache && (codeCache.fromSnapshot || !snapshot))) return;
    const data = new Uint8Array(new SharedArrayBuffer(msg.codeCache.length));
    data.set(msg.codeCache);
    codeCache = { data, fromSnapshot: Boolean(snapshot) };
  };
  worker.on('message', onShared);
  await new Promise<void>((resolve, reject) => {
    const onMessage = (msg: { ready?: boolean; snapshot?: Uint8Array; codeCacheRejected?: boolean; marks?: Array<[string, number]> }) => {
      if (msg.snapshot) {
        try {
          keepSnapshot(memoryMb, msg.snapshot);
        } catch (error) {
          void worker.terminate();
          reject(error as Error);
        }
      }
      if (!msg.ready) return;
      if (msg.codeCacheRejected && codeCache === cache) codeCache = null;
      worker.off('error', onError);
      worker.off('message', onMessage);
      listener?.({ memoryMb, fromSnapshot: Boolean(snapshot), codeCache: !cache ? 'none' : msg.codeCacheRejected ? 'rejected' : 'used', spawned, ready: performance.timeOrigin + performance.now(), marks: msg.marks ?? [] });
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

let verifyRestore = false;
/** Tests: every worker started from a snapshot checks its memory against it, page by page. */
export function verifySnapshotRestores(on: boolean): void {
  verifyRestore = on;
}

// Booted interpreters kept ready, per memory cap, once one container has started: a new container
// takes the oldest, and the pool is refilled in the background, one worker at a time.
const MAX_SPARES = 4;
let spareTarget = 1;
const spares = new Map<number, Array<Promise<Worker>>>();
const refilling = new Set<number>();
let generation = 0;

/** How many booted interpreters to keep ready per memory cap (0 … 4; PARLEY_CODE_SPARES, default 1). */
export function setSpareCount(count: number): void {
  spareTarget = Math.min(MAX_SPARES, Math.max(0, Math.floor(count)));
}

export function spareCount(): number {
  return spareTarget;
}

function refill(memoryMb: number): void {
  if (refilling.has(memoryMb)) return;
  const pool = spares.get(memoryMb) ?? [];
  spares.set(memoryMb, pool);
  if (pool.length >= spareTarget) return;
  refilling.add(memoryMb);
  const started = generation;
  const boot = bootWorker(memoryMb);
  pool.push(boot);
  const done = () => {
    if (started !== generation) return;
    refilling.delete(memoryMb);
    refill(memoryMb);
  };
  boot.then(done, () => {
    const at = pool.indexOf(boot);
    if (at >= 0) pool.splice(at, 1);
    if (started !== generation) return;
    refilling.delete(memoryMb);
    // Not again at once: the next container retries.
  });
}

/** A ready interpreter: a spare if there is one (the oldest), else a new one; then the spares are refilled. */
async function takeWorker(memoryMb: number): Promise<Worker> {
  let worker: Worker | null = null;
  for (;;) {
    const spare = spares.get(memoryMb)?.shift();
    if (!spare) break;
    worker = await spare.catch(() => null);
    if (worker && worker.threadId >= 0) break;
    worker = null;
  }
  worker ??= await bootWorker(memoryMb);
  refill(memoryMb);
  return worker;
}

/** Stops the spare interpreters (they start again with the next container). */
export async function stopSpares(): Promise<void> {
  generation++;
  const all = [...spares.values()].flat();
  spares.clear();
  refilling.clear();
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
