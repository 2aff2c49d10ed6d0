// One file's ingestion from start to end, as an ingestion worker runs it on its own SQLite
// connection (ingest-worker.ts), or the main thread for a database that only it can open
// (in-memory): read the file, extract its text and cut it into chunks (work.ts), embed the
// chunks when an embeddings upstream is configured, then write them and their FTS5 index.
//
// Writing holds SQLite's write lock, which the main thread also needs (responses, files, vector
// store changes): a writer takes one *turn* at a time (WriteTurns: the main thread grants them
// one by one from its event loop, see ingest-workers.ts), and a turn is one short transaction —
// chunks for about SLICE_MS, or FTS5 merge steps of MERGE_PAGES pages for as long — that ends
// early when the main thread is waiting for it. FTS5's automerge is off (it would merge inside
// whichever insert happens to cross its threshold, for as long as that takes): the writer runs
// the same merges itself (FTS5's 'merge' command, which resumes where it stopped) after each
// slice. And once a second a turn begins by having the WAL copied back (checkpoint), so that it
// can start over rather than grow for as long as ingestion lasts.
//
// Cancelling (the file detached or deleted, its store deleted, its batch cancelled, a newer
// attachment) needs no message: every transaction first checks, under the write lock, that its
// attachment (same seq) is still in progress, and writes nothing otherwise.
import type Database from 'better-sqlite3';
import type { ChunkingOptions } from './chunking.js';
import type { Embeddings } from './embeddings.js';
import type { FileRow, VectorStoreRepo } from './repo.js';

/** How long one writing transaction runs (then it commits: the main thread may want the lock). */
export const SLICE_MS = 3;
/** FTS5 pages (4 KB each) one merge step writes: a millisecond or so, the unit of a merge turn. */
export const MERGE_PAGES = 16;

export interface IngestJob {
  storeId: string;
  fileId: string;
  /** The attachment being ingested: a re-attached file is a new row with a new seq. */
  seq: number;
  /** The stored file, read unless its text was extracted before (the same file in another store). */
  path: string;
  filename: string;
  chunking: ChunkingOptions;
}

export type FailureCode = NonNullable<FileRow['last_error']>['code'];

export type IngestOutcome =
  | { status: 'completed'; chunks: number }
  /** Cancelled, replaced or deleted meanwhile: nothing was written. */
  | { status: 'gone' }
  /** `recorded`: the file is marked failed already (else the caller does it). */
  | { status: 'failed'; code: FailureCode; message: string; recorded: boolean };

/** Permission to write: one short transaction per turn. */
export interface WriteTurns {
  acquire(): Promise<void>;
  release(): void;
  /** Whether the main thread waits for this turn to end (the transaction commits early). */
  wanted?(): boolean;
  /** Within a turn: from now on without the write lock (the main thread need not wait), or with it again. */
  quiet?(on: boolean): void;
}

/** How often a writer has the WAL copied back into the database (see checkpoint). */
export const CHECKPOINT_EVERY_MS = 1000;

type SliceState = 'gone' | 'more' | 'completed';

export class IndexWriter {
  private readonly totalChanges: Database.Statement<[], number>;
  private readonly mergeStep: Database.Statement<[number]>;
  private readonly automerge: Database.Statement<[], string | number>;
  private readonly setAutomerge: Database.Statement<[]>;
  private automergeOff = false;
  private checkpointed = performance.now();

  constructor(
    readonly repo: VectorStoreRepo,
    private readonly turns: WriteTurns,
    /** Whether this connection is one of several writing a WAL database (see checkpoint). */
    private readonly wal = false,
    private readonly sliceMs = SLICE_MS,
    private readonly mergePages = MERGE_PAGES,
  ) {
    const db = repo.db;
    this.totalChanges = db.prepare<[], number>(`SELECT total_changes()`).pluck();
    this.mergeStep = db.prepare<[number]>(`INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('merge', ?)`);
    this.automerge = db.prepare<[], string | number>(`SELECT v FROM chunks_fts_config WHERE k = 'automerge'`).pluck();
    this.setAutomerge = db.prepare<[]>(`INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('automerge', 0)`);
  }

  async ingest(job: IngestJob, embeddings: Embeddings | null, signal: AbortSignal): Promise<IngestOutcome> {
    const { repo } = this;
    const { storeId, fileId, seq, filename, chunking } = job;
    try {
      const known = repo.fileText(fileId);
      // Loaded on first use: the main thread holds an IndexWriter but leaves ingestion to workers.
      const { extractAndChunk } = await import('./work.js');
      const result = await extractAndChunk(known === null ? { path: job.path, filename, chunking } : { text: known, filename, chunking });
      if (signal.aborted) return { status: 'gone' };
      if (!result.ok) return await this.failed(job, result.code, result.message);

      let vectors: Float32Array[] | null = null;
      if (embeddings) {
        try {
          vectors = await embeddings.embed(result.chunks, signal);
        } catch (error) {
          if (signal.aborted) return { status: 'gone' };
          return await this.failed(job, 'server_error', (error as Error).message);
        }
        if (signal.aborted) return { status: 'gone' };
      }

      await this.disableAutomerge();
      const chunks = result.chunks;
      let next = 0;
      for (let first = true; ; first = false) {
        if (signal.aborted) return { status: 'gone' };
        const state = await this.write((): SliceState => {
          if (!repo.ingesting(storeId, fileId, seq)) return 'gone';
          const started = performance.now();
          if (first) {
            repo.deleteChunks(storeId, fileId); // a partial ingestion cut short by a restart
            if (known === null) repo.setFileText(fileId, result.text);
          }
          for (let inserted = 0; next < chunks.length; inserted++) {
            if (inserted > 0 && (performance.now() - started >= this.sliceMs || this.turns.wanted?.())) break;
            repo.insertChunks(storeId, fileId, [{ position: next, text: chunks[next], embedding: vectors?.[next] ?? null }]);
            next++;
          }
          if (next < chunks.length) return 'more';
          repo.complete(storeId, fileId, seq);
          return 'completed';
        });
        if (state === 'gone') return { status: 'gone' };
        await this.merge().catch(() => {}); // upkeep: if it fails, FTS5's crisis merges take over
        if (state === 'completed') return { status: 'completed', chunks: chunks.length };
      }
    } catch (error) {
      if (signal.aborted) return { status: 'gone' };
      const message = `Ingesting ${filename} failed: ${(error as Error).message}`;
      try {
        return await this.failed(job, 'server_error', message);
      } catch {
        return { status: 'failed', code: 'server_error', message, recorded: false };
      }
    }
  }

  /**
   * FTS5 merge steps until no level of the index has segments to merge: in each turn, steps of
   * `mergePages` pages for up to the same time as a slice of chunks.
   */
  async merge(): Promise<void> {
    for (let more = true; more; ) {
      more = await this.write(() => {
        const started = performance.now();
        for (;;) {
          const before = this.totalChanges.get()!;
          this.mergeStep.run(this.mergePages);
          if (this.totalChanges.get()! - before < 2) return false; // FTS5's sign that nothing was left to merge
          if (performance.now() - started >= this.sliceMs || this.turns.wanted?.()) return true;
        }
      });
    }
  }

  /**
   * The WAL starts over only when a write begins after a checkpoint that copied all of it back:
   * with writers taking turns back to back, never — it would grow by gigabytes during a large
   * ingestion (and every page that search reads would cost more). So every CHECKPOINT_EVERY_MS,
   * a write turn starts without the write lock (the main thread need not wait): the WAL is copied
   * back (PASSIVE: waiting for no one), what was appended meanwhile too, and then the turn's own
   * transaction starts the WAL over.
   */
  private checkpoint(): void {
    if (!this.wal || performance.now() - this.checkpointed < CHECKPOINT_EVERY_MS || !this.turns.quiet) return;
    this.turns.quiet(true);
    try {
      const [result] = this.repo.db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number }>;
      if (result?.busy === 0) this.repo.db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // The server's checkpointer copies it back in any case.
    } finally {
      this.checkpointed = performance.now();
      this.turns.quiet(false);
    }
  }

  /** Automerge off, once: this writer merges itself (a setting stored in the index). */
  private async disableAutomerge(): Promise<void> {
    if (this.automergeOff) return;
    await this.write(() => {
      if (Number(this.automerge.get() ?? 4) !== 0) this.setAutomerge.run();
    });
    this.automergeOff = true;
  }

  private async failed(job: IngestJob, code: FailureCode, message: string): Promise<IngestOutcome> {
    const recorded = await this.write(() => {
      if (!this.repo.ingesting(job.storeId, job.fileId, job.seq)) return false;
      this.repo.fail(job.storeId, job.fileId, job.seq, { code, message });
      return true;
    });
    return recorded ? { status: 'failed', code, message, recorded } : { status: 'gone' };
  }

  /** One transaction in one turn. */
  private async write<T>(fn: () => T): Promise<T> {
    await this.turns.acquire();
    try {
      this.checkpoint();
      return this.repo.transaction(fn);
    } finally {
      this.turns.release();
    }
  }
}
