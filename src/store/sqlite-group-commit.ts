// Group commit: the writes of one tick share one transaction, so a busy server commits (and
// appends WAL frames) once per batch rather than once per response. Each write runs in its
// own savepoint, so one failing write rolls back alone.
import type Database from 'better-sqlite3';

interface Pending {
  write: () => void;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface GroupCommit {
  run(write: () => void): Promise<void>;
  /** Resolves once every queued write is committed. */
  drain(): Promise<void>;
}

export function groupCommit(db: Database.Database): GroupCommit {
  let queue: Pending[] = [];
  let flushing: Promise<void> | null = null;

  const each = db.transaction((write: () => void) => write());
  const batch = db.transaction((pending: Pending[]) => {
    for (const p of pending) {
      try {
        each(p.write);
        p.resolve();
      } catch (error) {
        p.reject(error);
      }
    }
  });

  const flush = () => {
    const pending = queue;
    queue = [];
    flushing = null;
    try {
      batch(pending);
    } catch (error) {
      for (const p of pending) p.reject(error);
    }
  };

  return {
    run(write) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ write, resolve, reject });
        flushing ??= new Promise<void>((done) => setImmediate(() => (flush(), done())));
      });
    },
    async drain() {
      while (flushing) await flushing;
    },
  };
}
