// Ingestion off the main thread: the chunks and their FTS5 index are written by the ingestion
// workers through their own connections, the server keeps answering meanwhile, the main
// connection's transactions never fail for it, and a file deleted while its chunks are being
// written leaves none behind.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { Files } from '../../src/files/files.js';
import { createLogger } from '../../src/log.js';
import { openSqliteStore, sqliteDatabase } from '../../src/store/sqlite.js';
import { IngestWorkers, InlineIngest } from '../../src/vector-stores/ingest-workers.js';
import { VectorStores } from '../../src/vector-stores/service.js';
import { toFile } from 'openai';
import { startTestServer } from '../helpers/server.js';

/** Distinct words, so that every chunk is different: ~`tokens` tokens in all. */
function text(tokens: number, salt = ''): string {
  const words: string[] = [];
  for (let i = 0; i < tokens / 2; i++) words.push(`w${salt}${(i * 7919) % 5003}x${i % 97}`);
  return words.join(' ');
}

const SMALL_CHUNKS = { type: 'static' as const, static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 0 } };

async function fixture(filename?: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-ingest-'));
  const config = loadConfig({ PARLEY_DATA_DIR: dataDir });
  const store = openSqliteStore(dataDir, { filename });
  const db = sqliteDatabase(store)!;
  const files = new Files(db, dataDir);
  const vectorStores = new VectorStores({ db, files, config, logger: createLogger('silent') });
  const add = async (name: string, content: string) => {
    const path = files.temporaryPath();
    writeFileSync(path, content);
    return files.add(path, { filename: name, bytes: Buffer.byteLength(content), purpose: 'assistants' });
  };
  const chunkCount = (fileId?: string) =>
    (db.prepare(`SELECT COUNT(*) AS n FROM chunks${fileId ? ' WHERE file_id = ?' : ''}`).get(...(fileId ? [fileId] : [])) as { n: number }).n;
  return {
    db,
    files,
    vectorStores,
    add,
    chunkCount,
    async close() {
      await vectorStores.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

test('the chunks and their index are written by the ingestion workers, not through the main connection', async () => {
  const f = await fixture();
  try {
    assert.ok(f.vectorStores.ingestHost instanceof IngestWorkers, 'a database file is ingested by worker threads');
    const file = await f.add('big.txt', text(40_000));
    const changes = f.db.prepare('SELECT total_changes() AS n').pluck();
    const before = changes.get() as number;
    const store = f.vectorStores.create({ name: 'big', file_ids: [file.id], chunking_strategy: SMALL_CHUNKS });
    await f.vectorStores.idle();
    assert.equal(f.vectorStores.retrieve(store.id).file_counts.completed, 1);
    const chunks = f.chunkCount(file.id);
    assert.ok(chunks >= 350, `the file was cut into ${chunks} chunks`);
    // Had the main thread written them, its connection would count every chunk row (and its
    // FTS5 rows): it counts only the store and its file row.
    const mainChanges = (changes.get() as number) - before;
    assert.ok(mainChanges < 20, `the main connection changed ${mainChanges} rows while ${chunks} chunks were written`);
    const workers = f.vectorStores.ingestHost as IngestWorkers;
    assert.ok(workers.turnsWritten >= 10, `the workers wrote in many short turns (${workers.turnsWritten})`);
    const page = await f.vectorStores.search(store.id, { query: 'w0x0' });
    assert.equal(page.data[0]?.file_id, file.id, 'and what they wrote is searchable');
  } finally {
    await f.close();
  }
});

test("the main connection's transactions never fail while a worker writes (they take the write lock first)", async () => {
  const f = await fixture();
  try {
    f.db.exec('CREATE TABLE counter (n INTEGER NOT NULL)');
    f.db.exec('INSERT INTO counter VALUES (0)');
    const read = f.db.prepare('SELECT n FROM counter').pluck();
    const write = f.db.prepare('UPDATE counter SET n = ?');
    // Reads, then writes: deferred, this fails with SQLITE_BUSY(_SNAPSHOT) if a worker wrote in between.
    const increment = f.db.transaction(() => write.run((read.get() as number) + 1));
    const file = await f.add('big.txt', text(30_000));
    f.vectorStores.create({ name: 'busy', file_ids: [file.id], chunking_strategy: SMALL_CHUNKS });
    let done = false;
    const ingested = f.vectorStores.idle().then(() => (done = true));
    let increments = 0;
    while (!done) {
      increment();
      increments++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await ingested;
    assert.equal(read.get(), increments);
    assert.ok(f.chunkCount(file.id) >= 250);
  } finally {
    await f.close();
  }
});

test('a file deleted while its chunks are being written: the worker stops and leaves no chunk', async () => {
  const f = await fixture();
  try {
    const doomed = await f.add('doomed.txt', text(60_000));
    const store = f.vectorStores.create({ name: 'deleting', file_ids: [doomed.id], chunking_strategy: SMALL_CHUNKS });
    const deadline = Date.now() + 60_000;
    while (f.chunkCount(doomed.id) === 0) {
      assert.ok(Date.now() < deadline, 'the worker started writing');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    assert.equal(f.vectorStores.retrieveFile(store.id, doomed.id).status, 'in_progress', 'caught mid-way');
    assert.equal(f.files.delete(doomed.id), true);
    assert.equal(f.chunkCount(doomed.id), 0, 'deleting removes what was written');
    await f.vectorStores.idle();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(f.chunkCount(doomed.id), 0, 'and the worker wrote nothing after');
    assert.deepEqual(f.vectorStores.retrieve(store.id).file_counts, { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 });

    const next = await f.add('next.txt', 'The store still works after a deletion.');
    f.vectorStores.attach(store.id, { file_id: next.id });
    await f.vectorStores.idle();
    assert.equal(f.vectorStores.retrieveFile(store.id, next.id).status, 'completed');
  } finally {
    await f.close();
  }
});

test('GET /health is answered promptly while a large file is being ingested', async () => {
  const server = await startTestServer();
  try {
    const file = await server.client.files.create({ file: await toFile(Buffer.from(text(120_000)), 'large.txt'), purpose: 'assistants' });
    const store = await server.client.vectorStores.create({ name: 'large', file_ids: [file.id], chunking_strategy: SMALL_CHUNKS });
    const latencies: number[] = [];
    for (;;) {
      const start = performance.now();
      const res = await fetch(`${server.url}/health`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      latencies.push(performance.now() - start);
      const current = await server.client.vectorStores.retrieve(store.id);
      if (current.file_counts.in_progress === 0) {
        assert.equal(current.file_counts.completed, 1);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    latencies.sort((a, b) => a - b);
    // Generous: this machine is shared. Written in one transaction on the main thread, the
    // ~1,200 chunks of this file would hold the event loop for seconds.
    assert.ok(latencies.length >= 5, `polled ${latencies.length} times during ingestion`);
    assert.ok(latencies.at(-1)! < 1000, `slowest /health during ingestion: ${latencies.at(-1)!.toFixed(1)} ms`);
  } finally {
    await server.close();
  }
});

test('an in-memory database, which no worker can open, is ingested on the main thread the same way', async () => {
  const f = await fixture(':memory:');
  try {
    assert.ok(f.vectorStores.ingestHost instanceof InlineIngest);
    const file = await f.add('small.txt', text(5_000));
    const store = f.vectorStores.create({ name: 'memory', file_ids: [file.id], chunking_strategy: SMALL_CHUNKS });
    await f.vectorStores.idle();
    assert.equal(f.vectorStores.retrieve(store.id).file_counts.completed, 1);
    assert.ok(f.chunkCount(file.id) >= 40);
    assert.equal((await f.vectorStores.search(store.id, { query: 'w0x0' })).data[0]?.file_id, file.id);
  } finally {
    await f.close();
  }
});
