// The PostgreSQL store (DATABASE_URL): the same contract as the SQLite one (src/store/sqlite.ts),
// on a pg Pool. Every write is one statement or one transaction, so each is all or nothing.
// The schema is the connection's search_path: append `?options=-c%20search_path%3Dmyschema`
// to the URL for another schema than `public` (it must exist).
import pg from 'pg';
import { redactUrl } from '../net/redact-url.js';
import type { Logger } from '../log.js';
import type { ResponseObject, StoredItem } from '../protocol/types.js';
import { migratePostgres } from './postgres-migrations.js';
import { paginator } from './pagination.js';
import type { Conversation, ListPage, ListQuery, Store } from './types.js';

export interface PostgresStoreOptions {
  logger?: Logger;
  /** Extra pg.Pool settings (e.g. `max`); the URL's own parameters win. */
  pool?: pg.PoolConfig;
}

const encode = (value: unknown): string => JSON.stringify(value);
/** `pg` parses JSON columns itself. */
const decode = <T>(body: unknown): T => body as T;

type BodyRow = { body: unknown };
type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;
type Statement = { name: string; text: string };

// Named statements: each connection parses and plans them once.
const sql = (name: string, text: string): Statement => ({ name: `parley_${name}`, text });

const S = {
  insertResponse: sql(
    'insert_response',
    `WITH r AS (
       INSERT INTO responses (id, created_at, previous_response_id, status, body)
       VALUES ($1, $2, $3, $4, $5::json) RETURNING id
     )
     INSERT INTO items (response_id, kind, position, item_id, body)
     SELECT r.id, i.kind, i.position, i.item_id, i.body
     FROM r, unnest($6::text[], $7::int[], $8::text[], $9::json[]) WITH ORDINALITY AS i(kind, position, item_id, body, n)
     ORDER BY i.n`,
  ),
  updateResponse: sql('update_response', `UPDATE responses SET status = $2, body = $3::json WHERE id = $1`),
  deleteOutputItems: sql('delete_output_items', `DELETE FROM items WHERE response_id = $1 AND kind = 'output'`),
  insertOutputItems: sql(
    'insert_output_items',
    `INSERT INTO items (response_id, kind, position, item_id, body)
     SELECT $1::text, 'output', i.n - 1, i.item_id, i.body
     FROM unnest($2::text[], $3::json[]) WITH ORDINALITY AS i(item_id, body, n)
     ORDER BY i.n`,
  ),
  selectResponse: sql('select_response', `SELECT body FROM responses WHERE id = $1`),
  deleteResponse: sql('delete_response', `DELETE FROM responses WHERE id = $1`),
  selectInputItems: sql(
    'select_input_items',
    `SELECT body FROM items WHERE response_id = $1 AND kind = 'input' ORDER BY position`,
  ),
  selectInputPosition: sql(
    'select_input_position',
    `SELECT position FROM items WHERE response_id = $1 AND kind = 'input' AND item_id = $2 ORDER BY position LIMIT 1`,
  ),
  // Positions strictly between lo and hi; one statement per direction since ORDER BY can't be bound.
  selectInputRangeAsc: sql(
    'select_input_range_asc',
    `SELECT body FROM items WHERE response_id = $1 AND kind = 'input' AND position > $2::bigint AND position < $3::bigint
     ORDER BY position ASC LIMIT $4`,
  ),
  selectInputRangeDesc: sql(
    'select_input_range_desc',
    `SELECT body FROM items WHERE response_id = $1 AND kind = 'input' AND position > $2::bigint AND position < $3::bigint
     ORDER BY position DESC LIMIT $4`,
  ),
  // A response's item first (the newest), else a conversation's (the newest).
  selectItem: sql(
    'select_item',
    `SELECT body FROM (
       (SELECT body, 0 AS source FROM items WHERE item_id = $1 ORDER BY seq DESC LIMIT 1)
       UNION ALL
       (SELECT body, 1 AS source FROM conversation_items WHERE item_id = $1 ORDER BY seq DESC LIMIT 1)
     ) found ORDER BY source LIMIT 1`,
  ),

  insertConversation: sql(
    'insert_conversation',
    `WITH c AS (
       INSERT INTO conversations (id, created_at, body) VALUES ($1, $2, $3::json) RETURNING id
     )
     INSERT INTO conversation_items (conversation_id, position, item_id, body)
     SELECT c.id, i.n - 1, i.item_id, i.body
     FROM c, unnest($4::text[], $5::json[]) WITH ORDINALITY AS i(item_id, body, n)
     ORDER BY i.n`,
  ),
  selectConversation: sql('select_conversation', `SELECT body FROM conversations WHERE id = $1`),
  lockConversation: sql('lock_conversation', `SELECT body FROM conversations WHERE id = $1 FOR UPDATE`),
  updateConversation: sql('update_conversation', `UPDATE conversations SET body = $2::json WHERE id = $1`),
  deleteConversation: sql('delete_conversation', `DELETE FROM conversations WHERE id = $1`),
  // Run after lockConversation, in a statement of its own: it must see the appends committed
  // while it waited for the lock.
  appendConversationItems: sql(
    'append_conversation_items',
    `INSERT INTO conversation_items (conversation_id, position, item_id, body)
     SELECT $1::text, next.position + i.n - 1, i.item_id, i.body
     FROM (SELECT COALESCE(MAX(position) + 1, 0) AS position FROM conversation_items WHERE conversation_id = $1) next,
          unnest($2::text[], $3::json[]) WITH ORDINALITY AS i(item_id, body, n)
     ORDER BY i.n`,
  ),
  selectConversationItems: sql(
    'select_conversation_items',
    `SELECT body FROM conversation_items WHERE conversation_id = $1 ORDER BY position`,
  ),
  selectConversationItem: sql(
    'select_conversation_item',
    `SELECT body FROM conversation_items WHERE conversation_id = $1 AND item_id = $2`,
  ),
  selectConversationPosition: sql(
    'select_conversation_position',
    `SELECT position FROM conversation_items WHERE conversation_id = $1 AND item_id = $2`,
  ),
  selectConversationRangeAsc: sql(
    'select_conversation_range_asc',
    `SELECT body FROM conversation_items WHERE conversation_id = $1 AND position > $2::bigint AND position < $3::bigint
     ORDER BY position ASC LIMIT $4`,
  ),
  selectConversationRangeDesc: sql(
    'select_conversation_range_desc',
    `SELECT body FROM conversation_items WHERE conversation_id = $1 AND position > $2::bigint AND position < $3::bigint
     ORDER BY position DESC LIMIT $4`,
  ),
  deleteConversationItem: sql(
    'delete_conversation_item',
    `DELETE FROM conversation_items WHERE conversation_id = $1 AND item_id = $2`,
  ),
};

/** An item's id for the item_id column: null when it has none (a response's items may not). */
const idOf = (item: unknown): string | null => {
  const id = (item as { id?: unknown }).id;
  return typeof id === 'string' ? id : null;
};

/**
 * Connects, brings the schema up to date and returns the store. Throws (and leaves nothing
 * open) when PostgreSQL is unreachable or the schema is newer than this code.
 */
export async function openPostgresStore(connectionString: string, options: PostgresStoreOptions = {}): Promise<Store> {
  const pool = new pg.Pool({
    application_name: 'parley',
    connectionTimeoutMillis: 10_000,
    ...options.pool,
    connectionString,
  });
  // An idle connection that breaks (PostgreSQL restarted) must not crash the process; the
  // pool replaces it on the next query.
  pool.on('error', (error) => options.logger?.warn({ err: error }, 'postgres: idle connection failed'));

  try {
    const client = await pool.connect().catch((error: Error) => {
      throw new Error(`cannot connect to PostgreSQL at ${redactUrl(connectionString)}: ${error.message}`, { cause: error });
    });
    try {
      await migratePostgres(client);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }

  const run = <R extends pg.QueryResultRow>(db: Queryable, statement: Statement, values: unknown[]) =>
    db.query<R>({ ...statement, values });
  const bodies = async (db: Queryable, statement: Statement, values: unknown[]) =>
    (await run<BodyRow>(db, statement, values)).rows.map((row) => row.body);
  const items = async (statement: Statement, values: unknown[]) => (await bodies(pool, statement, values)).map((body) => decode<StoredItem>(body));
  const one = async <T>(statement: Statement, values: unknown[]): Promise<T | null> => {
    const { rows } = await run<BodyRow>(pool, statement, values);
    return rows.length ? decode<T>(rows[0].body) : null;
  };

  const transaction = async <T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A connection that cannot even roll back is dropped rather than reused.
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw error;
    } finally {
      client.release(broken);
    }
  };

  // Operations under way: close() lets them finish before it ends the pool.
  const pending = new Set<Promise<unknown>>();
  let closing: Promise<void> | null = null;
  const track = <A extends unknown[], T>(fn: (...args: A) => Promise<T>) =>
    (...args: A): Promise<T> => {
      if (closing) return Promise.reject(new Error('the PostgreSQL store is closed'));
      const promise = fn(...args);
      pending.add(promise);
      const forget = () => pending.delete(promise);
      promise.then(forget, forget);
      return promise;
    };

  const itemColumns = (items: readonly unknown[]) => [items.map(idOf), items.map(encode)];

  const listInput = paginator(
    async (responseId, itemId) =>
      (await run<{ position: number }>(pool, S.selectInputPosition, [responseId, itemId])).rows[0]?.position,
    (direction, responseId, lo, hi, limit) =>
      items(direction === 'asc' ? S.selectInputRangeAsc : S.selectInputRangeDesc, [responseId, lo, hi, limit]),
  );
  const listConversation = paginator(
    async (conversationId, itemId) =>
      (await run<{ position: number }>(pool, S.selectConversationPosition, [conversationId, itemId])).rows[0]?.position,
    (direction, conversationId, lo, hi, limit) =>
      items(direction === 'asc' ? S.selectConversationRangeAsc : S.selectConversationRangeDesc, [conversationId, lo, hi, limit]),
  );

  const store: Store = {
    // One statement: the response and all its items, or nothing.
    createResponse: track(async (response: ResponseObject, inputItems: StoredItem[]) => {
      const items = [...inputItems, ...response.output];
      const kinds = [...inputItems.map(() => 'input'), ...response.output.map(() => 'output')];
      const positions = [...inputItems.map((_, i) => i), ...response.output.map((_, i) => i)];
      const [ids, encoded] = itemColumns(items);
      await run(pool, S.insertResponse, [
        response.id,
        Math.floor(response.created_at),
        response.previous_response_id ?? null,
        response.status,
        encode(response),
        kinds,
        positions,
        ids,
        encoded,
      ]);
    }),
    finishResponse: track((response: ResponseObject) =>
      transaction(async (client) => {
        const { rowCount } = await run(client, S.updateResponse, [response.id, response.status, encode(response)]);
        if (!rowCount) throw new Error(`response ${response.id} is not stored`);
        await run(client, S.deleteOutputItems, [response.id]);
        if (response.output.length) await run(client, S.insertOutputItems, [response.id, ...itemColumns(response.output)]);
      }),
    ),
    getResponse: track((id: string) => one<ResponseObject>(S.selectResponse, [id])),
    // Its items go with it (ON DELETE CASCADE).
    deleteResponse: track(async (id: string) => ((await run(pool, S.deleteResponse, [id])).rowCount ?? 0) > 0),
    getInputItems: track(async (responseId: string) =>
      (await bodies(pool, S.selectInputItems, [responseId])).map((body) => decode<StoredItem>(body)),
    ),
    listInputItems: track(listInput),
    getItem: track((id: string) => one<StoredItem>(S.selectItem, [id])),

    createConversation: track(async (conversation: Conversation, items: StoredItem[]) => {
      await run(pool, S.insertConversation, [
        conversation.id,
        Math.floor(conversation.created_at),
        encode(conversation),
        items.map((item) => item.id ?? null),
        items.map(encode),
      ]);
    }),
    getConversation: track((id: string) => one<Conversation>(S.selectConversation, [id])),
    updateConversation: track((id: string, metadata: Record<string, string>) =>
      transaction(async (client) => {
        const { rows } = await run<BodyRow>(client, S.lockConversation, [id]);
        if (!rows.length) return null;
        const conversation: Conversation = { ...decode<Conversation>(rows[0].body), metadata };
        await run(client, S.updateConversation, [id, encode(conversation)]);
        return conversation;
      }),
    ),
    // Its items go with it (ON DELETE CASCADE).
    deleteConversation: track(async (id: string) => ((await run(pool, S.deleteConversation, [id])).rowCount ?? 0) > 0),
    // The row lock serializes appends to one conversation, so positions never collide; an item
    // id the conversation holds already violates UNIQUE (conversation_id, item_id) and rolls
    // back the whole append.
    appendConversationItems: track((id: string, items: StoredItem[]) =>
      transaction(async (client) => {
        if (!(await run(client, S.lockConversation, [id])).rows.length) return false;
        if (items.length) {
          await run(client, S.appendConversationItems, [id, items.map((item) => item.id ?? null), items.map(encode)]);
        }
        return true;
      }),
    ),
    getConversationItems: track(async (id: string) =>
      (await bodies(pool, S.selectConversationItems, [id])).map((body) => decode<StoredItem>(body)),
    ),
    listConversationItems: track(listConversation),
    getConversationItem: track((id: string, itemId: string) => one<StoredItem>(S.selectConversationItem, [id, itemId])),
    deleteConversationItem: track(
      async (id: string, itemId: string) => ((await run(pool, S.deleteConversationItem, [id, itemId])).rowCount ?? 0) > 0,
    ),

    close() {
      closing ??= (async () => {
        await Promise.allSettled([...pending]);
        await pool.end();
      })();
      return closing;
    },
  };
  return store;
}
