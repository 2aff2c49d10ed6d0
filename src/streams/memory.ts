// The in-memory event log: one process, followers called synchronously as events are appended.
import type { EventLog, Follower, LoggedEvent } from './types.js';

interface Log {
  events: LoggedEvent[];
  followers: Set<Follower>;
  ended: boolean;
  retainMs: number;
}

export class MemoryEventLog implements EventLog {
  private readonly logs = new Map<string, Log>();

  open(responseId: string, retainMs: number): void {
    this.logs.set(responseId, { events: [], followers: new Set(), ended: false, retainMs });
  }

  append(responseId: string, event: LoggedEvent): void {
    const log = this.logs.get(responseId);
    if (!log || log.ended) throw new Error(`event log of ${responseId} is not open`);
    log.events.push(event);
    for (const follower of log.followers) follower.onEvent(event);
  }

  end(responseId: string): void {
    const log = this.logs.get(responseId);
    if (!log || log.ended) return;
    log.ended = true;
    for (const follower of log.followers) follower.onEnd();
    log.followers.clear();
    if (log.retainMs > 0) setTimeout(() => this.drop(responseId, log), log.retainMs).unref();
    else this.drop(responseId, log);
  }

  private drop(responseId: string, log: Log): void {
    this.logs.delete(responseId);
    // A log that lived long enough to be promoted to the old generation would otherwise keep
    // its young events alive (and promote them) until the next full GC.
    log.events.length = 0;
  }

  has(responseId: string): boolean {
    return this.logs.has(responseId);
  }

  follow(responseId: string, after: number, follower: Follower): () => void {
    const log = this.logs.get(responseId);
    if (!log) {
      follower.onEnd();
      return () => {};
    }
    for (let i = Math.max(0, after + 1); i < log.events.length; i++) follower.onEvent(log.events[i]);
    if (log.ended) {
      follower.onEnd();
      return () => {};
    }
    // A follower ahead of the log (after > the last seq) gets only what comes after its seq.
    const live = after >= log.events.length ? skipUntil(after, follower) : follower;
    log.followers.add(live);
    return () => log.followers.delete(live);
  }
}

function skipUntil(after: number, follower: Follower): Follower {
  return {
    onEvent: (event) => {
      if (event.seq > after) follower.onEvent(event);
    },
    onEnd: () => follower.onEnd(),
  };
}
