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

/** Zipf-distributed text over pseudo-words (s = 1.07), deterministic. */
function zipfCorpus(vocabulary: number, seed: number) {
  let state = seed;
  const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const syllables = 'ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu'.split(' ');
  const words = new Set<string>();
  while (words.size < vocabulary) {
    let w = '';
    for (let i = 0, n = 2 + Math.floor(random() * 3); i < n; i++) w += syllables[Math.floor(random() * syllables.length)];
    words.add(w);
  }
  const vocab = [...words];
  const cumulative = new Float64Array(vocab.length);
  let sum = 0;
  vocab.forEach((_, r) => (cumulative[r] = sum += 1 / (r + 1) ** 1.07));
  const word = () => {
    const x = random() * sum;
    let lo = 0;
    let hi = vocab.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return vocab[lo];
  };
  return { vocab, random, text: (n: number) => Array.from({ length: n }, word).join(' ') };
}

test('MaxScore pruning finds exactly what the full query finds, filters included', async () => {
  const db = new Database(':memory:');
  migrate(db);
  const repo = new VectorStoreRepo(db);
  const corpus = zipfCorpus(3000, 7);
  const chunking = { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 };
  const shared = Array.from({ length: 7 }, () => corpus.text(60));
  repo.transaction(() => {
    repo.insertStore('vs_z', 1, { name: 'z', metadata: {}, last_active_at: 1 });
    for (let f = 0; f < 40; f++) {
      const file = `file-${f}`;
      const row = repo.insertFile('vs_z', file, null, 1, { group: f % 4 }, chunking);
      for (let i = 0; i < 100; i++) {
        // Lengths vary, so that BM25's length normalisation matters; some chunks are repeated
        // word for word, so that scores tie (the older chunk comes first).
        const text = i % 10 === 0 ? shared[(f + i / 10) % shared.length] : corpus.text(20 + Math.floor(corpus.random() * 120));
        repo.insertChunks('vs_z', file, [{ position: i, text, embedding: null }]);
      }
      repo.complete('vs_z', file, row.seq);
    }
  });
  const logger = createLogger('silent');
  const pruned = new Searcher(repo, null, logger);
  const full = new Searcher(repo, null, logger, { pruning: false });
  const filters = [null, { type: 'eq' as const, key: 'group', value: 1 }, { type: 'ne' as const, key: 'group', value: 0 }];
  for (let q = 0; q < 300; q++) {
    // Mostly rarer keywords beside common ones (the queries pruning is for), some at random.
    const rank = (lo: number, hi: number) => corpus.vocab[lo + Math.floor(corpus.random() * (hi - lo))];
    const words =
      q % 4 === 3
        ? Array.from({ length: 2 + (q % 3) }, () => corpus.vocab[Math.floor(corpus.random() ** 2.5 * 2000)])
        : [rank(60, 400), rank(0, 40), ...(q % 2 ? [rank(40, 150)] : [])];
    const options = { maxResults: 10, filter: filters[q % filters.length] };
    const [a, b] = [await pruned.search(['vs_z'], [words.join(' ')], options), await full.search(['vs_z'], [words.join(' ')], options)];
    assert.deepEqual(a.hits, b.hits, `query ${q}: ${words.join(' ')}`);
  }
  assert.ok(pruned.stats.pruned >= 60, `pruning was tried and held for a good share of the queries (${JSON.stringify(pruned.stats)})`);
  assert.equal(full.stats.pruned, 0);
  db.close();
});
