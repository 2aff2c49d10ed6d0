// Model routing from a config file: several upstreams, model ids with upstream names and default
// parameters, and OpenAI's 404 for a model nobody serves.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { APIError } from 'openai';
import { loadConfig } from '../../src/config.js';
import { startFakeChatUpstream, type FakeChatUpstream } from '../helpers/fake-chat-upstream.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

function writeConfig(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'parley-config-')), 'parley.yaml');
  writeFileSync(path, text);
  return path;
}

describe('routing from PARLEY_CONFIG', () => {
  let a: FakeChatUpstream;
  let b: FakeChatUpstream;
  let server: TestServer;

  before(async () => {
    a = await startFakeChatUpstream();
    b = await startFakeChatUpstream();
    const config = writeConfig(`
upstreams:
  - name: local
    url: ${a.url}
    api_key_env: ROUTING_TEST_KEY
  - name: other
    url: ${b.url}
    models: [b-1]
models:
  - id: fast
    upstream: local
    model: a-small
    params: { temperature: 0.2, max_output_tokens: 50, reasoning_effort: low }
`);
    server = await startTestServer({ PARLEY_CONFIG: config, ROUTING_TEST_KEY: 'secret-a' });
  });
  after(async () => {
    await server.close();
    await a.close();
    await b.close();
  });

  test('GET /v1/models lists scripted, the routes, what upstreams list, and what a catch-all upstream serves', async () => {
    const ids = (await server.client.models.list()).data.map((m) => `${m.id}:${m.owned_by}`);
    assert.deepEqual(ids, ['scripted:parley-scripted', 'fast:local', 'b-1:other', 'fake-model:fake']);
  });

  test('a route sends its upstream name and default parameters; the request overrides them', async () => {
    await server.client.responses.create({ model: 'fast', input: 'hi' });
    const sent = a.requests.at(-1);
    assert.equal(sent.model, 'a-small');
    assert.equal(sent.temperature, 0.2);
    assert.equal(sent.max_tokens, 50);
    assert.equal(sent.reasoning_effort, 'low');
    assert.equal(a.headers.at(-1)?.authorization, 'Bearer secret-a');

    await server.client.responses.create({ model: 'fast', input: 'hi', temperature: 0.9, reasoning: { effort: 'high' } });
    assert.equal(a.requests.at(-1).temperature, 0.9);
    assert.equal(a.requests.at(-1).reasoning_effort, 'high');
  });

  test('a listed model goes to the upstream that lists it; any other id to the catch-all', async () => {
    const before = { a: a.requests.length, b: b.requests.length };
    await server.client.responses.create({ model: 'b-1', input: 'hi' });
    assert.equal(b.requests.length, before.b + 1);
    assert.equal(b.requests.at(-1).model, 'b-1');
    await server.client.responses.create({ model: 'whatever-7b', input: 'hi' });
    assert.equal(a.requests.at(-1).model, 'whatever-7b');
  });
});

describe('no catch-all upstream', () => {
  test('an unknown model is a 404 model_not_found, like OpenAI', async () => {
    const up = await startFakeChatUpstream();
    const server = await startTestServer({ PARLEY_UPSTREAM_URL: up.url, PARLEY_UPSTREAM_MODELS: 'only-this' });
    try {
      await assert.rejects(server.client.responses.create({ model: 'gpt-unknown', input: 'x' }), (error: APIError) => {
        assert.equal(error.status, 404);
        assert.equal(error.code, 'model_not_found');
        assert.equal(error.param, 'model');
        return true;
      });
    } finally {
      await server.close();
      await up.close();
    }
  });
});

describe('config file errors', () => {
  test('a route to an unknown upstream, a bad field, a duplicate name: clear startup errors', () => {
    const cases: Array<[string, RegExp]> = [
      ['models:\n  - id: x\n    upstream: nowhere\n', /model 'x' names upstream 'nowhere'/],
      ['upstreams:\n  - name: u\n    url: not a url\n', /upstreams\.0\.url/],
      ['upstreams:\n  - name: u\n    url: http://127.0.0.1:1/v1\n    colour: blue\n', /colour/],
      ['upstreams:\n  - name: u\n    url: http://127.0.0.1:1/v1\n  - name: u\n    url: http://127.0.0.1:2/v1\n', /named twice/],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => loadConfig({ PARLEY_CONFIG: writeConfig(text) }), message);
    }
    assert.throws(() => loadConfig({ PARLEY_CONFIG: '/nonexistent/parley.yaml' }), /cannot read/);
  });
});
