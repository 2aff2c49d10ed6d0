// The Conversations API and `conversation` on POST /v1/responses, through the official openai SDK
// against the real server (scripted model).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type OpenAI from 'openai';
import type { APIError } from 'openai';
import type { ConversationItem } from 'openai/resources/conversations/items';
import { assertConformingStream, validateSchema } from '../helpers/spec.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const userMessage = (text: string) => ({ type: 'message' as const, role: 'user' as const, content: text });

/** Role and text of each item: enough to compare a conversation with what was said. */
function transcript(items: ConversationItem[]): string[] {
  return items.map((item) => {
    assert.equal(item.type, 'message');
    const message = item as Extract<ConversationItem, { type: 'message' }>;
    const text = message.content.map((part) => ('text' in part ? part.text : '')).join('');
    return `${message.role}: ${text}`;
  });
}

const status = (code: number, errorCode?: string) => (e: APIError) =>
  e.status === code && (errorCode === undefined || e.code === errorCode);

describe('Conversations API through the openai SDK', () => {
  let server: TestServer;
  let client: OpenAI;

  before(async () => {
    server = await startTestServer();
    client = server.client;
  });
  after(() => server.close());

  /** GET …/items as it comes over the wire. */
  async function rawList(id: string): Promise<unknown> {
    const res = await fetch(`${server.url}/v1/conversations/${id}/items`);
    assert.equal(res.status, 200);
    return res.json();
  }

  async function allItems(id: string): Promise<ConversationItem[]> {
    const items: ConversationItem[] = [];
    for await (const item of client.conversations.items.list(id, { order: 'asc', limit: 100 })) items.push(item);
    return items;
  }

  test('create, retrieve, update, delete', async () => {
    const created = await client.conversations.create({
      metadata: { topic: 'demo' },
      items: [userMessage('Hello!'), { type: 'message', role: 'assistant', content: 'Hi, how can I help?' }],
    });
    assert.equal(validateSchema('ConversationResource', created), null);
    assert.match(created.id, /^conv_[0-9a-f]{48}$/);
    assert.equal(created.object, 'conversation');
    assert.deepEqual(created.metadata, { topic: 'demo' });
    assert.ok(Math.abs(created.created_at - Date.now() / 1000) < 60);

    assert.deepEqual(await client.conversations.retrieve(created.id), created);

    const items = await client.conversations.items.list(created.id);
    assert.equal(validateSchema('ConversationItemList', await rawList(created.id)), null);
    assert.deepEqual(transcript(items.data), ['assistant: Hi, how can I help?', 'user: Hello!'], 'newest first by default');
    for (const item of items.data) {
      assert.equal(validateSchema('ConversationItem', item), null);
      assert.match(item.id!, /^msg_[0-9a-f]{48}$/);
    }

    const updated = await client.conversations.update(created.id, { metadata: { topic: 'project-x', owner: 'me' } });
    assert.equal(validateSchema('ConversationResource', updated), null);
    assert.deepEqual(updated, { ...created, metadata: { topic: 'project-x', owner: 'me' } });
    assert.deepEqual(await client.conversations.retrieve(created.id), updated);

    const deleted = await client.conversations.delete(created.id);
    assert.equal(validateSchema('DeletedConversationResource', deleted), null);
    assert.deepEqual(deleted, { id: created.id, object: 'conversation.deleted', deleted: true });

    await assert.rejects(client.conversations.retrieve(created.id), status(404));
    await assert.rejects(client.conversations.items.list(created.id), status(404));
    await assert.rejects(client.conversations.update(created.id, { metadata: {} }), status(404));
    await assert.rejects(client.conversations.delete(created.id), status(404));
  });

  test('a conversation can be created without a body, and metadata defaults to {}', async () => {
    const res = await fetch(`${server.url}/v1/conversations`, { method: 'POST' });
    assert.equal(res.status, 200);
    const conversation = await res.json();
    assert.equal(validateSchema('ConversationResource', conversation), null);
    assert.deepEqual(conversation.metadata, {});
    assert.deepEqual((await client.conversations.items.list(conversation.id)).data, []);
  });

  test('items: add, paginate, retrieve, delete', async () => {
    const conv = await client.conversations.create();
    const added = await client.conversations.items.create(conv.id, {
      items: [
        userMessage('one'),
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'two' }] },
        { type: 'message', role: 'assistant', content: 'three', id: 'msg_given_three' } as never,
        userMessage('four'),
        userMessage('five'),
      ],
    });
    assert.equal(validateSchema('ConversationItemList', added), null);
    assert.deepEqual(transcript(added.data), ['user: one', 'user: two', 'assistant: three', 'user: four', 'user: five']);
    assert.equal(added.data[2].id, 'msg_given_three', 'a given id is kept');
    assert.equal(added.first_id, added.data[0].id);
    assert.equal(added.last_id, added.data[4].id);
    assert.equal(added.has_more, false);
    const ids = added.data.map((item) => item.id!);

    // One page at a time, like OpenAI: newest first by default.
    const first = await client.conversations.items.list(conv.id, { limit: 2 });
    assert.deepEqual(first.data.map((i) => i.id), [ids[4], ids[3]]);
    assert.equal(first.has_more, true);
    assert.equal(first.last_id, ids[3]);
    assert.ok(first.hasNextPage());
    const second = await first.getNextPage();
    assert.deepEqual(second.data.map((i) => i.id), [ids[2], ids[1]]);
    const third = await second.getNextPage();
    assert.deepEqual(third.data.map((i) => i.id), [ids[0]]);
    assert.equal(third.hasNextPage(), false);

    // The SDK's auto-pagination walks every page.
    const walked: string[] = [];
    for await (const item of client.conversations.items.list(conv.id, { order: 'asc', limit: 2 })) walked.push(item.id!);
    assert.deepEqual(walked, ids);
    const after = await client.conversations.items.list(conv.id, { order: 'asc', after: ids[1], limit: 2 });
    assert.deepEqual(after.data.map((i) => i.id), [ids[2], ids[3]]);

    const item = await client.conversations.items.retrieve(ids[1], { conversation_id: conv.id });
    assert.equal(validateSchema('ConversationItem', item), null);
    assert.deepEqual(item, added.data[1]);

    const afterDelete = await client.conversations.items.delete(ids[2], { conversation_id: conv.id });
    assert.equal(validateSchema('ConversationResource', afterDelete), null);
    assert.deepEqual(afterDelete, conv);
    await assert.rejects(client.conversations.items.retrieve(ids[2], { conversation_id: conv.id }), status(404));
    await assert.rejects(client.conversations.items.delete(ids[2], { conversation_id: conv.id }), status(404));
    assert.deepEqual((await allItems(conv.id)).map((i) => i.id), [ids[0], ids[1], ids[3], ids[4]]);

    // New items go after the others.
    const more = await client.conversations.items.create(conv.id, { items: [userMessage('six')] });
    assert.deepEqual(transcript(await allItems(conv.id)), ['user: one', 'user: two', 'user: four', 'user: five', 'user: six']);
    assert.equal((await client.conversations.items.list(conv.id, { limit: 1 })).data[0].id, more.data[0].id);
  });

  test('items: bad requests', async () => {
    const conv = await client.conversations.create({ items: [{ ...userMessage('first'), id: 'msg_first' } as never] });
    // An id the conversation already has.
    await assert.rejects(
      client.conversations.items.create(conv.id, { items: [{ ...userMessage('again'), id: 'msg_first' } as never] }),
      (e: APIError) => e.status === 400 && e.param === 'items',
    );
    // More than 20 at a time.
    const many = Array.from({ length: 21 }, (_, i) => userMessage(`m${i}`));
    await assert.rejects(client.conversations.items.create(conv.id, { items: many }), (e: APIError) => e.status === 400 && e.param === 'items');
    await assert.rejects(client.conversations.create({ items: many }), (e: APIError) => e.status === 400 && e.param === 'items');
    // A message without a valid role names the item.
    await assert.rejects(
      client.conversations.items.create(conv.id, { items: [{ type: 'message', role: 'robot', content: 'x' } as never] }),
      (e: APIError) => e.status === 400 && e.param === 'items[0].role' && /'items\[0\]\.role'/.test(e.message),
    );
    await assert.rejects(client.conversations.create({ metadata: 'nope' as never }), (e: APIError) => e.status === 400 && e.param === 'metadata');
    await assert.rejects(client.conversations.items.list(conv.id, { limit: 101 }), (e: APIError) => e.status === 400 && e.param === 'limit');
    await assert.rejects(client.conversations.items.create('conv_unknown', { items: [userMessage('x')] }), status(404));
    await assert.rejects(client.conversations.items.retrieve('msg_first', { conversation_id: 'conv_unknown' }), status(404));
    // Nothing of that was added.
    assert.deepEqual(transcript(await allItems(conv.id)), ['user: first']);
  });

  test('a two-turn chat: the conversation reaches the model and keeps every turn', async () => {
    const conv = await client.conversations.create({ metadata: { topic: 'chat' } });

    const first = await client.responses.create({ model: 'scripted', conversation: conv.id, input: 'What is two plus two?' });
    assert.equal(first.status, 'completed');
    assert.equal(first.output_text, 'You said: What is two plus two?');
    assert.deepEqual(first.conversation, { id: conv.id });
    assert.equal(validateSchema('Response', first), null);

    // Streaming, and the `{id}` form. Input [] makes the scripted model echo the last user
    // message it sees: the one from the first turn, which only the conversation holds.
    const stream = client.responses.stream({ model: 'scripted', conversation: { id: conv.id }, input: [] });
    const events = [];
    for await (const event of stream) events.push(event);
    assertConformingStream(events);
    const second = await stream.finalResponse();
    assert.equal(second.output_text, 'You said: What is two plus two?');
    assert.deepEqual(second.conversation, { id: conv.id });
    assert.deepEqual((events[0] as { response: { conversation: unknown } }).response.conversation, { id: conv.id });

    // Sent as soon as the stream ended: the second turn is in the conversation already.
    const third = await client.responses.create({ model: 'scripted', conversation: conv.id, input: 'And three plus three?' });
    assert.equal(third.output_text, 'You said: And three plus three?');

    const items = await allItems(conv.id);
    assert.deepEqual(transcript(items), [
      'user: What is two plus two?',
      'assistant: You said: What is two plus two?',
      'assistant: You said: What is two plus two?',
      'user: And three plus three?',
      'assistant: You said: And three plus three?',
    ]);
    // Output items keep the ids the responses gave them.
    assert.equal(items[1].id, first.output[0].id);
    assert.equal(items[2].id, second.output[0].id);
    assert.equal(items[4].id, third.output[0].id);
    for (const item of items) assert.equal(validateSchema('ConversationItem', item), null);
    assert.equal(validateSchema('ConversationItemList', await rawList(conv.id)), null);

    // The stored response says which conversation it belongs to.
    assert.deepEqual((await client.responses.retrieve(first.id)).conversation, { id: conv.id });
  });

  test('user, assistant, user, assistant: the items after two turns', async () => {
    const conv = await client.conversations.create();
    const one = await client.responses.create({ model: 'scripted', conversation: conv.id, input: 'first' });
    const two = await client.responses.create({
      model: 'scripted',
      conversation: conv.id,
      input: [{ role: 'user', content: 'second' }],
      store: false, // a conversation keeps its items either way
    });
    const items = await allItems(conv.id);
    assert.deepEqual(transcript(items), ['user: first', 'assistant: You said: first', 'user: second', 'assistant: You said: second']);
    assert.deepEqual([items[1].id, items[3].id], [one.output[0].id, two.output[0].id]);
  });

  test('a failed or cancelled response adds nothing; one at a time per conversation', async () => {
    const conv = await client.conversations.create({ items: [userMessage('before')] });

    const failed = await client.responses
      .create({ model: 'scripted', conversation: conv.id, input: '/error' })
      .then(() => null, (e: APIError) => e);
    assert.ok(failed && (failed.status ?? 0) >= 500, 'the scripted /error scenario fails');
    assert.deepEqual(transcript(await allItems(conv.id)), ['user: before']);

    const slow = await client.responses.create({ model: 'scripted', conversation: conv.id, input: '/stall', background: true });
    await assert.rejects(
      client.responses.create({ model: 'scripted', conversation: conv.id, input: 'meanwhile' }),
      (e: APIError) => e.status === 400 && e.code === 'conversation_locked' && e.param === 'conversation',
    );
    const cancelled = await client.responses.cancel(slow.id);
    assert.equal(cancelled.status, 'cancelled');
    assert.deepEqual(transcript(await allItems(conv.id)), ['user: before']);

    const after = await client.responses.create({ model: 'scripted', conversation: conv.id, input: [] });
    assert.equal(after.output_text, 'You said: before');
  });

  test('conversation with previous_response_id is a 400; an unknown conversation a 404', async () => {
    const conv = await client.conversations.create();
    const previous = await client.responses.create({ model: 'scripted', input: 'hi' });
    const error = await client.responses
      .create({ model: 'scripted', conversation: conv.id, previous_response_id: previous.id, input: 'x' })
      .then(() => null, (e: APIError) => e);
    assert.equal(error?.status, 400);
    assert.equal(error?.code, 'mutually_exclusive_parameters');
    assert.equal(
      error?.message,
      "400 Mutually exclusive parameters. Ensure you are only providing one of: 'previous_response_id' or 'conversation'.",
    );
    assert.equal(validateSchema('Error', error?.error), null);

    const missing = await client.responses
      .create({ model: 'scripted', conversation: 'conv_does_not_exist', input: 'x' })
      .then(() => null, (e: APIError) => e);
    assert.equal(missing?.status, 404);
    assert.equal(missing?.param, 'conversation');
    assert.match(missing!.message, /conv_does_not_exist/);

    await assert.rejects(
      client.responses.create({ model: 'scripted', conversation: { id: 42 } as never, input: 'x' }),
      (e: APIError) => e.status === 400 && e.param === 'conversation',
    );
    // An input item the conversation already holds.
    const seeded = await client.conversations.create({ items: [{ ...userMessage('seed'), id: 'msg_seed' } as never] });
    await assert.rejects(
      client.responses.create({ model: 'scripted', conversation: seeded.id, input: [{ type: 'item_reference', id: 'msg_seed' }] }),
      (e: APIError) => e.status === 400 && e.param === 'input',
    );
    // None of these took the conversation or added to it.
    const ok = await client.responses.create({ model: 'scripted', conversation: conv.id, input: 'fine' });
    assert.equal(ok.output_text, 'You said: fine');
    assert.deepEqual(transcript(await allItems(conv.id)), ['user: fine', 'assistant: You said: fine']);
    assert.deepEqual(transcript(await allItems(seeded.id)), ['user: seed']);
  });
});
