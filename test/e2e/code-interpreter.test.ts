// code_interpreter end to end: Python in a Pyodide container, driven by the scripted model
// (`/tool python {"code": …}`) and by a loopback Chat Completions upstream that streams the
// code in pieces; every stream checked with the official schema, the stream rules and the SDK's
// accumulator (streamResponse). The sandbox's limits (time, memory, no network, no host) are
// exercised here through the server, which must stay healthy throughout.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Response as ApiResponse, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { chunk, startFakeChatUpstream, textScript, type FakeChatUpstream } from '../helpers/fake-chat-upstream.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { streamResponse } from '../helpers/stream.js';

type CiCall = { id: string; type: 'code_interpreter_call'; status: string; code: string; container_id: string; outputs: Array<{ type: string; logs?: string; url?: string }> | null };
const calls = (r: ApiResponse) => r.output.filter((i) => i.type === 'code_interpreter_call') as unknown as CiCall[];
const answer = (r: ApiResponse) => {
  const message = r.output.find((i) => i.type === 'message') as unknown as { content: Array<{ text: string; annotations: any[] }> } | undefined;
  return message?.content[0] ?? { text: '', annotations: [] };
};
const py = (code: string) => `/tool python ${JSON.stringify({ code })}`;
const TIMEOUT_MS = 1500;
// The memory bomb below fills memory up to the cap within TIMEOUT_MS: every page it touches is a
// page fault, ~20 µs each on a loaded VM, so 256 MB (65,536 pages) could take longer than the
// time limit; 128 MB leaves room.
const MEMORY_MB = 128;

describe('code_interpreter with the scripted model', () => {
  let server: TestServer;
  let containerId: string;
  before(async () => {
    server = await startTestServer({ PARLEY_CODE_TIMEOUT_MS: String(TIMEOUT_MS), PARLEY_CODE_MEMORY_MB: String(MEMORY_MB) });
    containerId = (await server.client.containers.create({ name: 'tests' })).id;
  });
  after(async () => {
    await server?.close();
  });
  const tools = () => [{ type: 'code_interpreter', container: containerId }];
  const run = (code: string, extra: Record<string, unknown> = {}) =>
    streamResponse(server.client, { model: 'scripted', input: py(code), tools: tools(), include: ['code_interpreter_call.outputs'], ...extra });
  const healthy = async () => assert.equal((await fetch(`${server.url}/health`)).status, 200);

  test('arithmetic: in_progress → code deltas → interpreting → completed, outputs with the logs', async () => {
    const { events, response } = await streamResponse(server.client, {
      model: 'scripted',
      input: py('print(6 * 7)'),
      tools: [{ type: 'code_interpreter', container: { type: 'auto' } }],
      include: ['code_interpreter_call.outputs'],
    });
    assert.equal(response.status, 'completed');
    const [call] = calls(response);
    assert.equal(call.status, 'completed');
    assert.equal(call.code, 'print(6 * 7)');
    assert.match(call.container_id, /^cntr_/);
    assert.deepEqual(call.outputs, [{ type: 'logs', logs: '42\n' }]);
    const lifecycle = events.filter((e) => 'item_id' in e && e.item_id === call.id).map((e) => e.type);
    assert.equal(lifecycle[0], 'response.code_interpreter_call.in_progress');
    assert.ok(lifecycle.includes('response.code_interpreter_call_code.delta'));
    assert.deepEqual(lifecycle.slice(-3), ['response.code_interpreter_call_code.done', 'response.code_interpreter_call.interpreting', 'response.code_interpreter_call.completed']);
    assert.match(answer(response).text, /42/);
    // Without the include, no outputs.
    const plain = await streamResponse(server.client, { model: 'scripted', input: py('print(1)'), tools: tools() });
    assert.equal(calls(plain.response)[0].outputs, null);
  });

  test('state persists between calls in one container (variables and files)', async () => {
    await run('counter = 40\nopen("state.txt", "w").write("kept")');
    const { response } = await run('counter += 2\nprint(counter, open("/mnt/data/state.txt").read())');
    assert.deepEqual(calls(response)[0].outputs, [{ type: 'logs', logs: '42 kept\n' }]);
  });

  test('a file the code writes is listed in the container, served, and cited', async () => {
    const { events, response } = await run('with open("report.csv", "w") as f:\n    f.write("a,b\\n1,2\\n")\nprint("written")');
    const text = answer(response);
    assert.match(text.text, /\[report\.csv\]\(sandbox:\/mnt\/data\/report\.csv\)/);
    const list = await server.client.containers.files.list(containerId);
    const file = list.data.find((f) => f.path === '/mnt/data/report.csv');
    assert.ok(file, 'the file is listed');
    assert.equal(file.source, 'assistant');
    assert.equal(file.bytes, 8);
    const content = await server.client.containers.files.content.retrieve(file.id, { container_id: containerId });
    assert.equal(await content.text(), 'a,b\n1,2\n');
    const [citation] = text.annotations;
    assert.equal(citation.type, 'container_file_citation');
    assert.equal(citation.container_id, containerId);
    assert.equal(citation.file_id, file.id);
    assert.equal(citation.filename, 'report.csv');
    assert.equal(text.text.slice(citation.start_index, citation.end_index), '[report.csv](sandbox:/mnt/data/report.csv)');
    assert.ok(events.some((e) => e.type === 'response.output_text.annotation.added'));
  });

  test('a PNG the code saves is an image output served from the container', async () => {
    const png = 'import base64\nopen("dot.png","wb").write(base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="))';
    const { response } = await run(png);
    const image = calls(response)[0].outputs!.find((o) => o.type === 'image')!;
    assert.match(image.url!, new RegExp(`^/v1/containers/${containerId}/files/cfile_[0-9a-f]+/content$`));
    const res = await fetch(`${server.url}${image.url}`);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.deepEqual([...new Uint8Array(await res.arrayBuffer()).slice(1, 4)], [0x50, 0x4e, 0x47]);
  });

  test('an exception is output the model sees', async () => {
    const { response } = await run('1 / 0');
    assert.equal(response.status, 'completed');
    assert.equal(calls(response)[0].status, 'completed');
    assert.match(answer(response).text, /ZeroDivisionError/);
  });

  test('an infinite loop is stopped by the time limit; the interpreter restarts, files kept, the server stays healthy', async () => {
    await run('before_loop = 1\nopen("survivor.txt","w").write("yes")');
    const started = Date.now();
    const { response } = await run('while True:\n    pass');
    assert.ok(Date.now() - started < TIMEOUT_MS + 8000);
    assert.match(answer(response).text, /time limit/);
    await healthy();
    const next = await run('print(open("survivor.txt").read())\nprint("before_loop" in globals())');
    assert.deepEqual(calls(next.response)[0].outputs, [{ type: 'logs', logs: 'yes\nFalse\n' }]);
    assert.match(answer(next.response).text, /restarted/);
  });

  test('a memory bomb is contained: MemoryError, and the interpreter still works', async () => {
    const { response } = await run('x = bytearray(1024 * 1024 * 1024)');
    assert.match(answer(response).text, /MemoryError/);
    await healthy();
    const again = await run('blocks = []\nfor i in range(1000):\n    blocks.append(bytearray(16 * 1024 * 1024))');
    assert.match(answer(again.response).text, /MemoryError|out of memory/);
    const after = await run('print(sum(range(10)))');
    assert.deepEqual(calls(after.response)[0].outputs, [{ type: 'logs', logs: '45\n' }]);
  });

  test('no network and no host: import js, pyodide_js, pyodide.http, sockets and urllib are refused', async () => {
    let hits = 0;
    const target = createServer((_req, res) => {
      hits++;
      res.end('reached');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const port = (target.address() as AddressInfo).port;
    try {
      const attempts = [
        `import js\njs.fetch("http://127.0.0.1:${port}/")`,
        'import pyodide_js\nprint(pyodide_js.FS)',
        'import pyodide.http',
        `import socket\nsocket.create_connection(("127.0.0.1", ${port}), timeout=2).sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")`,
        `import urllib.request\nprint(urllib.request.urlopen("http://127.0.0.1:${port}/", timeout=2).read())`,
        'import pyodide.ffi\nf = pyodide.ffi.to_js([1]).constructor.constructor\nprint(f("return process")())',
        'import os\nprint(sorted(os.environ.get(k, "") for k in ("HOME", "PATH")))\nprint(os.listdir("/"))',
      ];
      for (const code of attempts) {
        const { response } = await run(code);
        assert.equal(response.status, 'completed');
        const text = answer(response).text;
        if (code.startsWith('import os')) assert.doesNotMatch(text, /\/work|\/root/);
        else assert.match(text, /Error|error/, `refused: ${code}\n${text}`);
      }
      assert.equal(hits, 0, 'nothing reached the loopback server');
      await healthy();
    } finally {
      await new Promise((resolve) => target.close(resolve));
    }
  });
});

describe('containers API', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });

  test('create, retrieve, list, files (upload and file_id), content, delete', async () => {
    const { client } = server;
    const container = await client.containers.create({ name: 'api', expires_after: { anchor: 'last_active_at', minutes: 5 } });
    assert.equal(container.object, 'container');
    assert.deepEqual(container.expires_after, { anchor: 'last_active_at', minutes: 5 });
    assert.equal((await client.containers.retrieve(container.id)).name, 'api');
    assert.ok((await client.containers.list()).data.some((c) => c.id === container.id));

    const uploaded = await client.containers.files.create(container.id, { file: new File(['hello'], 'hello.txt') });
    assert.equal(uploaded.path, '/mnt/data/hello.txt');
    assert.equal(uploaded.source, 'user');
    const stored = await client.files.create({ file: new File(['x,y\n'], 'data.csv'), purpose: 'user_data' });
    const copied = await client.containers.files.create(container.id, { file_id: stored.id });
    assert.equal(copied.path, '/mnt/data/data.csv');
    assert.equal((await client.containers.files.retrieve(copied.id, { container_id: container.id })).bytes, 4);
    const content = await client.containers.files.content.retrieve(uploaded.id, { container_id: container.id });
    assert.equal(await content.text(), 'hello');
    assert.equal((await client.containers.files.list(container.id)).data.length, 2);

    const { response } = await streamResponse(client, {
      model: 'scripted',
      input: py('print(open("hello.txt").read(), open("data.csv").read().strip())'),
      tools: [{ type: 'code_interpreter', container: container.id }],
    });
    assert.match(answer(response).text, /hello x,y/);

    await client.containers.files.delete(uploaded.id, { container_id: container.id });
    assert.equal((await client.containers.files.list(container.id)).data.length, 1);
    await client.containers.delete(container.id);
    await assert.rejects(client.containers.retrieve(container.id), (e: { status?: number }) => e.status === 404);
  });

  test('an unknown container in a tool is a 404; auto with file_ids copies the files in', async () => {
    const res = await fetch(`${server.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'scripted', input: 'x', tools: [{ type: 'code_interpreter', container: 'cntr_nope' }] }),
    });
    assert.equal(res.status, 404);
    const stored = await server.client.files.create({ file: new File(['42'], 'n.txt'), purpose: 'user_data' });
    const { response } = await streamResponse(server.client, {
      model: 'scripted',
      input: py('print(int(open("/mnt/data/n.txt").read()) + 1)'),
      tools: [{ type: 'code_interpreter', container: { type: 'auto', file_ids: [stored.id] } }],
    });
    assert.match(answer(response).text, /43/);
  });
});

describe('code_interpreter over a Chat Completions upstream', () => {
  let up: FakeChatUpstream;
  let server: TestServer;
  before(async () => {
    up = await startFakeChatUpstream({ models: ['fake-model'] });
    server = await startTestServer({ PARLEY_UPSTREAM_URL: up.url, PARLEY_UPSTREAM_MODELS: 'fake-model' });
  });
  after(async () => {
    await server?.close();
    await up?.close();
  });

  test('code deltas stream while the model writes the arguments, before the call runs', async () => {
    up.script(
      {
        chunks: [
          chunk.toolCall(0, { id: 'call_py', name: 'python', arguments: '{"code": "x = 2' }),
          chunk.toolCall(0, { arguments: '\\nprint(x ' }),
          chunk.toolCall(0, { arguments: '** 10)"}' }),
          chunk.finish('tool_calls'),
        ],
        delayMs: 30,
      },
      textScript('It is 1024.'),
    );
    const stream = await server.client.responses.create({ model: 'fake-model', input: 'What is 2**10?', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }], stream: true } as never);
    const events: ResponseStreamEvent[] = [];
    const arrival: number[] = [];
    for await (const event of stream as unknown as AsyncIterable<ResponseStreamEvent>) {
      events.push(event);
      arrival.push(Date.now());
    }
    const { conform } = await import('../helpers/stream.js');
    const response = conform(events);
    const deltas = events.filter((e) => e.type === 'response.code_interpreter_call_code.delta') as Array<{ delta: string }>;
    assert.ok(deltas.length >= 3, `several deltas (${deltas.length})`);
    assert.equal(deltas.map((d) => d.delta).join(''), 'x = 2\nprint(x ** 10)');
    const firstDelta = events.findIndex((e) => e.type === 'response.code_interpreter_call_code.delta');
    const completed = events.findIndex((e) => e.type === 'response.code_interpreter_call.completed');
    assert.ok(firstDelta < completed);
    assert.ok(arrival[completed] - arrival[firstDelta] >= 40, 'the first delta arrived while the model was still writing');
    assert.equal(calls(response)[0].code, 'x = 2\nprint(x ** 10)');
    assert.equal(answer(response).text, 'It is 1024.');
    const toolMessage = up.requests[1].messages.find((m: { role: string }) => m.role === 'tool');
    assert.match(toolMessage.content, /1024/);
  });
});
