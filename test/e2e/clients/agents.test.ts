// The real OpenAI Agents SDK (`@openai/agents`, pinned in package.json), unmodified, against
// Parley. The SDK is pointed at Parley the documented way: an `OpenAIProvider` built on an
// `openai` client whose baseURL is Parley, handed to a `Runner` as its `modelProvider`, with the
// Responses API (`useResponses: true`) and tracing disabled (nothing leaves the machine).
//
// The `openai` client gets a recording `fetch` (a documented client option): it only copies each
// request body so the tests can assert what the SDK sent; the SDK itself is untouched.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Agent,
  OpenAIProvider,
  Runner,
  isOpenAIResponsesRawModelStreamEvent,
  setTracingDisabled,
  tool,
  type RunStreamEvent,
} from '@openai/agents';
import OpenAI from 'openai';
import { z } from 'zod';
import { chunk, startFakeChatUpstream, type FakeChatUpstream } from '../../helpers/fake-chat-upstream.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { assertConformingStream } from '../../helpers/spec.js';
import type { ResponseStreamEvent } from '../../../src/protocol/types.js';

// Tracing off twice over: the env flag (read lazily by the SDK) and the global switch.
process.env.OPENAI_AGENTS_DISABLE_TRACING = '1';
setTracingDisabled(true);

interface Recorded {
  url: string;
  body: any;
}

/** An `openai` client at `server`, recording the JSON body of every request it sends. */
function recordingClient(server: TestServer, recorded: Recorded[]): OpenAI {
  return new OpenAI({
    baseURL: `${server.url}/v1`,
    apiKey: 'unused',
    maxRetries: 0,
    fetch: async (input: string | URL | Request, init?: RequestInit) => {
      if (typeof init?.body === 'string') recorded.push({ url: String(input), body: JSON.parse(init.body) });
      return fetch(input, init);
    },
  });
}

function runnerFor(client: OpenAI): Runner {
  return new Runner({
    modelProvider: new OpenAIProvider({ openAIClient: client, useResponses: true }),
    tracingDisabled: true,
  });
}

/** A weather tool whose calls are recorded; its output names every argument it got. */
function weatherTool(calls: unknown[]) {
  return tool({
    name: 'get_weather',
    description: 'Get the weather forecast for a city.',
    parameters: z.object({
      city: z.string(),
      unit: z.enum(['celsius', 'fahrenheit']),
      days: z.number(),
    }),
    execute: async (args) => {
      calls.push(args);
      return `Sunny in ${args.city}, 21 ${args.unit}, for ${args.days} day(s)`;
    },
  });
}

/** Splits the raw Responses events of a streamed run into one stream per model call. */
function rawModelStreams(events: RunStreamEvent[]): ResponseStreamEvent[][] {
  const streams: ResponseStreamEvent[][] = [];
  for (const event of events) {
    if (!isOpenAIResponsesRawModelStreamEvent(event)) continue;
    const raw = event.data.event as ResponseStreamEvent;
    if (raw.type === 'response.created') streams.push([]);
    assert.ok(streams.length > 0, `raw event ${raw.type} before response.created`);
    streams[streams.length - 1].push(raw);
  }
  return streams;
}

async function consume(stream: AsyncIterable<RunStreamEvent>): Promise<RunStreamEvent[]> {
  const events: RunStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** What the scripted model's arguments generator (src/models/json-example.ts) makes of the tool's zod schema. */
const SCRIPTED_ARGS = { city: 'example', unit: 'celsius', days: 1 };
const SCRIPTED_TOOL_OUTPUT = 'Sunny in example, 21 celsius, for 1 day(s)';

describe('@openai/agents against the scripted model', () => {
  let server: TestServer;
  let recorded: Recorded[];
  let runner: Runner;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });

  function fresh() {
    recorded = [];
    runner = runnerFor(recordingClient(server, recorded));
  }

  test('streamed function-tool loop: the tool runs with the generated arguments, the answer quotes its output', { timeout: 30_000 }, async () => {
    fresh();
    const calls: unknown[] = [];
    const agent = new Agent({
      name: 'Weather agent',
      instructions: 'Answer weather questions with the tool.',
      model: 'scripted',
      tools: [weatherTool(calls)],
    });

    const stream = await runner.run(agent, 'What is the weather in Paris?', { stream: true });
    const events = await consume(stream);
    await stream.completed;
    assert.equal(stream.error, null);

    // The scripted model called the only tool with arguments generated from its JSON schema.
    assert.deepEqual(calls, [SCRIPTED_ARGS]);
    assert.equal(stream.finalOutput, `Tool results: get_weather returned ${SCRIPTED_TOOL_OUTPUT}.`);
    assert.equal(stream.lastAgent, agent);

    // Two Responses requests: the first declares the tool, the second carries the call and its output.
    const posts = recorded.filter((r) => r.url.endsWith('/responses'));
    assert.equal(posts.length, 2);
    assert.equal(posts[0].body.model, 'scripted');
    assert.equal(posts[0].body.stream, true);
    assert.equal(posts[0].body.instructions, 'Answer weather questions with the tool.');
    assert.deepEqual(
      posts[0].body.tools.map((t: any) => [t.type, t.name]),
      [['function', 'get_weather']],
    );
    const secondInput: any[] = posts[1].body.input;
    const call = secondInput.find((i) => i.type === 'function_call');
    const output = secondInput.find((i) => i.type === 'function_call_output');
    assert.equal(call?.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.arguments), SCRIPTED_ARGS);
    assert.equal(output?.call_id, call.call_id);

    // The SDK's own run items: one tool call, its output, one final message.
    const names = events.filter((e) => e.type === 'run_item_stream_event').map((e) => e.name);
    assert.deepEqual(names, ['tool_called', 'tool_output', 'message_output_created']);

    // The raw Responses events of each model call conform to the protocol.
    const streams = rawModelStreams(events);
    assert.equal(streams.length, 2);
    for (const raw of streams) assertConformingStream(raw);
    assert.ok(streams[0].some((e) => e.type === 'response.function_call_arguments.delta'));
    const text = streams[1]
      .filter((e): e is Extract<ResponseStreamEvent, { type: 'response.output_text.delta' }> => e.type === 'response.output_text.delta')
      .map((e) => e.delta)
      .join('');
    assert.equal(text, stream.finalOutput);
  });

  test('non-streamed function-tool loop', { timeout: 30_000 }, async () => {
    fresh();
    const calls: unknown[] = [];
    const agent = new Agent({ name: 'Weather agent', model: 'scripted', tools: [weatherTool(calls)] });

    const result = await runner.run(agent, 'Weather in Oslo, please.');

    assert.deepEqual(calls, [SCRIPTED_ARGS]);
    assert.equal(result.finalOutput, `Tool results: get_weather returned ${SCRIPTED_TOOL_OUTPUT}.`);
    const posts = recorded.filter((r) => r.url.endsWith('/responses'));
    assert.equal(posts.length, 2);
    assert.ok(posts.every((p) => p.body.stream !== true));
    assert.equal(result.rawResponses.length, 2);
    assert.equal(result.rawResponses[0].output[0].type, 'function_call');
    assert.deepEqual(
      result.newItems.map((i) => i.type),
      ['tool_call_item', 'tool_call_output_item', 'message_output_item'],
    );
  });

  test('handoff: A calls transfer_to_…, B answers', { timeout: 30_000 }, async () => {
    fresh();
    const agentB = new Agent({
      name: 'Specialist',
      instructions: 'You are the specialist.',
      handoffDescription: 'Handles everything specialised.',
      model: 'scripted',
    });
    const agentA = new Agent({
      name: 'Triage',
      instructions: 'Hand the user over to the specialist.',
      model: 'scripted',
      handoffs: [agentB],
    });

    const stream = await runner.run(agentA, 'I need a specialist.', { stream: true });
    const events = await consume(stream);
    await stream.completed;
    assert.equal(stream.error, null);

    assert.equal(stream.lastAgent, agentB);
    // What deterministically happens: A's only tool is the handoff, so the scripted model calls
    // `transfer_to_Specialist` (arguments from its empty schema: `{}`). The SDK answers that call
    // with the function output `{"assistant":"Specialist"}` and switches to B, keeping the whole
    // history (no input filter). B's request ends with that function output, so the scripted
    // model — B declares no tools — answers the tool results rather than echoing.
    assert.equal(stream.finalOutput, 'Tool results: transfer_to_Specialist returned {"assistant":"Specialist"}.');

    const posts = recorded.filter((r) => r.url.endsWith('/responses'));
    assert.equal(posts.length, 2);
    assert.deepEqual(
      posts[0].body.tools.map((t: any) => [t.type, t.name]),
      [['function', 'transfer_to_Specialist']],
    );
    assert.equal(posts[1].body.instructions, 'You are the specialist.');
    assert.deepEqual(posts[1].body.tools ?? [], []); // B declares no tools (the SDK sends `tools: []`)
    const last = posts[1].body.input.at(-1);
    assert.equal(last.type, 'function_call_output');
    assert.equal(last.output, '{"assistant":"Specialist"}');

    const names = events.filter((e) => e.type === 'run_item_stream_event').map((e) => e.name);
    assert.deepEqual(names, ['handoff_requested', 'handoff_occurred', 'message_output_created']);
    const agentsSeen = events.filter((e) => e.type === 'agent_updated_stream_event').map((e) => e.agent.name);
    // The SDK announces the switch to B (the initial agent is not re-announced here).
    assert.equal(agentsSeen.at(-1), 'Specialist');

    const streams = rawModelStreams(events);
    assert.equal(streams.length, 2);
    for (const raw of streams) assertConformingStream(raw);
  });
});

describe('@openai/agents through Parley to a Chat Completions upstream', () => {
  let upstream: FakeChatUpstream;
  let server: TestServer;

  before(async () => {
    upstream = await startFakeChatUpstream({ models: ['up-model'] });
    server = await startTestServer({ PARLEY_UPSTREAM_URL: upstream.url, PARLEY_UPSTREAM_MODELS: 'up-model' });
  });
  after(async () => {
    await server?.close();
    await upstream?.close();
  });

  test('streamed tool loop: the upstream calls the tool, then answers; its second request carries the tool result', { timeout: 30_000 }, async () => {
    const recorded: Recorded[] = [];
    const runner = runnerFor(recordingClient(server, recorded));
    const calls: unknown[] = [];
    const agent = new Agent({
      name: 'Weather agent',
      instructions: 'Use the tool.',
      model: 'up-model',
      tools: [weatherTool(calls)],
    });
    upstream.script(
      {
        chunks: [
          chunk.toolCall(0, { id: 'call_up_1', name: 'get_weather', arguments: '{"city":"Os' }),
          chunk.toolCall(0, { arguments: 'lo","unit":"fahrenheit","days":3}' }),
          chunk.finish('tool_calls'),
          chunk.usage(40, 12),
        ],
      },
      { chunks: [chunk.text('Oslo: sunny,'), chunk.text(' 21 degrees.'), chunk.finish('stop'), chunk.usage(60, 6)] },
    );

    const stream = await runner.run(agent, 'Weather in Oslo for three days?', { stream: true });
    const events = await consume(stream);
    await stream.completed;
    assert.equal(stream.error, null);

    assert.deepEqual(calls, [{ city: 'Oslo', unit: 'fahrenheit', days: 3 }]);
    assert.equal(stream.finalOutput, 'Oslo: sunny, 21 degrees.');

    assert.equal(upstream.requests.length, 2);
    const [first, second] = upstream.requests;
    assert.equal(first.model, 'up-model');
    assert.deepEqual(
      first.tools.map((t: any) => [t.type, t.function.name]),
      [['function', 'get_weather']],
    );
    const messages: any[] = second.messages;
    const assistant = messages.find((m) => m.role === 'assistant' && m.tool_calls?.length);
    assert.ok(assistant, `no assistant tool_calls message in ${JSON.stringify(messages)}`);
    assert.equal(assistant.tool_calls[0].function.name, 'get_weather');
    assert.deepEqual(JSON.parse(assistant.tool_calls[0].function.arguments), { city: 'Oslo', unit: 'fahrenheit', days: 3 });
    const toolMessage = messages.find((m) => m.role === 'tool');
    assert.ok(toolMessage, `no tool message in ${JSON.stringify(messages)}`);
    assert.equal(toolMessage.tool_call_id, assistant.tool_calls[0].id);
    const toolContent =
      typeof toolMessage.content === 'string' ? toolMessage.content : toolMessage.content.map((p: any) => p.text).join('');
    assert.equal(toolContent, 'Sunny in Oslo, 21 fahrenheit, for 3 day(s)');

    // The SDK sent Parley the call with the upstream's call id and the output for it.
    const posts = recorded.filter((r) => r.url.endsWith('/responses'));
    assert.equal(posts.length, 2);
    const output = posts[1].body.input.find((i: any) => i.type === 'function_call_output');
    const call = posts[1].body.input.find((i: any) => i.type === 'function_call');
    assert.equal(output.call_id, call.call_id);
    assert.equal(call.call_id, 'call_up_1');

    const streams = rawModelStreams(events);
    assert.equal(streams.length, 2);
    for (const raw of streams) assertConformingStream(raw);
    const completed = streams[1].at(-1);
    assert.equal(completed?.type, 'response.completed');
    if (completed?.type === 'response.completed') {
      assert.equal(completed.response.usage?.input_tokens, 60);
      assert.equal(completed.response.usage?.output_tokens, 6);
    }
  });
});
