// The real server in front of a real OpenAI Responses upstream (a loopback HTTP server replaying
// Responses SSE streams with its own ids and sequence numbers), driven by the official `openai`
// SDK. Every relayed stream is checked against the official schema and the stream rules, and
// folded with the SDK's `accumulateResponse`; item ids are the upstream's, sequence numbers
// Parley's; the state stays with Parley, so the upstream gets the whole context every time.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { APIError } from 'openai';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import type { Response as ApiResponse, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { startFakeResponsesUpstream, upstreamResponse, type FakeResponsesUpstream, type Script } from '../helpers/fake-responses-upstream.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { assertConformingStream } from '../helpers/spec.js';

const MODEL = 'gpt-pass';
// Short enough for the stall tests, long enough that a loaded CI machine never trips it by accident.
const IDLE_TIMEOUT_MS = 1000;

let up: FakeResponsesUpstream;
let server: TestServer;

beforeEach(async () => {
  up = await startFakeResponsesUpstream({ models: [MODEL], apiKey: 'sk-upstream' });
  server = await startTestServer({
    PARLEY_UPSTREAM_URL: up.url,
    PARLEY_UPSTREAM_PROTOCOL: 'responses',
    PARLEY_UPSTREAM_API_KEY: 'sk-upstream',
    PARLEY_UPSTREAM_MODELS: MODEL,
    PARLEY_UPSTREAM_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
  });
});

afterEach(async () => {
  await server?.close();
  await up?.close();
});

// --- helpers ---------------------------------------------------------------------------------

type Terminal = Extract<ResponseStreamEvent, { type: 'response.completed' | 'response.failed' | 'response.incomplete' }>;
type Json = Record<string, any>;

async function collect(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/**
 * Our checker (schema, stream rules, our accumulator == terminal response), then the SDK's
 * `accumulateResponse`, which must rebuild the terminal output; Parley's sequence numbers run
 * 0, 1, 2, … Returns the terminal response.
 */
function conform(events: ResponseStreamEvent[]): ApiResponse {
  assertConformingStream(events as never);
  assert.deepEqual(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
    'sequence numbers are contiguous from 0',
  );
  let snapshot: ApiResponse | undefined;
  for (const event of events.slice(0, -1)) snapshot = accumulateResponse(event, snapshot);
  const last = events.at(-1) as Terminal;
  assert.ok(['response.completed', 'response.failed', 'response.incomplete'].includes(last.type), `ends with ${last.type}`);
  assert.deepEqual(snapshot!.output, last.response.output, 'SDK accumulator rebuilds the terminal output');
  accumulateResponse(last, snapshot);
  return last.response;
}

async function streamed(body: Record<string, unknown>): Promise<{ events: ResponseStreamEvent[]; response: ApiResponse }> {
  const stream = await server.client.responses.create({ model: MODEL, ...body, stream: true } as never);
  const events = await collect(stream as unknown as AsyncIterable<ResponseStreamEvent>);
  return { events, response: conform(events) };
}

/** The upstream's item events, as Parley must relay them: everything but its lifecycle and sequence numbers. */
function itemEvents(script: Script): Json[] {
  return (script.events as Json[])
    .filter((e) => !/^response\.(created|in_progress|queued|completed|incomplete|failed)$/.test(e.type) && e.type !== 'error')
    .map(({ sequence_number: _, ...rest }) => rest);
}

/** Parley's events between its in_progress and its terminal event, without sequence numbers. */
function relayed(events: ResponseStreamEvent[]): Json[] {
  return events.slice(2, -1).map(({ sequence_number: _, ...rest }) => rest as Json);
}

const types = (events: ResponseStreamEvent[]) => events.map((e) => e.type);

/** The ids of the items the upstream made, in output order. */
const upstreamItemIds = (script: Script) =>
  (script.events as Json[]).filter((e) => e.type === 'response.output_item.done').map((e) => e.item.id as string);

function script(build: (r: ReturnType<typeof upstreamResponse>) => Script, options?: Parameters<typeof upstreamResponse>[0]): Script {
  return build(upstreamResponse(options));
}

// --- tests -----------------------------------------------------------------------------------

describe('relaying every event family', () => {
  test('reasoning (reasoning_text and summary parts), text with url_citation annotations; the request as declared', async () => {
    const text = 'Parley is a Responses server. See the docs.';
    const s = script(
      (r) =>
        r
          .reasoning({ text: 'The user asks what Parley is.', summary: ['**Looking it up** I check the docs.', 'Then I answer.'], encrypted: 'enc-1' })
          .message(text, {
            citations: [
              { url: 'https://example.com/parley', title: 'Parley', start: 0, end: 29 },
              { url: 'https://example.com/docs', title: 'Docs', start: 30, end: 43 },
            ],
          })
          .completed({ input: 21, output: 13, cached: 4, reasoning: 7 }),
      { firstSequenceNumber: 57 },
    );
    up.script(s);
    const { events, response } = await streamed({
      instructions: 'Be brief.',
      input: 'What is Parley?',
      reasoning: { effort: 'low', summary: 'auto' },
      include: ['reasoning.encrypted_content'],
      metadata: { tenant: 'a' },
      temperature: 0.5,
      max_output_tokens: 500,
      prompt_cache_key: 'k-1',
      text: { verbosity: 'low' },
    });

    assert.equal(response.status, 'completed');
    assert.ok(response.id.startsWith('resp_') && !response.id.includes('_up'), 'the response id is Parley’s');
    assert.deepEqual(types(events).slice(0, 2), ['response.created', 'response.in_progress']);
    assert.deepEqual(relayed(events), itemEvents(s), 'every item event relayed as it is');
    assert.deepEqual(
      response.output.map((item) => item.id),
      upstreamItemIds(s),
      'item ids are the upstream’s',
    );
    const [reasoning, message] = response.output as Json[];
    assert.deepEqual(reasoning.summary.map((p: Json) => p.text), ['**Looking it up** I check the docs.', 'Then I answer.']);
    assert.deepEqual(reasoning.content, [{ type: 'reasoning_text', text: 'The user asks what Parley is.' }]);
    assert.equal(reasoning.encrypted_content, 'enc-1');
    assert.equal(message.content[0].text, text);
    assert.deepEqual(
      message.content[0].annotations.map((a: Json) => [a.type, a.url, a.start_index, a.end_index]),
      [
        ['url_citation', 'https://example.com/parley', 0, 29],
        ['url_citation', 'https://example.com/docs', 30, 43],
      ],
    );
    assert.equal(response.usage?.input_tokens, 21);
    assert.equal(response.usage?.output_tokens, 13);
    assert.equal(response.usage?.input_tokens_details.cached_tokens, 4);
    assert.equal(response.usage?.output_tokens_details.reasoning_tokens, 7);
    assert.deepEqual(response.metadata, { tenant: 'a' });

    assert.equal(up.requests.length, 1);
    assert.equal(up.headers[0].authorization, 'Bearer sk-upstream');
    const sent = up.requests[0];
    assert.deepEqual(sent, {
      model: MODEL,
      input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What is Parley?' }], status: 'completed' }],
      stream: true,
      store: false,
      instructions: 'Be brief.',
      text: { verbosity: 'low' },
      temperature: 0.5,
      max_output_tokens: 500,
      reasoning: { effort: 'low', summary: 'auto' },
      include: ['reasoning.encrypted_content'],
      prompt_cache_key: 'k-1',
    });
  });

  test('refusal', async () => {
    const s = script((r) => r.refusal("I can't help with that.").completed());
    up.script(s);
    const { events, response } = await streamed({ input: 'Something bad' });
    assert.deepEqual(relayed(events), itemEvents(s));
    const message = response.output[0] as Json;
    assert.deepEqual(message.content, [{ type: 'refusal', refusal: "I can't help with that." }]);
  });

  test('function and custom tool calls, with the tools sent as declared', async () => {
    const s = script((r) => r.functionCall('get_weather', '{"city":"Paris","unit":"c"}', 'call_w1').customToolCall('exec', 'ls -la /tmp', 'call_x1').completed());
    up.script(s);
    const tools = [
      { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false },
      { type: 'custom', name: 'exec', description: 'Runs a shell command', format: { type: 'grammar', syntax: 'lark', definition: 'start: /.+/' } },
      { type: 'namespace', name: 'crm', description: 'CRM', tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object', properties: {} } }] },
    ];
    const { events, response } = await streamed({ input: 'Weather, then list /tmp', tools, tool_choice: 'required', parallel_tool_calls: false });
    assert.deepEqual(relayed(events), itemEvents(s));
    const [fc, ctc] = response.output as Json[];
    assert.equal(fc.type, 'function_call');
    assert.equal(fc.call_id, 'call_w1');
    assert.equal(fc.arguments, '{"city":"Paris","unit":"c"}');
    assert.equal(ctc.type, 'custom_tool_call');
    assert.equal(ctc.input, 'ls -la /tmp');
    assert.deepEqual(up.requests[0].tools, tools, 'custom and namespace tools go upstream as declared');
    assert.equal(up.requests[0].tool_choice, 'required');
    assert.equal(up.requests[0].parallel_tool_calls, false);

    // The outputs go back, and the upstream sees the calls as they were made (custom stays custom).
    up.script(script((r) => r.message('Sunny, and /tmp is empty.').completed()));
    const next = await server.client.responses.create({
      model: MODEL,
      previous_response_id: response.id,
      tools: tools as never,
      input: [
        { type: 'function_call_output', call_id: 'call_w1', output: '{"temp":21}' },
        { type: 'custom_tool_call_output', call_id: 'call_x1', output: '' },
      ],
    });
    assert.equal(next.output_text, 'Sunny, and /tmp is empty.');
    const input = up.requests[1].input as Json[];
    assert.deepEqual(
      input.map((i) => i.type),
      ['message', 'function_call', 'custom_tool_call', 'function_call_output', 'custom_tool_call_output'],
    );
    assert.equal(input[2].name, 'exec');
    assert.equal(input[2].input, 'ls -la /tmp');
    assert.equal(input[3].id, undefined, 'items the client wrote go without Parley’s ids');
  });

  test('hosted tools: web_search, file_search, code_interpreter, image_generation, mcp_list_tools, mcp_call (completed and failed)', async () => {
    const s = script((r) =>
      r
        .webSearch('parley responses server', ['https://example.com/a'])
        .fileSearch(['parley config'], [{ file_id: 'file_1', filename: 'README.md', score: 0.9, text: 'PARLEY_UPSTREAM_URL …' }])
        .codeInterpreter('print(sum(range(10)))', '45\n')
        .imageGeneration(['cGFydGlhbDE=', 'cGFydGlhbDI='], 'ZmluYWw=')
        .mcpListTools('deepwiki', [{ name: 'ask_question', description: 'Ask' }])
        .mcpCall('deepwiki', 'ask_question', '{"repo":"openai/codex","q":"what"}', { output: 'An agent.' })
        .mcpCall('deepwiki', 'ask_question', '{"repo":"x"}', { error: 'Repository not found' })
        .message('Done.')
        .completed(),
    );
    up.script(s);
    const tools = [
      { type: 'web_search' },
      { type: 'file_search', vector_store_ids: ['vs_1'] },
      { type: 'code_interpreter', container: { type: 'auto' } },
      { type: 'image_generation', partial_images: 2 },
      { type: 'mcp', server_label: 'deepwiki', server_url: 'https://mcp.deepwiki.com/mcp', require_approval: 'never' },
    ];
    const { events, response } = await streamed({ input: 'Use every tool', tools, include: ['file_search_call.results'] });
    assert.deepEqual(relayed(events), itemEvents(s));
    for (const type of [
      'response.web_search_call.in_progress',
      'response.web_search_call.searching',
      'response.web_search_call.completed',
      'response.file_search_call.searching',
      'response.code_interpreter_call_code.delta',
      'response.code_interpreter_call.interpreting',
      'response.image_generation_call.partial_image',
      'response.mcp_list_tools.completed',
      'response.mcp_call_arguments.delta',
      'response.mcp_call.completed',
      'response.mcp_call.failed',
    ]) {
      assert.ok(types(events).includes(type as never), `relays ${type}`);
    }
    assert.deepEqual(
      response.output.map((item) => [item.type, (item as Json).status ?? null]),
      [
        ['web_search_call', 'completed'],
        ['file_search_call', 'completed'],
        ['code_interpreter_call', 'completed'],
        ['image_generation_call', 'completed'],
        ['mcp_list_tools', null],
        ['mcp_call', 'completed'],
        ['mcp_call', 'failed'],
        ['message', 'completed'],
      ],
    );
    assert.equal((response.output[2] as Json).code, 'print(sum(range(10)))');
    assert.equal((response.output[6] as Json).error.content[0].text, 'Repository not found');
    assert.deepEqual(up.requests[0].tools, tools, 'built-in tools go upstream as declared');
    assert.deepEqual(up.requests[0].include, ['file_search_call.results']);

    const stored = await server.client.responses.retrieve(response.id);
    assert.deepEqual(stored.output, response.output);
  });
});

describe('terminal events', () => {
  test('response.incomplete → Parley’s response.incomplete with the upstream’s reason and usage', async () => {
    up.script(script((r) => r.message('Cut short here').incomplete('max_output_tokens', { input: 5, output: 3 })));
    const { events, response } = await streamed({ input: 'Long answer', max_output_tokens: 16 });
    assert.equal(events.at(-1)!.type, 'response.incomplete');
    assert.equal(response.status, 'incomplete');
    assert.deepEqual(response.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(response.usage?.output_tokens, 3);
    assert.equal(up.requests[0].max_output_tokens, 16);
  });

  test('response.failed mid-item → Parley’s response.failed with the upstream’s code and message; the open item is closed', async () => {
    up.script(script((r) => r.openMessage('Half an').failed('server_error', 'The upstream model crashed')));
    const { events, response } = await streamed({ input: 'Hi' });
    assert.equal(events.at(-1)!.type, 'response.failed');
    assert.deepEqual(response.error, { code: 'server_error', message: 'The upstream model crashed' });
    const message = response.output[0] as Json;
    assert.equal(message.status, 'incomplete');
    assert.equal(message.content[0].text, 'Half an');
    assert.deepEqual(types(events).slice(-4), ['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.failed']);
  });

  test('response.failed keeps an official error code (invalid_prompt)', async () => {
    up.script(script((r) => r.failed('invalid_prompt', 'Your prompt was flagged')));
    const { response } = await streamed({ input: 'Hi' });
    assert.deepEqual(response.error, { code: 'invalid_prompt', message: 'Your prompt was flagged' });
  });

  test('an error event → response.failed', async () => {
    up.script(script((r) => r.message('Fine so far.').error('rate_limit_exceeded', 'Too many tokens per minute')));
    const { response } = await streamed({ input: 'Hi' });
    assert.equal(response.status, 'failed');
    assert.deepEqual(response.error, { code: 'rate_limit_exceeded', message: 'Too many tokens per minute' });
    assert.equal((response.output[0] as Json).status, 'completed', 'the finished item stays as it was');
  });

  test('HTTP 429: streaming ends in response.failed (rate_limit_exceeded), non-streaming gets a 429', async () => {
    const body = { error: { message: 'Rate limit reached for gpt-pass', type: 'requests', code: 'rate_limit_exceeded', param: null } };
    up.script({ status: 429, body }, { status: 429, body });
    const { response } = await streamed({ input: 'Hi' });
    assert.deepEqual(response.error, { code: 'rate_limit_exceeded', message: 'Rate limit reached for gpt-pass' });
    assert.deepEqual(response.output, []);
    await assert.rejects(server.client.responses.create({ model: MODEL, input: 'Hi' }), (error: unknown) => {
      assert.ok(error instanceof APIError);
      assert.equal(error.status, 429);
      assert.equal((error.error as Json).message, 'Rate limit reached for gpt-pass');
      return true;
    });
  });

  test('an upstream that stalls mid-item: idle timeout → response.failed, the item closed, the connection cut', async () => {
    const s = script((r) => r.openMessage('Still thinking').unfinished());
    up.script({ ...s, stallAfter: s.events!.length });
    const { response } = await streamed({ input: 'Hi' });
    assert.equal(response.status, 'failed');
    assert.match(response.error!.message, new RegExp(`sent nothing for ${IDLE_TIMEOUT_MS} ms`));
    assert.equal((response.output[0] as Json).status, 'incomplete');
    await up.whenClosed(1);
  });

  test('a client that leaves mid-stream stops the upstream request; the response is cancelled with its item closed', async () => {
    const words = Array.from({ length: 40 }, (_, i) => ` w${i}`).join('');
    up.script({ ...script((r) => r.message(words).completed()), delayMs: 40 });
    const stream = await server.client.responses.create({ model: MODEL, input: 'Talk slowly', stream: true });
    const events: ResponseStreamEvent[] = [];
    try {
      for await (const event of stream) {
        events.push(event);
        if (event.type === 'response.output_text.delta') stream.controller.abort();
      }
    } catch {
      assert.ok(stream.controller.signal.aborted);
    }
    const id = (events[0] as Extract<ResponseStreamEvent, { type: 'response.created' }>).response.id;
    await up.whenClosed(1);
    let stored = await server.client.responses.retrieve(id);
    for (let i = 0; i < 50 && stored.status === 'in_progress'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      stored = await server.client.responses.retrieve(id);
    }
    assert.equal(stored.status, 'cancelled');
    assert.equal((stored.output[0] as Json).status, 'incomplete');
    assert.ok((stored.output[0] as Json).content[0].text.startsWith(' w0'));
  });

  test('a body that ends without a terminal event → response.failed', async () => {
    up.script(script((r) => r.message('Hello').unfinished()));
    const { response } = await streamed({ input: 'Hi' });
    assert.equal(response.status, 'failed');
    assert.match(response.error!.message, /ended before the response did/);
  });
});

describe('state stays with Parley', () => {
  test('stored; previous_response_id and item_reference send the whole context upstream, never previous_response_id', async () => {
    const first = script((r) => r.reasoning({ summary: ['Thinking.'], encrypted: 'enc-a' }).reasoning({ summary: ['No key.'] }).message('Paris is the capital.').completed());
    up.script(first);
    const one = await server.client.responses.create({ model: MODEL, input: 'Capital of France?', include: ['reasoning.encrypted_content'] });
    assert.equal(one.output_text, 'Paris is the capital.');
    const upstreamIds = upstreamItemIds(first);
    assert.deepEqual(one.output.map((i) => i.id), upstreamIds);
    assert.deepEqual((await server.client.responses.retrieve(one.id)).output, one.output);

    up.script(script((r) => r.message('About 2.1 million.').completed()));
    const two = await server.client.responses.create({ model: MODEL, previous_response_id: one.id, input: 'Population?' });
    assert.equal(two.output_text, 'About 2.1 million.');
    const sent = up.requests[1];
    assert.equal(sent.previous_response_id, undefined);
    assert.equal(sent.store, false);
    assert.deepEqual(
      (sent.input as Json[]).map((i) => [i.type, i.role ?? null, i.id ?? null]),
      [
        ['message', 'user', null],
        ['reasoning', null, upstreamIds[0]],
        // the reasoning item without encrypted_content cannot be resolved by a store: false upstream
        ['message', 'assistant', upstreamIds[2]],
        ['message', 'user', null],
      ],
    );
    assert.equal((sent.input as Json[])[1].encrypted_content, 'enc-a');
    assert.equal((sent.input as Json[])[2].content[0].text, 'Paris is the capital.');

    // An item the upstream made, referenced by its id.
    up.script(script((r) => r.message('Yes.').completed()));
    await server.client.responses.create({ model: MODEL, input: [{ type: 'item_reference', id: upstreamIds[2] }, { role: 'user', content: 'Sure?' }] as never });
    const third = up.requests[2].input as Json[];
    assert.equal(third[0].id, upstreamIds[2]);
    assert.equal(third[0].content[0].text, 'Paris is the capital.');
  });
});

describe('tools the upstream hosts', () => {
  test('web_search is accepted for the pass-through model and still refused for the scripted model', async () => {
    up.script(script((r) => r.webSearch('news').message('Nothing new.').completed()));
    const { response } = await streamed({ input: 'News?', tools: [{ type: 'web_search' }] });
    assert.equal((response.output[1] as Json).content[0].text, 'Nothing new.');

    await assert.rejects(
      server.client.responses.create({ model: 'scripted', input: 'News?', tools: [{ type: 'web_search' }] }),
      (error: unknown) => {
        assert.ok(error instanceof APIError);
        assert.equal(error.status, 400);
        assert.equal(error.code, 'unsupported_tool');
        return true;
      },
    );
    await assert.rejects(
      server.client.responses.create({ model: MODEL, input: 'Hi', tools: [{ type: 'teleport' }] as never }),
      (error: unknown) => error instanceof APIError && error.status === 400 && error.code === 'invalid_value',
      'an unknown tool type is still refused',
    );
    assert.equal(up.requests.length, 1);
  });

  test('GET /v1/models lists the configured pass-through model', async () => {
    const models = await server.client.models.list();
    assert.ok(models.data.some((m) => m.id === MODEL));
  });
});
