// LangChain's `ChatOpenAI` (@langchain/openai, pinned) with the Responses API enabled, driving the
// real server: first the scripted model (plain text, a bound zod tool and its round trip,
// streaming), then a real loopback Chat Completions upstream that streams `reasoning_content`.
// A recording `fetch` (the OpenAI client's `fetch` option, passed through LangChain's
// `configuration`) shows what LangChain really put on the wire.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatOpenAI } from '@langchain/openai';
import { AIMessage, AIMessageChunk, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';
import { chunk, startFakeChatUpstream, type FakeChatUpstream } from '../../helpers/fake-chat-upstream.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

// --- helpers ---------------------------------------------------------------------------------

interface Recorded {
  method: string;
  path: string;
  body: any;
  status: number;
  contentType: string;
}

/** A `fetch` that records every request (method, path, parsed JSON body) and the answer's status. */
function recordingFetch(): { fetch: typeof fetch; calls: Recorded[] } {
  const calls: Recorded[] = [];
  const recording = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const raw = typeof init?.body === 'string' ? init.body : undefined;
    const response = await fetch(input, init);
    calls.push({
      method: init?.method ?? 'GET',
      path: url.pathname,
      body: raw === undefined ? undefined : JSON.parse(raw),
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
    });
    return response;
  };
  return { fetch: recording as typeof fetch, calls };
}

function chatModel(server: TestServer, model: string, fetchImpl?: typeof fetch): ChatOpenAI {
  return new ChatOpenAI({
    model,
    apiKey: 'x',
    useResponsesApi: true,
    maxRetries: 0,
    configuration: { baseURL: `${server.url}/v1`, ...(fetchImpl && { fetch: fetchImpl }) },
  });
}

/** Concatenates a LangChain stream the way LangChain itself does (`AIMessageChunk.concat`). */
async function concatStream(stream: AsyncIterable<AIMessageChunk>): Promise<{ chunks: AIMessageChunk[]; final: AIMessageChunk }> {
  const chunks: AIMessageChunk[] = [];
  let final: AIMessageChunk | undefined;
  for await (const c of stream) {
    chunks.push(c);
    final = final ? final.concat(c) : c;
  }
  assert.ok(final, 'the stream yielded at least one chunk');
  return { chunks, final };
}

const weatherSchema = z.object({
  city: z.string().describe('The city to look up'),
  unit: z.enum(['celsius', 'fahrenheit']).describe('Temperature unit'),
  days: z.number().int().min(3).describe('How many days of forecast'),
});

/** What the scripted model generates from the schema above (first enum value, minimum, "example"). */
const SCHEMA_ARGS = { city: 'example', unit: 'celsius', days: 3 };

const getWeather = tool(async ({ city, unit, days }) => `${days} days of sun in ${city} (${unit})`, {
  name: 'get_weather',
  description: 'Get the weather forecast for a city',
  schema: weatherSchema,
});

// --- the scripted model ----------------------------------------------------------------------

describe('LangChain ChatOpenAI (Responses API) against the scripted model', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });

  after(async () => {
    await server?.close();
  });

  test('invoke: plain text comes back as the AIMessage, over POST /v1/responses', async () => {
    const rec = recordingFetch();
    const model = chatModel(server, 'scripted', rec.fetch);

    const ai = await model.invoke('Hello from LangChain');

    assert.ok(AIMessage.isInstance(ai), 'invoke returns an AIMessage');
    assert.equal(ai.text, 'You said: Hello from LangChain');
    // The Responses converter gives content blocks: one text block carrying the whole answer.
    assert.ok(Array.isArray(ai.content));
    assert.deepEqual(
      (ai.content as Array<{ type: string; text?: string }>).map((b) => ({ type: b.type, text: b.text })),
      [{ type: 'text', text: 'You said: Hello from LangChain' }],
    );
    assert.deepEqual(ai.tool_calls, []);
    assert.equal(ai.response_metadata.model, 'scripted');
    assert.equal(ai.response_metadata.status, 'completed');
    assert.match(String(ai.response_metadata.id), /^resp_/);
    assert.match(String(ai.id), /^msg_/, 'the message id is the output message item id');
    // One output token per word: "You said: Hello from LangChain" is five.
    assert.equal(ai.usage_metadata?.output_tokens, 5);
    assert.ok((ai.usage_metadata?.input_tokens ?? 0) > 0, 'input tokens are counted');
    assert.equal(ai.usage_metadata?.total_tokens, ai.usage_metadata!.input_tokens + 5);

    // LangChain really spoke the Responses API, not Chat Completions.
    assert.equal(rec.calls.length, 1);
    const [call] = rec.calls;
    assert.equal(call.method, 'POST');
    assert.equal(call.path, '/v1/responses');
    assert.equal(call.status, 200);
    assert.match(call.contentType, /application\/json/);
    assert.equal(call.body.model, 'scripted');
    assert.equal(call.body.stream, false);
    assert.equal(call.body.messages, undefined, 'no Chat Completions `messages`');
    assert.deepEqual(call.body.input, [{ type: 'message', role: 'user', content: 'Hello from LangChain' }]);

    // The response LangChain saw is the one Parley stored.
    const stored = await server.client.responses.retrieve(String(ai.response_metadata.id));
    assert.equal(stored.output_text, 'You said: Hello from LangChain');
  });

  test('invoke with a bound zod tool: tool_calls with schema-generated args, then the ToolMessage round trip', async () => {
    const rec = recordingFetch();
    const model = chatModel(server, 'scripted', rec.fetch).bindTools([getWeather]);
    const human = new HumanMessage('What will the weather be in Paris?');

    const ai = await model.invoke([human]);

    assert.equal(ai.tool_calls?.length, 1);
    const [call] = ai.tool_calls!;
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(call.args, SCHEMA_ARGS);
    assert.match(String(call.id), /^call_/);
    assert.deepEqual(ai.invalid_tool_calls, []);
    assert.equal(ai.text, '', 'a tool call turn has no text');

    // The tool LangChain declared is the zod schema, converted to a Responses function tool.
    const first = rec.calls[0];
    assert.equal(first.path, '/v1/responses');
    assert.equal(first.body.tools.length, 1);
    assert.equal(first.body.tools[0].type, 'function');
    assert.equal(first.body.tools[0].name, 'get_weather');
    assert.equal(first.body.tools[0].description, 'Get the weather forecast for a city');
    assert.deepEqual(Object.keys(first.body.tools[0].parameters.properties).sort(), ['city', 'days', 'unit']);
    assert.deepEqual(first.body.tools[0].parameters.properties.unit.enum, ['celsius', 'fahrenheit']);

    // Run the tool the LangChain way: invoking it with the tool call yields the ToolMessage.
    const toolMessage = await getWeather.invoke(call);
    assert.ok(ToolMessage.isInstance(toolMessage));
    assert.equal(toolMessage.tool_call_id, call.id);
    assert.equal(toolMessage.content, '3 days of sun in example (celsius)');

    const answer = await model.invoke([human, ai, toolMessage]);

    assert.equal(answer.text, 'Tool results: get_weather returned 3 days of sun in example (celsius).');
    assert.deepEqual(answer.tool_calls, []);

    // LangChain replayed the whole conversation as Responses input items.
    const second = rec.calls[1];
    assert.equal(second.path, '/v1/responses');
    assert.equal(second.status, 200);
    const input = second.body.input as any[];
    assert.deepEqual(input[0], { type: 'message', role: 'user', content: 'What will the weather be in Paris?' });
    const fnCall = input.find((i) => i.type === 'function_call');
    assert.ok(fnCall, 'the function_call item is replayed');
    assert.equal(fnCall.call_id, call.id);
    assert.equal(fnCall.name, 'get_weather');
    assert.deepEqual(JSON.parse(fnCall.arguments), SCHEMA_ARGS);
    assert.deepEqual(input.at(-1), { type: 'function_call_output', call_id: call.id, output: '3 days of sun in example (celsius)' });
    assert.equal(rec.calls.length, 2);
  });

  test('stream with a bound tool: tool_call_chunks concatenate to the tool call', async () => {
    const rec = recordingFetch();
    const model = chatModel(server, 'scripted', rec.fetch).bindTools([getWeather]);

    const { chunks, final } = await concatStream(await model.stream('Forecast for Paris, please'));

    const argChunks = chunks.flatMap((c) => c.tool_call_chunks ?? []).filter((t) => t.args);
    assert.ok(argChunks.length > 1, `the arguments arrive in several chunks (got ${argChunks.length})`);
    assert.equal(final.tool_call_chunks?.length, 1, 'all chunks merge into one tool call chunk');
    assert.equal(final.tool_call_chunks![0].name, 'get_weather');
    assert.deepEqual(JSON.parse(final.tool_call_chunks![0].args ?? ''), SCHEMA_ARGS);
    assert.equal(final.tool_calls?.length, 1);
    assert.equal(final.tool_calls![0].name, 'get_weather');
    assert.deepEqual(final.tool_calls![0].args, SCHEMA_ARGS);
    assert.match(String(final.tool_calls![0].id), /^call_/);
    assert.equal(final.response_metadata.status, 'completed');

    assert.equal(rec.calls.length, 1);
    assert.equal(rec.calls[0].path, '/v1/responses');
    assert.equal(rec.calls[0].body.stream, true);
    assert.match(rec.calls[0].contentType, /text\/event-stream/);

    // The streamed tool call is the one that was stored.
    const stored = await server.client.responses.retrieve(String(final.response_metadata.id));
    const storedCall = stored.output.find((o) => o.type === 'function_call');
    assert.ok(storedCall && storedCall.type === 'function_call');
    assert.equal(storedCall.call_id, final.tool_calls![0].id);
    assert.deepEqual(JSON.parse(storedCall.arguments), SCHEMA_ARGS);
  });

  test('stream plain text: the text chunks concatenate to the full answer', async () => {
    const model = chatModel(server, 'scripted');

    const { chunks, final } = await concatStream(await model.stream('stream these words back to me'));

    const expected = 'You said: stream these words back to me';
    const textChunks = chunks.filter((c) => c.text !== '');
    // One delta per word (8 words), so LangChain really streamed it.
    assert.equal(textChunks.length, 8);
    assert.equal(textChunks.map((c) => c.text).join(''), expected);
    assert.equal(final.text, expected);
    assert.deepEqual(final.tool_calls, []);
    assert.equal(final.usage_metadata?.output_tokens, 8);
    assert.equal(final.response_metadata.status, 'completed');
  });

  test('invoke with streaming: true goes through the stream and returns the full text', async () => {
    const rec = recordingFetch();
    const model = new ChatOpenAI({
      model: 'scripted',
      apiKey: 'x',
      useResponsesApi: true,
      streaming: true,
      maxRetries: 0,
      configuration: { baseURL: `${server.url}/v1`, fetch: rec.fetch },
    });

    const ai = await model.invoke('/text 6');

    assert.equal(ai.text.split(' ').length, 6);
    const stored = await server.client.responses.retrieve(String(ai.response_metadata.id));
    assert.equal(ai.text, stored.output_text);
    assert.equal(rec.calls[0].body.stream, true);
  });
});

// --- a Chat Completions upstream with reasoning ---------------------------------------------------

describe('LangChain ChatOpenAI (Responses API) through a Chat Completions upstream', () => {
  const MODEL = 'up-model';
  const REASONING = ['The user asks ', 'for the answer; ', 'it is 42.'];
  const TEXT = ['The answer', ' is', ' 42.'];
  let up: FakeChatUpstream;
  let server: TestServer;

  const reasoningScript = () => ({
    chunks: [
      chunk.text(''),
      ...REASONING.map((r) => chunk.reasoning(r)),
      ...TEXT.map(chunk.text),
      chunk.finish('stop'),
      chunk.usage(11, 9, { reasoning: 3 }),
    ],
  });

  beforeEach(async () => {
    up = await startFakeChatUpstream({ models: [MODEL] });
    server = await startTestServer({ PARLEY_UPSTREAM_URL: up.url, PARLEY_UPSTREAM_MODELS: MODEL });
  });

  afterEach(async () => {
    await server?.close();
    await up?.close();
  });

  test('stream: text and the upstream reasoning_content reach LangChain', async () => {
    up.script(reasoningScript());
    const rec = recordingFetch();
    const model = chatModel(server, MODEL, rec.fetch);

    const { chunks, final } = await concatStream(await model.stream('What is the answer?'));

    // Text.
    assert.equal(final.text, 'The answer is 42.');
    assert.deepEqual(
      chunks.filter((c) => c.text !== '').map((c) => c.text),
      TEXT,
      'each upstream content delta is one LangChain chunk',
    );
    assert.equal(final.usage_metadata?.output_tokens, 9);
    assert.equal(final.usage_metadata?.output_token_details?.reasoning, 3);

    // Reasoning. LangChain 1.2.9 turns only reasoning *summaries* (reasoning_summary_* events)
    // into `reasoning` content blocks / summary text; Parley streams the upstream's
    // reasoning_content as `reasoning_text` content (summaries are "not yet"), which LangChain's
    // stream converter drops per chunk. What LangChain does surface: the reasoning item
    // announced in `additional_kwargs.reasoning` (id, type) and the completed response's raw
    // `output` in `response_metadata.output`, which holds the reasoning text.
    const reasoning = final.additional_kwargs.reasoning as { id?: string; type?: string } | undefined;
    assert.equal(reasoning?.type, 'reasoning');
    assert.match(String(reasoning?.id), /^rs_/);
    const output = final.response_metadata.output as any[];
    assert.ok(Array.isArray(output), 'response_metadata.output is the completed response output');
    assert.deepEqual(
      output.map((o) => o.type),
      ['reasoning', 'message'],
    );
    assert.equal(output[0].id, reasoning?.id);
    assert.deepEqual(output[0].content, [{ type: 'reasoning_text', text: REASONING.join('') }]);
    assert.equal(output[1].content[0].text, 'The answer is 42.');
    // The standard content blocks (`contentBlocks`, built from response_metadata.output) do get a
    // reasoning block for the item, but LangChain fills its text from `summary` only, so it is
    // empty: the reasoning text itself is reachable only through response_metadata.output.
    assert.deepEqual(
      final.contentBlocks.filter((b) => b.type === 'reasoning'),
      [{ type: 'reasoning', reasoning: '', id: reasoning?.id }],
    );
    assert.deepEqual(
      final.contentBlocks.filter((b) => b.type === 'text').map((b) => (b as { text: string }).text),
      ['The answer is 42.'],
    );

    // The wire: Responses in from LangChain, Chat Completions out to the upstream.
    assert.equal(rec.calls.length, 1);
    assert.equal(rec.calls[0].path, '/v1/responses');
    assert.equal(rec.calls[0].body.model, MODEL);
    assert.equal(up.requests.length, 1);
    assert.equal(up.requests[0].model, MODEL);
    assert.equal(up.requests[0].stream, true);
    assert.deepEqual(up.requests[0].messages.at(-1), { role: 'user', content: 'What is the answer?' });
  });

  test('invoke: the reasoning item (with its text) is in additional_kwargs.reasoning', async () => {
    up.script(reasoningScript());
    const model = chatModel(server, MODEL);

    const ai = await model.invoke('What is the answer?');

    assert.equal(ai.text, 'The answer is 42.');
    const reasoning = ai.additional_kwargs.reasoning as { type?: string; id?: string; content?: unknown } | undefined;
    assert.equal(reasoning?.type, 'reasoning');
    assert.match(String(reasoning?.id), /^rs_/);
    assert.deepEqual(reasoning?.content, [{ type: 'reasoning_text', text: REASONING.join('') }]);
    assert.equal(ai.usage_metadata?.output_token_details?.reasoning, 3);
  });
});
