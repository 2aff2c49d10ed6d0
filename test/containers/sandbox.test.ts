// The Python sandbox on its own (src/containers/sandbox.ts): the memory cap written into the
// WebAssembly module, and one interpreter's limits: time (terminated and restarted, the restore
// callback bringing files back), memory, and what Python cannot reach.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { capMemory, onWorkerStart, PythonSandbox, setSpareCount, spareCount, stopSpares, verifySnapshotRestores, type StartTiming } from '../../src/containers/sandbox.js';

describe('capMemory', () => {
  // (module (memory (export "m") 1)) and (module (memory (export "m") 1 127)).
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const exportMemory = [0x07, 0x05, 0x01, 0x01, 0x6d, 0x02, 0x00];
  const modules = {
    'without a maximum before': new Uint8Array([...header, 0x05, 0x03, 0x01, 0x00, 0x01, ...exportMemory]),
    'with a maximum before': new Uint8Array([...header, 0x05, 0x04, 0x01, 0x01, 0x01, 0x7f, ...exportMemory]),
  };

  for (const [name, source] of Object.entries(modules)) {
    test(`the memory can grow to the cap and no further (${name})`, async () => {
      const { instance } = await WebAssembly.instantiate(capMemory(source, 3));
      const memory = instance.exports.m as WebAssembly.Memory;
      assert.equal(memory.grow(2), 1);
      assert.throws(() => memory.grow(1), RangeError);
    });
  }
});

describe('PythonSandbox', () => {
  const files = new Map<string, Uint8Array>([['/mnt/data/seed.txt', new TextEncoder().encode('seeded')]]);
  const sandbox = new PythonSandbox({ timeoutMs: 1000, memoryMb: 128 }, () => [...files].map(([path, data]) => ({ path, data })));
  after(async () => {
    await sandbox.close();
    await stopSpares();
  });

  test('runs code, keeps state, captures stdout and stderr, sees /mnt/data as its working directory', async () => {
    assert.deepEqual((await sandbox.run('import os, sys\nv = 5\nprint(os.getcwd())\nprint("oops", file=sys.stderr)')).output, '/mnt/data\noops\n');
    const r = await sandbox.run('print(v * 2, open("seed.txt").read())');
    assert.equal(r.status, 'ok');
    assert.equal(r.output, '10 seeded\n');
  });

  test('an exception is an error result with its traceback', async () => {
    const r = await sandbox.run('def f():\n    raise ValueError("nope")\nf()');
    assert.equal(r.status, 'error');
    assert.match(r.output, /ValueError: nope/);
    assert.doesNotMatch(r.output, /_parley_run/);
  });

  test('the time limit terminates the worker; the next cell runs in a fresh interpreter with the files restored', async () => {
    await sandbox.run('kept = 1');
    const r = await sandbox.run('import time\nwhile True:\n    time.sleep(0)');
    assert.equal(r.status, 'timeout');
    assert.ok(r.ms < 5000);
    const next = await sandbox.run('print("kept" in globals(), open("/mnt/data/seed.txt").read())');
    assert.equal(next.restarted, true);
    assert.equal(next.output, 'False seeded\n');
  });

  test('memory past the cap is a MemoryError, and the interpreter goes on', async () => {
    const r = await sandbox.run('big = bytearray(200 * 1024 * 1024)');
    assert.equal(r.status, 'memory');
    assert.equal((await sandbox.run('print(2 + 2)')).output, '4\n');
  });

  test('no JavaScript, no network, no host', async () => {
    for (const code of ['import js', 'import pyodide_js', 'from pyodide.http import pyfetch', 'import micropip']) {
      const r = await sandbox.run(code);
      assert.equal(r.status, 'error', code);
      assert.match(r.output, /not available in this sandbox/, code);
    }
    const escape = await sandbox.run('from pyodide.ffi import to_js\nprint(to_js([]).constructor.constructor)');
    assert.equal(escape.output.trim(), 'None', 'no Function constructor to compile host code with');
    const env = await sandbox.run('import os\nprint(dict(os.environ).get("PATH"), os.path.exists("/work"), os.path.exists("/etc/passwd"))');
    assert.doesNotMatch(env.output, /True/);
    const socket = await sandbox.run('import socket\nsocket.create_connection(("127.0.0.1", 9), timeout=1)');
    assert.equal(socket.status, 'error');
  });

  test('no TCP connection even to a server that listens', async () => {
    let connections = 0;
    const server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const r = await sandbox.run(`import socket\ns = socket.create_connection(("127.0.0.1", ${port}), timeout=1)\ns.sendall(b"x")\nprint(s.recv(1))`);
      assert.equal(r.status, 'error');
      assert.equal(connections, 0);
    } finally {
      server.close();
    }
  });
});

describe('PythonSandbox starts (snapshot, spares)', () => {
  const limits = { timeoutMs: 5000, memoryMb: 128 };
  const sandboxes: PythonSandbox[] = [];
  const open = () => {
    const s = new PythonSandbox(limits);
    sandboxes.push(s);
    return s;
  };
  after(async () => {
    verifySnapshotRestores(false);
    setSpareCount(1);
    onWorkerStart(null);
    await Promise.all(sandboxes.map((s) => s.close()));
    await stopSpares();
  });

  test('the memory restored from the snapshot is the snapshot, page for page (past the dead stack)', async () => {
    await open().warm(); // makes the snapshot if no container of this size started yet
    verifySnapshotRestores(true);
    setSpareCount(0);
    await stopSpares();
    const starts: StartTiming[] = [];
    onWorkerStart((t) => starts.push(t));
    const r = await open().run('import json, collections, re\nprint(json.dumps(collections.Counter(re.findall("a", "banana"))))');
    assert.equal(r.status, 'ok', r.output);
    assert.equal(r.output, '{"a": 3}\n');
    assert.equal(starts.length, 1);
    assert.equal(starts[0].fromSnapshot, true);
    assert.notEqual(starts[0].codeCache, 'rejected');
    verifySnapshotRestores(false);
  });

  test('each container has its own interpreter, also when started from a spare', async () => {
    setSpareCount(2);
    assert.equal(spareCount(), 2);
    const a = open();
    assert.equal((await a.run('secret = 42\nprint(secret)')).output, '42\n');
    for (let i = 0; i < 3; i++) {
      const b = open();
      const r = await b.run('print("secret" in globals())\nimport sys\nprint("_SandboxBlocker" in repr(sys.meta_path))');
      assert.equal(r.output, 'False\nTrue\n');
    }
    setSpareCount(99);
    assert.equal(spareCount(), 4);
    setSpareCount(-1);
    assert.equal(spareCount(), 0);
  });
});
