// The real server in front of a real Chat Completions upstream (a loopback HTTP server speaking
// the SSE wire format), driven by the official `openai` SDK and, where the SDK hides the wire
// (keep-alive comments), by raw fetch. Every stream is checked against the official schema and
// the stream rules, and folded with the SDK's own accumulator.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { APIError } from 'openai';
import type { Response as ApiResponse, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { chunk, startFakeChatUpstream, textScript, type FakeChatUpstream } from '../helpers/fake-chat-upstream.js';
import { readSse, startTestServer, type TestServer } from '../helpers/server.js';
import { conform, retrieveSettled as settled, streamResponse, withTimeout } from '../helpers/stream.js';

const MODEL = 'up-model';
// Short enough for the stall tests, long enough that a loaded CI machine never trips it by accident.
const IDLE_TIMEOUT_MS = 1000;
const KEEPALIVE_MS = 100;

let up: FakeChatUpstream;
let server: TestServer;

// Each test gets its own upstream and server: request lists and closed-connection counts are
// then exact, and a stalled or aborted stream cannot leak into the next test.
beforeEach(async () => {
  up = await startFakeChatUpstream({ models: [MODEL] });
  server = await startTestServer({
    PARLEY_UPSTREAM_URL: up.url,
    PARLEY_UPSTREAM_MODELS: MODEL,
    PARLEY_UPSTREAM_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
    PARLEY_KEEPALIVE_MS: String(KEEPALIVE_MS),
  });
});

afterEach(async () => {
  await server?.close();
  await up?.close();
});

// --- helpers ---------------------------------------------------------------------------------

const streamed = (body: Record<string, unknown>) => streamResponse(server.client, { model: MODEL, ...body });

const types = (events: ResponseStreamEvent[]) => events.map((e) => e.type);

/** Raw POST /v1/responses; the caller reads the body. */
function post(body: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
  return fetch(`${server.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, ...body }),
    signal,
  });
}

const retrieveSettled = (id: string) => settled(server.client, id);

// --- tests -----------------------------------------------------------------------------------

describe('text from the upstream', () => {
  test('streams several chunks with usage; the upstream gets the mapped request', async () => {
    up.script(textScript('Hello there, dear client!', { pieces: ['Hello', ' there,', ' dear', ' client!'], usage: [11, 7] }));
    const { events, response } = await streamed({ instructions: 'Be terse.', input: 'Say hello' });

    assert.equal(response.status, 'completed');
    assert.equal(events.filter((e) => e.type === 'response.output_text.delta').length, 4);
    const deltas = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : []));
    assert.deepEqual(deltas, ['Hello', ' there,', ' dear', ' client!']);
    assert.equal(response.output.length, 1);
    const message = response.output[0];
    assert.equal(message.type, 'message');
    assert.equal(message.type === 'message' && message.status, 'completed');
    assert.deepEqual(message.type === 'message' && message.content.map((c) => c.type === 'output_text' && c.text), ['Hello there, dear client!']);
    assert.deepEqual(response.usage, {
      input_tokens: 11,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: 7,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 18,
    });
    assert.equal(response.model, MODEL);

    assert.equal(up.requests.length, 1);
    const sent = up.requests[0];
    assert.equal(sent.model, MODEL);
    assert.equal(sent.stream, true);
    assert.deepEqual(sent.stream_options, { include_usage: true });
    assert.deepEqual(sent.messages, [
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'Say hello' },
    ]);
  });

  test('non-streaming create gives the same text and the response can be retrieved', async () => {
    up.script(textScript('Hello there, dear client!', { usage: [11, 7] }));
    const response = await server.client.responses.create({ model: MODEL, instructions: 'Be terse.', input: 'Say hello' });

    assert.equal(response.status, 'completed');
    assert.equal(response.output_text, 'Hello there, dear client!');
    assert.equal(response.usage?.input_tokens, 11);
    assert.equal(response.usage?.output_tokens, 7);
    assert.equal(up.requests[0].stream, true, 'the upstream is always streamed');

    const retrieved = await server.client.responses.retrieve(response.id);
    assert.equal(retrieved.id, response.id);
    assert.equal(retrieved.status, 'completed');
    assert.equal(retrieved.output_text, 'Hello there, dear client!');
    assert.deepEqual(retrieved.output, response.output);
    assert.deepEqual(retrieved.usage, response.usage);
  });
});

describe('reasoning, tools, refusal, length', () => {
  test('reasoning_content then content: a reasoning item, then a message', async () => {
    up.script({
      chunks: [
        chunk.reasoning('The user wants '),
        chunk.reasoning('a greeting.'),
        chunk.text('Hi'),
        chunk.text('!'),
        chunk.finish('stop'),
        chunk.usage(4, 9, { reasoning: 6 }),
      ],
    });
    const { events, response } = await streamed({ input: 'Greet me' });

    assert.equal(response.status, 'completed');
    assert.deepEqual(response.output.map((item) => item.type), ['reasoning', 'message']);
    const [reasoning, message] = response.output;
    assert.ok(reasoning.type === 'reasoning');
    assert.deepEqual(reasoning.content, [{ type: 'reasoning_text', text: 'The user wants a greeting.' }]);
    assert.ok(message.type === 'message');
    assert.equal(message.content[0].type === 'output_text' && message.content[0].text, 'Hi!');
    assert.equal(response.usage?.output_tokens_details.reasoning_tokens, 6);

    const seen = types(events);
    assert.deepEqual(
      events.filter((e) => e.type === 'response.reasoning_text.delta').map((e) => (e as { delta: string }).delta),
      ['The user wants ', 'a greeting.'],
    );
    // the reasoning item is closed before the message is announced
    const reasoningDone = events.findIndex((e) => e.type === 'response.output_item.done' && e.item.type === 'reasoning');
    const messageAdded = events.findIndex((e) => e.type === 'response.output_item.added' && e.item.type === 'message');
    assert.ok(reasoningDone > 0 && messageAdded > reasoningDone, seen.join(' '));
    assert.ok(seen.includes('response.reasoning_text.done'));
  });

  test('two parallel tool calls with fragmented arguments, then their outputs', async () => {
    up.script(
      {
        chunks: [
          chunk.toolCall(0, { id: 'call_weather_1', name: 'get_weather', arguments: '' }),
          chunk.toolCall(0, { arguments: '{"ci' }),
          chunk.toolCall(0, { arguments: 'ty":"Os' }),
          chunk.toolCall(0, { arguments: 'lo"}' }),
          chunk.toolCall(1, { id: 'call_time_2', name: 'get_time', arguments: '{"tz"' }),
          chunk.toolCall(1, { arguments: ':"Europe/Oslo"}' }),
          chunk.finish('tool_calls'),
          chunk.usage(30, 12),
        ],
      },
      textScript('It is 12°C and 10:00 in Oslo.'),
    );
    const tools = [
      { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false },
      { type: 'function', name: 'get_time', parameters: { type: 'object', properties: { tz: { type: 'string' } } }, strict: false },
    ];
    const first = await streamed({ input: 'Weather and time in Oslo?', tools });

    assert.equal(first.response.status, 'completed');
    const calls = first.response.output.filter((item) => item.type === 'function_call');
    assert.equal(first.response.output.length, 2);
    assert.deepEqual(
      calls.map((c) => c.type === 'function_call' && { call_id: c.call_id, name: c.name, arguments: c.arguments, status: c.status }),
      [
        { call_id: 'call_weather_1', name: 'get_weather', arguments: '{"city":"Oslo"}', status: 'completed' },
        { call_id: 'call_time_2', name: 'get_time', arguments: '{"tz":"Europe/Oslo"}', status: 'completed' },
      ],
    );
    const argDone = first.events.filter((e) => e.type === 'response.function_call_arguments.done');
    assert.deepEqual(argDone.map((e) => (e as { arguments: string }).arguments), ['{"city":"Oslo"}', '{"tz":"Europe/Oslo"}']);
    assert.deepEqual(up.requests[0].tools.map((t: any) => t.function.name), ['get_weather', 'get_time']);

    const second = await streamed({
      previous_response_id: first.response.id,
      input: [
        { type: 'function_call_output', call_id: 'call_weather_1', output: '12°C' },
        { type: 'function_call_output', call_id: 'call_time_2', output: '10:00' },
      ],
      tools,
    });
    assert.equal(second.response.status, 'completed');
    assert.equal(second.response.previous_response_id, first.response.id);
    const answer = second.response.output[0];
    assert.ok(answer.type === 'message');
    assert.equal(answer.content[0].type === 'output_text' && answer.content[0].text, 'It is 12°C and 10:00 in Oslo.');

    assert.equal(up.requests.length, 2);
    assert.deepEqual(up.requests[1].messages, [
      { role: 'user', content: 'Weather and time in Oslo?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_weather_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
          { id: 'call_time_2', type: 'function', function: { name: 'get_time', arguments: '{"tz":"Europe/Oslo"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_weather_1', content: '12°C' },
      { role: 'tool', tool_call_id: 'call_time_2', content: '10:00' },
    ]);
  });

  test('refusal chunks become a message with a refusal part', async () => {
    up.script({ chunks: [chunk.refusal("I can't "), chunk.refusal('help with that.'), chunk.finish('stop'), chunk.usage(8, 5)] });
    const { events, response } = await streamed({ input: 'Something forbidden' });

    assert.equal(response.status, 'completed');
    assert.equal(response.output.length, 1);
    const message = response.output[0];
    assert.ok(message.type === 'message');
    assert.deepEqual(message.content, [{ type: 'refusal', refusal: "I can't help with that." }]);
    assert.deepEqual(
      events.filter((e) => e.type === 'response.refusal.delta').map((e) => (e as { delta: string }).delta),
      ["I can't ", 'help with that.'],
    );
    const done = events.find((e) => e.type === 'response.refusal.done');
    assert.equal(done && 'refusal' in done && done.refusal, "I can't help with that.");
  });

  test('finish_reason length ends as incomplete (max_output_tokens) and max_tokens is sent', async () => {
    up.script(textScript('This answer is cut', { finish: 'length', usage: [6, 20] }));
    const { events, response } = await streamed({ input: 'Write an essay', max_output_tokens: 20 });

    assert.equal(events.at(-1)!.type, 'response.incomplete');
    assert.equal(response.status, 'incomplete');
    assert.deepEqual(response.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(response.max_output_tokens, 20);
    assert.equal(response.usage?.output_tokens, 20);
    const message = response.output[0];
    assert.ok(message.type === 'message');
    assert.equal(message.content[0].type === 'output_text' && message.content[0].text, 'This answer is cut');
    assert.equal(up.requests[0].max_tokens, 20);
  });
});

describe('upstream failures', () => {
  for (const [status, code, message] of [
    [500, 'server_error', 'The upstream model crashed'],
    [429, 'rate_limit_exceeded', 'Rate limit reached for requests'],
  ] as const) {
    test(`HTTP ${status}: streaming ends in response.failed (${code}), non-streaming throws`, async () => {
      const errorBody = { error: { message, type: code === 'server_error' ? 'server_error' : 'requests', code } };
      up.script({ status, body: errorBody }, { status, body: errorBody });

      const { events, response } = await streamed({ input: 'Hi' });
      assert.equal(events.at(-1)!.type, 'response.failed');
      assert.equal(response.status, 'failed');
      assert.deepEqual(response.error, { code, message });
      assert.deepEqual(response.output, []);
      const stored = await retrieveSettled(response.id);
      assert.equal(stored.status, 'failed');
      assert.deepEqual(stored.error, { code, message });

      await assert.rejects(
        server.client.responses.create({ model: MODEL, input: 'Hi' }),
        (error: unknown) => {
          assert.ok(error instanceof APIError, `expected an APIError, got ${String(error)}`);
          assert.equal(error.status, status);
          assert.equal(error.code, code);
          assert.equal((error.error as { message?: string }).message, message);
          return true;
        },
      );
      assert.equal(up.requests.length, 2);
    });
  }

  test('an error chunk mid-stream fails the response after closing the open message', async () => {
    up.script({ chunks: [chunk.text('Partial '), chunk.text('answer'), chunk.error('The model ran out of memory')] });
    const { events, response } = await streamed({ input: 'Hi' });

    const last = events.at(-1)!;
    assert.equal(last.type, 'response.failed');
    assert.deepEqual(response.error, { code: 'server_error', message: 'The model ran out of memory' });
    assert.equal(response.output.length, 1);
    const message = response.output[0];
    assert.ok(message.type === 'message');
    assert.equal(message.status, 'incomplete');
    assert.equal(message.content[0].type === 'output_text' && message.content[0].text, 'Partial answer');

    const itemDone = events.findIndex((e) => e.type === 'response.output_item.done');
    assert.ok(itemDone >= 0 && itemDone < events.length - 1, types(events).join(' '));
    const doneEvent = events[itemDone] as Extract<ResponseStreamEvent, { type: 'response.output_item.done' }>;
    assert.equal(doneEvent.item.id, message.id);
    assert.equal(doneEvent.item.type === 'message' && doneEvent.item.status, 'incomplete');
    const stored = await retrieveSettled(response.id);
    assert.equal(stored.status, 'failed');
  });

  test('a stalled upstream: keep-alive comments while waiting, then a timeout failure', async () => {
    up.script({ chunks: [chunk.text('Thinking'), chunk.text(' more'), chunk.finish()], stallAfter: 1 });
    const started = Date.now();
    const res = await post({ input: 'Hi', stream: true });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const raw = await res.text();
    const elapsed = Date.now() - started;

    const deltaAt = raw.indexOf('response.output_text.delta');
    const failedAt = raw.indexOf('"type":"response.failed"');
    assert.ok(deltaAt > 0, 'the first chunk was streamed');
    assert.ok(failedAt > deltaAt, 'the stream ends in response.failed');
    const comments = raw.slice(deltaAt, failedAt).match(/^: keep-alive$/gm) ?? [];
    assert.ok(comments.length >= 1, `expected keep-alive comments while the upstream was silent, raw:\n${raw}`);
    assert.ok(elapsed >= IDLE_TIMEOUT_MS, `failed after ${elapsed} ms`);

    const events = await readSse(new Response(raw));
    const response = conform(events as unknown as ResponseStreamEvent[]);
    assert.equal(response.status, 'failed');
    assert.equal(response.error?.code, 'server_error');
    assert.match(response.error?.message ?? '', new RegExp(`nothing for ${IDLE_TIMEOUT_MS} ms`));
    const message = response.output[0];
    assert.ok(message?.type === 'message');
    assert.equal(message.status, 'incomplete');
    assert.equal(message.content[0].type === 'output_text' && message.content[0].text, 'Thinking');
    await withTimeout(up.whenClosed(1), 1000, 'the stalled upstream connection to be closed');
  });

  test('malformed upstream data fails the response; the next request is served', async () => {
    up.script({ chunks: [chunk.text('Hel'), '{"choices": [ this is not json'] }, textScript('Recovered fine'));
    const { response } = await streamed({ input: 'Hi' });
    assert.equal(response.status, 'failed');
    assert.equal(response.error?.code, 'server_error');
    assert.match(response.error?.message ?? '', /malformed upstream event/);
    assert.match(response.error?.message ?? '', /this is not json/);

    const next = await streamed({ input: 'Again' });
    assert.equal(next.response.status, 'completed');
    assert.equal(next.response.output[0].type === 'message' && next.response.output[0].content[0].type === 'output_text'
      && next.response.output[0].content[0].text, 'Recovered fine');
    assert.equal(up.requests.length, 2);
  });
});

describe('client disconnects', () => {
  const slowScript = () => {
    const pieces = Array.from({ length: 40 }, (_, i) => ` w${i}`);
    return textScript(pieces.join(''), { pieces, delayMs: 50 }); // ~2 s in all, well under the idle timeout per gap
  };

  test('SDK abort mid-stream closes the upstream request and the response is cancelled', async () => {
    up.script(slowScript());
    const stream = await server.client.responses.create({ model: MODEL, input: 'Talk slowly', stream: true });
    const events: ResponseStreamEvent[] = [];
    const started = Date.now();
    try {
      for await (const event of stream) {
        events.push(event);
        if (event.type === 'response.output_text.delta' && events.filter((e) => e.type === event.type).length === 2) {
          stream.controller.abort();
        }
      }
    } catch (error) {
      // Some SDK versions surface the abort; both are fine.
      assert.ok(stream.controller.signal.aborted, `unexpected stream error: ${String(error)}`);
    }
    const id = events.find((e) => e.type === 'response.created')?.response.id;
    assert.ok(id, 'response.created carried the id');
    assert.ok(!types(events).includes('response.completed'));

    await withTimeout(up.whenClosed(1), 1000, 'the upstream connection to be closed');
    assert.ok(Date.now() - started < 1500, 'the upstream was cut before it finished its ~2 s script');
    const stored = await retrieveSettled(id);
    assert.equal(stored.status, 'cancelled');
    const message = stored.output[0];
    assert.ok(message?.type === 'message');
    assert.equal(message.status, 'incomplete');
    assert.ok(message.content[0].type === 'output_text' && message.content[0].text.startsWith(' w0 w1'));
  });

  test('fetch abort mid-stream does the same', async () => {
    up.script(slowScript());
    const controller = new AbortController();
    const res = await post({ input: 'Talk slowly', stream: true }, controller.signal);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let raw = '';
    while (!raw.includes('response.output_text.delta')) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'the stream ended before any text');
      raw += decoder.decode(value, { stream: true });
    }
    controller.abort();
    await reader.cancel().catch(() => {});
    const id = /"id":"(resp_[^"]+)"/.exec(raw)?.[1];
    assert.ok(id, `no response id in ${raw}`);

    await withTimeout(up.whenClosed(1), 1000, 'the upstream connection to be closed');
    const stored = await retrieveSettled(id);
    assert.equal(stored.status, 'cancelled');
  });
});
