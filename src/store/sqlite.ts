import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ResponseObject, StoredItem } from '../protocol/types.js';
import { startCheckpointer } from './sqlite-checkpointer.js';
import { groupCommit } from './sqlite-group-commit.js';
import { migrate } from './migrations.js';
import { paginator } from './pagination.js';
import type { Conversation, ListPage, ListQuery, Store } from './types.js';

export interface SqliteStoreOptions {
  /** Database file name inside dataDir, or ':memory:'. Default 'parley.db'. */
  filename?: string;
}

type ItemRow = { position: number; item_id: string | null; json: string };
type PositionStatement = Database.Statement<[string, string], { position: number }>;
/** (owner id, lo, hi, limit): the owner's items at positions strictly between lo and hi. */
type RangeStatement = Database.Statement<[string, number, number, number], ItemRow>;

const parseItem = (row: { json: string }): StoredItem => JSON.parse(row.json) as StoredItem;

/** The paginator's queries over prepared statements. */
function sqlitePaginator(positionOf: PositionStatement, range: Record<'asc' | 'desc', RangeStatement>) {
  return paginator(
    (ownerId, itemId) => positionOf.get(ownerId, itemId)?.position,
    (direction, ownerId, lo, hi, limit) => range[direction].all(ownerId, lo, hi, limit).map(parseItem),
  );
}

const databases = new WeakMap<Store, Database.Database>();
const transactionHooks = new WeakMap<Database.Database, Set<() => void>>();

/**
 * Runs `hook` before each outermost transaction of a connection opened by openSqliteStore takes
 * the write lock (vector store ingestion: its worker threads' writer steps aside). Returns the
 * function that removes it.
 */
export function beforeTransactions(db: Database.Database, hook: () => void): () => void {
  let hooks = transactionHooks.get(db);
  if (!hooks) transactionHooks.set(db, (hooks = new Set()));
  hooks.add(hook);
  return () => void hooks.delete(hook);
}

/**
 * The SQLite connection behind a store opened by openSqliteStore, for modules that keep their own
 * tables in the same database file (file_search: files, vector stores, chunks).
 */
export function sqliteDatabase(store: Store): Database.Database | undefined {
  return databases.get(store);
}

export function openSqliteStore(dataDir: string, options: SqliteStoreOptions = {}): Store {
  const filename = options.filename ?? 'parley.db';
  let db: Database.Database;
  if (filename === ':memory:') {
    db = new Database(':memory:');
  } else {
    fs.mkdirSync(dataDir, { recursive: true });
    db = new Database(path.join(dataDir, filename));
    db.pragma('journal_mode = WAL');
  }
  // Checkpoints fsync; run on the main thread they would stall every stream at once.
  const checkpointer = filename === ':memory:' ? null : startCheckpointer(db);
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // Vector store ingestion writes through connections of its own (worker threads). A deferred
  // transaction that reads before it writes fails at once with SQLITE_BUSY(_SNAPSHOT) if one of
  // them wrote meanwhile: every transaction here takes the write lock first (BEGIN IMMEDIATE),
  // after the hooks of beforeTransactions (ingestion's writer steps aside).
  const transaction = db.transaction.bind(db);
  db.transaction = ((fn: (...args: unknown[]) => unknown) => {
    const immediate = transaction(fn).immediate;
    const run = function (this: unknown, ...args: unknown[]) {
      if (!db.inTransaction) for (const hook of transactionHooks.get(db) ?? []) hook();
      return immediate.apply(this, args);
    };
    return Object.assign(run, { default: run, deferred: run, immediate: run, exclusive: run });
  }) as typeof db.transaction;
  migrate(db);

  const insertResponse = db.prepare(
    `INSERT INTO responses (id, created_at, previous_response_id, status, json) VALUES (?, ?, ?, ?, ?)`,
  );
  const updateResponse = db.prepare(`UPDATE responses SET status = ?, json = ? WHERE id = ?`);
  const selectResponse = db.prepare<[string], { json: string }>(`SELECT json FROM responses WHERE id = ?`);
  const deleteResponseRow = db.prepare(`DELETE FROM responses WHERE id = ?`);
  const insertItem = db.prepare(
    `INSERT INTO items (response_id, kind, position, item_id, json) VALUES (?, ?, ?, ?, ?)`,
  );
  const deleteItems = db.prepare(`DELETE FROM items WHERE response_id = ?`);
  const deleteOutputItems = db.prepare(`DELETE FROM items WHERE response_id = ? AND kind = 'output'`);
  const selectInputItems = db.prepare<[string], ItemRow>(
    `SELECT position, item_id, json FROM items WHERE response_id = ? AND kind = 'input' ORDER BY position`,
  );
  const selectInputPosition = db.prepare<[string, string], { position: number }>(
    `SELECT position FROM items WHERE response_id = ? AND kind = 'input' AND item_id = ?`,
  );
  // Positions strictly between lo and hi; one statement per direction since ORDER BY can't be bound.
  const rangeSql = `SELECT position, item_id, json FROM items
    WHERE response_id = ? AND kind = 'input' AND position > ? AND position < ?`;
  const selectRange = {
    asc: db.prepare<[string, number, number, number], ItemRow>(`${rangeSql} ORDER BY position ASC LIMIT ?`),
    desc: db.prepare<[string, number, number, number], ItemRow>(`${rangeSql} ORDER BY position DESC LIMIT ?`),
  };
  const selectItem = db.prepare<[string], { json: string }>(
    `SELECT json FROM items WHERE item_id = ? ORDER BY rowid DESC LIMIT 1`,
  );

  const insertConversation = db.prepare(`INSERT INTO conversations (id, created_at, json) VALUES (?, ?, ?)`);
  const selectConversation = db.prepare<[string], { json: string }>(`SELECT json FROM conversations WHERE id = ?`);
  const updateConversationRow = db.prepare(`UPDATE conversations SET json = ? WHERE id = ?`);
  const deleteConversationRow = db.prepare(`DELETE FROM conversations WHERE id = ?`);
  const insertConversationItem = db.prepare(
    `INSERT INTO conversation_items (conversation_id, position, item_id, json) VALUES (?, ?, ?, ?)`,
  );
  const selectNextPosition = db.prepare<[string], { next: number }>(
    `SELECT COALESCE(MAX(position) + 1, 0) AS next FROM conversation_items WHERE conversation_id = ?`,
  );
  const selectConversationItems = db.prepare<[string], ItemRow>(
    `SELECT position, item_id, json FROM conversation_items WHERE conversation_id = ? ORDER BY position`,
  );
  const selectConversationItem = db.prepare<[string, string], { json: string }>(
    `SELECT json FROM conversation_items WHERE conversation_id = ? AND item_id = ?`,
  );
  const selectConversationPosition = db.prepare<[string, string], { position: number }>(
    `SELECT position FROM conversation_items WHERE conversation_id = ? AND item_id = ?`,
  );
  const conversationRangeSql = `SELECT position, item_id, json FROM conversation_items
    WHERE conversation_id = ? AND position > ? AND position < ?`;
  const selectConversationRange = {
    asc: db.prepare<[string, number, number, number], ItemRow>(`${conversationRangeSql} ORDER BY position ASC LIMIT ?`),
    desc: db.prepare<[string, number, number, number], ItemRow>(`${conversationRangeSql} ORDER BY position DESC LIMIT ?`),
  };
  const deleteConversationItemRow = db.prepare(`DELETE FROM conversation_items WHERE conversation_id = ? AND item_id = ?`);
  const deleteConversationItemRows = db.prepare(`DELETE FROM conversation_items WHERE conversation_id = ?`);
  const selectAnyConversationItem = db.prepare<[string], { json: string }>(
    `SELECT json FROM conversation_items WHERE item_id = ? ORDER BY rowid DESC LIMIT 1`,
  );

  const insertItems = (responseId: string, kind: 'input' | 'output', items: readonly unknown[]) => {
    items.forEach((item, position) => {
      const id = (item as { id?: unknown }).id;
      insertItem.run(responseId, kind, position, typeof id === 'string' ? id : null, JSON.stringify(item));
    });
  };

  const create = db.transaction((response: ResponseObject, inputItems: StoredItem[]) => {
    insertResponse.run(
      response.id,
      response.created_at,
      response.previous_response_id ?? null,
      response.status,
      JSON.stringify(response),
    );
    insertItems(response.id, 'input', inputItems);
    insertItems(response.id, 'output', response.output);
  });

  const finish = db.transaction((response: ResponseObject) => {
    const { changes } = updateResponse.run(response.status, JSON.stringify(response), response.id);
    if (changes === 0) throw new Error(`response ${response.id} is not stored`);
    deleteOutputItems.run(response.id);
    insertItems(response.id, 'output', response.output);
  });

  const remove = db.transaction((id: string): boolean => {
    deleteItems.run(id);
    return deleteResponseRow.run(id).changes > 0;
  });

  const list = sqlitePaginator(selectInputPosition, selectRange);
  const listConversation = sqlitePaginator(selectConversationPosition, selectConversationRange);

  // Conversation writes run inside the group commit, each in its own savepoint: all or nothing.
  const appendItems = (conversationId: string, items: readonly StoredItem[]): boolean => {
    if (!selectConversation.get(conversationId)) return false;
    let position = selectNextPosition.get(conversationId)!.next;
    for (const item of items) {
      insertConversationItem.run(conversationId, position++, item.id, JSON.stringify(item));
    }
    return true;
  };

  const updateMetadata = (id: string, metadata: Record<string, string>): Conversation | null => {
    const row = selectConversation.get(id);
    if (!row) return null;
    const conversation: Conversation = { ...(JSON.parse(row.json) as Conversation), metadata };
    updateConversationRow.run(JSON.stringify(conversation), id);
    return conversation;
  };

  const writes = groupCommit(db);
  /** A write in the group commit, resolving to what it returned once committed. */
  const write = async <T>(fn: () => T): Promise<T> => {
    let result!: T;
    await writes.run(() => {
      result = fn();
    });
    return result;
  };

  const store: Store = {
    createResponse: (response, inputItems) => writes.run(() => create(response, inputItems)),
    finishResponse: (response) => writes.run(() => finish(response)),
    async getResponse(id) {
      const row = selectResponse.get(id);
      return row ? (JSON.parse(row.json) as ResponseObject) : null;
    },
    async deleteResponse(id) {
      return remove(id);
    },
    async getInputItems(responseId) {
      return selectInputItems.all(responseId).map(parseItem);
    },
    async listInputItems(responseId, query) {
      return list(responseId, query);
    },
    async getItem(id) {
      const row = selectItem.get(id) ?? selectAnyConversationItem.get(id);
      return row ? parseItem(row) : null;
    },
    createConversation: (conversation, items) =>
      write(() => {
        insertConversation.run(conversation.id, conversation.created_at, JSON.stringify(conversation));
        appendItems(conversation.id, items);
      }),
    async getConversation(id) {
      const row = selectConversation.get(id);
      return row ? (JSON.parse(row.json) as Conversation) : null;
    },
    updateConversation: (id, metadata) => write(() => updateMetadata(id, metadata)),
    deleteConversation: (id) =>
      write(() => {
        deleteConversationItemRows.run(id);
        return deleteConversationRow.run(id).changes > 0;
      }),
    appendConversationItems: (id, items) => write(() => appendItems(id, items)),
    async getConversationItems(id) {
      return selectConversationItems.all(id).map(parseItem);
    },
    async listConversationItems(id, query) {
      return listConversation(id, query);
    },
    async getConversationItem(id, itemId) {
      const row = selectConversationItem.get(id, itemId);
      return row ? parseItem(row) : null;
    },
    deleteConversationItem: (id, itemId) => write(() => deleteConversationItemRow.run(id, itemId).changes > 0),
    async close() {
      await writes.drain();
      await checkpointer?.close();
      db.close();
    },
  };
  databases.set(store, db);
  return store;
}
