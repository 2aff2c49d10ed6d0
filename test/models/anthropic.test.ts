// The Anthropic back-end against a real loopback Messages upstream: the body it sends for a
// Responses model step, and the parts it pushes for each kind of stream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { createAnthropicBackend } from '../../src/models/anthropic.js';
import { ModelError, type ModelBackend, type ModelPart, type ModelRequest } from '../../src/models/types.js';
import {
  ev,
  reply,
  startFakeAnthropicUpstream,
  textBlock,
  textReply,
  thinkingBlock,
  toolUseBlock,
  type FakeAnthropicUpstream,
} from '../helpers/fake-anthropic-upstream.js';
import { modelRequest, runFailingStep, runStep } from '../helpers/model-step.js';

// A model id the provider knows: it keeps temperature and sends the model's own max_tokens.
const KNOWN_MODEL = 'claude-sonnet-4-5';
// Long enough that a loaded CI machine never trips it by accident; the stall tests wait for it.
const IDLE_TIMEOUT_MS = 1000;

let up: FakeAnthropicUpstream;
let backend: ModelBackend;

before(async () => {
  up = await startFakeAnthropicUpstream({ models: ['claude-a', 'claude-b'], apiKey: 'sk-ant-test' });
  backend = createAnthropicBackend({ baseUrl: up.url, apiKey: 'sk-ant-test', idleTimeoutMs: IDLE_TIMEOUT_MS });
});
after(() => up.close());

const request = (overrides: Partial<ModelRequest> = {}) => modelRequest({ model: KNOWN_MODEL, maxOutputTokens: 1000, ...overrides });
const run = (overrides: Partial<ModelRequest> = {}, b: ModelBackend = backend) => runStep(b, request(overrides));
/** Runs a step that must fail; returns the error and the parts pushed before it. */
const runFailing = (overrides: Partial<ModelRequest> = {}, b: ModelBackend = backend) => runFailingStep(b, request(overrides));

function assertModelError(error: unknown, code: string, message: string | RegExp): void {
  assert.ok(error instanceof ModelError, `expected a ModelError, got ${String(error)}`);
  assert.equal(error.code, code);
  if (typeof message === 'string') assert.equal(error.message, message);
  else assert.match(error.message, message);
}

const weather = {
  type: 'function',
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
} as never;

describe('request body', () => {
  test('maps instructions, every input item kind, tools and options; sends the Anthropic headers', async () => {
    up.script(textReply('ok'));
    await run({
      instructions: 'Be brief.',
      input: [
        { role: 'developer', content: 'Use metric units.' },
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is here?' },
            { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' },
            { type: 'input_image', image_url: 'https://example.com/cat.jpg', detail: 'auto' },
          ],
        },
        { role: 'user', content: 'And be quick.' },
        {
          type: 'reasoning',
          id: 'rs_1',
          summary: [],
          content: [{ type: 'reasoning_text', text: 'They want ' }, { type: 'reasoning_text', text: 'the weather.' }],
          encrypted_content: 'SIG-1',
        } as never,
        { type: 'reasoning', id: 'rs_2', summary: [{ type: 'summary_text', text: 'from another model' }] },
        {
          type: 'message',
          id: 'msg_1',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: 'Let me check.', annotations: [] }],
        },
        { type: 'function_call', call_id: 'toolu_a', name: 'get_weather', arguments: '{"city":"Oslo"}' },
        { type: 'function_call', call_id: 'toolu_b', name: 'get_time', arguments: '' },
        { type: 'function_call_output', call_id: 'toolu_a', output: '12°C' },
        { type: 'function_call_output', call_id: 'toolu_b', output: [{ type: 'input_text', text: '10:00' }] },
        { role: 'system', content: [{ type: 'input_text', text: 'Answer in English.' }] },
        { type: 'item_unknown_to_anthropic', foo: 1 } as never,
        { role: 'user', content: [{ type: 'input_text', text: 'Thanks' }] },
      ],
      tools: [weather, { type: 'function', name: 'get_time', parameters: null } as never],
      toolChoice: { type: 'function', name: 'get_weather' },
      parallelToolCalls: false,
      temperature: 0.2,
      maxOutputTokens: 100,
      user: 'user-1',
    });
    const body = up.requests.at(-1);
    assert.deepEqual(body.system, [{ type: 'text', text: 'Be brief.\n\nUse metric units.\n\nAnswer in English.' }]);
    assert.deepEqual(body.messages, [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is here?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          { type: 'text', text: 'And be quick.' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'They want the weather.', signature: 'SIG-1' },
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: { city: 'Oslo' } },
          { type: 'tool_use', id: 'toolu_b', name: 'get_time', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_a', content: '12°C' },
          { type: 'tool_result', tool_use_id: 'toolu_b', content: [{ type: 'text', text: '10:00' }] },
          { type: 'text', text: 'Thanks' },
        ],
      },
    ]);
    assert.equal(body.model, KNOWN_MODEL);
    assert.equal(body.stream, true);
    assert.equal(body.max_tokens, 100);
    assert.equal(body.temperature, 0.2);
    assert.equal(body.thinking, undefined);
    assert.deepEqual(body.metadata, { user_id: 'user-1' });
    assert.deepEqual(
      body.tools.map((t: any) => ({ name: t.name, description: t.description, input_schema: t.input_schema })),
      [
        { name: 'get_weather', description: 'Weather in a city', input_schema: (weather as any).parameters },
        { name: 'get_time', description: undefined, input_schema: { type: 'object', properties: {} } },
      ],
    );
    assert.deepEqual(body.tool_choice, { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true });

    const headers = up.headers.at(-1)!;
    assert.equal(headers['x-api-key'], 'sk-ant-test');
    assert.equal(headers['anthropic-version'], '2023-06-01');
    assert.equal(headers.authorization, undefined);
  });

  test('tool_choice: auto, none, required → any; no tools, no tool_choice', async () => {
    const cases = [
      ['auto', { type: 'auto' }],
      ['none', { type: 'none' }],
      ['required', { type: 'any' }],
    ] as const;
    for (const [choice, expected] of cases) {
      up.script(textReply('ok'));
      await run({ tools: [weather], toolChoice: choice });
      assert.deepEqual(up.requests.at(-1).tool_choice, expected, `tool_choice ${choice}`);
    }
    up.script(textReply('ok'));
    await run({ toolChoice: 'required' });
    assert.equal(up.requests.at(-1).tools, undefined);
    assert.equal(up.requests.at(-1).tool_choice, undefined);
  });

  test('reasoning.effort → extended thinking with a budget; none or no reasoning → no thinking', async () => {
    for (const [effort, budget] of [['low', 1024], ['medium', 4096], ['high', 16384]] as const) {
      up.script(textReply('ok'));
      await run({ reasoning: { effort }, maxOutputTokens: 2000, temperature: 0.5 });
      const body = up.requests.at(-1);
      assert.deepEqual(body.thinking, { type: 'enabled', budget_tokens: budget }, effort);
      // the budget comes on top of the visible output; temperature is not allowed with thinking
      assert.equal(body.max_tokens, 2000 + budget);
      assert.equal(body.temperature, undefined);
    }
    up.script(textReply('ok'), textReply('ok'));
    await run({ reasoning: { effort: 'none' } });
    assert.equal(up.requests.at(-1).thinking, undefined);
    await run({ reasoning: { summary: 'auto' } });
    assert.equal(up.requests.at(-1).thinking, undefined);
  });

  test('max_tokens is always sent: the model maximum without max_output_tokens, 4096 for unknown ids', async () => {
    up.script(textReply('ok'), textReply('ok'));
    await run({ maxOutputTokens: null });
    assert.equal(typeof up.requests.at(-1).max_tokens, 'number');
    assert.ok(up.requests.at(-1).max_tokens >= 4096);
    await run({ model: 'local-model', maxOutputTokens: null });
    assert.equal(up.requests.at(-1).max_tokens, 4096);
  });

  test('without an API key no x-api-key header is sent', async () => {
    const open = await startFakeAnthropicUpstream();
    try {
      const keyless = createAnthropicBackend({ baseUrl: open.url, idleTimeoutMs: 1000 });
      const parts = await run({}, keyless);
      assert.equal(parts.at(-1)?.type, 'finish');
      assert.equal(open.headers[0]['x-api-key'], undefined);
      assert.equal(open.headers[0]['anthropic-version'], '2023-06-01');
    } finally {
      await open.close();
    }
  });
});

describe('stream parts', () => {
  test('text: start, deltas, end, then finish with usage', async () => {
    up.script(reply([textBlock(0, ['Hello', ' there'])], { usage: [11, 7] }));
    assert.deepEqual(await run(), [
      { type: 'text-start', id: '0' },
      { type: 'text-delta', id: '0', delta: 'Hello' },
      { type: 'text-delta', id: '0', delta: ' there' },
      { type: 'text-end', id: '0' },
      { type: 'finish', reason: 'stop', usage: { inputTokens: 11, outputTokens: 7, cachedInputTokens: 0 } },
    ]);
  });

  test('thinking with its signature, text, then a tool_use: reasoning, text and tool-call parts', async () => {
    up.script(
      reply(
        [
          thinkingBlock(0, ['The user ', 'wants weather.'], 'SIG-abc'),
          textBlock(1, ['Checking.']),
          toolUseBlock(2, 'toolu_01', 'get_weather', ['{"ci', 'ty": "Os', 'lo"}']),
        ],
        { stopReason: 'tool_use', usage: [20, 30], cacheRead: 12, cacheWrite: 3 },
      ),
    );
    assert.deepEqual(await run({ tools: [weather], reasoning: { effort: 'low' } }), [
      { type: 'reasoning-start', id: '0' },
      { type: 'reasoning-delta', id: '0', delta: 'The user ' },
      { type: 'reasoning-delta', id: '0', delta: 'wants weather.' },
      { type: 'reasoning-end', id: '0', encryptedContent: 'SIG-abc' },
      { type: 'text-start', id: '1' },
      { type: 'text-delta', id: '1', delta: 'Checking.' },
      { type: 'text-end', id: '1' },
      { type: 'tool-call-start', id: 'toolu_01', callId: 'toolu_01', name: 'get_weather' },
      { type: 'tool-call-delta', id: 'toolu_01', delta: '{"ci' },
      { type: 'tool-call-delta', id: 'toolu_01', delta: 'ty": "Os' },
      { type: 'tool-call-delta', id: 'toolu_01', delta: 'lo"}' },
      { type: 'tool-call-end', id: 'toolu_01' },
      // input_tokens counts cache reads and writes too
      { type: 'finish', reason: 'tool-calls', usage: { inputTokens: 35, outputTokens: 30, cachedInputTokens: 12 } },
    ]);
  });

  test('parallel tool calls; one without parameters gets {} as its arguments', async () => {
    up.script(
      reply([toolUseBlock(0, 'toolu_a', 'get_weather', ['{"city":"Oslo"}']), toolUseBlock(1, 'toolu_b', 'get_time', [''])], {
        stopReason: 'tool_use',
      }),
    );
    const parts = await run({ tools: [weather] });
    assert.deepEqual(
      parts.filter((p) => p.type.startsWith('tool-call')),
      [
        { type: 'tool-call-start', id: 'toolu_a', callId: 'toolu_a', name: 'get_weather' },
        { type: 'tool-call-delta', id: 'toolu_a', delta: '{"city":"Oslo"}' },
        { type: 'tool-call-end', id: 'toolu_a' },
        { type: 'tool-call-start', id: 'toolu_b', callId: 'toolu_b', name: 'get_time' },
        { type: 'tool-call-delta', id: 'toolu_b', delta: '{}' },
        { type: 'tool-call-end', id: 'toolu_b' },
      ],
    );
  });

  test('redacted thinking keeps its data, and goes back as a redacted_thinking block', async () => {
    up.script(
      reply([
        [ev.blockStart(0, { type: 'redacted_thinking', data: 'ENCRYPTED' }), ev.blockStop(0)],
        textBlock(1, ['Done.']),
      ]),
    );
    const parts = await run({ reasoning: { effort: 'low' } });
    assert.deepEqual(parts.slice(0, 2), [
      { type: 'reasoning-start', id: '0' },
      { type: 'reasoning-end', id: '0', encryptedContent: 'redacted_thinking:ENCRYPTED' },
    ]);

    up.script(textReply('ok'));
    await run({
      input: [
        { role: 'user', content: 'Hi' },
        { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'redacted_thinking:ENCRYPTED' } as never,
        { role: 'assistant', content: 'Done.' },
        { role: 'user', content: 'Again' },
      ],
    });
    assert.deepEqual(up.requests.at(-1).messages[1], {
      role: 'assistant',
      content: [
        { type: 'redacted_thinking', data: 'ENCRYPTED' },
        { type: 'text', text: 'Done.' },
      ],
    });
  });

  test('stop reasons: max_tokens → length, refusal → content-filter, end_turn → stop', async () => {
    for (const [stop, reason] of [['max_tokens', 'length'], ['refusal', 'content-filter'], ['end_turn', 'stop']] as const) {
      up.script(textReply('Cut', { stopReason: stop }));
      const parts = await run();
      const last = parts.at(-1);
      assert.equal(last?.type === 'finish' && last.reason, reason, stop);
    }
  });
});

describe('failures', () => {
  test('HTTP 429 rate_limit_error → rate_limit_exceeded, prefixed with the Anthropic type', async () => {
    up.script({ status: 429, body: { type: 'error', error: { type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit' } } });
    const { error, parts } = await runFailing();
    assertModelError(error, 'rate_limit_exceeded', 'rate_limit_error: Number of requests has exceeded your rate limit');
    assert.equal((error as ModelError).status, 429);
    assert.deepEqual(parts, []);
  });

  test('HTTP 529 overloaded_error → server_error; a text body is used as it is', async () => {
    up.script(
      { status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } },
      { status: 502, body: 'Bad gateway from the proxy' },
    );
    assertModelError((await runFailing()).error, 'server_error', 'overloaded_error: Overloaded');
    assertModelError((await runFailing()).error, 'server_error', 'Bad gateway from the proxy');
  });

  test('event: error mid-stream fails the step after the parts so far', async () => {
    up.script({ events: [ev.messageStart(), ...textBlock(0, ['Partial']).slice(0, 2), ev.error('overloaded_error', 'Overloaded')] });
    const { error, parts } = await runFailing();
    assertModelError(error, 'server_error', 'overloaded_error: Overloaded');
    assert.deepEqual(parts, [
      { type: 'text-start', id: '0' },
      { type: 'text-delta', id: '0', delta: 'Partial' },
    ]);
  });

  test('event: error as the first event; rate_limit_error there is rate_limit_exceeded', async () => {
    up.script({ events: [ev.error('rate_limit_error', 'Slow down')] }, { events: [ev.error('api_error', 'Internal server error')] });
    assertModelError((await runFailing()).error, 'rate_limit_exceeded', 'rate_limit_error: Slow down');
    assertModelError((await runFailing()).error, 'server_error', 'api_error: Internal server error');
  });

  test('a stream that ends before message_stop fails', async () => {
    up.script({ events: [ev.messageStart(), ...textBlock(0, ['Hi'])] });
    assertModelError((await runFailing()).error, 'server_error', 'upstream stream ended unexpectedly');
  });

  test('a stalled upstream times out and its connection is closed', async () => {
    const closedBefore = up.closedConnections;
    up.script({ events: [ev.messageStart(), ...textBlock(0, ['Hi', ' there'])], stallAfter: 3 });
    const started = Date.now();
    const { error, parts } = await runFailing();
    assertModelError(error, 'server_error', `upstream sent nothing for ${IDLE_TIMEOUT_MS} ms`);
    assert.ok(Date.now() - started >= IDLE_TIMEOUT_MS);
    assert.deepEqual(parts, [
      { type: 'text-start', id: '0' },
      { type: 'text-delta', id: '0', delta: 'Hi' },
    ]);
    await up.whenClosed(closedBefore + 1);
  });

  test('an upstream that never answers times out too', async () => {
    up.script({ events: [], stallAfter: 0 });
    assertModelError((await runFailing()).error, 'server_error', `upstream sent nothing for ${IDLE_TIMEOUT_MS} ms`);
  });

  test('abort rejects with the abort reason and closes the upstream connection', async () => {
    const closedBefore = up.closedConnections;
    up.script({ events: [ev.messageStart(), ...textBlock(0, ['a', 'b', 'c', 'd', 'e'])], delayMs: 50 });
    const controller = new AbortController();
    const parts: ModelPart[] = [];
    const done = backend.stream(request({ signal: controller.signal }), (part) => {
      parts.push(part);
      if (part.type === 'text-delta') controller.abort();
    });
    await assert.rejects(done, (error: unknown) => error instanceof Error && error.name === 'AbortError');
    await up.whenClosed(closedBefore + 1);
    assert.equal(parts.filter((p) => p.type === 'text-delta').length, 1);
  });

  test('an unreachable upstream fails with the connection error', async () => {
    const gone = createAnthropicBackend({ baseUrl: await closedPortUrl(), idleTimeoutMs: 1000 });
    assertModelError((await runFailing({}, gone)).error, 'server_error', /^upstream request failed: .*ECONNREFUSED/);
  });
});

describe('listModels', () => {
  test('configured models, else GET /models, else []', async () => {
    const configured = createAnthropicBackend({ baseUrl: up.url, models: ['claude-x'], idleTimeoutMs: 1000 });
    assert.deepEqual(await configured.listModels(), [{ id: 'claude-x', owned_by: 'upstream' }]);
    assert.deepEqual(await backend.listModels(), [
      { id: 'claude-a', owned_by: 'anthropic' },
      { id: 'claude-b', owned_by: 'anthropic' },
    ]);
    const wrongKey = createAnthropicBackend({ baseUrl: up.url, apiKey: 'nope', idleTimeoutMs: 1000 });
    assert.deepEqual(await wrongKey.listModels(), []);
    const gone = createAnthropicBackend({ baseUrl: await closedPortUrl(), idleTimeoutMs: 1000 });
    assert.deepEqual(await gone.listModels(), []);
  });
});

/** A loopback base URL where nothing listens. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/v1`;
}
