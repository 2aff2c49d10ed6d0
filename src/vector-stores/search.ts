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
// Lexical search in a large index: a chunk's BM25 is computed for every chunk a MATCH finds, so
// common keywords are left out of the match (matchPlan) and chunks that only have common ones
// are not scored when they cannot make the candidates (prunedCandidates: MaxScore, exact).
// What only changes when the index does is cached until it does (SQLite's data_version and the
// repository's own count of its changes say when): each store's completed files, and each
// keyword's document frequency. The index's row count is FTS5's own, read in O(1).
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
/** A keyword in fewer chunks than this is always searched (see matchPlan). */
const COMMON_FLOOR = 2000;
/** FTS5's bm25() k1: one term adds less than idf × (k1 + 1) to a chunk's score, however often it occurs. */
const BM25_K1 = 1.2;

export interface SearchOptions {
  maxResults: number;
  filter?: Filter | null;
  scoreThreshold?: number;
  /** RRF weights; both 1 by default. */
  weights?: { text: number; embedding: number };
  /** Search for the keywords of each query (stop words dropped) rather than the query as written. */
  rewriteQuery?: boolean;
}

export interface SearcherOptions {
  /** MaxScore pruning of OR queries (see prunedCandidates); off only to compare against. */
  pruning?: boolean;
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
  /** The completed files (and attachments) its vectors were read for. */
  signature: string;
  dims: number;
  ids: Int32Array;
  keys: string[];
  matrix: Float32Array;
}

/** A query keyword as FTS5 searches it, and how many chunks contain it. */
interface Term {
  phrase: string;
  docs: number;
}

/** One MATCH expression of a query's plan; `any` when it is the OR of all its terms (rarest first). */
interface PlanStep {
  match: string;
  terms: Term[];
  any: boolean;
}

interface Candidate {
  id: number;
  key: string;
  bm25: number;
}

interface CompletedFiles {
  version: string;
  files: Array<{ key: string; attributes: Attributes | null; seq: number }>;
  /** Which attachments these are, for telling whether a dense index is stale. */
  signature: string;
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
  private readonly chunkRow: Database.Statement<[number], { vs: string; file: string; text: string }>;
  private readonly chunkText: Database.Statement<[number], { text: string }>;
  private readonly matchCount: Database.Statement<[string], { n: number }>;
  private readonly averages: Database.Statement<[], { block: Buffer | null }>;
  private readonly dataVersion: Database.Statement<[], number>;
  private readonly vectors: Database.Statement<[string], { id: number; file_id: string; embedding: Buffer }>;
  private readonly completed = new Map<string, CompletedFiles>();
  private counts = { version: '', docs: new Map<string, number>() };
  private readonly patterns = new Map<string, RegExp>();
  private readonly dense = new Map<string, DenseIndex>();
  private readonly versions = new Map<string, number>();
  /** How candidate lists were found: by pruned queries, or by the full one (tests read it). */
  readonly stats = { pruned: 0, full: 0 };

  constructor(
    private readonly repo: VectorStoreRepo,
    private readonly embeddings: Embeddings | null,
    private readonly logger: Logger,
    private readonly options: SearcherOptions = {},
  ) {
    const db = repo.db;
    // The FTS5 table alone, best first: joining the chunks table here costs more than the search.
    this.lexical = db.prepare(`SELECT rowid AS id, bm25(chunks_fts) AS rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?`);
    this.chunkRow = db.prepare(`SELECT vector_store_id AS vs, file_id AS file, text FROM chunks WHERE id = ?`);
    this.chunkText = db.prepare(`SELECT text FROM chunks WHERE id = ?`);
    this.matchCount = db.prepare(`SELECT count(*) AS n FROM chunks_fts WHERE chunks_fts MATCH ?`);
    // FTS5's "averages" record (rowid 1 of its data table): the row count bm25() itself uses.
    this.averages = db.prepare(`SELECT block FROM chunks_fts_data WHERE id = 1`);
    this.dataVersion = db.prepare<[], number>(`PRAGMA data_version`).pluck();
    this.vectors = db.prepare(`SELECT id, file_id, embedding FROM chunks WHERE vector_store_id = ? AND embedding IS NOT NULL ORDER BY id`);
  }

  /** The store's chunks changed: its dense index is rebuilt on next use. */
  invalidate(storeId: string): void {
    this.versions.set(storeId, (this.versions.get(storeId) ?? 0) + 1);
    this.dense.delete(storeId);
    this.completed.delete(storeId);
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
    const texts = new Map<number, string>();

    searched.forEach((query, q) => {
      const lexical = this.lexicalRanking(query, allowed, candidates, texts);
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
        text: texts.get(r.id) ?? this.chunkText.get(r.id)?.text ?? '',
        score: round(r.score),
      };
    });
    return { hits, queries: searched, hybrid };
  }

  /** Completed files of the stores that pass the filter, keyed store/file, with their attributes. */
  private allowedFiles(storeIds: readonly string[], filter: Filter | null): Map<string, Attributes | null> {
    const allowed = new Map<string, Attributes | null>();
    for (const storeId of storeIds) {
      for (const file of this.completedFiles(storeId).files) {
        if (!filter || matches(filter, file.attributes)) allowed.set(file.key, file.attributes);
      }
    }
    return allowed;
  }

  /**
   * A store's completed files, read again only when they may have changed (see indexVersion).
   */
  private completedFiles(storeId: string): CompletedFiles {
    const version = this.indexVersion();
    const cached = this.completed.get(storeId);
    if (cached?.version === version) return cached;
    const files = this.repo.completedFiles(storeId).map((f) => ({ key: fileKey(storeId, f.fileId), attributes: f.attributes, seq: f.seq }));
    const entry = { version, files, signature: files.map((f) => `${f.key}${SEP}${f.seq}`).join('\n') };
    this.completed.delete(storeId);
    this.completed.set(storeId, entry);
    if (this.completed.size > 256) this.completed.delete(this.completed.keys().next().value!);
    return entry;
  }

  /**
   * The best `limit` BM25 candidates among the allowed files, scored and ordered by keyword
   * coverage and relative BM25 (see the top). The index is shared by every store: candidates are
   * read best first and filtered here, reading further (×4 each time) only while too few pass.
   */
  private lexicalRanking(query: string, allowed: Map<string, unknown>, limit: number, texts: Map<number, string>): Ranked[] {
    const words = keywords(query);
    let found: Candidate[] = [];
    for (const step of this.matchPlan(words)) {
      found = this.candidates(step, allowed, limit, texts);
      if (found.length === limit) break;
    }
    if (found.length === 0) return [];
    const patterns = words.map((w) => this.pattern(w));
    const best = Math.max(found[0].bm25, Number.MIN_VALUE);
    return found
      .map((r) => {
        const text = this.text(r.id, texts);
        let covered = 0;
        for (const p of patterns) if (p.test(text)) covered++;
        return { id: r.id, key: r.key, score: 0.7 * (covered / patterns.length) + 0.3 * Math.min(1, r.bm25 / best) };
      })
      .sort((a, b) => b.score - a.score || a.id - b.id);
  }

  /**
   * The first `limit` matches in the allowed files in BM25 order (ties: the older chunk first),
   * read best first (×4 more while too few pass), or found by MaxScore pruning (below).
   */
  private candidates(step: PlanStep, allowed: Map<string, unknown>, limit: number, texts: Map<number, string>): Candidate[] {
    if (step.any && step.terms.length > 1 && this.options.pruning !== false) {
      const pruned = this.prunedCandidates(step.terms, allowed, limit, texts);
      if (pruned) {
        this.stats.pruned++;
        return pruned;
      }
    }
    this.stats.full++;
    const found: Candidate[] = [];
    for (let read = limit * 2, seen = 0; ; read *= 4) {
      const rows = this.lexical.all(step.match, read);
      for (let i = seen; i < rows.length; i++) {
        const candidate = this.allowedCandidate(rows[i].id, rows[i].rank, allowed, texts);
        if (candidate) found.push(candidate);
        if (found.length === limit) return found;
      }
      seen = rows.length;
      if (rows.length < read) return found;
    }
  }

  /**
   * The same candidates as the full `t1 OR t2 OR …` query (terms rarest first), without scoring
   * every chunk that has only its common terms (MaxScore). A term adds less than idf × (k1 + 1)
   * to a chunk's BM25, so a chunk without any of the rare terms t1…tj scores below `ceiling`, the
   * sum of that bound over the others. Two small queries replace the full one: the best chunks of
   * `t1 OR … OR tj`, and the best of `(t1 OR … OR tj) AND (tj+1 OR …)`, which scores a chunk
   * exactly as the full query does (bm25() sums over the query's phrases in order, each phrase's
   * IDF counted over the whole index; a phrase the chunk lacks adds 0), as does the first for a
   * chunk without common terms. Merged, they are the full query's ranking down to the highest of
   * the ceiling and the last score each returned: if the `limit`-th allowed candidate scores
   * above that, nothing left out could have displaced it, and the result is the full query's.
   * Otherwise each reads 4× further, and after that null: the full query runs.
   */
  private prunedCandidates(terms: Term[], allowed: Map<string, unknown>, limit: number, texts: Map<number, string>): Candidate[] | null {
    const rows = this.totalChunks();
    if (rows <= 0) return null;
    const idf = terms.map((t) => Math.max(Math.log((rows - t.docs + 0.5) / (t.docs + 0.5)), 1e-6));
    const ceiling = new Array<number>(terms.length + 1).fill(0);
    for (let i = terms.length - 1; i >= 0; i--) ceiling[i] = ceiling[i + 1] + idf[i] * (BM25_K1 + 1);
    const total = terms.reduce((n, t) => n + t.docs, 0);
    // The fewest rare terms that can make it: a chunk with every term once, at the average
    // length, scores the sum of their IDFs, and with the rare ones that must beat the ceiling;
    // and their chunks must be a small part of the work.
    let split = 0;
    let rareDocs = 0;
    for (let j = 1, rareIdf = 0; j < terms.length; j++) {
      rareDocs += terms[j - 1].docs;
      rareIdf += idf[j - 1];
      if (rareDocs * 4 > total) break;
      if (rareDocs >= limit && rareIdf + ceiling[j] / (BM25_K1 + 1) > ceiling[j]) {
        split = j;
        break;
      }
    }
    if (split === 0) return null;
    const rare = terms.slice(0, split).map((t) => t.phrase).join(' OR ');
    const both = `(${rare}) AND (${terms.slice(split).map((t) => t.phrase).join(' OR ')})`;
    const ceilingScore = ceiling[split] * (1 + 1e-9);
    for (let read = limit * 2, round = 0; round < 3; read *= 4, round++) {
      const rareRows = this.lexical.all(rare, read);
      const bothRows = this.lexical.all(both, read);
      const ranks = new Map<number, number>();
      for (const r of rareRows) ranks.set(r.id, r.rank);
      for (const r of bothRows) ranks.set(r.id, r.rank); // the full query's score
      const found: Candidate[] = [];
      for (const [id, rank] of [...ranks].sort((x, y) => x[1] - y[1] || x[0] - y[0])) {
        const candidate = this.allowedCandidate(id, rank, allowed, texts);
        if (candidate) found.push(candidate);
        if (found.length === limit) break;
      }
      if (found.length < limit) return null; // chunks with only common terms may be needed
      const last = found[limit - 1].bm25;
      if (!(last > ceilingScore)) return null;
      const rareFloor = rareRows.length < read ? -Infinity : -rareRows[read - 1].rank;
      const bothFloor = bothRows.length < read ? -Infinity : -bothRows[read - 1].rank;
      if (last > rareFloor && last > bothFloor) return found;
      if (read >= rareDocs) return null;
    }
    return null;
  }

  /** The chunk as a candidate if its file is allowed (its text kept for scoring). */
  private allowedCandidate(id: number, rank: number, allowed: Map<string, unknown>, texts: Map<number, string>): Candidate | null {
    const row = this.chunkRow.get(id);
    if (!row) return null;
    const key = fileKey(row.vs, row.file);
    if (!allowed.has(key)) return null;
    texts.set(id, row.text);
    return { id, key, bm25: -rank };
  }

  private text(id: number, texts: Map<number, string>): string {
    let text = texts.get(id);
    if (text === undefined) {
      text = this.chunkText.get(id)?.text ?? '';
      texts.set(id, text);
    }
    return text;
  }

  /** Whether a chunk contains a keyword (at a word start, roughly stemmed); compiled once per word. */
  private pattern(word: string): RegExp {
    let pattern = this.patterns.get(word);
    if (!pattern) {
      if (this.patterns.size >= 10_000) this.patterns.clear();
      pattern = new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(stem(word))}`, 'iu');
      this.patterns.set(word, pattern);
    }
    return pattern;
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
  private matchPlan(words: string[]): PlanStep[] {
    if (words.length === 0) return [];
    const common = Math.max(this.totalChunks() * 0.05, COMMON_FLOOR);
    const counted = words.map((w): Term => ({ phrase: `"${w}"`, docs: this.documents(`"${w}"`) })).filter((t) => t.docs > 0);
    if (counted.length === 0) return [];
    counted.sort((a, b) => a.docs - b.docs);
    const kept = counted.filter((t, i) => i < 2 || t.docs <= common);
    const any = { match: kept.map((t) => t.phrase).join(' OR '), terms: kept, any: true };
    if (kept.length >= 2 && kept[0].docs > common) return [{ match: `${kept[0].phrase} AND ${kept[1].phrase}`, terms: kept.slice(0, 2), any: false }, any];
    return [any];
  }

  /** How many chunks match a keyword, counted once for as long as the index does not change. */
  private documents(phrase: string): number {
    const version = this.indexVersion();
    if (this.counts.version !== version || this.counts.docs.size >= 100_000) this.counts = { version, docs: new Map() };
    let n = this.counts.docs.get(phrase);
    if (n === undefined) {
      n = this.matchCount.get(phrase)!.n;
      this.counts.docs.set(phrase, n);
    }
    return n;
  }

  /**
   * Changes whenever the files or chunks may have: when this connection changed them (the
   * repository counts that) or another one (an ingestion worker) committed anything (SQLite's
   * data_version).
   */
  private indexVersion(): string {
    return `${this.dataVersion.get()}/${this.repo.version}`;
  }

  /** How many chunks the index holds (for document frequencies): FTS5's own count, read in O(1). */
  private totalChunks(): number {
    const block = this.averages.get()?.block;
    return block && block.length ? readVarint(block) : 0;
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

  /**
   * The store's vectors, reloaded when a file of it was completed, replaced or removed since they
   * were read (ingestion completes files in a worker: its message may come after a search).
   */
  private denseIndex(storeId: string): DenseIndex {
    const version = this.versions.get(storeId) ?? 0;
    const { signature } = this.completedFiles(storeId);
    const cached = this.dense.get(storeId);
    if (cached && cached.version === version && cached.signature === signature) return cached;
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
    const index = { version, signature, dims, ids, keys, matrix };
    this.dense.set(storeId, index);
    return index;
  }
}

/** A SQLite varint (as FTS5 writes them): big-endian groups of 7 bits, the 9th byte whole. */
export function readVarint(bytes: Uint8Array, at = 0): number {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const byte = bytes[at + i];
    if (byte === undefined) return value;
    value = value * 128 + (byte & 0x7f);
    if (byte < 0x80) return value;
  }
  return value * 256 + (bytes[at + 8] ?? 0);
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
