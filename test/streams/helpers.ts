// Shared by the event log tests: Redis (always there in CI: no skipping), and a follower that records.
import { Redis } from 'ioredis';
import type { EventLog, LoggedEvent } from '../../src/streams/types.js';

export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

export interface Recorded {
  events: LoggedEvent[];
  ends: number;
  /** Settles at the first onEnd; rejects if there is none within the time limit. */
  ended: Promise<void>;
  unsubscribe: () => void;
}

export function record(log: EventLog, responseId: string, after: number, timeoutMs = 5_000): Recorded {
  let resolveEnded!: () => void;
  let rejectEnded!: (error: Error) => void;
  const ended = new Promise<void>((resolve, reject) => {
    resolveEnded = resolve;
    rejectEnded = reject;
  });
  const timer = setTimeout(() => rejectEnded(new Error(`no onEnd for ${responseId} within ${timeoutMs} ms`)), timeoutMs);
  const recorded: Recorded = {
    events: [],
    ends: 0,
    ended,
    unsubscribe: () => {
      clearTimeout(timer);
      unsubscribe();
    },
  };
  const unsubscribe = log.follow(responseId, after, {
    onEvent: (event) => recorded.events.push(event),
    onEnd: () => {
      recorded.ends++;
      clearTimeout(timer);
      resolveEnded();
    },
  });
  return recorded;
}

/** Polls `condition` until it holds. */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Deletes every key under a test's prefix. */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { protocol: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
