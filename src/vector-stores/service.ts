// The Vector Stores API as OpenAI has it, over the SQLite tables of migration 3: stores, their
// files (attached → ingested in the background → completed / failed), file batches, search.
// `file_counts`, `usage_bytes` and `status` are counted from the rows each time they are shown,
// so they cannot drift. The file_search tool searches through the same object.
import type Database from 'better-sqlite3';
import type { FileObject } from 'openai/resources/files';
import type { VectorStore, VectorStoreSearchResponse } from 'openai/resources/vector-stores/vector-stores';
import type { VectorStoreFile } from 'openai/resources/vector-stores/files';
import type { VectorStoreFileBatch } from 'openai/resources/vector-stores/file-batches';
import type { Config } from '../config.js';
import { fileNotFound, type Files, type ListPage } from '../files/files.js';
import { newFileBatchId, newVectorStoreId } from '../files/ids.js';
import type { Logger } from '../log.js';
import { badRequest, notFound } from '../protocol/errors.js';
import { beforeTransactions } from '../store/sqlite.js';
import { DEFAULT_CHUNKING } from './chunking.js';
import { Embeddings } from './embeddings.js';
import { isSupported, unsupported } from './extract.js';
import type { Attributes, Filter } from './filters.js';
import { Ingestion } from './ingest.js';
import { ingestHost, type IngestHost } from './ingest-workers.js';
import { VectorStoreRepo, type BatchRow, type FileRow, type ListQuery, type StoreRecord, type StoreRow } from './repo.js';
import { Searcher, type SearchHit, type SearchOptions } from './search.js';

export type ChunkingParam = { type: 'auto' } | { type: 'static'; static: { max_chunk_size_tokens: number; chunk_overlap_tokens: number } };

export interface CreateStoreParams {
  name?: string;
  description?: string;
  metadata?: Record<string, string> | null;
  expires_after?: { anchor: 'last_active_at'; days: number };
  file_ids?: string[];
  chunking_strategy?: ChunkingParam;
}

export interface UpdateStoreParams {
  name?: string | null;
  metadata?: Record<string, string> | null;
  expires_after?: { anchor: 'last_active_at'; days: number } | null;
}

export interface AttachParams {
  file_id: string;
  attributes?: Attributes | null;
  chunking_strategy?: ChunkingParam;
}

export interface BatchParams {
  files: AttachParams[];
}

export interface StoreSearchParams {
  query: string | string[];
  filters?: Filter | null;
  max_num_results?: number;
  ranking_options?: { ranker?: string; score_threshold?: number; hybrid_search?: { embedding_weight: number; text_weight: number } };
  rewrite_query?: boolean;
}

export interface SearchPage {
  object: 'vector_store.search_results.page';
  search_query: string[];
  data: VectorStoreSearchResponse[];
  has_more: false;
  next_page: null;
}

/** A hit as the file_search tool shows it. */
export interface ToolHit extends SearchHit {
  filename: string;
}

export interface VectorStoresDeps {
  db: Database.Database;
  files: Files;
  config: Config;
  logger: Logger;
  /** Ingest on the main thread instead of worker threads (always so for an in-memory database). */
  inlineIngestion?: boolean;
}

const DAY = 86_400;
const nowSeconds = () => Math.floor(Date.now() / 1000);

export const vectorStoreNotFound = (id: string, param: string | null = null) => notFound(`No vector store found with id '${id}'.`, param);
const vectorStoreFileNotFound = (storeId: string, fileId: string) =>
  notFound(`No file found with id '${fileId}' in vector store '${storeId}'.`, 'file_id');

export class VectorStores {
  readonly repo: VectorStoreRepo;
  readonly searcher: Searcher;
  readonly ingestion: Ingestion;
  /** Where files are ingested: worker threads with their own connections, or this thread. */
  readonly ingestHost: IngestHost;
  private readonly files: Files;
  private sweeper: NodeJS.Timeout | null = null;
  private readonly unhook: () => void;

  constructor(deps: VectorStoresDeps) {
    this.files = deps.files;
    this.repo = new VectorStoreRepo(deps.db);
    const embeddings = deps.config.embeddings ? new Embeddings(deps.config.embeddings) : null;
    this.searcher = new Searcher(this.repo, embeddings, deps.logger);
    this.ingestHost = ingestHost(deps.db, this.repo, deps.config.embeddings ?? null, deps.inlineIngestion ?? false);
    this.ingestion = new Ingestion({ repo: this.repo, files: deps.files, host: this.ingestHost, searcher: this.searcher, logger: deps.logger });
    // Every transaction on the shared connection first has the ingestion workers step aside.
    this.unhook = beforeTransactions(deps.db, () => this.ingestHost.stepAside());
    deps.files.onDelete((fileId) => this.fileDeleted(fileId));
  }

  /** Resumes ingestion cut short by a restart, and sweeps expired files every minute. */
  start(): void {
    for (const row of this.repo.inProgressFiles()) this.ingestion.enqueue(row);
    this.files.sweepExpired();
    this.sweeper = setInterval(() => this.files.sweepExpired(), 60_000);
    this.sweeper.unref();
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.ingestion.close();
    await this.ingestHost.close();
    this.unhook();
  }

  // Vector stores ------------------------------------------------------------------------------

  create(params: CreateStoreParams): VectorStore {
    const files = (params.file_ids ?? []).map((id) => this.files.require(id));
    const id = newVectorStoreId();
    const now = nowSeconds();
    const record: StoreRecord = { name: params.name ?? '', metadata: params.metadata ?? {}, last_active_at: now };
    if (params.description !== undefined) record.description = params.description;
    if (params.expires_after) record.expires_after = params.expires_after;
    const rows = this.repo.transaction(() => {
      this.repo.insertStore(id, now, record);
      return files.map((file) => this.attachRow(id, file, { file_id: file.id, chunking_strategy: params.chunking_strategy }, null, now));
    });
    rows.forEach((row) => this.startIngestion(row));
    return this.storeObject(this.repo.store(id)!);
  }

  retrieve(id: string): VectorStore {
    return this.storeObject(this.requireStore(id));
  }

  list(query: ListQuery): ListPage<VectorStore> {
    const { rows, hasMore } = this.repo.listStores(query);
    return page(rows.map((r) => this.storeObject(r)), hasMore);
  }

  update(id: string, params: UpdateStoreParams): VectorStore {
    const row = this.requireStore(id);
    const record = { ...row.record };
    if (typeof params.name === 'string') record.name = params.name;
    if (params.metadata !== undefined) record.metadata = params.metadata ?? {};
    if (params.expires_after === null) delete record.expires_after;
    else if (params.expires_after) record.expires_after = params.expires_after;
    this.repo.updateStore(id, record);
    return this.storeObject({ ...row, record });
  }

  delete(id: string): { id: string; object: 'vector_store.deleted'; deleted: true } {
    this.requireStore(id);
    for (const file of this.repo.filesIn(id)) this.ingestion.cancel(id, file.file_id);
    this.repo.deleteStore(id);
    this.searcher.invalidate(id);
    return { id, object: 'vector_store.deleted', deleted: true };
  }

  /** Throws the 404 (or 400 for an expired store) a request naming these stores gets. */
  checkSearchable(ids: readonly string[], param: string | null = null): void {
    for (const id of ids) {
      const row = this.repo.store(id);
      if (!row) throw vectorStoreNotFound(id, param);
      if (this.expired(row)) throw badRequest(`Vector store '${id}' has expired and can no longer be searched.`, param, 'vector_store_expired');
    }
  }

  // Search -------------------------------------------------------------------------------------

  async search(id: string, params: StoreSearchParams): Promise<SearchPage> {
    this.checkSearchable([id]);
    const queries = (Array.isArray(params.query) ? params.query : [params.query]).filter((q) => q.trim());
    if (queries.length === 0) throw badRequest("Invalid value for 'query': a non-empty query is required.", 'query', 'invalid_value');
    const hybrid = params.ranking_options?.hybrid_search;
    const outcome = await this.searcher.search([id], queries, {
      maxResults: params.max_num_results ?? 10,
      filter: params.filters ?? null,
      scoreThreshold: params.ranking_options?.score_threshold,
      weights: hybrid ? { text: hybrid.text_weight, embedding: hybrid.embedding_weight } : undefined,
      rewriteQuery: params.rewrite_query ?? false,
    });
    this.touch([id]);
    return {
      object: 'vector_store.search_results.page',
      search_query: outcome.queries,
      data: outcome.hits.map((hit) => ({
        file_id: hit.fileId,
        filename: this.filename(hit.fileId),
        score: hit.score,
        attributes: hit.attributes ?? {},
        content: [{ type: 'text', text: hit.text }],
      })),
      has_more: false,
      next_page: null,
    };
  }

  /** The file_search tool's search: several stores and queries at once. */
  async searchForTool(ids: readonly string[], queries: readonly string[], options: SearchOptions, signal?: AbortSignal): Promise<ToolHit[]> {
    this.checkSearchable(ids);
    const outcome = await this.searcher.search(ids, queries, options, signal);
    this.touch(ids);
    return outcome.hits.map((hit) => ({ ...hit, filename: this.filename(hit.fileId) }));
  }

  filename(fileId: string): string {
    return this.files.get(fileId)?.filename ?? fileId;
  }

  // Vector store files -------------------------------------------------------------------------

  attach(storeId: string, params: AttachParams): VectorStoreFile {
    this.requireWritable(storeId);
    const file = this.files.require(params.file_id);
    const row = this.repo.transaction(() => this.attachRow(storeId, file, params, null, nowSeconds()));
    this.startIngestion(row);
    return this.fileObject(this.repo.file(storeId, file.id)!);
  }

  retrieveFile(storeId: string, fileId: string): VectorStoreFile {
    return this.fileObject(this.requireFile(storeId, fileId));
  }

  listFiles(storeId: string, query: ListQuery & { filter?: string }, batchId?: string): ListPage<VectorStoreFile> {
    this.requireStore(storeId);
    if (batchId) this.requireBatch(storeId, batchId);
    const { rows, hasMore } = this.repo.listFiles(storeId, { ...query, batchId });
    return page(rows.map((r) => this.fileObject(r)), hasMore);
  }

  updateFile(storeId: string, fileId: string, attributes: Attributes | null): VectorStoreFile {
    this.requireFile(storeId, fileId);
    this.repo.setAttributes(storeId, fileId, attributes);
    return this.fileObject(this.repo.file(storeId, fileId)!);
  }

  deleteFile(storeId: string, fileId: string): { id: string; object: 'vector_store.file.deleted'; deleted: true } {
    this.requireFile(storeId, fileId);
    this.ingestion.cancel(storeId, fileId);
    this.repo.transaction(() => this.repo.deleteFile(storeId, fileId));
    this.searcher.invalidate(storeId);
    return { id: fileId, object: 'vector_store.file.deleted', deleted: true };
  }

  /** The parsed text of a file in the store (empty until it is ingested). */
  fileContent(storeId: string, fileId: string) {
    const row = this.requireFile(storeId, fileId);
    const text = row.status === 'completed' ? this.repo.fileText(fileId) : null;
    return { object: 'vector_store.file_content.page' as const, data: text === null ? [] : [{ type: 'text', text }], has_more: false, next_page: null };
  }

  // Batches ------------------------------------------------------------------------------------

  createBatch(storeId: string, params: BatchParams): VectorStoreFileBatch {
    this.requireWritable(storeId);
    const files = params.files.map((f) => this.files.require(f.file_id));
    const id = newFileBatchId();
    const now = nowSeconds();
    const rows = this.repo.transaction(() => {
      this.repo.insertBatch(id, storeId, now);
      return files.map((file, i) => this.attachRow(storeId, file, params.files[i], id, now));
    });
    rows.forEach((row) => this.startIngestion(row));
    return this.batchObject(this.repo.batch(storeId, id)!);
  }

  retrieveBatch(storeId: string, batchId: string): VectorStoreFileBatch {
    return this.batchObject(this.requireBatch(storeId, batchId));
  }

  cancelBatch(storeId: string, batchId: string): VectorStoreFileBatch {
    this.requireBatch(storeId, batchId);
    const cancelled = this.repo.transaction(() => this.repo.cancelBatch(batchId));
    for (const f of cancelled) this.ingestion.cancel(f.vector_store_id, f.file_id);
    if (cancelled.length) this.searcher.invalidate(storeId);
    return this.batchObject(this.repo.batch(storeId, batchId)!);
  }

  // Tool call outputs --------------------------------------------------------------------------

  saveCallOutput(itemId: string, output: string): void {
    this.repo.saveCallOutput(itemId, output);
  }

  callOutput(itemId: string): string | null {
    return this.repo.callOutput(itemId);
  }

  /** Resolves when nothing is being ingested (tests, benchmarks). */
  idle(): Promise<void> {
    return this.ingestion.idle();
  }

  // Internals ----------------------------------------------------------------------------------

  private attachRow(storeId: string, file: FileObject, params: AttachParams, batchId: string | null, now: number): FileRow {
    this.ingestion.cancel(storeId, file.id);
    const strategy = params.chunking_strategy?.type === 'static' ? params.chunking_strategy.static : null;
    const chunking = strategy ?? { max_chunk_size_tokens: DEFAULT_CHUNKING.maxTokens, chunk_overlap_tokens: DEFAULT_CHUNKING.overlapTokens };
    const row = this.repo.insertFile(storeId, file.id, batchId, now, params.attributes ?? null, chunking);
    if (!isSupported(file.filename)) {
      const error = unsupported(file.filename);
      this.repo.fail(storeId, file.id, row.seq, { code: error.code, message: error.message });
      return this.repo.file(storeId, file.id)!;
    }
    return row;
  }

  private startIngestion(row: FileRow): void {
    this.searcher.invalidate(row.vector_store_id);
    if (row.status === 'in_progress') this.ingestion.enqueue(row);
  }

  /** The file is being deleted (inside its transaction): it leaves every vector store. */
  private fileDeleted(fileId: string): void {
    for (const row of this.repo.attachmentsOf(fileId)) {
      this.ingestion.cancel(row.vector_store_id, fileId);
      this.repo.deleteFile(row.vector_store_id, fileId);
      this.searcher.invalidate(row.vector_store_id);
    }
    this.repo.deleteFileText(fileId);
  }

  private touch(ids: readonly string[]): void {
    const now = nowSeconds();
    // A write only when a second has passed: searches do not queue behind ingestion's writes.
    if (ids.every((id) => this.repo.store(id)?.record.last_active_at === now)) return;
    this.repo.transaction(() => {
      for (const id of ids) {
        const row = this.repo.store(id);
        if (row && row.record.last_active_at !== now) this.repo.updateStore(id, { ...row.record, last_active_at: now });
      }
    });
  }

  private requireStore(id: string): StoreRow {
    const row = this.repo.store(id);
    if (!row) throw vectorStoreNotFound(id);
    return row;
  }

  private requireWritable(id: string): StoreRow {
    const row = this.requireStore(id);
    if (this.expired(row)) throw badRequest(`Vector store '${id}' has expired: files can no longer be added.`, null, 'vector_store_expired');
    return row;
  }

  private requireFile(storeId: string, fileId: string): FileRow {
    this.requireStore(storeId);
    const row = this.repo.file(storeId, fileId);
    if (!row) throw vectorStoreFileNotFound(storeId, fileId);
    return row;
  }

  private requireBatch(storeId: string, batchId: string): BatchRow {
    this.requireStore(storeId);
    const batch = this.repo.batch(storeId, batchId);
    if (!batch) throw notFound(`No file batch found with id '${batchId}' in vector store '${storeId}'.`, 'batch_id');
    return batch;
  }

  private expiresAt(row: StoreRow): number | null {
    const after = row.record.expires_after;
    return after ? row.record.last_active_at + after.days * DAY : null;
  }

  private expired(row: StoreRow): boolean {
    const at = this.expiresAt(row);
    return at !== null && at <= nowSeconds();
  }

  private storeObject(row: StoreRow): VectorStore {
    const { counts, usageBytes } = this.repo.counts(row.id);
    const store: VectorStore = {
      id: row.id,
      object: 'vector_store',
      created_at: row.created_at,
      name: row.record.name,
      usage_bytes: usageBytes,
      file_counts: counts,
      status: this.expired(row) ? 'expired' : counts.in_progress > 0 ? 'in_progress' : 'completed',
      last_active_at: row.record.last_active_at,
      metadata: row.record.metadata ?? {},
      expires_at: this.expiresAt(row),
    };
    if (row.record.expires_after) store.expires_after = row.record.expires_after;
    return store;
  }

  private fileObject(row: FileRow): VectorStoreFile {
    return {
      id: row.file_id,
      object: 'vector_store.file',
      usage_bytes: row.usage_bytes,
      created_at: row.created_at,
      vector_store_id: row.vector_store_id,
      status: row.status,
      last_error: row.last_error,
      chunking_strategy: { type: 'static', static: row.chunking },
      attributes: row.attributes ?? {},
    };
  }

  private batchObject(batch: BatchRow): VectorStoreFileBatch {
    const counts = this.repo.batchCounts(batch.id);
    const status =
      counts.in_progress > 0 ? 'in_progress' : batch.cancelled ? 'cancelled' : counts.total > 0 && counts.failed === counts.total ? 'failed' : 'completed';
    return { id: batch.id, object: 'vector_store.files_batch', created_at: batch.created_at, vector_store_id: batch.vector_store_id, status, file_counts: counts };
  }
}

function page<T extends { id: string }>(data: T[], hasMore: boolean): ListPage<T> {
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore };
}

export { fileNotFound };
