import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createChatCompletionsBackend } from '../../src/models/chat-completions.js';
import { ModelError, type ModelBackend, type ModelPart, type ModelRequest } from '../../src/models/types.js';
import { chunk, startFakeChatUpstream, textScript, type FakeChatUpstream } from '../helpers/fake-chat-upstream.js';
import { modelRequest, runFailingStep, runStep } from '../helpers/model-step.js';

let up: FakeChatUpstream;
let backend: ModelBackend;

before(async () => {
  up = await startFakeChatUpstream({ models: ['m-1', 'm-2'] });
  // Long enough that a loaded CI machine never trips it by accident; the stall test waits for it.
  backend = createChatCompletionsBackend({ baseUrl: up.url, apiKey: 'sk-test', idleTimeoutMs: 1000 });
});
after(() => up.close());

const request = (overrides: Partial<ModelRequest> = {}) => modelRequest(overrides);
const run = (overrides: Partial<ModelRequest> = {}) => runStep(backend, request(overrides));
/** Runs a step that must fail; returns the error and the parts pushed before it. */
const runFailing = (overrides: Partial<ModelRequest> = {}) => runFailingStep(backend, request(overrides));

describe('request body', () => {
  test('maps instructions, input items, tools and options', async () => {
    up.script(textScript('ok'));
    await run({
      instructions: 'Be brief.',
      input: [
        { role: 'developer', content: 'Use metric units.' },
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is here?' },
            { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'low' },
          ],
        },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        {
          type: 'message',
          id: 'msg_1',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: 'Let me check.', annotations: [] }],
        },
        { type: 'function_call', call_id: 'call_a', name: 'weather', arguments: '{"city":"Oslo"}' },
        { type: 'function_call', call_id: 'call_b', name: 'time', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_a', output: '12°C' },
        { type: 'function_call_output', call_id: 'call_b', output: [{ type: 'input_text', text: '10:00' }] },
        { type: 'item_unknown_to_chat', foo: 1 } as never,
        { role: 'user', content: [{ type: 'input_text', text: 'Thanks' }] },
      ],
      tools: [
        { type: 'function', name: 'weather', description: 'Weather', parameters: { type: 'object' }, strict: true },
        { type: 'web_search' } as never,
      ],
      toolChoice: { type: 'function', name: 'weather' },
      parallelToolCalls: false,
      textFormat: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true },
      temperature: 0.2,
      topP: 0.9,
      maxOutputTokens: 100,
      reasoning: { effort: 'low' },
      user: 'u-1',
    });
    const body = up.requests.at(-1);
    assert.deepEqual(body, {
      model: 'fake-model',
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'system', content: 'Use metric units.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is here?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Let me check.',
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } },
            { id: 'call_b', type: 'function', function: { name: 'time', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a', content: '12°C' },
        { role: 'tool', tool_call_id: 'call_b', content: '10:00' },
        { role: 'user', content: 'Thanks' },
      ],
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 100,
      tools: [
        {
          type: 'function',
          function: { name: 'weather', description: 'Weather', parameters: { type: 'object' }, strict: true },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'weather' } },
      parallel_tool_calls: false,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } },
      user: 'u-1',
      reasoning_effort: 'low',
    });
    assert.equal(up.headers.at(-1)?.authorization, 'Bearer sk-test');
  });

  test('a minimal request sends no optional fields; json_object and tool-only assistant turns', async () => {
    up.script(textScript('ok'), textScript('ok'));
    await run();
    assert.deepEqual(up.requests.at(-1), {
      model: 'fake-model',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Hi' }],
    });
    await run({
      textFormat: { type: 'json_object' },
      input: [
        { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: 'done' },
      ],
    });
    const body = up.requests.at(-1);
    assert.deepEqual(body.response_format, { type: 'json_object' });
    assert.equal(body.tool_choice, undefined); // no tools: no tool_choice, no parallel_tool_calls
    assert.equal(body.parallel_tool_calls, undefined);
    assert.deepEqual(body.messages, [
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'done' },
    ]);
  });
});

describe('stream parsing', () => {
  test('plain text with usage', async () => {
    up.script({
      chunks: [
        chunk.text('Hello'),
        chunk.text(' world'),
        chunk.finish('stop'),
        chunk.usage(12, 2, { cached: 4, reasoning: 0 }),
      ],
    });
    assert.deepEqual(await run(), [
      { type: 'text-start', id: 'text-0' },
      { type: 'text-delta', id: 'text-0', delta: 'Hello' },
      { type: 'text-delta', id: 'text-0', delta: ' world' },
      { type: 'text-end', id: 'text-0' },
      { type: 'finish', reason: 'stop', usage: { inputTokens: 12, outputTokens: 2, reasoningTokens: 0, cachedInputTokens: 4 } },
    ]);
  });

  test('the default script, split across TCP writes with a delay', async () => {
    up.script(textScript('Hello from upstream', { delayMs: 5, usage: null }));
    assert.deepEqual(await run(), [
      { type: 'text-start', id: 'text-0' },
      { type: 'text-delta', id: 'text-0', delta: 'Hello' },
      { type: 'text-delta', id: 'text-0', delta: ' from' },
      { type: 'text-delta', id: 'text-0', delta: ' upstream' },
      { type: 'text-end', id: 'text-0' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  test('reasoning_content then content; `reasoning` is read too', async () => {
    up.script({
      chunks: [
        chunk.reasoning('Think'),
        chunk.reasoning('ing.', 'reasoning'),
        chunk.text('Answer'),
        chunk.finish('stop'),
        chunk.usage(3, 5, { reasoning: 2 }),
      ],
    });
    assert.deepEqual(await run(), [
      { type: 'reasoning-start', id: 'reasoning-0' },
      { type: 'reasoning-delta', id: 'reasoning-0', delta: 'Think' },
      { type: 'reasoning-delta', id: 'reasoning-0', delta: 'ing.' },
      { type: 'reasoning-end', id: 'reasoning-0' },
      { type: 'text-start', id: 'text-0' },
      { type: 'text-delta', id: 'text-0', delta: 'Answer' },
      { type: 'text-end', id: 'text-0' },
      { type: 'finish', reason: 'stop', usage: { inputTokens: 3, outputTokens: 5, reasoningTokens: 2 } },
    ]);
  });

  test('two parallel tool calls with fragmented arguments', async () => {
    up.script({
      chunks: [
        chunk.reasoning('Need tools.'),
        chunk.toolCall(0, { id: 'call_1', name: 'weather', arguments: '' }),
        chunk.toolCall(0, { arguments: '{"city":' }),
        chunk.toolCall(1, { id: 'call_2', name: 'time', arguments: '{"tz"' }),
        chunk.toolCall(0, { arguments: '"Oslo"}' }),
        chunk.toolCall(1, { arguments: ':"CET"}' }),
        chunk.finish('tool_calls'),
        chunk.usage(7, 9),
      ],
    });
    assert.deepEqual(await run(), [
      { type: 'reasoning-start', id: 'reasoning-0' },
      { type: 'reasoning-delta', id: 'reasoning-0', delta: 'Need tools.' },
      { type: 'reasoning-end', id: 'reasoning-0' },
      { type: 'tool-call-start', id: 'tool-0', callId: 'call_1', name: 'weather' },
      { type: 'tool-call-delta', id: 'tool-0', delta: '{"city":' },
      { type: 'tool-call-start', id: 'tool-1', callId: 'call_2', name: 'time' },
      { type: 'tool-call-delta', id: 'tool-1', delta: '{"tz"' },
      { type: 'tool-call-delta', id: 'tool-0', delta: '"Oslo"}' },
      { type: 'tool-call-delta', id: 'tool-1', delta: ':"CET"}' },
      { type: 'tool-call-end', id: 'tool-0' },
      { type: 'tool-call-end', id: 'tool-1' },
      { type: 'finish', reason: 'tool-calls', usage: { inputTokens: 7, outputTokens: 9 } },
    ]);
  });

  test('a tool call without an id gets a generated call id', async () => {
    up.script({ chunks: [chunk.toolCall(0, { name: 'f', arguments: '{}' }), chunk.finish('tool_calls')] });
    const parts = await run();
    assert.equal(parts.length, 4);
    const start = parts[0];
    assert.ok(start.type === 'tool-call-start' && /^call_[0-9a-f]{48}$/.test(start.callId));
    assert.deepEqual(parts.slice(1), [
      { type: 'tool-call-delta', id: 'tool-0', delta: '{}' },
      { type: 'tool-call-end', id: 'tool-0' },
      { type: 'finish', reason: 'tool-calls' },
    ]);
  });

  test('refusal', async () => {
    up.script({ chunks: [chunk.refusal("I can't"), chunk.refusal(' help.'), chunk.finish('stop')] });
    assert.deepEqual(await run(), [
      { type: 'refusal-start', id: 'refusal-0' },
      { type: 'refusal-delta', id: 'refusal-0', delta: "I can't" },
      { type: 'refusal-delta', id: 'refusal-0', delta: ' help.' },
      { type: 'refusal-end', id: 'refusal-0' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  test('finish length and content_filter', async () => {
    up.script(textScript('Cut', { finish: 'length', usage: [1, 1] }), textScript('X', { finish: 'content_filter', usage: null }));
    assert.deepEqual((await run()).at(-1), { type: 'finish', reason: 'length', usage: { inputTokens: 1, outputTokens: 1 } });
    assert.deepEqual((await run()).at(-1), { type: 'finish', reason: 'content-filter' });
  });

  test('a UTF-8 sequence and an event split across TCP writes', async () => {
    const event = Buffer.from(`data: ${JSON.stringify(chunk.text('héllo 🌍'))}\n\n`);
    const cut = event.indexOf(Buffer.from('🌍')) + 2; // inside the emoji's four bytes
    up.script({ chunks: [chunk.raw(event.subarray(0, cut)), chunk.raw(event.subarray(cut)), chunk.finish()], delayMs: 20 });
    assert.deepEqual(await run(), [
      { type: 'text-start', id: 'text-0' },
      { type: 'text-delta', id: 'text-0', delta: 'héllo 🌍' },
      { type: 'text-end', id: 'text-0' },
      { type: 'finish', reason: 'stop' },
    ]);
  });
});

describe('errors', () => {
  test('HTTP 401 → ModelError with the upstream message', async () => {
    up.script({ status: 401, body: { error: { message: 'Incorrect API key provided', code: 'invalid_api_key' } } });
    const { error } = await runFailing();
    assert.ok(error instanceof ModelError);
    assert.equal(error.message, 'Incorrect API key provided');
    assert.equal(error.code, 'server_error');
    assert.equal(error.status, 401);
  });

  test('HTTP 429 → rate_limit_exceeded', async () => {
    up.script({ status: 429, body: { error: { message: 'Rate limit reached', type: 'requests' } } });
    const { error } = await runFailing();
    assert.ok(error instanceof ModelError);
    assert.equal(error.message, 'Rate limit reached');
    assert.equal(error.code, 'rate_limit_exceeded');
    assert.equal(error.status, 429);
  });

  test('HTTP 502 with a text body → the text', async () => {
    up.script({ status: 502, body: '  Bad gateway: upstream worker died  ' });
    const { error } = await runFailing();
    assert.ok(error instanceof ModelError);
    assert.equal(error.message, 'Bad gateway: upstream worker died');
    assert.equal(error.code, 'server_error');
    assert.equal(error.status, 502);
  });

  test('an error chunk mid-stream rejects after the parts already pushed', async () => {
    up.script({ chunks: [chunk.text('Part'), chunk.error('model crashed')] });
    const { error, parts } = await runFailing();
    assert.ok(error instanceof ModelError);
    assert.equal(error.message, 'model crashed');
    assert.deepEqual(parts, [
      { type: 'text-start', id: 'text-0' },
      { type: 'text-delta', id: 'text-0', delta: 'Part' },
    ]);
  });

  test('a rate-limit error chunk mid-stream → rate_limit_exceeded, like HTTP 429', async () => {
    up.script(
      { chunks: [chunk.error('slow down', 'rate_limit_exceeded')] },
      { chunks: [chunk.error('slow down', 429 as unknown as string)] },
    );
    for (let i = 0; i < 2; i++) {
      const { error } = await runFailing();
      assert.ok(error instanceof ModelError);
      assert.equal(error.code, 'rate_limit_exceeded');
      assert.equal(error.message, 'slow down');
    }
  });

  test('malformed data', async () => {
    up.script({ chunks: [chunk.text('a'), '{"choices": [oops'] });
    const { error, parts } = await runFailing();
    assert.ok(error instanceof ModelError);
    assert.equal(error.message, 'malformed upstream event: {"choices": [oops');
    assert.equal(parts.length, 2);
  });

  test('a stall → idle timeout, and the upstream connection is closed', async () => {
    const closedBefore = up.closedConnections;
    up.script({ chunks: [chunk.text('a'), chunk.text('b')], stallAfter: 1 });
    const started = Date.now();
    const { error, parts } = await runFailing();
    const elapsed = Date.now() - started;
    assert.ok(error instanceof ModelError);
    assert.equal(error.message, 'upstream sent nothing for 1000 ms');
    assert.ok(elapsed >= 990 && elapsed < 5000, `took ${elapsed} ms`);
    assert.deepEqual(parts, [
      { type: 'text-start', id: 'text-0' },
      { type: 'text-delta', id: 'text-0', delta: 'a' },
    ]);
    await up.whenClosed(closedBefore + 1);
  });

  test('abort → upstream connection closed, rejects with the signal reason', async () => {
    const closedBefore = up.closedConnections;
    up.script({ chunks: [chunk.text('a'), chunk.text('b'), chunk.text('c')], delayMs: 100 });
    const controller = new AbortController();
    const parts: ModelPart[] = [];
    const step = backend.stream(request({ signal: controller.signal }), (part) => {
      parts.push(part);
      if (part.type === 'text-delta') controller.abort();
    });
    await assert.rejects(step, (error: unknown) => error instanceof Error && error.name === 'AbortError');
    await up.whenClosed(closedBefore + 1);
    assert.deepEqual(parts, [
      { type: 'text-start', id: 'text-0' },
      { type: 'text-delta', id: 'text-0', delta: 'a' },
    ]);
  });

  test('an already aborted signal sends nothing', async () => {
    const count = up.requests.length;
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(backend.stream(request({ signal: controller.signal }), () => {}), { name: 'AbortError' });
    assert.equal(up.requests.length, count);
  });

  test('a truncated stream without finish_reason or [DONE]', async () => {
    up.script({ chunks: [chunk.text('Hal')], noDone: true });
    const { error, parts } = await runFailing();
    assert.ok(error instanceof ModelError);
    assert.equal(error.message, 'upstream stream ended unexpectedly');
    assert.equal(parts.length, 2);
  });

  test('a stream with finish_reason but no [DONE] still finishes', async () => {
    up.script({ chunks: [chunk.text('ok'), chunk.finish('stop')], noDone: true });
    assert.deepEqual((await run()).at(-1), { type: 'finish', reason: 'stop' });
  });

  test('an unreachable upstream → ModelError; listModels → []', async () => {
    const dead = await startFakeChatUpstream();
    const url = dead.url;
    await dead.close();
    const gone = createChatCompletionsBackend({ baseUrl: url, idleTimeoutMs: 200 });
    await assert.rejects(gone.stream(request(), () => {}), (error: unknown) => {
      return error instanceof ModelError && /^upstream request failed: .*ECONNREFUSED/.test(error.message);
    });
    assert.deepEqual(await gone.listModels(), []);
  });
});

describe('listModels', () => {
  test('asks the upstream when no models are configured', async () => {
    assert.deepEqual(await backend.listModels(), [
      { id: 'm-1', owned_by: 'fake' },
      { id: 'm-2', owned_by: 'fake' },
    ]);
  });

  test('returns the configured models without asking', async () => {
    const configured = createChatCompletionsBackend({ baseUrl: 'http://127.0.0.1:9/v1', models: ['a'], idleTimeoutMs: 200 });
    assert.deepEqual(await configured.listModels(), [{ id: 'a', owned_by: 'upstream' }]);
  });
});

test('keep-alive: consecutive steps reuse one upstream connection', async () => {
  const closedBefore = up.closedConnections;
  for (let i = 0; i < 3; i++) {
    up.script(textScript('x'));
    await run();
  }
  assert.equal(up.closedConnections, closedBefore);
});
