// Reasoning summaries for an upstream that gives raw reasoning only: a summariser model writes
// them into the reasoning item before it closes; a failing summariser costs only the summary.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { chunk, startFakeChatUpstream, type FakeChatUpstream } from '../helpers/fake-chat-upstream.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { assertConformingStream } from '../helpers/spec.js';

const REASONING = ['The user', ' asks for', ' the capital', ' of France.'];
const SUMMARY = '**Recalling a capital**\n\nI recalled that Paris is the capital of France.';

const mainScript = () => ({
  chunks: [...REASONING.map((r) => chunk.reasoning(r)), chunk.text('Paris'), chunk.text(' it is.'), chunk.finish('stop'), chunk.usage(10, 8)],
});

describe('reasoning summaries from a summariser model', () => {
  let upstream: FakeChatUpstream;
  let server: TestServer;

  beforeEach(async () => {
    upstream = await startFakeChatUpstream();
    server = await startTestServer({ PARLEY_UPSTREAM_URL: upstream.url, PARLEY_UPSTREAM_MODELS: 'up-model,summariser' });
  });
  afterEach(async () => {
    await server.close();
    await upstream.close();
  });

  async function run(summary: 'auto' | 'concise' | 'detailed') {
    const events: ResponseStreamEvent[] = [];
    const stream = await server.client.responses.create({ model: 'up-model', input: 'Capital of France?', reasoning: { summary }, stream: true });
    for await (const event of stream) events.push(event);
    assertConformingStream(events);
    const last = events.at(-1) as Extract<ResponseStreamEvent, { type: 'response.completed' }>;
    assert.equal(last.type, 'response.completed');
    return { events, response: last.response };
  }

  test('the summary streams inside the reasoning item, before the answer begins', async () => {
    upstream.script(mainScript(), { chunks: [chunk.text(SUMMARY.slice(0, 20)), chunk.text(SUMMARY.slice(20)), chunk.finish('stop')] });
    const { events, response } = await run('concise');
    const [reasoning, message] = response.output as unknown as [{ type: string; summary: Array<{ text: string }>; content: Array<{ text: string }> }, { type: string }];
    assert.equal(reasoning.type, 'reasoning');
    assert.deepEqual(reasoning.summary, [{ type: 'summary_text', text: SUMMARY }]);
    assert.equal(reasoning.content[0].text, REASONING.join(''));
    assert.equal(message.type, 'message');
    assert.equal((response.output[1] as { content: Array<{ text: string }> }).content[0].text, 'Paris it is.');

    const types = events.map((e) => e.type);
    const reasoningDone = types.indexOf('response.output_item.done');
    assert.ok(types.indexOf('response.reasoning_summary_part.done') < reasoningDone, 'summary closes inside the item');
    assert.ok(types.lastIndexOf('response.output_item.added') > reasoningDone, 'the message starts after the reasoning item');
    assert.equal(events.filter((e) => e.type === 'response.reasoning_summary_text.delta').length, 2);

    const summariserRequest = upstream.requests[1];
    assert.equal(summariserRequest.model, 'up-model', 'the same model summarises by default');
    assert.match(summariserRequest.messages[0].content, /one or two sentences/);
    assert.equal(summariserRequest.messages[1].content, REASONING.join(''));
  });

  test('PARLEY_SUMMARY_MODEL picks another model to summarise', async () => {
    await server.close();
    server = await startTestServer({
      PARLEY_UPSTREAM_URL: upstream.url,
      PARLEY_UPSTREAM_MODELS: 'up-model,summariser',
      PARLEY_SUMMARY_MODEL: 'summariser',
    });
    upstream.script(mainScript(), { chunks: [chunk.text(SUMMARY), chunk.finish('stop')] });
    const { response } = await run('detailed');
    assert.equal((response.output[0] as { summary: Array<{ text: string }> }).summary[0].text, SUMMARY);
    assert.equal(upstream.requests[1].model, 'summariser');
    assert.match(upstream.requests[1].messages[0].content, /a short paragraph/);
  });

  test('a failing summariser leaves the reasoning without a summary; the response completes', async () => {
    upstream.script(mainScript(), { status: 500, body: { error: { message: 'summariser down' } } });
    const { response } = await run('auto');
    const reasoning = response.output[0] as { summary: unknown[]; content: Array<{ text: string }> };
    assert.deepEqual(reasoning.summary, []);
    assert.equal(reasoning.content[0].text, REASONING.join(''));
    assert.equal(response.status, 'completed');
  });

  test('without reasoning.summary nothing is summarised', async () => {
    upstream.script(mainScript());
    const events: ResponseStreamEvent[] = [];
    for await (const e of await server.client.responses.create({ model: 'up-model', input: 'x', stream: true })) events.push(e);
    assertConformingStream(events);
    assert.equal(upstream.requests.length, 1);
    assert.ok(!events.some((e) => e.type.startsWith('response.reasoning_summary')));
  });
});
