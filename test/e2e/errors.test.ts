// Bad input gets an OpenAI-shaped 4xx and loses nothing; stored responses survive a restart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { APIError } from 'openai';
import { validateSchema } from '../helpers/spec.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

describe('bad input', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ PARLEY_MAX_BODY_BYTES: '4096', PARLEY_API_KEYS: 'k1,k2' });
  });
  after(() => server.close());

  async function post(body: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${server.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k2', ...headers },
      body,
    });
    const json = (await res.json()) as ErrorBody;
    assert.equal(validateSchema('Error', json.error), null, 'error bodies have the official shape');
    assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type']);
    return { status: res.status, error: json.error };
  }

  const cases: Array<[string, string, number, Partial<ErrorBody['error']>]> = [
    ['malformed JSON', '{"model": "scripted", "input": ', 400, { code: 'invalid_json', param: null }],
    ['an empty body', '', 400, { code: 'invalid_json' }],
    ['a JSON array', '[1,2]', 400, { code: 'invalid_json' }],
    ['a number where a string belongs', '{"model": 42, "input": "x"}', 400, { param: 'model', code: 'invalid_type' }],
    ['temperature out of range', '{"model": "scripted", "input": "x", "temperature": 7}', 400, { param: 'temperature' }],
    ['a bad nested type', '{"model": "scripted", "input": [{"role": "user", "content": 5}]}', 400, { param: 'input[0].content' }],
    ['an unknown role', '{"model": "scripted", "input": [{"role": "robot", "content": "x"}]}', 400, { param: 'input[0].role' }],
    ['an unknown model', '{"model": "gpt-nope", "input": "x"}', 404, { param: 'model', code: 'model_not_found' }],
    ['an unknown previous_response_id', '{"model": "scripted", "input": "x", "previous_response_id": "resp_nope"}', 404, { param: 'previous_response_id' }],
    ['a tool type that is not in the API', '{"model": "scripted", "input": "x", "tools": [{"type": "teleport"}]}', 400, { param: 'tools[0].type' }],
    ['a built-in tool Parley does not run', '{"model": "scripted", "input": "x", "tools": [{"type": "local_shell"}]}', 400, { param: 'tools[0].type', code: 'unsupported_tool' }],
    ['a function tool without a name', '{"model": "scripted", "input": "x", "tools": [{"type": "function", "parameters": {}}]}', 400, { param: 'tools[0].name' }],
    ['background without storage', '{"model": "scripted", "input": "x", "background": true, "store": false}', 400, { param: 'store' }],
    ['an oversized body', JSON.stringify({ model: 'scripted', input: 'x'.repeat(5000) }), 413, { code: 'request_too_large' }],
  ];

  for (const [name, body, status, expected] of cases) {
    test(`${name} → ${status}`, async () => {
      const result = await post(body);
      assert.equal(result.status, status);
      for (const [key, value] of Object.entries(expected)) assert.equal(result.error[key as keyof ErrorBody['error']], value, key);
      assert.ok(result.error.message.length > 10);
    });
  }

  test('an oversized chunked body (no content-length) → 413, and the server keeps serving', async () => {
    const big = new TextEncoder().encode(JSON.stringify({ model: 'scripted', input: 'y'.repeat(5000) }));
    const body = new ReadableStream({
      start(controller) {
        for (let i = 0; i < big.length; i += 1000) controller.enqueue(big.slice(i, i + 1000));
        controller.close();
      },
    });
    const res = await fetch(`${server.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k1' },
      body,
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as ErrorBody).error.code, 'request_too_large');
  });

  test('a missing or wrong API key → 401', async () => {
    const missing = await post('{"model":"scripted","input":"x"}', { authorization: '' });
    assert.equal(missing.status, 401);
    const wrong = await post('{"model":"scripted","input":"x"}', { authorization: 'Bearer nope' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.error.code, 'invalid_api_key');
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
  });

  test('unknown routes and ids are OpenAI-shaped 404s', async () => {
    const res = await fetch(`${server.url}/v1/nothing-here`, { headers: { authorization: 'Bearer k1' } });
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as ErrorBody).error.message, /Invalid URL \(GET \/v1\/nothing-here\)/);
    await assert.rejects(server.client.responses.retrieve('resp_unknown'), (e: APIError) => e.status === 404);
    await assert.rejects(server.client.responses.inputItems.list('resp_unknown'), (e: APIError) => e.status === 404);
    await assert.rejects(server.client.responses.cancel('resp_unknown'), (e: APIError) => e.status === 404);
  });

  test('after all that, the server still serves', async () => {
    const response = await server.client.responses.create({ model: 'scripted', input: 'still here' });
    assert.equal(response.output_text, 'You said: still here');
  });
});

describe('restart', () => {
  test('stored responses and their chain survive a restart', async () => {
    const first = await startTestServer();
    const one = await first.client.responses.create({ model: 'scripted', input: 'before restart' });
    await first.close();

    const second = await startTestServer({ PARLEY_DATA_DIR: first.dataDir });
    try {
      const retrieved = await second.client.responses.retrieve(one.id);
      assert.deepEqual(retrieved, one);
      const items = await second.client.responses.inputItems.list(one.id);
      assert.equal(items.data.length, 1);
      const next = await second.client.responses.create({ model: 'scripted', input: [], previous_response_id: one.id });
      assert.equal(next.output_text, 'You said: before restart');
    } finally {
      await second.close();
    }
  });

  test('a response still running at shutdown is stored as cancelled, not left in progress', async () => {
    const first = await startTestServer();
    const queued = await first.client.responses.create({ model: 'scripted', input: '/stall', background: true });
    await new Promise((r) => setTimeout(r, 50));
    await first.close();
    const second = await startTestServer({ PARLEY_DATA_DIR: first.dataDir });
    try {
      assert.equal((await second.client.responses.retrieve(queued.id)).status, 'cancelled');
    } finally {
      await second.close();
    }
  });
});
