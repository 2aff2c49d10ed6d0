// The Vercel AI SDK (`ai` + `@ai-sdk/openai`, pinned in package.json), unmodified, against the
// real server: its Responses provider (`openai.responses(...)`) drives Parley's scripted model and
// a loopback Chat Completions upstream. A recording `fetch` passed to `createOpenAI` keeps every
// request body the SDK sent, so the tests can show what went over the wire.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, Output, stepCountIs, streamText, tool, type ModelMessage, type TextStreamPart, type ToolSet } from 'ai';
import { z } from 'zod';
import { chunk, startFakeChatUpstream, textScript, type FakeChatUpstream } from '../../helpers/fake-chat-upstream.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const UP_MODEL = 'up-model';

/** The provider pointed at Parley, with every request body it sends recorded (parsed JSON). */
function provider(server: TestServer) {
  const requests: any[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    if (typeof init?.body === 'string') requests.push(JSON.parse(init.body));
    return fetch(input, init);
  };
  const openai = createOpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', fetch: recordingFetch });
  return { openai, requests };
}

async function parts<T extends ToolSet>(stream: AsyncIterable<TextStreamPart<T>>): Promise<TextStreamPart<T>[]> {
  const all: TextStreamPart<T>[] = [];
  for await (const part of stream) all.push(part);
  return all;
}

/** Fails on an `error` part instead of letting the SDK swallow it into an empty result. */
function noErrors(all: TextStreamPart<ToolSet>[]) {
  const errors = all.filter((p) => p.type === 'error');
  assert.deepEqual(errors, [], 'the stream carried error parts');
}

const weatherTool = (executed: unknown[]) =>
  tool({
    description: 'The current weather in a city',
    inputSchema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }),
    execute: async ({ city, unit }) => {
      executed.push({ city, unit });
      return { city, temperature: 21, unit };
    },
  });

// --- the scripted model ----------------------------------------------------------------------

describe('AI SDK against the scripted model', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });

  test('streamText runs a tool loop: the model calls the tool, the SDK executes it, the next step answers', async () => {
    const { openai, requests } = provider(server);
    const executed: unknown[] = [];
    const result = streamText({
      model: openai.responses('scripted'),
      prompt: 'What is the weather like?',
      tools: { get_weather: weatherTool(executed) },
      stopWhen: stepCountIs(3),
    });
    const all = await parts(result.fullStream);
    noErrors(all);

    // The scripted model fills the arguments from the tool's JSON schema: first enum value, "example".
    assert.deepEqual(executed, [{ city: 'example', unit: 'celsius' }]);
    const steps = await result.steps;
    assert.equal(steps.length, 2);
    assert.equal(steps[0].finishReason, 'tool-calls');
    assert.equal(steps[1].finishReason, 'stop');
    const [call] = steps[0].toolCalls;
    assert.equal(call.toolName, 'get_weather');
    assert.deepEqual(call.input, { city: 'example', unit: 'celsius' });
    assert.deepEqual(
      steps[0].toolResults.map((r) => r.output),
      [{ city: 'example', temperature: 21, unit: 'celsius' }],
    );
    assert.match(call.toolCallId, /^call_/);

    const expected = 'Tool results: get_weather returned {"city":"example","temperature":21,"unit":"celsius"}.';
    assert.equal(await result.text, expected);
    assert.equal(
      all.filter((p) => p.type === 'text-delta').map((p) => (p as { text: string }).text).join(''),
      expected,
    );
    assert.deepEqual(
      all.filter((p) => p.type === 'tool-call' || p.type === 'tool-result').map((p) => p.type),
      ['tool-call', 'tool-result'],
    );
    assert.equal(await result.finishReason, 'stop');

    // On the wire: two streaming requests; the second carries the call and its output.
    assert.equal(requests.length, 2);
    assert.ok(requests.every((r) => r.stream === true && r.model === 'scripted'));
    assert.deepEqual(requests[0].tools.map((t: { type: string; name: string }) => [t.type, t.name]), [['function', 'get_weather']]);
    const second = requests[1].input as any[];
    const fnCall = second.find((i) => i.type === 'function_call');
    const fnOutput = second.find((i) => i.type === 'function_call_output');
    assert.equal(fnCall.call_id, call.toolCallId);
    assert.deepEqual(JSON.parse(fnCall.arguments), { city: 'example', unit: 'celsius' });
    assert.equal(fnOutput.call_id, call.toolCallId);
    assert.deepEqual(JSON.parse(fnOutput.output), { city: 'example', temperature: 21, unit: 'celsius' });
  });

  test('multi-turn: the SDK sends item_reference for earlier reasoning and assistant items, and Parley resolves them', async () => {
    const { openai, requests } = provider(server);
    const model = openai.responses('scripted');
    const firstUser: ModelMessage = { role: 'user', content: '/reasoning Is Parley ready?' };

    const first = streamText({ model, messages: [firstUser] });
    noErrors(await parts(first.fullStream));
    assert.equal(await first.text, 'Here is my answer after thinking it through.');
    const firstResponse = await first.response;
    const stored = await server.client.responses.retrieve(firstResponse.id);
    const [reasoningItem, messageItem] = stored.output;
    assert.equal(reasoningItem.type, 'reasoning');
    assert.equal(messageItem.type, 'message');

    // Second turn: the whole history, as the SDK documents (previous messages + response.messages).
    const secondUser: ModelMessage = { role: 'user', content: '/echo And the second question?' };
    const second = streamText({ model, messages: [firstUser, ...firstResponse.messages, secondUser] });
    noErrors(await parts(second.fullStream));

    // The request really referenced the stored items instead of repeating them …
    assert.equal(requests.length, 2);
    assert.deepEqual(requests[1].input, [
      { role: 'user', content: [{ type: 'input_text', text: '/reasoning Is Parley ready?' }] },
      { type: 'item_reference', id: reasoningItem.id },
      { type: 'item_reference', id: messageItem.id },
      { role: 'user', content: [{ type: 'input_text', text: '/echo And the second question?' }] },
    ]);
    // … the answer is right …
    assert.equal(await second.text, 'You said: /echo And the second question?');
    // … and Parley resolved the references from storage: the second response's input items are
    // the stored items themselves, with their content.
    const secondId = (await second.response).id;
    const inputItems = (await server.client.responses.inputItems.list(secondId, { order: 'asc' })).data as any[];
    assert.deepEqual(
      inputItems.map((i) => [i.type, i.role ?? null]),
      [
        ['message', 'user'],
        ['reasoning', null],
        ['message', 'assistant'],
        ['message', 'user'],
      ],
    );
    assert.equal(inputItems[1].id, reasoningItem.id);
    assert.equal(inputItems[2].id, messageItem.id);
    assert.deepEqual(inputItems[2].content.map((c: { text: string }) => c.text), ['Here is my answer after thinking it through.']);
    assert.deepEqual(inputItems[1].content, (reasoningItem as any).content);
  });

  test('multi-turn after a tool loop: function call and output are sent in full, the final answer by item_reference', async () => {
    const { openai, requests } = provider(server);
    const model = openai.responses('scripted');
    const executed: unknown[] = [];
    const firstUser: ModelMessage = { role: 'user', content: 'What is the weather like?' };
    const first = streamText({ model, messages: [firstUser], tools: { get_weather: weatherTool(executed) }, stopWhen: stepCountIs(3) });
    noErrors(await parts(first.fullStream));
    assert.equal(executed.length, 1);
    const firstResponse = await first.response; // the last step's response; messages cover every step
    const answerItem = (await server.client.responses.retrieve(firstResponse.id)).output[0];
    assert.equal(answerItem.type, 'message');

    const second = streamText({
      model,
      messages: [firstUser, ...firstResponse.messages, { role: 'user', content: '/echo Thanks!' }],
      tools: { get_weather: weatherTool(executed) },
    });
    noErrors(await parts(second.fullStream));
    assert.equal(await second.text, 'You said: /echo Thanks!');
    assert.equal(executed.length, 1, 'no new tool call in the second turn');

    const input = requests[2].input as any[];
    assert.deepEqual(
      input.map((i) => i.type ?? i.role),
      ['user', 'function_call', 'function_call_output', 'item_reference', 'user'],
    );
    assert.equal(input[3].id, answerItem.id);
    const inputItems = (await server.client.responses.inputItems.list((await second.response).id, { order: 'asc' })).data as any[];
    const resolved = inputItems.find((i) => i.id === answerItem.id);
    assert.equal(resolved?.type, 'message');
    assert.equal(
      resolved.content[0].text,
      'Tool results: get_weather returned {"city":"example","temperature":21,"unit":"celsius"}.',
    );
  });

  test('an item_reference to an unknown id is a 404 the SDK surfaces as an API error', async () => {
    const { openai } = provider(server);
    const messages: ModelMessage[] = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: [{ type: 'text', text: 'Hello', providerOptions: { openai: { itemId: 'msg_does_not_exist' } } }] },
      { role: 'user', content: 'Again' },
    ];
    await assert.rejects(generateText({ model: openai.responses('scripted'), messages, maxRetries: 0 }), (error: any) => {
      assert.equal(error.statusCode, 404);
      assert.match(error.message, /msg_does_not_exist/);
      return true;
    });
  });

  // The AI SDK surfaces reasoning text from summaries only (reasoning_summary_* events and
  // item.summary), as OpenAI's reasoning models send them when asked (`reasoningSummary`; the SDK
  // also needs `forceReasoning` to ask a model it does not know as a reasoning model).
  test('streamText surfaces the /reasoning scenario\'s summary as reasoning parts, then the text', async () => {
    const { openai, requests } = provider(server);
    const result = streamText({
      model: openai.responses('scripted'),
      prompt: '/reasoning Why?',
      providerOptions: { openai: { forceReasoning: true, reasoningSummary: 'auto' } },
    });
    const all = await parts(result.fullStream);
    noErrors(all);
    assert.deepEqual(requests[0].reasoning, { summary: 'auto' });
    const summary = '**Answering directly**\n\nThe question is short, so a short answer fits.';
    assert.equal(await result.text, 'Here is my answer after thinking it through.');
    assert.deepEqual(
      all.filter((p) => p.type.startsWith('reasoning-') || p.type.startsWith('text-')).map((p) => p.type).filter((t, i, a) => t !== a[i - 1]),
      ['reasoning-start', 'reasoning-delta', 'reasoning-end', 'text-start', 'text-delta', 'text-end'],
    );
    assert.equal(all.filter((p) => p.type === 'reasoning-delta').map((p) => (p as { text: string }).text).join(''), summary);
    assert.equal(await result.reasoningText, summary);
  });

  test('generateText (not streamed) with Output.object fills the zod schema from the json_schema format', async () => {
    const { openai, requests } = provider(server);
    const schema = z.object({
      name: z.string(),
      age: z.number().int(),
      tags: z.array(z.string()),
      status: z.enum(['active', 'inactive']),
      address: z.object({ city: z.string(), zip: z.string().nullable() }),
    });
    const result = await generateText({
      model: openai.responses('scripted'),
      prompt: 'Describe a user.',
      output: Output.object({ schema, name: 'user_profile' }),
    });
    const expected = { name: 'example', age: 1, tags: ['example'], status: 'active', address: { city: 'example', zip: 'example' } };
    assert.deepEqual(result.output, expected);
    assert.deepEqual(JSON.parse(result.text), expected);
    assert.equal(result.finishReason, 'stop');
    assert.ok(result.usage.outputTokens! > 0);

    assert.equal(requests.length, 1);
    assert.notEqual(requests[0].stream, true, 'generateText does not stream');
    assert.equal(requests[0].text.format.type, 'json_schema');
    assert.equal(requests[0].text.format.name, 'user_profile');
    assert.equal(requests[0].text.format.strict, true);
    const stored = await server.client.responses.retrieve(result.response.id);
    assert.deepEqual(JSON.parse(stored.output_text), expected);
  });
});

// --- a Chat Completions upstream -------------------------------------------------------------

describe('AI SDK against a Chat Completions upstream', () => {
  let up: FakeChatUpstream;
  let server: TestServer;
  before(async () => {
    up = await startFakeChatUpstream({ models: [UP_MODEL] });
    server = await startTestServer({ PARLEY_UPSTREAM_URL: up.url, PARLEY_UPSTREAM_MODELS: UP_MODEL });
  });
  after(async () => {
    await server?.close();
    await up?.close();
  });

  const REASONING = ['The user', ' asks for', ' the capital', ' of France.'];
  const ANSWER = ['Paris', ' is the', ' capital.'];
  const reasoningScript = () => ({
    chunks: [
      ...REASONING.map((r) => chunk.reasoning(r)),
      ...ANSWER.map(chunk.text),
      chunk.finish('stop'),
      chunk.usage(12, 9, { reasoning: 4 }),
    ],
  });

  test('streamText asking for reasoning summaries gets the summariser\'s summary of the upstream reasoning', async () => {
    const SUMMARY = '**Capital**\n\nI recalled that Paris is the capital.';
    up.script(reasoningScript(), { chunks: [chunk.text(SUMMARY), chunk.finish('stop')] });
    const { openai, requests } = provider(server);
    const result = streamText({
      model: openai.responses(UP_MODEL),
      prompt: 'What is the capital of France?',
      providerOptions: { openai: { forceReasoning: true, reasoningSummary: 'auto' } },
    });
    const all = await parts(result.fullStream);
    noErrors(all);
    assert.deepEqual(requests[0].reasoning, { summary: 'auto' });
    assert.equal(await result.text, ANSWER.join(''));
    assert.equal(await result.reasoningText, SUMMARY);
    assert.equal(up.requests.at(-1).messages.at(-1).content, REASONING.join(''), 'the summariser saw the raw reasoning');
    assert.equal((await result.usage).outputTokenDetails.reasoningTokens, 4);
  });

  test('an item_reference reaches the upstream as the stored assistant message', async () => {
    up.script(textScript('Paris is the capital of France.'), textScript('About 2.1 million people.'));
    const { openai, requests } = provider(server);
    const model = openai.responses(UP_MODEL);
    const firstUser: ModelMessage = { role: 'user', content: 'What is the capital of France?' };
    const first = streamText({ model, messages: [firstUser] });
    noErrors(await parts(first.fullStream));
    assert.equal(await first.text, 'Paris is the capital of France.');
    const firstResponse = await first.response;

    const upstreamBefore = up.requests.length;
    const second = streamText({ model, messages: [firstUser, ...firstResponse.messages, { role: 'user', content: 'How many people live there?' }] });
    noErrors(await parts(second.fullStream));
    assert.equal(await second.text, 'About 2.1 million people.');

    const refs = (requests[1].input as any[]).filter((i) => i.type === 'item_reference');
    assert.equal(refs.length, 1, 'the SDK referenced the earlier answer');
    const stored = await server.client.responses.retrieve(firstResponse.id);
    assert.equal(refs[0].id, stored.output[0].id);
    // What the model was given: the referenced item resolved to its text.
    assert.deepEqual(up.requests[upstreamBefore].messages, [
      { role: 'user', content: 'What is the capital of France?' },
      { role: 'assistant', content: 'Paris is the capital of France.' },
      { role: 'user', content: 'How many people live there?' },
    ]);
  });
});
