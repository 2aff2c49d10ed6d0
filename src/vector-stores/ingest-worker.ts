// An ingestion worker thread (see ingest-workers.ts): its own connection to the database file,
// one file at a time, write turns asked of the main thread.
//
// Messages in:  { type: 'job', id, job } | { type: 'cancel', id } | { type: 'turn' } | { type: 'close' }
// Messages out: { type: 'result', id, outcome } | { type: 'turn' } (asking) | { type: 'turn-done' }
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { EmbeddingsConfig } from '../config.js';
import { Embeddings } from './embeddings.js';
import { IndexWriter, type IngestJob, type IngestOutcome, type WriteTurns } from './ingest-job.js';
import { VectorStoreRepo } from './repo.js';
import { Turn, type TurnState } from './turn.js';

export interface IngestWorkerData {
  filename: string;
  embeddings: EmbeddingsConfig | null;
  turn: TurnState;
}

export type ToWorker = { type: 'job'; id: number; job: IngestJob } | { type: 'cancel'; id: number } | { type: 'turn' } | { type: 'close' };
export type FromWorker = { type: 'result'; id: number; outcome: IngestOutcome } | { type: 'turn' } | { type: 'turn-done' };

const port = parentPort!;
const data = workerData as IngestWorkerData;
const send = (message: FromWorker) => port.postMessage(message);

const db = new Database(data.filename);
db.pragma('busy_timeout = 30000');
db.pragma('synchronous = NORMAL');
// The server's checkpointer thread copies the WAL back, and the writer at the start of a turn
// now and then (ingest-job.ts): this connection does not checkpoint on commit. (No
// journal_size_limit: truncating the WAL as it starts over costs tens of milliseconds inside a
// write transaction, which the main thread might be waiting for.)
db.pragma('wal_autocheckpoint = 0');

class ClosedError extends Error {}
let closing = false;
let granted: { resolve: () => void; reject: (error: Error) => void } | null = null;

const turns: WriteTurns = {
  async acquire() {
    for (;;) {
      if (closing) throw new ClosedError('closing');
      await new Promise<void>((resolve, reject) => {
        granted = { resolve, reject };
        send({ type: 'turn' });
      });
      if (Turn.begin(data.turn)) return; // else the main thread took it back: ask again
    }
  },
  release() {
    Turn.end(data.turn);
    send({ type: 'turn-done' });
  },
  wanted: () => Turn.wanted(data.turn),
  quiet: (on) => (on ? Turn.end(data.turn) : Turn.resume(data.turn)),
};

const writer = new IndexWriter(new VectorStoreRepo(db), turns, true);
const embeddings = data.embeddings ? new Embeddings(data.embeddings) : null;
const running = new Map<number, { controller: AbortController; done: Promise<void> }>();

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'job': {
      const controller = new AbortController();
      const done = writer
        .ingest(message.job, embeddings, controller.signal)
        .catch((error): IngestOutcome => ({ status: 'failed', code: 'server_error', message: (error as Error).message, recorded: false }))
        .then((outcome) => {
          running.delete(message.id);
          if (!closing) send({ type: 'result', id: message.id, outcome });
        });
      running.set(message.id, { controller, done });
      break;
    }
    case 'cancel':
      running.get(message.id)?.controller.abort();
      break;
    case 'turn': {
      const turn = granted;
      granted = null;
      turn?.resolve();
      break;
    }
    case 'close':
      void close();
      break;
  }
});

async function close(): Promise<void> {
  closing = true;
  for (const job of running.values()) job.controller.abort();
  granted?.reject(new ClosedError('closing'));
  granted = null;
  await Promise.all([...running.values()].map((job) => job.done));
  db.close();
  port.close();
}
