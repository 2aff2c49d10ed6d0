// Lexical search over a large index, straight on the SQLite tables: common keywords are left out
// of the match (they cost the most and weigh the least), rare ones decide, coverage still counts
// every keyword, and other stores' chunks never leak in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { createLogger } from '../../src/log.js';
import { migrate } from '../../src/store/migrations.js';
import { VectorStoreRepo } from '../../src/vector-stores/repo.js';
import { keywords, Searcher } from '../../src/vector-stores/search.js';

function fixture() {
  const db = new Database(':memory:');
  migrate(db);
  const repo = new VectorStoreRepo(db);
  const chunking = { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 };
  repo.transaction(() => {
    for (const store of ['vs_a', 'vs_b']) {
      repo.insertStore(store, 1, { name: store, metadata: {}, last_active_at: 1 });
      for (const file of ['file-common', 'file-rare', 'file-both']) {
        const row = repo.insertFile(store, file, null, 1, null, chunking);
        repo.complete(store, file, row.seq);
      }
    }
    // 3,000 chunks say "harbor"; a handful also say "lighthouse"; one says both and "keeper".
    for (let i = 0; i < 3000; i++) repo.insertChunks('vs_a', 'file-common', [{ position: i, text: `The harbor ${i} was busy with boats and nets.`, embedding: null }]);
    for (let i = 0; i < 5; i++) repo.insertChunks('vs_a', 'file-rare', [{ position: i, text: `A lighthouse stood on the cliff (${i}).`, embedding: null }]);
    repo.insertChunks('vs_a', 'file-both', [{ position: 0, text: 'The lighthouse keeper watched the harbor at night.', embedding: null }]);
    repo.insertChunks('vs_b', 'file-both', [{ position: 0, text: 'Another store: lighthouse keeper harbor, never returned for vs_a.', embedding: null }]);
    for (const file of ['file-common', 'file-rare', 'file-both']) for (const store of ['vs_a', 'vs_b']) repo.complete(store, file, repo.file(store, file)!.seq);
  });
  return { db, searcher: new Searcher(repo, null, createLogger('silent')) };
}

test('keywords: lower case, stop words dropped unless nothing else is left', () => {
  assert.deepEqual(keywords('What is the Lighthouse keeper doing?'), ['lighthouse', 'keeper', 'doing']);
  assert.deepEqual(keywords('What is it?'), ['what', 'is', 'it']);
});

test('a common keyword does not drown the rare ones; the chunk with every keyword wins', async () => {
  const { db, searcher } = fixture();
  const { hits } = await searcher.search(['vs_a'], ['harbor lighthouse keeper'], { maxResults: 5 });
  assert.equal(hits[0].fileId, 'file-both');
  assert.equal(hits[0].score, 1, 'all keywords and the best BM25');
  assert.ok(hits.every((h) => h.vectorStoreId === 'vs_a'));
  assert.deepEqual(new Set(hits.slice(1).map((h) => h.fileId)), new Set(['file-rare']), 'then the rare keyword, not the 3,000 common chunks');
  db.close();
});

test('a query of common keywords only still finds the right chunks', async () => {
  const { db, searcher } = fixture();
  const { hits } = await searcher.search(['vs_a'], ['harbor boats nets'], { maxResults: 3 });
  assert.equal(hits.length, 3);
  assert.ok(hits.every((h) => h.fileId === 'file-common' && h.score === 1));
  db.close();
});
