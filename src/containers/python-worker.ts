// The worker thread one container's Python runs in: Pyodide (CPython in WebAssembly), with what
// could reach the network or the host taken away before any user code runs (sandbox.ts says
// exactly what is and is not isolated). It answers the messages of sandbox.ts one at a time.
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

interface Init {
  indexURL: string;
  /** The compiled pyodide.asm.wasm (its memory maximum already lowered to the cap). */
  wasm: WebAssembly.Module;
  /** The memory of a freshly started interpreter (made by the first worker): starts in ~0.3 s instead of ~2.5 s. */
  snapshot: Uint8Array | null;
}

type Request =
  | { id: number; op: 'run'; code: string }
  | { id: number; op: 'write'; path: string; data: Uint8Array }
  | { id: number; op: 'read'; path: string }
  | { id: number; op: 'delete'; path: string }
  | { id: number; op: 'list' };

const DATA_DIR = '/mnt/data';
const init = workerData as Init;
const port = parentPort!;

// Pyodide instantiates its WebAssembly from bytes; hand it the module compiled once by the parent.
const instantiate = WebAssembly.instantiate.bind(WebAssembly);
(WebAssembly as { instantiate: unknown }).instantiate = async (source: unknown, imports?: WebAssembly.Imports) => {
  if (source instanceof WebAssembly.Module) return instantiate(source, imports);
  return { module: init.wasm, instance: await instantiate(init.wasm, imports) };
};

let out: string[] = [];
const { loadPyodide } = (await import(pathToFileURL(init.indexURL + 'pyodide.mjs').href)) as typeof import('pyodide');
// `import js` would be the worker's global scope: it is an empty object instead.
const jsglobals = Object.create(null) as object;
const py = await loadPyodide({
  indexURL: init.indexURL,
  jsglobals,
  stdout: (line: string) => void out.push(line + '\n'),
  stderr: (line: string) => void out.push(line + '\n'),
  checkAPIVersion: true,
  ...(init.snapshot ? { _loadSnapshot: init.snapshot } : { _makeSnapshot: true }),
} as Parameters<typeof loadPyodide>[0]);
if (!init.snapshot) {
  // Taken before anything else runs: no user code and no sandbox state is in it.
  const snapshot = (py as unknown as { makeMemorySnapshot(): Uint8Array }).makeMemorySnapshot();
  port.postMessage({ snapshot }, [snapshot.buffer as ArrayBuffer]);
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
port.postMessage({ ready: true });
