// Background ingestion: a queue of vector store files, two at a time. Each file is ingested by
// an ingestion worker thread (ingest-workers.ts, ingest-job.ts): extraction, chunking,
// embeddings when configured, then the chunks and their FTS5 index are written through the
// worker's own SQLite connection, in short transactions the main thread grants one at a time.
// The main thread only queues, hands out turns and hears the outcome, so that streams and
// requests never wait on a large file (an in-memory database, which no worker can open, is
// ingested on the main thread in the same short transactions). The file ends `completed` with its usage_bytes, or
// `failed` with last_error.
//
// Cancelling (the file detached or deleted, its store deleted, its batch cancelled) aborts the
// job; whoever cancels removes the rows and chunks at once, in the same tick, and an aborted job
// never writes again: each of its transactions first checks that its attachment is still in
// progress.
import type { Files } from '../files/files.js';
import type { Logger } from '../log.js';
import type { IngestHost } from './ingest-workers.js';
import type { FileRow, VectorStoreRepo } from './repo.js';
import type { Searcher } from './search.js';

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
  host: IngestHost;
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
    const { repo, files, host, searcher, logger } = this.deps;
    const { storeId, fileId, seq } = job;
    const signal = job.controller.signal;
    const row = repo.file(storeId, fileId);
    if (!row || row.seq !== seq || row.status !== 'in_progress') return;
    const file = files.get(fileId);
    const fail = (code: NonNullable<FileRow['last_error']>['code'], message: string) => {
      if (signal.aborted) return;
      repo.transaction(() => {
        if (repo.ingesting(storeId, fileId, seq)) repo.fail(storeId, fileId, seq, { code, message });
      });
    };
    if (!file) return fail('invalid_file', `The file ${fileId} no longer exists.`);

    const chunking = { maxTokens: row.chunking.max_chunk_size_tokens, overlapTokens: row.chunking.chunk_overlap_tokens };
    const outcome = await host.run({ storeId, fileId, seq, path: files.contentPath(fileId), filename: file.filename, chunking }, signal);
    if (outcome.status === 'completed') {
      searcher.invalidate(storeId);
    } else if (outcome.status === 'failed' && !signal.aborted) {
      if (!outcome.recorded) fail(outcome.code, outcome.message);
      logger.info({ file: fileId, vector_store: storeId, code: outcome.code, message: outcome.message }, 'file ingestion failed');
    }
  }
}
