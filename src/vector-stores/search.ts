// Retrieval: lexical BM25 over the FTS5 index always; with an embeddings upstream, also dense
// cosine similarity, the two rankings fused by reciprocal rank fusion (RRF, k = 60, weighted by
// ranking_options.hybrid_search). Only completed files that pass the attribute filter count.
//
// Scores are in [0, 1]. Lexical: 0.7 × the share of the query's keywords the chunk contains +
// 0.3 × its BM25 relative to the best candidate's (FTS5's bm25 floors the IDF of any term found
// in half the documents or more, so raw BM25 says little in a small store; coverage does), and
// the lexical ranking is in that order. Hybrid: the weighted RRF sum divided by its largest
// possible value (first in both rankings = 1). With several queries, a chunk keeps its best score.
//
// Dense search is exact (brute force) over an in-memory Float32 matrix per vector store, loaded
// from the chunks' BLOBs on first use and dropped when the store changes: no extension to load,
// the same on any store back-end, and a dot product per chunk is a few ms per 10k chunks.
import type Database from 'better-sqlite3';
import type { Logger } from '../log.js';
import type { Embeddings } from './embeddings.js';
import { matches, type Attributes, type Filter } from './filters.js';
import type { VectorStoreRepo } from './repo.js';

export const RRF_K = 60;
/** A keyword in fewer chunks than this is always searched (see selectiveMatch). */
const COMMON_FLOOR = 2000;

export interface SearchOptions {
  maxResults: number;
  filter?: Filter | null;
  scoreThreshold?: number;
  /** RRF weights; both 1 by default. */
  weights?: { text: number; embedding: number };
  /** Search for the keywords of each query (stop words dropped) rather than the query as written. */
  rewriteQuery?: boolean;
}

export interface SearchHit {
  chunkId: number;
  vectorStoreId: string;
  fileId: string;
  attributes: Attributes | null;
  text: string;
  score: number;
}

export interface SearchOutcome {
  hits: SearchHit[];
  /** The queries as searched (rewritten when asked). */
  queries: string[];
  /** Whether dense retrieval took part. */
  hybrid: boolean;
}

interface Ranked {
  id: number;
  key: string;
  score: number;
}

interface DenseIndex {
  version: number;
  dims: number;
  ids: Int32Array;
  keys: string[];
  matrix: Float32Array;
}

const SEP = '\u001f';
const fileKey = (storeId: string, fileId: string) => `${storeId}${SEP}${fileId}`;

// Words that match nearly every chunk: they make lexical search slow and add nothing to BM25.
const STOP_WORDS = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have how i if in into is it its me my ' +
    'of on or our so than that the their them then there these they this to was we were what when where which who ' +
    'why will with would you your about any all also should'
  ).split(' '),
);

/** The words a query is searched by: lower case, stop words dropped (unless that leaves none), at most 32. */
export function keywords(query: string): string[] {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const kept = words.filter((w) => !STOP_WORDS.has(w));
  return [...new Set(kept.length ? kept : words)].slice(0, 32);
}


export class Searcher {
  private readonly lexical: Database.Statement<[string, number], { id: number; rank: number }>;
  private readonly chunkOwner: Database.Statement<[number], { vs: string; file: string }>;
  private readonly chunkText: Database.Statement<[number], { text: string }>;
  private readonly matchCount: Database.Statement<[string], { n: number }>;
  private readonly chunkCount: Database.Statement<[], { n: number }>;
  private chunkTotal = { n: 0, at: 0 };
  private readonly vectors: Database.Statement<[string], { id: number; file_id: string; embedding: Buffer }>;
  private readonly dense = new Map<string, DenseIndex>();
  private readonly versions = new Map<string, number>();

  constructor(
    private readonly repo: VectorStoreRepo,
    private readonly embeddings: Embeddings | null,
    private readonly logger: Logger,
  ) {
    const db = repo.db;
    // The FTS5 table alone, best first: joining the chunks table here costs more than the search.
    this.lexical = db.prepare(`SELECT rowid AS id, bm25(chunks_fts) AS rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?`);
    this.chunkOwner = db.prepare(`SELECT vector_store_id AS vs, file_id AS file FROM chunks WHERE id = ?`);
    this.chunkText = db.prepare(`SELECT text FROM chunks WHERE id = ?`);
    this.matchCount = db.prepare(`SELECT count(*) AS n FROM chunks_fts WHERE chunks_fts MATCH ?`);
    this.chunkCount = db.prepare(`SELECT count(*) AS n FROM chunks`);
    this.vectors = db.prepare(`SELECT id, file_id, embedding FROM chunks WHERE vector_store_id = ? AND embedding IS NOT NULL ORDER BY id`);
  }

  /** The store's chunks changed: its dense index is rebuilt on next use. */
  invalidate(storeId: string): void {
    this.versions.set(storeId, (this.versions.get(storeId) ?? 0) + 1);
    this.dense.delete(storeId);
  }

  async search(storeIds: readonly string[], queries: readonly string[], options: SearchOptions, signal?: AbortSignal): Promise<SearchOutcome> {
    const searched = options.rewriteQuery ? queries.map((q) => keywords(q).join(' ') || q) : [...queries];
    const allowed = this.allowedFiles(storeIds, options.filter ?? null);
    if (allowed.size === 0 || searched.length === 0) return { hits: [], queries: searched, hybrid: false };

    const candidates = Math.max(options.maxResults * 4, 40);
    const queryVectors = await this.embedQueries(searched, signal);
    const hybrid = queryVectors !== null;
    const weights = options.weights ?? { text: 1, embedding: 1 };
    const best = new Map<number, Ranked>();

    searched.forEach((query, q) => {
      const lexical = this.lexicalRanking(query, allowed, candidates);
      const dense = queryVectors ? this.denseRanking(storeIds, queryVectors[q], allowed, candidates) : [];
      const fused = hybrid ? fuse(lexical, dense, weights) : lexical;
      for (const r of fused) {
        const seen = best.get(r.id);
        if (!seen || seen.score < r.score) best.set(r.id, r);
      }
    });

    const threshold = options.scoreThreshold ?? 0;
    const top = [...best.values()]
      .filter((r) => r.score >= threshold)
      .sort((a, b) => b.score - a.score || a.id - b.id)
      .slice(0, options.maxResults);
    const hits = top.map((r) => {
      const [vectorStoreId, fileId] = r.key.split(SEP);
      return {
        chunkId: r.id,
        vectorStoreId,
        fileId,
        attributes: allowed.get(r.key) ?? null,
        text: this.chunkText.get(r.id)?.text ?? '',
        score: round(r.score),
      };
    });
    return { hits, queries: searched, hybrid };
  }

  /** Completed files of the stores that pass the filter, keyed store/file, with their attributes. */
  private allowedFiles(storeIds: readonly string[], filter: Filter | null): Map<string, Attributes | null> {
    const allowed = new Map<string, Attributes | null>();
    for (const storeId of storeIds) {
      for (const { fileId, attributes } of this.repo.completedFiles(storeId)) {
        if (!filter || matches(filter, attributes)) allowed.set(fileKey(storeId, fileId), attributes);
      }
    }
    return allowed;
  }

  /**
   * The best `limit` BM25 candidates among the allowed files, scored and ordered by keyword
   * coverage and relative BM25 (see the top). The index is shared by every store: candidates are
   * read best first and filtered here, reading further (×4 each time) only while too few pass.
   */
  private lexicalRanking(query: string, allowed: Map<string, unknown>, limit: number): Ranked[] {
    const plan = this.matchPlan(keywords(query));
    let found: Array<{ id: number; key: string; bm25: number }> = [];
    for (const match of plan) {
      found = this.candidates(match, allowed, limit);
      if (found.length === limit) break;
    }
    if (found.length === 0) return [];
    const patterns = keywords(query).map((w) => new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(stem(w))}`, 'iu'));
    const best = Math.max(found[0].bm25, Number.MIN_VALUE);
    return found
      .map((r) => {
        const text = this.chunkText.get(r.id)?.text ?? '';
        const covered = patterns.filter((p) => p.test(text)).length / patterns.length;
        return { id: r.id, key: r.key, score: 0.7 * covered + 0.3 * Math.min(1, r.bm25 / best) };
      })
      .sort((a, b) => b.score - a.score || a.id - b.id);
  }

  /** The best `limit` BM25 matches in the allowed files, read best first (×4 more while too few pass). */
  private candidates(match: string, allowed: Map<string, unknown>, limit: number): Array<{ id: number; key: string; bm25: number }> {
    const found: Array<{ id: number; key: string; bm25: number }> = [];
    for (let read = limit * 2, seen = 0; ; read *= 4) {
      const rows = this.lexical.all(match, read);
      for (const row of rows.slice(seen)) {
        const owner = this.chunkOwner.get(row.id);
        const key = owner ? fileKey(owner.vs, owner.file) : '';
        if (allowed.has(key)) found.push({ id: row.id, key, bm25: -row.rank });
        if (found.length === limit) return found;
      }
      seen = rows.length;
      if (rows.length < read) return found;
    }
  }

  /**
   * The MATCH expressions to try in turn for a query's keywords, each keyword quoted so that
   * nothing in it is FTS5 syntax (keywords are letters and digits only). Scoring BM25 is the cost
   * of a search, paid for every chunk that matches, so in a large index common keywords (in more
   * than 5 % of the chunks and more than 2,000 of them: their IDF, and so their weight, is small)
   * are left out, keeping at least the two rarest; when even those are common, chunks with both
   * are tried first, then either. Counting a keyword's chunks is far cheaper than scoring them.
   * Left-out keywords still count in the score (coverage).
   */
  private matchPlan(words: string[]): string[] {
    const quoted = (w: string) => `"${w}"`;
    if (words.length === 0) return [];
    const common = Math.max(this.totalChunks() * 0.05, COMMON_FLOOR);
    const counted = words.map((w) => ({ w, n: this.matchCount.get(quoted(w))!.n })).filter((t) => t.n > 0);
    if (counted.length === 0) return [];
    counted.sort((a, b) => a.n - b.n);
    const kept = counted.filter((t, i) => i < 2 || t.n <= common);
    const any = kept.map((t) => quoted(t.w)).join(' OR ');
    if (kept.length >= 2 && kept[0].n > common) return [`${quoted(kept[0].w)} AND ${quoted(kept[1].w)}`, any];
    return [any];
  }

  /** How many chunks the index holds (for document frequencies), re-counted every 10 s at most. */
  private totalChunks(): number {
    const now = Date.now();
    if (now - this.chunkTotal.at > 10_000) this.chunkTotal = { n: this.chunkCount.get()!.n, at: now };
    return this.chunkTotal.n;
  }

  private async embedQueries(queries: string[], signal?: AbortSignal): Promise<Float32Array[] | null> {
    if (!this.embeddings) return null;
    try {
      return await this.embeddings.embed(queries, signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      this.logger.warn({ err: error }, 'file_search: embedding the query failed; searching lexically only');
      return null;
    }
  }

  private denseRanking(storeIds: readonly string[], query: Float32Array, allowed: Map<string, unknown>, limit: number): Ranked[] {
    const top: Ranked[] = [];
    for (const storeId of storeIds) {
      const index = this.denseIndex(storeId);
      if (index.dims !== query.length) continue;
      const { matrix, dims, ids, keys } = index;
      for (let row = 0; row < ids.length; row++) {
        let dot = 0;
        const base = row * dims;
        for (let d = 0; d < dims; d++) dot += matrix[base + d] * query[d];
        if (top.length === limit && dot <= top[limit - 1].score) continue;
        if (!allowed.has(keys[row])) continue;
        insertSorted(top, { id: ids[row], key: keys[row], score: dot }, limit);
      }
    }
    return top.map((r) => ({ ...r, score: Math.max(0, r.score) }));
  }

  private denseIndex(storeId: string): DenseIndex {
    const version = this.versions.get(storeId) ?? 0;
    const cached = this.dense.get(storeId);
    if (cached && cached.version === version) return cached;
    const rows = this.vectors.all(storeId);
    const dims = rows.length ? rows[0].embedding.byteLength / 4 : 0;
    const usable = rows.filter((r) => r.embedding.byteLength === dims * 4);
    const matrix = new Float32Array(usable.length * dims);
    const ids = new Int32Array(usable.length);
    const keys = new Array<string>(usable.length);
    usable.forEach((r, i) => {
      matrix.set(new Float32Array(r.embedding.buffer, r.embedding.byteOffset, dims), i * dims);
      ids[i] = r.id;
      keys[i] = fileKey(storeId, r.file_id);
    });
    const index = { version, dims, ids, keys, matrix };
    this.dense.set(storeId, index);
    return index;
  }
}

/** Weighted reciprocal rank fusion, normalised so that first in both rankings scores 1. */
export function fuse(lexical: Ranked[], dense: Ranked[], weights: { text: number; embedding: number }): Ranked[] {
  const total = weights.text + weights.embedding;
  const best = total > 0 ? total / (RRF_K + 1) : 1;
  const fused = new Map<number, Ranked>();
  const add = (list: Ranked[], weight: number) =>
    list.forEach((r, rank) => {
      const entry = fused.get(r.id) ?? { id: r.id, key: r.key, score: 0 };
      entry.score += weight / (RRF_K + rank + 1);
      fused.set(r.id, entry);
    });
  add(lexical, weights.text);
  add(dense, weights.embedding);
  return [...fused.values()].map((r) => ({ ...r, score: Math.min(1, r.score / best) }));
}

/** A rough English stemmer, only for telling which keywords a chunk contains (FTS5 stems with Porter). */
export function stem(word: string): string {
  const w = word.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  if (w.length <= 3) return w;
  for (const [suffix, replacement] of [['ies', 'y'], ['ing', ''], ['ed', ''], ['es', ''], ['ly', ''], ['s', '']] as const) {
    if (w.endsWith(suffix) && w.length - suffix.length >= 3) return w.slice(0, -suffix.length) + replacement;
  }
  return w;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function insertSorted(top: Ranked[], entry: Ranked, limit: number): void {
  let i = top.length;
  while (i > 0 && top[i - 1].score < entry.score) i--;
  top.splice(i, 0, entry);
  if (top.length > limit) top.pop();
}

const round = (score: number) => Math.round(score * 1e6) / 1e6;
