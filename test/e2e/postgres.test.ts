// The real server on the PostgreSQL store (DATABASE_URL pointing at a fresh schema), through
// the official openai SDK: a streamed response, a previous_response_id follow-up, retrieve,
// input_items, delete, a conversation, then a restart — with a new, empty data directory, so
// whatever comes back comes from PostgreSQL. PostgreSQL is required (test/store/postgres-schema.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { APIError } from 'openai';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import type { Response as SdkResponse, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { assertConformingStream } from '../helpers/spec.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createTestSchema, type TestSchema } from '../store/postgres-schema.js';

async function collect(stream: AsyncIterable<ResponseStreamEvent>): Promise<SdkResponse> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  assertConformingStream(events);
  let snapshot: SdkResponse | undefined;
  for (const event of events) snapshot = accumulateResponse(event, snapshot);
  return snapshot!;
}

const notFound = (e: APIError) => e.status === 404;

describe('the server on PostgreSQL (DATABASE_URL)', () => {
  let schema: TestSchema;
  let server: TestServer | undefined;

  before(async () => {
    schema = await createTestSchema();
  });
  after(async () => {
    await server?.close();
    await schema?.drop();
  });

  test('stores responses and conversations in PostgreSQL and reads them back after a restart', async () => {
    server = await startTestServer({ DATABASE_URL: schema.url });
    let client = server.client;

    // A streamed response, then a follow-up that only the stored chain can answer.
    const first = await collect(await client.responses.create({ model: 'scripted', input: 'hello postgres', stream: true }));
    assert.equal(first.status, 'completed');
    assert.equal(first.output_text, 'You said: hello postgres');
    const followUp = await client.responses.create({ model: 'scripted', input: [], previous_response_id: first.id });
    assert.equal(followUp.output_text, 'You said: hello postgres');
    assert.equal(followUp.previous_response_id, first.id);

    // Retrieve and input_items.
    assert.deepEqual(await client.responses.retrieve(first.id), first);
    const inputs = await client.responses.inputItems.list(first.id);
    assert.equal(inputs.data.length, 1);
    const [input] = inputs.data;
    assert.equal(input.type, 'message');
    assert.deepEqual((input as { content: unknown }).content, [{ type: 'input_text', text: 'hello postgres' }]);

    // Delete: gone from the API and from the table.
    const doomed = await client.responses.create({ model: 'scripted', input: 'delete me' });
    assert.deepEqual(await client.responses.delete(doomed.id), { id: doomed.id, object: 'response', deleted: true });
    await assert.rejects(client.responses.retrieve(doomed.id), notFound);
    await assert.rejects(client.responses.inputItems.list(doomed.id), notFound);

    // A conversation with a response in it.
    const conversation = await client.conversations.create({ metadata: { store: 'postgres' } });
    const turn = await client.responses.create({ model: 'scripted', input: 'in a conversation', conversation: conversation.id });
    assert.equal(turn.output_text, 'You said: in a conversation');

    // It is all in the schema DATABASE_URL names.
    const { rows } = await schema.query<{ id: string; status: string }>('SELECT id, status FROM responses ORDER BY id');
    assert.deepEqual(rows, [first.id, followUp.id, turn.id].sort().map((id) => ({ id, status: 'completed' })));
    const conversationRows = await schema.query('SELECT id FROM conversations');
    assert.deepEqual(conversationRows.rows, [{ id: conversation.id }]);

    // Restart on a new, empty data directory: what comes back comes from PostgreSQL.
    const firstDataDir = server.dataDir;
    await server.close();
    server = undefined;
    server = await startTestServer({ DATABASE_URL: schema.url });
    assert.notEqual(server.dataDir, firstDataDir);
    client = server.client;

    assert.deepEqual(await client.responses.retrieve(first.id), first);
    assert.deepEqual(await client.responses.retrieve(followUp.id), followUp);
    assert.deepEqual((await client.responses.inputItems.list(first.id)).data, inputs.data);
    await assert.rejects(client.responses.retrieve(doomed.id), notFound);
    const again = await collect(
      await client.responses.create({ model: 'scripted', input: [], previous_response_id: followUp.id, stream: true }),
    );
    assert.equal(again.output_text, 'You said: hello postgres');

    assert.deepEqual(await client.conversations.retrieve(conversation.id), conversation);
    const items = await client.conversations.items.list(conversation.id, { order: 'asc' });
    assert.deepEqual(
      items.data.map((item) => (item.type === 'message' ? item.role : item.type)),
      ['user', 'assistant'],
    );
  });
});
