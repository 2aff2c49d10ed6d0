// The SQLite store: the shared Store suites (responses-suite.ts, conversations-suite.ts), then
// what only SQLite has (its file, :memory:, migrating an old file). Group commit and the
// checkpoint worker: sqlite-writes.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { sqliteBackend } from './backends.js';
import { conversation, conversationStoreSuite, idsOf, message as conversationMessage } from './conversations-suite.js';
import { makeResponse, message, responseStoreSuite } from './responses-suite.js';

responseStoreSuite(sqliteBackend);
conversationStoreSuite(sqliteBackend);

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'parley-store-'));

describe('sqlite store: its file', () => {
  it('creates the database file in the data dir', async () => {
    const dir = tempDir();
    try {
      const store = openSqliteStore(dir);
      assert.ok(fs.existsSync(path.join(dir, 'parley.db')));
      await store.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('works in memory', async () => {
    const store = openSqliteStore('unused', { filename: ':memory:' });
    await store.createResponse(makeResponse('resp_mem'), [message('msg_mem', 'm')]);
    assert.deepEqual(await store.getItem('msg_mem'), message('msg_mem', 'm'));
    await store.close();
    assert.equal(fs.existsSync('unused'), false);
  });

  it('a database from before conversations is migrated, its responses kept', async () => {
    const dir = tempDir();
    try {
      const first = openSqliteStore(dir);
      await first.createResponse({ id: 'resp_old', created_at: 1, status: 'completed', output: [] } as never, [conversationMessage('m_old', 'old')]);
      await first.close();
      // Roll the file back to schema version 1, as a release before conversations left it.
      const db = new Database(path.join(dir, 'parley.db'));
      db.exec('DROP TABLE conversation_items; DROP TABLE conversations;');
      db.pragma('user_version = 1');
      db.close();

      const second = openSqliteStore(dir);
      try {
        assert.equal((await second.getResponse('resp_old'))?.id, 'resp_old');
        assert.deepEqual(await second.getItem('m_old'), conversationMessage('m_old', 'old'));
        await second.createConversation(conversation('conv_new'), [conversationMessage('m_new', 'new')]);
        assert.deepEqual(idsOf(await second.getConversationItems('conv_new')), ['m_new']);
      } finally {
        await second.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
