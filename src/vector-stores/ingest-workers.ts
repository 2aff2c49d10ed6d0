// Where ingestion runs. IngestWorkers: worker threads (ingest-worker.ts), one file at a time each,
// each with its own SQLite connection to the database file, so that extraction, chunking and
// above all the SQLite writes (FTS5 tokenizing and merging) never stall the main thread. Started
// on first use, restarted if one dies. InlineIngest: the same on the main thread, yielding to
// the event loop between transactions, for a database only this connection can see (:memory:).
//
// Write turns: SQLite lets one connection write at a time, and a main-thread transaction that
// finds a worker writing waits for it (busy_timeout) with the event loop blocked. So the workers
// write only in turns that the main thread grants, one at a time, from its event loop (never
// while it is itself inside a transaction), the next one only on the loop's following check
// phase: requests that arrived meanwhile are served first. A turn is one transaction of a few
// milliseconds (ingest-job.ts). And before each transaction of its own the main thread calls
// stepAside (sqlite.ts's beforeTransactions): a turn granted but not begun is taken back; a
// worker that is writing sees the main thread waiting, commits after its current chunk, and
// wakes it (Atomics) the moment its transaction ends, rather than when SQLite's busy handler
// next polls (1, 3, 8, 18 ms…). Writes outside a transaction still wait the SQLite way. One
// limit: an FTS5 merge step cannot stop inside one term's list of chunks, and merging the lists
// of words found in nearly every chunk takes 100 ms or more in a large index; a main-thread
// write that comes then waits for it. Reads never wait (WAL).
import { Worker } from 'node:worker_threads';
import { setImmediate as nextTick } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { EmbeddingsConfig } from '../config.js';
import { Embeddings } from './embeddings.js';
import { IndexWriter, type IngestJob, type IngestOutcome } from './ingest-job.js';
import type { FromWorker, IngestWorkerData, ToWorker } from './ingest-worker.js';
import { Turn, type TurnState } from './turn.js';
import type { VectorStoreRepo } from './repo.js';

export interface IngestHost {
  /** Ingests one file; resolves when it is written (or failed, or gone). Never rejects. */
  run(job: IngestJob, signal: AbortSignal): Promise<IngestOutcome>;
  /** The main thread is about to write: no worker writes until it yields to the event loop. */
  stepAside(): void;
  close(): Promise<void>;
  /** Whether chunks are written off the main thread. */
  readonly threaded: boolean;
}

interface Pending {
  resolve(outcome: IngestOutcome): void;
}

interface Slot {
  worker: Worker | null;
  pending: Map<number, Pending>;
  exited: Promise<void> | null;
}

const lost = (message: string): IngestOutcome => ({ status: 'failed', code: 'server_error', message, recorded: false });

export class IngestWorkers implements IngestHost {
  readonly threaded = true;
  private readonly slots: Slot[];
  private nextId = 0;
  private closed = false;
  // Write turns: who holds the one turn, who waits for it.
  private holder: Worker | null = null;
  private readonly waiting: Worker[] = [];
  private granting = false;
  private readonly state: TurnState = Turn.shared();
  /** Turns granted so far, and how many of them workers used to write (tests read them). */
  turnsGranted = 0;
  turnsWritten = 0;

  constructor(
    private readonly filename: string,
    private readonly embeddings: EmbeddingsConfig | null,
    size = 2,
  ) {
    this.slots = Array.from({ length: size }, () => ({ worker: null, pending: new Map(), exited: null }));
  }

  run(job: IngestJob, signal: AbortSignal): Promise<IngestOutcome> {
    if (this.closed) return Promise.resolve({ status: 'gone' });
    // The least busy worker (the queue in ingest.ts runs as many files at a time as there are workers).
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const worker = slot.worker ?? this.start(slot);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const onAbort = () => worker.postMessage({ type: 'cancel', id } satisfies ToWorker);
      signal.addEventListener('abort', onAbort, { once: true });
      slot.pending.set(id, {
        resolve: (outcome) => {
          signal.removeEventListener('abort', onAbort);
          resolve(outcome);
        },
      });
      worker.ref();
      worker.postMessage({ type: 'job', id, job } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const exits: Promise<void>[] = [];
    for (const slot of this.slots) {
      const worker = slot.worker;
      if (!worker) continue;
      worker.ref();
      worker.postMessage({ type: 'close' } satisfies ToWorker);
      // A worker stuck in a long transaction is not waited for forever.
      const timer = setTimeout(() => void worker.terminate(), 10_000);
      exits.push(slot.exited!.finally(() => clearTimeout(timer)));
      this.settle(slot, 'The server is shutting down.');
    }
    this.waiting.length = 0;
    await Promise.all(exits);
  }

  private start(slot: Slot): Worker {
    // Under tsx (tests, `npm run dev`) the worker is TypeScript and needs tsx's loader, which a
    // worker thread does not inherit on Node 20; the built server runs the compiled .js file.
    const typescript = import.meta.url.endsWith('.ts');
    const url = new URL(typescript ? './ingest-worker.ts' : './ingest-worker.js', import.meta.url);
    const workerData: IngestWorkerData = { filename: this.filename, embeddings: this.embeddings, turn: this.state };
    const worker = typescript
      ? new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`, { eval: true, workerData })
      : new Worker(url, { workerData });
    slot.worker = worker;
    slot.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'turn') this.request(worker);
      else if (message.type === 'turn-done') this.release(worker);
      else {
        slot.pending.get(message.id)?.resolve(message.outcome);
        slot.pending.delete(message.id);
        if (slot.pending.size === 0) worker.unref();
      }
    });
    const died = (why: string) => {
      if (slot.worker === worker) slot.worker = null;
      this.forget(worker);
      this.settle(slot, why);
    };
    worker.on('error', (error) => died(`The ingestion worker failed: ${error.message}`));
    worker.on('exit', (code) => died(`The ingestion worker exited (code ${code}).`));
    worker.unref();
    return worker;
  }

  private settle(slot: Slot, why: string): void {
    for (const p of slot.pending.values()) p.resolve(this.closed ? { status: 'gone' } : lost(why));
    slot.pending.clear();
  }

  stepAside(): void {
    Turn.stepAside(this.state);
  }

  private request(worker: Worker): void {
    if (this.closed) return;
    // From the holder: its turn was taken back before it began (stepAside).
    if (this.holder === worker) this.holder = null;
    this.waiting.push(worker);
    this.grantLater();
  }

  private release(worker: Worker): void {
    if (this.holder !== worker) return;
    this.holder = null;
    this.turnsWritten++;
    this.grantLater();
  }

  private forget(worker: Worker): void {
    const at = this.waiting.indexOf(worker);
    if (at >= 0) this.waiting.splice(at, 1);
    if (this.holder === worker) {
      this.holder = null;
      Turn.reset(this.state); // a worker that died writing: its transaction is rolled back
      this.grantLater();
    }
  }

  /** The next turn on the event loop's next check phase: what arrived meanwhile goes first. */
  private grantLater(): void {
    if (this.granting) return;
    this.granting = true;
    setImmediate(() => {
      this.granting = false;
      this.grant();
    });
  }

  private grant(): void {
    if (this.holder || this.granting || this.waiting.length === 0) return;
    this.holder = this.waiting.shift()!;
    this.turnsGranted++;
    Turn.grant(this.state);
    this.holder.postMessage({ type: 'turn' } satisfies ToWorker);
  }
}

/** Ingestion on the main thread: the same steps, a yield to the event loop before each transaction. */
export class InlineIngest implements IngestHost {
  readonly threaded = false;
  private readonly writer: IndexWriter;
  private readonly embeddings: Embeddings | null;

  constructor(repo: VectorStoreRepo, embeddings: EmbeddingsConfig | null) {
    this.writer = new IndexWriter(repo, { acquire: () => nextTick(), release: () => {} });
    this.embeddings = embeddings ? new Embeddings(embeddings) : null;
  }

  run(job: IngestJob, signal: AbortSignal): Promise<IngestOutcome> {
    return this.writer.ingest(job, this.embeddings, signal);
  }

  stepAside(): void {}

  async close(): Promise<void> {}
}

/** Workers for a database file, the main thread for an in-memory one (or when asked: `inline`). */
export function ingestHost(db: Database.Database, repo: VectorStoreRepo, embeddings: EmbeddingsConfig | null, inline = false): IngestHost {
  return inline || db.memory ? new InlineIngest(repo, embeddings) : new IngestWorkers(db.name, embeddings);
}
