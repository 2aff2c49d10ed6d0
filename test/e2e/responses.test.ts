// The official openai SDK against the real server with the scripted model: the first
// conformance oracle. Every stream is checked against the official schema and our rules.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type OpenAI from 'openai';
import type { APIError } from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import { z } from 'zod';
import type { Response as SdkResponse, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { assertConformingStream, validateSchema } from '../helpers/spec.js';
import { readSse, startTestServer, type TestServer } from '../helpers/server.js';

async function collect(stream: AsyncIterable<ResponseStreamEvent>, opts: { background?: boolean } = {}) {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  assertConformingStream(events, opts);
  let snapshot: SdkResponse | undefined;
  for (const event of events) snapshot = accumulateResponse(event, snapshot);
  return { events, final: snapshot!, types: events.map((e) => e.type) };
}

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather for a city',
  strict: true,
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
};

describe('Responses API through the openai SDK (scripted model)', () => {
  let server: TestServer;
  let client: OpenAI;

  before(async () => {
    server = await startTestServer();
    client = server.client;
  });
  after(() => server.close());

  test('streams text with every lifecycle event in order', async () => {
    const { types, final } = await collect(
      await client.responses.create({ model: 'scripted', input: 'hello there', stream: true }),
    );
    assert.deepEqual(types, [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    assert.equal(final.status, 'completed');
    assert.equal(final.output_text, 'You said: hello there');
    assert.ok(final.usage && final.usage.output_tokens === 4);
  });

  test('non-streaming create returns the completed response, which can be retrieved', async () => {
    const response = await client.responses.create({ model: 'scripted', input: 'plain', instructions: 'Be brief.' });
    assert.equal(response.status, 'completed');
    assert.equal(response.output_text, 'You said: plain');
    assert.equal(response.instructions, 'Be brief.');
    assert.equal(validateSchema('Response', response), null);
    const retrieved = await client.responses.retrieve(response.id);
    assert.deepEqual(retrieved.output, response.output);
    assert.equal(retrieved.status, 'completed');
  });

  test('responses.stream() helper reaches finalResponse()', async () => {
    const stream = client.responses.stream({ model: 'scripted', input: '/text 30' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    assert.equal(final.status, 'completed');
    assert.equal(deltas.length, 30);
    assert.equal(deltas.join(''), final.output_text);
  });

  test('reasoning then text', async () => {
    const { final, types } = await collect(await client.responses.create({ model: 'scripted', input: '/reasoning', stream: true }));
    assert.deepEqual(final.output.map((i) => i.type), ['reasoning', 'message']);
    assert.ok(types.includes('response.reasoning_text.delta'));
    assert.ok(types.includes('response.reasoning_text.done'));
    const reasoning = final.output[0] as { content?: Array<{ type: string; text: string }> };
    assert.match(reasoning.content![0].text, /The user wrote "\/reasoning"/);
  });

  test('reasoning with a requested summary: summary parts stream inside the reasoning item', async () => {
    const { final, types } = await collect(
      await client.responses.create({ model: 'scripted', input: '/reasoning', reasoning: { summary: 'auto' }, stream: true }),
    );
    const reasoning = final.output[0] as { summary: Array<{ type: string; text: string }>; content?: Array<{ text: string }> };
    assert.deepEqual(reasoning.summary, [
      { type: 'summary_text', text: '**Answering directly**\n\nThe question is short, so a short answer fits.' },
    ]);
    assert.match(reasoning.content![0].text, /The user wrote/);
    const order = types.filter((t) => t.includes('reasoning'));
    assert.deepEqual([...new Set(order)], [
      'response.reasoning_text.delta',
      'response.reasoning_text.done',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
    ]);
  });

  test('refusal', async () => {
    const { final, types } = await collect(await client.responses.create({ model: 'scripted', input: '/refusal', stream: true }));
    assert.ok(types.includes('response.refusal.delta') && types.includes('response.refusal.done'));
    const message = final.output[0] as { content: Array<{ type: string; refusal?: string }> };
    assert.equal(message.content[0].type, 'refusal');
    assert.equal(message.content[0].refusal, "I'm sorry, but I can't help with that request.");
  });

  test('function call round trip with previous_response_id', async () => {
    const first = await collect(
      await client.responses.create({ model: 'scripted', input: 'weather in Paris?', tools: [weatherTool], stream: true }),
    );
    const call = first.final.output[0];
    assert.equal(call.type, 'function_call');
    if (call.type !== 'function_call') return;
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.arguments), { city: 'example' });
    assert.ok(first.types.includes('response.function_call_arguments.delta'));

    const second = await client.responses.create({
      model: 'scripted',
      previous_response_id: first.final.id,
      tools: [weatherTool],
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '18°C and sunny' }],
    });
    assert.equal(second.output_text, 'Tool results: get_weather returned 18°C and sunny.');
    assert.equal(second.previous_response_id, first.final.id);
  });

  test('parallel function calls, with scripted arguments', async () => {
    const timeTool = { ...weatherTool, name: 'get_time', parameters: { ...weatherTool.parameters } };
    const { final, events } = await collect(
      await client.responses.create({ model: 'scripted', input: '/tools', tools: [weatherTool, timeTool], stream: true }),
    );
    assert.deepEqual(final.output.map((i) => (i.type === 'function_call' ? i.name : i.type)), ['get_weather', 'get_time']);
    const done = events.filter((e) => e.type === 'response.function_call_arguments.done');
    assert.equal(done.length, 2);
    const exact = await client.responses.create({
      model: 'scripted',
      input: '/tool get_weather {"city":"Oslo"}',
      tools: [weatherTool],
    });
    const call = exact.output[0];
    assert.ok(call.type === 'function_call' && call.arguments === '{"city":"Oslo"}');
  });

  test('structured output fills the json_schema', async () => {
    const response = await client.responses.create({
      model: 'scripted',
      input: 'give me a person',
      text: {
        format: {
          type: 'json_schema',
          name: 'person',
          strict: true,
          schema: {
            type: 'object',
            properties: { name: { type: 'string' }, age: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
            required: ['name', 'age', 'tags'],
            additionalProperties: false,
          },
        },
      },
    });
    assert.deepEqual(JSON.parse(response.output_text), { name: 'example', age: 1, tags: ['example'] });
  });

  test('responses.parse() with a zod schema returns the parsed object', async () => {
    const Person = z.object({ name: z.string(), age: z.number().int(), tags: z.array(z.string()) });
    const response = await client.responses.parse({
      model: 'scripted',
      input: 'give me a person',
      text: { format: zodTextFormat(Person, 'person') },
    });
    assert.deepEqual(response.output_parsed, { name: 'example', age: 1, tags: ['example'] });
  });

  test('max_output_tokens ends the response as incomplete', async () => {
    const { final, events } = await collect(
      await client.responses.create({ model: 'scripted', input: '/text 50', max_output_tokens: 16, stream: true }),
    );
    assert.equal(final.status, 'incomplete');
    assert.deepEqual(final.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(events.filter((e) => e.type === 'response.output_text.delta').length, 16);
    assert.equal(events.at(-1)!.type, 'response.incomplete');
  });

  test('a model failure mid-stream is response.failed, never a dropped socket', async () => {
    const { final, events } = await collect(await client.responses.create({ model: 'scripted', input: '/error', stream: true }));
    assert.equal(final.status, 'failed');
    assert.equal(final.error?.code, 'server_error');
    assert.match(final.error!.message, /failed on purpose/);
    const itemDone = events.find((e) => e.type === 'response.output_item.done');
    assert.ok(itemDone && itemDone.type === 'response.output_item.done');
    assert.equal((itemDone.item as { status?: string }).status, 'incomplete');
    await assert.rejects(client.responses.create({ model: 'scripted', input: '/error' }), (error: APIError) => {
      assert.equal(error.status, 500);
      return true;
    });
  });

  test('delete, then retrieve is a 404', async () => {
    const response = await client.responses.create({ model: 'scripted', input: 'to delete' });
    const deleted: unknown = await client.responses.delete(response.id);
    assert.deepEqual(deleted, { id: response.id, object: 'response', deleted: true });
    await assert.rejects(client.responses.retrieve(response.id), (error: APIError) => error.status === 404);
    await assert.rejects(client.responses.delete(response.id), (error: APIError) => error.status === 404);
  });

  test('input_items lists this response\'s input, paginated like OpenAI', async () => {
    const response = await client.responses.create({
      model: 'scripted',
      input: [
        { role: 'developer', content: 'be nice' },
        { role: 'user', content: 'one' },
        { type: 'message', role: 'assistant', content: 'two' },
        { role: 'user', content: [{ type: 'input_text', text: 'three' }] },
      ],
    });
    const all = await client.responses.inputItems.list(response.id, { order: 'asc' });
    const texts = all.data.map((item) => (item.type === 'message' ? (item.content[0] as { text: string }).text : ''));
    assert.deepEqual(texts, ['be nice', 'one', 'two', 'three']);
    for (const item of all.data) assert.match(item.id, /^msg_/);

    const page = await client.responses.inputItems.list(response.id, { limit: 2 });
    assert.equal(page.data.length, 2);
    assert.equal(page.has_more, true);
    assert.equal((page.data[0] as { content: Array<{ text: string }> }).content[0].text, 'three');
    const next = await client.responses.inputItems.list(response.id, { limit: 2, after: page.data[1].id });
    assert.deepEqual(next.data.map((i) => i.id), [all.data[1].id, all.data[0].id]);
    assert.equal(next.has_more, false);
    const collected: string[] = [];
    for await (const item of client.responses.inputItems.list(response.id, { limit: 1, order: 'asc' })) collected.push(item.id);
    assert.deepEqual(collected, all.data.map((i) => i.id));
  });

  test('item_reference resolves a stored item', async () => {
    const first = await client.responses.create({ model: 'scripted', input: 'remember me' });
    const items = await client.responses.inputItems.list(first.id);
    const second = await client.responses.create({
      model: 'scripted',
      input: [{ type: 'item_reference', id: items.data[0].id }],
    });
    assert.equal(second.output_text, 'You said: remember me');
    await assert.rejects(
      client.responses.create({ model: 'scripted', input: [{ type: 'item_reference', id: 'msg_missing' }] }),
      (error: APIError) => error.status === 404 && error.param === 'input[0].id',
    );
  });

  test('previous_response_id carries the whole chain to the model', async () => {
    const one = await client.responses.create({ model: 'scripted', input: 'first' });
    const two = await client.responses.create({ model: 'scripted', input: 'second', previous_response_id: one.id });
    const three = await client.responses.create({ model: 'scripted', input: '/json', previous_response_id: two.id });
    // /json answers with the last user text; the chain ends with this request's own message.
    assert.deepEqual(JSON.parse(three.output_text), { answer: '/json' });
    const echo = await client.responses.create({ model: 'scripted', input: [], previous_response_id: two.id });
    assert.equal(echo.output_text, 'You said: second');
  });

  test('store: false responses are not retrievable', async () => {
    const response = await client.responses.create({ model: 'scripted', input: 'secret', store: false });
    assert.equal(response.status, 'completed');
    await assert.rejects(client.responses.retrieve(response.id), (error: APIError) => error.status === 404);
    await assert.rejects(
      client.responses.create({ model: 'scripted', input: 'x', previous_response_id: response.id }),
      (error: APIError) => error.status === 404 && error.param === 'previous_response_id',
    );
  });

  test('background: queued at once, then resumable from any sequence number', async () => {
    const queued = await client.responses.create({ model: 'scripted', input: '/slow 20 15', background: true });
    assert.equal(queued.status, 'queued');
    assert.equal(queued.background, true);

    const full = await collect(await client.responses.retrieve(queued.id, { stream: true }), { background: true });
    assert.deepEqual(full.types.slice(0, 3), ['response.created', 'response.queued', 'response.in_progress']);
    assert.equal(full.final.status, 'completed');

    const resumed: ResponseStreamEvent[] = [];
    for await (const event of await client.responses.retrieve(queued.id, { stream: true, starting_after: 5 })) {
      resumed.push(event);
    }
    assert.deepEqual(resumed.map((e) => e.sequence_number), full.events.slice(6).map((e) => e.sequence_number));
    assert.deepEqual(resumed, full.events.slice(6));

    const polled = await client.responses.retrieve(queued.id);
    assert.equal(polled.status, 'completed');
    assert.equal(polled.output_text, full.final.output_text);
  });

  test('background: a follower that joins mid-run sees only what comes after', async () => {
    const queued = await client.responses.create({ model: 'scripted', input: '/slow 30 20', background: true });
    const stream = await client.responses.retrieve(queued.id, { stream: true });
    const seen: ResponseStreamEvent[] = [];
    let late: Promise<ResponseStreamEvent[]> | null = null;
    for await (const event of stream) {
      seen.push(event);
      if (event.type === 'response.output_text.delta' && !late) {
        late = (async () => {
          const events: ResponseStreamEvent[] = [];
          for await (const e of await client.responses.retrieve(queued.id, { stream: true, starting_after: event.sequence_number })) {
            events.push(e);
          }
          return events;
        })();
      }
    }
    const lateEvents = await late!;
    assert.ok(lateEvents.length > 0);
    assert.deepEqual(lateEvents, seen.slice(seen.length - lateEvents.length));
    assert.equal(lateEvents[0].sequence_number, seen.find((e) => e.type === 'response.output_text.delta')!.sequence_number + 1);
  });

  test('cancel ends a background response as cancelled', async () => {
    const queued = await client.responses.create({ model: 'scripted', input: '/stall', background: true });
    const events: ResponseStreamEvent[] = [];
    const reading = (async () => {
      for await (const event of await client.responses.retrieve(queued.id, { stream: true })) events.push(event);
    })();
    while (!events.some((e) => e.type === 'response.output_text.delta')) await new Promise((r) => setTimeout(r, 5));
    const cancelled = await client.responses.cancel(queued.id);
    assert.equal(cancelled.status, 'cancelled');
    await reading;
    assertConformingStream(events, { background: true });
    const last = events.at(-1)!;
    assert.ok(last.type === 'response.failed' && last.response.status === 'cancelled');
    assert.equal((await client.responses.retrieve(queued.id)).status, 'cancelled');
    // Cancelling again returns it unchanged; a non-background response cannot be cancelled.
    assert.equal((await client.responses.cancel(queued.id)).status, 'cancelled');
    const plain = await client.responses.create({ model: 'scripted', input: 'x' });
    await assert.rejects(client.responses.cancel(plain.id), (error: APIError) => error.status === 400);
  });

  test('a streaming client that disconnects stops the run', async () => {
    const stream = await client.responses.create({ model: 'scripted', input: '/slow 20 1000', stream: true });
    let id = '';
    for await (const event of stream) {
      if (event.type === 'response.created') id = event.response.id;
      if (event.type === 'response.output_text.delta') break;
    }
    let status = '';
    for (let i = 0; i < 100 && status !== 'cancelled'; i++) {
      await new Promise((r) => setTimeout(r, 10));
      status = (await client.responses.retrieve(id)).status ?? '';
    }
    assert.equal(status, 'cancelled');
  });

  test('GET /v1/models lists the scripted model, labelled as scripted', async () => {
    const models = await client.models.list();
    const scripted = models.data.find((m) => m.id === 'scripted');
    assert.equal(scripted?.owned_by, 'parley-scripted');
    assert.equal((await client.models.retrieve('scripted')).id, 'scripted');
  });

  test('raw SSE on the wire: event lines match data types', async () => {
    const res = await fetch(`${server.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'scripted', input: 'wire', stream: true }),
    });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const events = await readSse(res);
    assertConformingStream(events as ResponseStreamEvent[]);
  });
});
