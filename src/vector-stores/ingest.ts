// Background ingestion: a queue of vector store files, two at a time. For each: extraction and
// chunking in the worker thread, embeddings when configured, then the chunks are written in
// short transactions (≤ 8 ms each, yielding to the event loop between them) so that streams
// and requests never wait on a large file. The file ends `completed` with its usage_bytes, or
// `failed` with last_error.
//
// Cancelling (the file detached or deleted, its store deleted, its batch cancelled) aborts the
// job; whoever cancels removes the rows and chunks at once, in the same tick, and an aborted job
// never writes again: it checks its signal right before each of its transactions.
import { setImmediate as nextTick } from 'node:timers/promises';
import type { Files } from '../files/files.js';
import type { Logger } from '../log.js';
import type { Embeddings } from './embeddings.js';
import type { Extractor } from './extractor.js';
import type { FileRow, VectorStoreRepo } from './repo.js';
import type { Searcher } from './search.js';

const SLICE_MS = 8;

interface Job {
  storeId: string;
  fileId: string;
  /** The attachment this job ingests: a re-attached file is a new row with a new seq. */
  seq: number;
  controller: AbortController;
}

export interface IngestionDeps {
  repo: VectorStoreRepo;
  files: Files;
  extractor: Extractor;
  embeddings: Embeddings | null;
  searcher: Searcher;
  logger: Logger;
  concurrency?: number;
}

const jobKey = (storeId: string, fileId: string) => `${storeId}/${fileId}`;

export class Ingestion {
  private readonly queue: Job[] = [];
  private readonly jobs = new Map<string, Job>();
  private active = 0;
  private readonly concurrency: number;
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly deps: IngestionDeps) {
    this.concurrency = deps.concurrency ?? 2;
  }

  /** Queues an attachment (replacing any job of the same store and file). */
  enqueue(row: Pick<FileRow, 'vector_store_id' | 'file_id' | 'seq'>): void {
    if (this.closed) return;
    this.cancel(row.vector_store_id, row.file_id);
    const job: Job = { storeId: row.vector_store_id, fileId: row.file_id, seq: row.seq, controller: new AbortController() };
    this.jobs.set(jobKey(job.storeId, job.fileId), job);
    this.queue.push(job);
    this.pump();
  }

  /** Stops the job of this store and file, queued or running. The caller cleans up the rows. */
  cancel(storeId: string, fileId: string): void {
    const key = jobKey(storeId, fileId);
    const job = this.jobs.get(key);
    if (!job) return;
    job.controller.abort();
    this.jobs.delete(key);
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
  }

  /** Resolves when no job is queued or running. */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    for (const job of this.jobs.values()) job.controller.abort();
    this.queue.length = 0;
  }

  private pump(): void {
    while (this.active < this.concurrency && this.queue.length) {
      const job = this.queue.shift()!;
      this.active++;
      void this.run(job)
        .catch((error) => this.deps.logger.error({ err: error, file: job.fileId, vector_store: job.storeId }, 'ingestion failed'))
        .finally(() => {
          this.active--;
          if (this.jobs.get(jobKey(job.storeId, job.fileId)) === job) this.jobs.delete(jobKey(job.storeId, job.fileId));
          this.pump();
          if (this.active === 0 && this.queue.length === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const w of waiters) w();
          }
        });
    }
  }

  private async run(job: Job): Promise<void> {
    const { repo, files, extractor, embeddings, searcher, logger } = this.deps;
    const { storeId, fileId, seq } = job;
    const signal = job.controller.signal;
    const row = repo.file(storeId, fileId);
    if (!row || row.seq !== seq || row.status !== 'in_progress') return;
    const file = files.get(fileId);
    if (!file) {
      repo.fail(storeId, fileId, seq, { code: 'invalid_file', message: `The file ${fileId} no longer exists.` });
      return;
    }
    const fail = (code: NonNullable<FileRow['last_error']>['code'], message: string) => {
      if (signal.aborted) return;
      repo.transaction(() => repo.fail(storeId, fileId, seq, { code, message }));
      logger.info({ file: fileId, vector_store: storeId, code, message }, 'file ingestion failed');
    };

    try {
      const known = repo.fileText(fileId);
      const chunking = { maxTokens: row.chunking.max_chunk_size_tokens, overlapTokens: row.chunking.chunk_overlap_tokens };
      const result = await extractor.run(
        known === null ? { path: files.contentPath(fileId), filename: file.filename, chunking } : { text: known, filename: file.filename, chunking },
      );
      if (signal.aborted) return;
      if (!result.ok) return fail(result.code, result.message);
      if (known === null && files.get(fileId)) repo.setFileText(fileId, result.text);

      let vectors: Float32Array[] | null = null;
      if (embeddings) {
        try {
          vectors = await embeddings.embed(result.chunks, signal);
        } catch (error) {
          return fail('server_error', (error as Error).message);
        }
        if (signal.aborted) return;
      }

      const chunks = result.chunks;
      repo.deleteChunks(storeId, fileId);
      let next = 0;
      while (next < chunks.length) {
        if (signal.aborted) return;
        const started = performance.now();
        repo.transaction(() => {
          do {
            repo.insertChunks(storeId, fileId, [{ position: next, text: chunks[next], embedding: vectors?.[next] ?? null }]);
            next++;
          } while (next < chunks.length && performance.now() - started < SLICE_MS);
        });
        if (next < chunks.length) await nextTick();
      }
      if (signal.aborted) return;
      repo.transaction(() => repo.complete(storeId, fileId, seq));
      searcher.invalidate(storeId);
    } catch (error) {
      fail('server_error', `Ingesting ${file.filename} failed: ${(error as Error).message}`);
      throw error;
    }
  }
}
