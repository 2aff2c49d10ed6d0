// The real server in front of a real Anthropic Messages upstream (a loopback HTTP server speaking
// the Messages SSE format), driven by the official `openai` SDK. Every stream is checked against
// the official schema and the stream rules, and folded with the SDK's own accumulator.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { APIError } from 'openai';
import type { Response as ApiResponse, ResponseStreamEvent } from 'openai/resources/responses/responses';
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
import { startTestServer, type TestServer } from '../helpers/server.js';
import { retrieveSettled, streamResponse, withTimeout } from '../helpers/stream.js';

const MODEL = 'claude-test';
// Short enough for the stall tests, long enough that a loaded CI machine never trips it by accident.
const IDLE_TIMEOUT_MS = 1000;
const INCLUDE = ['reasoning.encrypted_content'];

let up: FakeAnthropicUpstream;
let server: TestServer;

beforeEach(async () => {
  up = await startFakeAnthropicUpstream({ apiKey: 'sk-ant-e2e' });
  server = await startTestServer({
    PARLEY_UPSTREAM_URL: up.url,
    PARLEY_UPSTREAM_PROTOCOL: 'anthropic',
    PARLEY_UPSTREAM_API_KEY: 'sk-ant-e2e',
    PARLEY_UPSTREAM_MODELS: MODEL,
    PARLEY_UPSTREAM_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
  });
});

afterEach(async () => {
  await server?.close();
  await up?.close();
});

const streamed = (body: Record<string, unknown>) => streamResponse(server.client, { model: MODEL, ...body });

const deltas = (events: ResponseStreamEvent[], type: string) => events.flatMap((e) => (e.type === type ? [(e as { delta: string }).delta] : []));

/** A failed response leaves nothing running: no item is still in_progress, live or stored. */
async function assertSettledFailure(response: ApiResponse): Promise<ApiResponse> {
  assert.equal(response.status, 'failed');
  for (const item of response.output) assert.notEqual((item as { status?: string }).status, 'in_progress', `${item.type} left in_progress`);
  const stored = await retrieveSettled(server.client, response.id);
  assert.equal(stored.status, 'failed');
  assert.deepEqual(stored.error, response.error);
  for (const item of stored.output) assert.notEqual((item as { status?: string }).status, 'in_progress');
  return stored;
}

describe('text', () => {
  test('streams text with usage; the upstream gets a Messages request', async () => {
    up.script(reply([textBlock(0, ['Hello', ' there,', ' dear client!'])], { usage: [11, 7] }));
    const { events, response } = await streamed({ instructions: 'Be terse.', input: 'Say hello', max_output_tokens: 300 });

    assert.equal(response.status, 'completed');
    assert.deepEqual(deltas(events, 'response.output_text.delta'), ['Hello', ' there,', ' dear client!']);
    assert.equal(response.output.length, 1);
    const message = response.output[0];
    assert.ok(message.type === 'message' && message.content[0].type === 'output_text');
    assert.equal(message.content[0].text, 'Hello there, dear client!');
    assert.equal(response.usage?.input_tokens, 11);
    assert.equal(response.usage?.output_tokens, 7);
    assert.equal(response.usage?.total_tokens, 18);

    assert.equal(up.requests.length, 1);
    const sent = up.requests[0];
    assert.equal(sent.model, MODEL);
    assert.equal(sent.stream, true);
    assert.equal(sent.max_tokens, 300);
    assert.deepEqual(sent.system, [{ type: 'text', text: 'Be terse.' }]);
    assert.deepEqual(sent.messages, [{ role: 'user', content: [{ type: 'text', text: 'Say hello' }] }]);
    assert.equal(up.headers[0]['x-api-key'], 'sk-ant-e2e');
    assert.equal(up.headers[0]['anthropic-version'], '2023-06-01');
  });

  test('cached input tokens are reported; the model is listed', async () => {
    up.script(reply([textBlock(0, ['Cached.'])], { usage: [20, 4], cacheRead: 100 }));
    const response = await server.client.responses.create({ model: MODEL, input: 'Hi' });
    assert.equal(response.output_text, 'Cached.');
    assert.equal(response.usage?.input_tokens, 120);
    assert.equal(response.usage?.input_tokens_details.cached_tokens, 100);
    assert.equal(response.usage?.output_tokens, 4);

    const models = await server.client.models.list();
    assert.ok(models.data.some((m) => m.id === MODEL));
  });

  test('stop_reason max_tokens ends as incomplete', async () => {
    up.script(textReply('Cut short', { stopReason: 'max_tokens' }));
    const { response } = await streamed({ input: 'Talk', max_output_tokens: 16 });
    assert.equal(response.status, 'incomplete');
    assert.deepEqual(response.incomplete_details, { reason: 'max_output_tokens' });
  });
});

describe('thinking', () => {
  const thinkingReply = () =>
    reply([thinkingBlock(0, ['The user wants ', 'a greeting.'], 'SIG-greet'), textBlock(1, ['Hi', '!'])], { usage: [10, 25] });

  test('thinking → a reasoning item with reasoning_text events and, when included, encrypted_content; it goes back with its signature', async () => {
    up.script(thinkingReply(), textReply('Hello again.'));
    const first = await streamed({ input: 'Greet me', reasoning: { effort: 'medium' }, include: INCLUDE });

    assert.equal(first.response.status, 'completed');
    assert.deepEqual(first.response.output.map((item) => item.type), ['reasoning', 'message']);
    const reasoning = first.response.output[0];
    assert.ok(reasoning.type === 'reasoning');
    assert.deepEqual(reasoning.content, [{ type: 'reasoning_text', text: 'The user wants a greeting.' }]);
    assert.equal(reasoning.encrypted_content, 'SIG-greet');
    assert.deepEqual(deltas(first.events, 'response.reasoning_text.delta'), ['The user wants ', 'a greeting.']);
    const reasoningDone = first.events.find((e) => e.type === 'response.output_item.done' && e.item.type === 'reasoning');
    assert.ok(reasoningDone?.type === 'response.output_item.done' && reasoningDone.item.type === 'reasoning');
    assert.equal(reasoningDone.item.encrypted_content, 'SIG-greet');
    assert.deepEqual(up.requests[0].thinking, { type: 'enabled', budget_tokens: 4096 });

    const second = await streamed({ previous_response_id: first.response.id, input: 'Again', reasoning: { effort: 'medium' }, include: INCLUDE });
    assert.equal(second.response.status, 'completed');
    assert.deepEqual(up.requests[1].messages, [
      { role: 'user', content: [{ type: 'text', text: 'Greet me' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'The user wants a greeting.', signature: 'SIG-greet' },
          { type: 'text', text: 'Hi!' },
        ],
      },
      { role: 'user', content: [{ type: 'text', text: 'Again' }] },
    ]);
  });

  test('without include, the reasoning item has no encrypted_content (and the thinking cannot go back)', async () => {
    up.script(thinkingReply(), textReply('Hello again.'));
    const first = await streamed({ input: 'Greet me', reasoning: { effort: 'low' } });
    const reasoning = first.response.output[0];
    assert.ok(reasoning.type === 'reasoning');
    assert.equal(reasoning.encrypted_content ?? null, null);
    assert.equal(reasoning.content?.[0]?.text, 'The user wants a greeting.');

    await streamed({ previous_response_id: first.response.id, input: 'Again' });
    assert.deepEqual(up.requests[1].messages[1], { role: 'assistant', content: [{ type: 'text', text: 'Hi!' }] });
  });
});

describe('tools', () => {
  const tools = [
    { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false },
  ];

  test('thinking + tool_use → function_call items; the output goes back via previous_response_id as tool_result', async () => {
    up.script(
      reply(
        [thinkingBlock(0, ['Need the weather.'], 'SIG-tool'), toolUseBlock(1, 'toolu_01A', 'get_weather', ['{"ci', 'ty": "Oslo"}'])],
        { stopReason: 'tool_use', usage: [30, 12] },
      ),
      textReply('It is 12°C in Oslo.'),
    );
    const first = await streamed({ input: 'Weather in Oslo?', tools, reasoning: { effort: 'low' }, include: INCLUDE });

    assert.equal(first.response.status, 'completed');
    assert.deepEqual(first.response.output.map((item) => item.type), ['reasoning', 'function_call']);
    const call = first.response.output[1];
    assert.ok(call.type === 'function_call');
    assert.deepEqual({ call_id: call.call_id, name: call.name, arguments: call.arguments, status: call.status }, {
      call_id: 'toolu_01A',
      name: 'get_weather',
      arguments: '{"city": "Oslo"}',
      status: 'completed',
    });
    assert.deepEqual(deltas(first.events, 'response.function_call_arguments.delta'), ['{"ci', 'ty": "Oslo"}']);
    assert.deepEqual(up.requests[0].tools.map((t: { name: string }) => t.name), ['get_weather']);

    const second = await streamed({
      previous_response_id: first.response.id,
      input: [{ type: 'function_call_output', call_id: 'toolu_01A', output: '12°C' }],
      tools,
      reasoning: { effort: 'low' },
      include: INCLUDE,
    });
    assert.equal(second.response.status, 'completed');
    const answer = second.response.output[0];
    assert.ok(answer.type === 'message' && answer.content[0].type === 'output_text');
    assert.equal(answer.content[0].text, 'It is 12°C in Oslo.');
    assert.deepEqual(up.requests[1].messages, [
      { role: 'user', content: [{ type: 'text', text: 'Weather in Oslo?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'Need the weather.', signature: 'SIG-tool' },
          { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Oslo' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01A', content: '12°C' }] },
    ]);
  });

  test('store: false, the client sends the reasoning item back itself (Codex): the thinking block goes back', async () => {
    up.script(
      reply([thinkingBlock(0, ['Call it.'], 'SIG-codex'), toolUseBlock(1, 'toolu_02', 'get_weather', ['{"city":"Rome"}'])], {
        stopReason: 'tool_use',
      }),
      textReply('Sunny.'),
    );
    const first = await streamed({ input: 'Weather in Rome?', tools, store: false, reasoning: { effort: 'low' }, include: INCLUDE });
    const second = await streamed({
      input: [
        { role: 'user', content: 'Weather in Rome?' },
        ...first.response.output,
        { type: 'function_call_output', call_id: 'toolu_02', output: 'sunny' },
      ],
      tools,
      store: false,
      reasoning: { effort: 'low' },
      include: INCLUDE,
    });
    assert.equal(second.response.status, 'completed');
    assert.deepEqual(up.requests[1].messages[1].content, [
      { type: 'thinking', thinking: 'Call it.', signature: 'SIG-codex' },
      { type: 'tool_use', id: 'toolu_02', name: 'get_weather', input: { city: 'Rome' } },
    ]);
  });
});

describe('upstream failures', () => {
  test('event: error overloaded_error mid-stream → response.failed (server_error), the message closed as incomplete', async () => {
    up.script({ events: [ev.messageStart(), ev.blockStart(0, { type: 'text', text: '' }), ev.textDelta(0, 'Partial'), ev.error('overloaded_error', 'Overloaded')] });
    const { events, response } = await streamed({ input: 'Hi' });
    assert.equal(events.at(-1)!.type, 'response.failed');
    assert.deepEqual(response.error, { code: 'server_error', message: 'overloaded_error: Overloaded' });
    const message = response.output[0];
    assert.ok(message?.type === 'message');
    assert.equal(message.status, 'incomplete');
    await assertSettledFailure(response);
  });

  test('HTTP 429 rate_limit_error → response.failed (rate_limit_exceeded); non-streaming throws a 429', async () => {
    const body = { type: 'error', error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' } };
    up.script({ status: 429, body }, { status: 429, body });
    const message = 'rate_limit_error: Number of request tokens has exceeded your per-minute rate limit';

    const { response } = await streamed({ input: 'Hi' });
    assert.deepEqual(response.error, { code: 'rate_limit_exceeded', message });
    assert.deepEqual(response.output, []);
    await assertSettledFailure(response);

    await assert.rejects(server.client.responses.create({ model: MODEL, input: 'Hi' }), (error: unknown) => {
      assert.ok(error instanceof APIError, `expected an APIError, got ${String(error)}`);
      assert.equal(error.status, 429);
      assert.equal(error.code, 'rate_limit_exceeded');
      assert.equal((error.error as { message?: string }).message, message);
      return true;
    });
  });

  test('HTTP 529 overloaded_error → response.failed (server_error)', async () => {
    up.script({ status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
    const { response } = await streamed({ input: 'Hi' });
    assert.deepEqual(response.error, { code: 'server_error', message: 'overloaded_error: Overloaded' });
    await assertSettledFailure(response);
  });

  test('a stalled upstream fails the response after the idle timeout and its connection is closed', async () => {
    up.script({ events: [ev.messageStart(), ...textBlock(0, ['Thinking', ' more'])], stallAfter: 3 });
    const { response } = await streamed({ input: 'Hi' });
    assert.equal(response.error?.code, 'server_error');
    assert.equal(response.error?.message, `upstream sent nothing for ${IDLE_TIMEOUT_MS} ms`);
    const message = response.output[0];
    assert.ok(message?.type === 'message' && message.content[0].type === 'output_text');
    assert.equal(message.content[0].text, 'Thinking');
    await assertSettledFailure(response);
    await withTimeout(up.whenClosed(1), 1000, 'the stalled upstream connection to be closed');
  });
});
