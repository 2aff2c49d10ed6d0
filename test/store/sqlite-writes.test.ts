// Group commit and the checkpoint worker of the SQLite store.
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { newResponseObject } from '../../src/protocol/response.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'parley-store-'));

test('writes of one tick commit together, and one failing write fails alone', async () => {
  const store = openSqliteStore(tempDir());
  const a = newResponseObject();
  const b = newResponseObject();
  await store.createResponse(a, []);
  const results = await Promise.allSettled([
    store.createResponse(b, [{ id: 'msg_b', type: 'message' }]),
    store.createResponse(a, []), // a duplicate id: rejected
    store.finishResponse({ ...a, status: 'completed' }),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.equal((await store.getResponse(b.id))?.id, b.id);
  assert.equal((await store.getItem('msg_b'))?.id, 'msg_b');
  assert.equal((await store.getResponse(a.id))?.status, 'completed');
  await store.close();
});

test('the checkpoint worker truncates the WAL on close; the data stays', async () => {
  const dir = tempDir();
  const store = openSqliteStore(dir);
  for (let i = 0; i < 50; i++) await store.createResponse(newResponseObject(), [{ id: `msg_${i}`, type: 'message', text: 'x'.repeat(2000) }]);
  assert.ok(statSync(join(dir, 'parley.db-wal')).size > 100_000, 'writes go to the WAL first');
  await store.close();
  assert.equal(statSync(join(dir, 'parley.db-wal'), { throwIfNoEntry: false })?.size ?? 0, 0);
  const reopened = openSqliteStore(dir);
  assert.equal((await reopened.getItem('msg_49'))?.id, 'msg_49');
  await reopened.close();
});
