// The worker thread one container's Python runs in: Pyodide (CPython in WebAssembly), with what
// could reach the network or the host taken away before any user code runs (sandbox.ts says
// exactly what is and is not isolated). It answers the messages of sandbox.ts one at a time.
import fsPromises from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import vm from 'node:vm';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

/** A fresh interpreter's memory (made by the first worker): a start from it skips CPython's initialisation. */
interface Snapshot {
  /** Pyodide's header (format, build id, the JavaScript state to restore): this worker's own copy. */
  header: Uint8Array;
  /** The WebAssembly memory image, in a SharedArrayBuffer shared by every worker: only read. */
  memory: Uint8Array;
  /** The image's 4 KiB pages that hold anything: [first, end) pairs. */
  pages: Uint32Array;
}

interface Init {
  indexURL: string;
  /** The compiled pyodide.asm.wasm (its memory maximum already lowered to the cap). */
  wasm: WebAssembly.Module;
  snapshot: Snapshot | null;
  /** python_stdlib.zip, read once by the parent (shared, only read: MEMFS makes its own copy). */
  stdlib: Uint8Array | null;
  /** pyodide-lock.json, read once by the parent. */
  lockfile: string | null;
  /** pyodide.asm.mjs (Emscripten's JavaScript, 1.2 MB) as a script, or null to import it: see `loadEmscriptenModule`. */
  asm: { url: string; source: string | null; codeCache: Uint8Array | null; makeCodeCache: boolean };
  /** The tiny modules of `CachedModule` earlier workers compiled, by their bytes. */
  tinyModules: Array<[string, WebAssembly.Module]>;
  /** Check, page by page, that the memory restored from the snapshot is the snapshot's (tests). */
  verifyRestore?: boolean;
  /** Report when each step of the start ended (benchmark). */
  timings?: boolean;
}

type Request =
  | { id: number; op: 'run'; code: string }
  | { id: number; op: 'write'; path: string; data: Uint8Array }
  | { id: number; op: 'read'; path: string }
  | { id: number; op: 'delete'; path: string }
  | { id: number; op: 'list' };

const DATA_DIR = '/mnt/data';
const PAGE = 4096;
const init = workerData as Init;
const port = parentPort!;
const marks: Array<[string, number]> = [];
const mark = (name: string) => void (init.timings && marks.push([name, performance.timeOrigin + performance.now()]));
mark('script');

// Starting is slow mostly for the memory it touches (a first write to a page is a page fault, and
// on a VM a costly one), so while Pyodide loads:
// - it instantiates the module the parent compiled once instead of bytes it reads itself; its
//   read of pyodide.asm.wasm (9.6 MB) gets an empty buffer, and python_stdlib.zip and
//   pyodide-lock.json are the parent's copies (MEMFS copies the zip into a buffer of its own);
// - the tiny WebAssembly module Emscripten makes per JavaScript function it puts in the function
//   table (~260 of them, 29 different) is compiled once per kind, and per process: the parent
//   hands each worker those the earlier ones compiled;
// - from a snapshot, only the memory pages that differ from a fresh instance's are written;
// - pyodide.asm.mjs starts from V8's code cache (see `loadEmscriptenModule`).
// The hooks are removed before anything else runs.
const WasmModule = WebAssembly.Module;
const instantiate = WebAssembly.instantiate.bind(WebAssembly);
let instance: WebAssembly.Instance | null = null;
(WebAssembly as { instantiate: unknown }).instantiate = async (source: unknown, imports?: WebAssembly.Imports) => {
  if (source instanceof WasmModule) return instantiate(source, imports);
  mark('instantiate');
  instance = await instantiate(init.wasm, imports);
  mark('instantiated');
  return { module: init.wasm, instance };
};
const tinyModules = new Map<string, WebAssembly.Module>(init.tinyModules);
const givenTinyModules = tinyModules.size;
function CachedModule(bytes: BufferSource): WebAssembly.Module {
  if (!new.target) throw new TypeError("Constructor WebAssembly.Module requires 'new'");
  if (!(bytes instanceof Uint8Array) || bytes.length > 256) return new WasmModule(bytes);
  const key = bytes.join(',');
  let module = tinyModules.get(key);
  if (!module) tinyModules.set(key, (module = new WasmModule(bytes)));
  return module;
}
CachedModule.prototype = WasmModule.prototype;
Object.setPrototypeOf(CachedModule, WasmModule);
(WebAssembly as { Module: unknown }).Module = CachedModule;

const served = new Map<string, Uint8Array | string>([[init.indexURL + 'pyodide.asm.wasm', new Uint8Array(0)]]);
if (init.stdlib) served.set(init.indexURL + 'python_stdlib.zip', init.stdlib);
if (init.lockfile) served.set(init.indexURL + 'pyodide-lock.json', init.lockfile);
const readFile = fsPromises.readFile;
fsPromises.readFile = ((path: unknown, options?: unknown) => {
  const file = typeof path === 'string' ? served.get(path) : undefined;
  return file === undefined ? readFile(path as string, options as undefined) : Promise.resolve(file);
}) as typeof fsPromises.readFile;
syncBuiltinESMExports();

let out: string[] = [];
const { loadPyodide } = (await import(pathToFileURL(init.indexURL + 'pyodide.mjs').href)) as typeof import('pyodide');
const emscripten = await loadEmscriptenModule();
const createPyodideModule = emscripten.create;
mark('imported');
// `import js` would be the worker's global scope: it is an empty object instead.
const jsglobals = Object.create(null) as object;
let snapshot = init.snapshot;
const fromSnapshot = snapshot !== null;
const py = await loadPyodide({
  indexURL: init.indexURL,
  jsglobals,
  stdout: (line: string) => void out.push(line + '\n'),
  stderr: (line: string) => void out.push(line + '\n'),
  checkAPIVersion: true,
  createPyodideModule: async (settings: object) => {
    const module = await createPyodideModule(settings);
    mark('module');
    // Pyodide then restores the header (JavaScript state) from its own copy; the memory is written here.
    if (snapshot) restoreMemory(snapshot);
    mark('memory');
    return module;
  },
  ...(snapshot ? { _loadSnapshot: snapshot.header } : { _makeSnapshot: true }),
} as Parameters<typeof loadPyodide>[0]);
mark('loaded');
(WebAssembly as { instantiate: unknown }).instantiate = instantiate;
(WebAssembly as { Module: unknown }).Module = WasmModule;
fsPromises.readFile = readFile;
syncBuiltinESMExports();
served.clear();
const newTinyModules = tinyModules.size > givenTinyModules ? [...tinyModules] : null;
tinyModules.clear();
// Nothing this worker keeps can reach the shared buffers (the snapshot, the zip, the code cache).
delete (py as unknown as { _api: { config: Record<string, unknown> } })._api.config._loadSnapshot;
snapshot = init.snapshot = null;
init.stdlib = null;
init.asm.codeCache = null;
if (!fromSnapshot) {
  // Taken before anything else runs: no user code and no sandbox state is in it.
  const made = (py as unknown as { makeMemorySnapshot(): Uint8Array }).makeMemorySnapshot();
  port.postMessage({ snapshot: made }, [made.buffer as ArrayBuffer]);
}

/**
 * pyodide.asm.mjs is an ES module of 1.2 MB: each worker would parse it and compile, lazily, each
 * function it runs. Run instead as a script (the parent wraps it in a function taking what
 * `import.meta.url` and `import()` were), it starts from V8's code cache, made by an earlier
 * worker once it had started: bytecode for every function the start needed.
 */
async function loadEmscriptenModule(): Promise<{ create: (settings: object) => Promise<object>; script: vm.Script | null }> {
  const { url, source, codeCache } = init.asm;
  if (source === null) return { create: ((await import(url)) as { default: (settings: object) => Promise<object> }).default, script: null };
  const script = new vm.Script(source, { filename: url, ...(codeCache ? { cachedData: codeCache } : {}) });
  const make = script.runInThisContext() as (importMetaUrl: string, importModule: (specifier: string) => Promise<unknown>) => (settings: object) => Promise<object>;
  return { create: make(url, (specifier) => import(specifier)), script };
}

/**
 * Writes the snapshot's memory image over the fresh instance's memory, skipping the pages that
 * are all zeros in the image and need not be written:
 * - above the instance's break nothing has been allocated yet: the memory there is still zeros;
 * - below the stack pointer (no WebAssembly frame is active now) the stack is dead: whatever
 *   the fresh instance left there is never read before being written.
 * Every other page is written. On a VM a first write to a page is a costly fault: this halves them.
 */
function restoreMemory(snap: Snapshot): void {
  const exports = instance!.exports as {
    memory: WebAssembly.Memory;
    sbrk(increment: number): number;
    __heap_base: WebAssembly.Global;
    __stack_low: WebAssembly.Global;
    __stack_pointer: WebAssembly.Global;
  };
  const heap = new Uint8Array(exports.memory.buffer);
  const image = snap.memory;
  if (heap.length < image.length) throw new Error(`the memory snapshot (${image.length} bytes) is larger than a fresh interpreter's memory (${heap.length})`);
  const pages = Math.ceil(image.length / PAGE);
  const used = new Uint8Array(pages);
  for (let i = 0; i < snap.pages.length; i += 2) used.fill(1, snap.pages[i], Math.min(pages, snap.pages[i + 1]));
  const brk = Math.max(exports.sbrk(0) >>> 0, Number(exports.__heap_base.value) >>> 0);
  const unallocated = Math.ceil(brk / PAGE);
  const stackLow = Number(exports.__stack_low.value) >>> 0;
  const sp = Number(exports.__stack_pointer.value) >>> 0;
  const deadFrom = Math.ceil(stackLow / PAGE);
  const deadTo = sp > stackLow && sp <= brk ? Math.floor(sp / PAGE) : deadFrom;
  const write = (page: number) => used[page] === 1 || (page < unallocated && (page < deadFrom || page >= deadTo));
  for (let page = 0; page < pages; ) {
    if (!write(page)) {
      page++;
      continue;
    }
    let end = page + 1;
    while (end < pages && write(end)) end++;
    heap.set(image.subarray(page * PAGE, Math.min(end * PAGE, image.length)), page * PAGE);
    page = end;
  }
  if (init.verifyRestore) {
    for (let page = 0; page < pages; page++) {
      if (page >= deadFrom && page < deadTo) continue;
      const at = page * PAGE;
      if (Buffer.compare(heap.subarray(at, at + PAGE), image.subarray(at, at + PAGE)) !== 0) {
        throw new Error(`snapshot restore: page ${page} differs (break ${brk}, dead stack pages ${deadFrom}…${deadTo})`);
      }
    }
    for (let at = image.length; at < heap.length; at += PAGE) {
      if (heap.subarray(at, at + PAGE).some((b) => b !== 0)) throw new Error(`snapshot restore: page ${at / PAGE}, past the image, is not zero`);
    }
  }
}

py.setStdout({ write: (bytes: Uint8Array) => (out.push(Buffer.from(bytes).toString('utf8')), bytes.length) });
py.setStderr({ write: (bytes: Uint8Array) => (out.push(Buffer.from(bytes).toString('utf8')), bytes.length) });
py.FS.mkdirTree(DATA_DIR);

// No JavaScript from Python: the `js` and `pyodide_js` modules are gone, and so are the modules
// that only wrap them for the network.
const api = py as unknown as { unregisterJsModule(name: string): void };
for (const name of ['js', 'pyodide_js']) {
  try {
    api.unregisterJsModule(name);
  } catch {
    // not registered
  }
}
py.runPython(`
import sys, os
for _name in [n for n in sys.modules if n in ('js', 'pyodide_js', 'pyodide.http', 'pyodide.code', 'pyodide.webloop', 'pyodide_http') or n.startswith('pyodide.http.')]:
    sys.modules.pop(_name, None)

class _SandboxBlocker:
    BLOCKED = ('js', 'pyodide_js', 'pyodide.http', 'pyodide.code', 'pyodide_http', 'micropip')
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + '.') for b in self.BLOCKED):
            raise ImportError(f"{name} is not available in this sandbox (no network, no access to the host)")
        return None

sys.meta_path.insert(0, _SandboxBlocker())
del _SandboxBlocker, _name
os.chdir('${DATA_DIR}')
`);
// Whatever JavaScript object Python still holds (a proxy made by pyodide.ffi), its functions
// cannot make new code: the Function constructors are gone, and so are the worker's ways out.
for (const F of [Function, async function () {}.constructor, function* () {}.constructor, async function* () {}.constructor]) {
  Object.defineProperty(F.prototype, 'constructor', { value: undefined, writable: false, configurable: false });
}
for (const name of ['fetch', 'XMLHttpRequest', 'WebSocket', 'EventSource', 'eval', 'require', 'process', 'Worker', 'importScripts', 'navigator']) {
  try {
    delete (globalThis as Record<string, unknown>)[name];
    if (name in globalThis) Object.defineProperty(globalThis, name, { value: undefined, configurable: false, writable: false });
  } catch {
    // not deletable: left as it is (documented)
  }
}

const runner = py.runPython(`
import traceback, sys
def _parley_run(code):
    try:
        compiled = compile(code, '<cell>', 'exec')
    except SyntaxError:
        traceback.print_exc(limit=0)
        return 'error'
    try:
        result = eval(compiled, _parley_globals)
        return 'ok'
    except MemoryError:
        traceback.print_exc()
        return 'memory'
    except BaseException:
        etype, value, tb = sys.exc_info()
        traceback.print_exception(etype, value, tb.tb_next if tb else None)
        return 'error'
    finally:
        sys.stdout.flush(); sys.stderr.flush()

_parley_globals = {'__name__': '__main__', '__builtins__': __builtins__}
_parley_run
`) as ((code: string) => string) & { destroy?: () => void };

function listFiles(): Array<{ path: string; bytes: number; mtime: number }> {
  const files: Array<{ path: string; bytes: number; mtime: number }> = [];
  const walk = (dir: string) => {
    for (const name of py.FS.readdir(dir) as string[]) {
      if (name === '.' || name === '..') continue;
      const path = `${dir}/${name}`;
      const stat = py.FS.stat(path) as { mode: number; size: number; mtime: Date | number };
      if (py.FS.isDir(stat.mode)) walk(path);
      else if (py.FS.isFile(stat.mode)) files.push({ path, bytes: stat.size, mtime: Number(stat.mtime instanceof Date ? stat.mtime.getTime() : stat.mtime) });
    }
  };
  walk(DATA_DIR);
  return files;
}

function handle(msg: Request): unknown {
  switch (msg.op) {
    case 'run': {
      out = [];
      let status: string;
      try {
        status = runner(msg.code);
      } catch (error) {
        status = 'error';
        out.push(String((error as Error)?.message ?? error) + '\n');
      }
      return { status, output: out.join(''), files: listFiles() };
    }
    case 'write': {
      const dir = msg.path.slice(0, msg.path.lastIndexOf('/'));
      if (dir) py.FS.mkdirTree(dir);
      py.FS.writeFile(msg.path, msg.data);
      return { ok: true };
    }
    case 'read':
      return { data: py.FS.readFile(msg.path) as Uint8Array };
    case 'delete':
      py.FS.unlink(msg.path);
      return { ok: true };
    case 'list':
      return { files: listFiles() };
  }
}

port.on('message', (msg: Request) => {
  try {
    port.postMessage({ id: msg.id, ok: true, value: handle(msg) });
  } catch (error) {
    port.postMessage({ id: msg.id, ok: false, error: String((error as Error)?.message ?? error) });
  }
});
mark('ready');
port.postMessage({ ready: true, codeCacheRejected: emscripten.script?.cachedDataRejected === true, ...(init.timings ? { marks } : {}) });
// Then, for the next workers: the code cache (bytecode for what this start compiled), when asked
// for, and the tiny modules compiled here.
const codeCache = init.asm.makeCodeCache ? emscripten.script?.createCachedData() : undefined;
if (codeCache || newTinyModules) port.postMessage({ shared: true, codeCache, tinyModules: newTinyModules });
emscripten.script = null;
