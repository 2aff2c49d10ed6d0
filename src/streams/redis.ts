// The Redis event log (REDIS_URL): several Parley instances share every response's event log.
//
// The instance that runs a response keeps its log in memory, as the in-memory log does, and its
// own followers are served from there synchronously: nothing is added to the hot path but an
// append to a string. Every `flushMs` (1 ms; never more than once per tick) that batch, all
// responses together, leaves as one command (a Lua script doing the XADDs, never awaited;
// redis-append.ts), mirroring each response's events to a Redis stream (layout:
// redis-entries.ts) that ends with an end marker and expires after the retention.
//
// A follower of a response this instance does not hold reads the stream: one loop per instance
// multiplexes every such follower over a single blocking XREAD on its own connection, delivers
// in order, never twice, never across a gap, and ends at the end marker (or when the stream is
// gone). Cancel requests travel on a pub/sub channel (redis-cancel.ts).
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { redactUrl } from '../net/redact-url.js';
import { applyEvent, type AccumulatorState } from '../protocol/accumulate.js';
import type { ResponseObject, ResponseStreamEvent } from '../protocol/types.js';
import { MemoryEventLog } from './memory.js';
import { AppendBatch, defineAppend, type AppendingRedis } from './redis-append.js';
import { quit, RedisCancelBus } from './redis-cancel.js';
import {
  cursorAfter,
  endEntryId,
  eventEntryId,
  eventsKey,
  frameData,
  parseEntry,
  type StreamEntry,
} from './redis-entries.js';
import type { EventLog, Follower, LoggedEvent } from './types.js';

export interface RedisEventLogOptions {
  /** `redis://[:password@]host:port[/db]` (or `rediss://`). */
  url: string;
  /** Prefix of every key and channel, e.g. `parley:` → `parley:events:{id}`. */
  prefix?: string;
  /** A running response's stream lives this long without a refresh; the producer refreshes it, so only a dead producer's streams expire. */
  liveTtlMs?: number;
  /** How long an ended log kept for 0 ms stays in Redis anyway, for followers on other instances still reading its tail. */
  endGraceMs?: number;
  /** XREAD BLOCK timeout; also how often followed streams are checked for having expired. */
  blockMs?: number;
  /** Entries read per stream per XREAD. */
  readCount?: number;
  /** After the log of a response being cancelled ended, how long to wait for the running instance's answer. */
  cancelAckGraceMs?: number;
  /** A cancel request gives up (and the caller reads the store) after this long. */
  cancelTimeoutMs?: number;
  /**
   * Events are mirrored in one command per this many ms (0: one per event-loop tick). Only
   * followers on other instances wait for it; those on the producing instance never do.
   */
  flushMs?: number;
  /** Where errors go (Redis unreachable, a failed write); default: ignored. */
  onError?: (error: unknown, message: string) => void;
}

const DEFAULTS = {
  prefix: 'parley:',
  flushMs: 1,
  liveTtlMs: 60_000,
  endGraceMs: 10_000,
  blockMs: 2_000,
  readCount: 1_000,
  cancelAckGraceMs: 2_000,
  cancelTimeoutMs: 60_000,
};

/** A response produced here, mirrored to its stream. */
interface Mirror {
  key: string;
  retainMs: number;
  lastSeq: number;
  written: boolean;
}

/** A follower of a stream that another instance produces. */
interface Tail {
  follower: Follower;
  /** The last seq delivered (or `after`). */
  delivered: number;
  /** Added after the XREAD in flight was sent: that read's entries are not for it. */
  fresh: boolean;
  closed: boolean;
}

interface Watched {
  key: string;
  tails: Set<Tail>;
  /** Whether it was looked at (exists? ended before the tails' positions?) since a tail joined. */
  checked: boolean;
}

export class RedisEventLog implements EventLog {
  readonly prefix: string;
  /** Cancel requests between instances, on the same Redis. */
  readonly cancels: RedisCancelBus;

  private readonly options: Required<Omit<RedisEventLogOptions, 'onError' | 'url'>>;
  private readonly onError: (error: unknown, message: string) => void;
  private readonly local = new MemoryEventLog();
  /** Writes: the batched XADDs, has(), publishing. */
  private readonly cmd: AppendingRedis;
  /** The blocking XREAD loop, alone on its connection. */
  private readonly reader: Redis;

  private readonly mirrors = new Map<string, Mirror>();
  private batch = new AppendBatch();
  private scheduled: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private readonly inflight = new Set<Promise<void>>();
  /** Logs kept for 0 ms that ended here, until their end marker is sent: has() is false at once, as in memory. */
  private readonly endedUnsent = new Set<string>();
  private readonly heartbeat: NodeJS.Timeout;

  private readonly watched = new Map<string, Watched>();
  /** The loop's own stream: an XADD to it ends the XREAD in flight, so that it picks up new tails. */
  private readonly wakeKey: string;
  private wakeCursor = '0-0';
  private reading = false;
  private woken = false;
  private idle: (() => void) | null = null;
  private lastCheck = 0;
  private readonly loop: Promise<void>;
  private closed = false;

  constructor(options: RedisEventLogOptions) {
    const { url, onError, ...rest } = options;
    this.options = { ...DEFAULTS, ...withoutUndefined(rest) };
    this.prefix = this.options.prefix;
    this.onError = onError ?? (() => {});
    const connection = (name: string) => {
      // RESP2: XREAD's reply keeps its [[key, entries], …] shape.
      const redis = new Redis(url, { protocol: 2, connectionName: `parley-${name}` });
      redis.on('error', (error) => this.onError(error, `Redis connection (${name})`));
      return redis;
    };
    this.cmd = defineAppend(connection('events'));
    this.reader = connection('follow');
    this.wakeKey = `${this.prefix}wake:${randomUUID()}`;
    this.cancels = new RedisCancelBus(this, connection('cancel'), this.options, this.onError);
    this.heartbeat = setInterval(() => this.refreshRunning(), Math.max(10, this.options.liveTtlMs / 3));
    this.heartbeat.unref();
    this.loop = this.read();
  }

  /** Creates the log and waits until Redis answers (a wrong REDIS_URL fails at start-up). */
  static async connect(options: RedisEventLogOptions, timeoutMs = 5_000): Promise<RedisEventLog> {
    const log = new RedisEventLog(options);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all([log.cmd.ping(), log.cancels.ready]),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return log;
    } catch (error) {
      await log.close();
      throw new Error(`REDIS_URL: cannot reach Redis at ${redactUrl(options.url)}: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Producing: the local log, mirrored in one command per flush.

  open(responseId: string, retainMs: number): void {
    this.local.open(responseId, retainMs);
    this.mirrors.set(responseId, { key: eventsKey(this.prefix, responseId), retainMs, lastSeq: -1, written: false });
  }

  append(responseId: string, event: LoggedEvent): void {
    this.local.append(responseId, event);
    const mirror = this.mirrors.get(responseId);
    if (!mirror) return;
    mirror.lastSeq = event.seq;
    if (this.closed) return;
    this.batch.event(mirror.key, eventEntryId(event.seq), event.type, event.frame, mirror.written ? 0 : this.options.liveTtlMs);
    mirror.written = true;
    this.scheduled ??= this.schedule();
  }

  end(responseId: string): void {
    this.local.end(responseId);
    const mirror = this.mirrors.get(responseId);
    if (!mirror) return;
    this.mirrors.delete(responseId);
    const expireMs = mirror.retainMs > 0 ? mirror.retainMs : this.options.endGraceMs;
    if (this.closed) return;
    if (mirror.retainMs <= 0) this.endedUnsent.add(responseId);
    this.batch.end(mirror.key, endEntryId(mirror.lastSeq), mirror.retainMs, expireMs);
    this.scheduled ??= this.schedule();
  }

  /** Every batch is sent in order on one connection: once the latest has landed, so has all before it. */
  async published(_responseId?: string): Promise<void> {
    await this.flush();
    await Promise.all(this.inflight);
  }

  private readonly flushSoon = () => void this.flush();

  private schedule(): NodeJS.Timeout | NodeJS.Immediate {
    return this.options.flushMs > 0 ? setTimeout(this.flushSoon, this.options.flushMs) : setImmediate(this.flushSoon);
  }

  /** Sends the batch as one command. Never awaited on the hot path. */
  private flush(): Promise<void> {
    if (this.scheduled) {
      clearTimeout(this.scheduled as NodeJS.Timeout);
      clearImmediate(this.scheduled as NodeJS.Immediate);
    }
    this.scheduled = null;
    if (this.batch.empty) return Promise.resolve();
    const batch = this.batch;
    this.batch = new AppendBatch();
    // Commands on this connection run in order: a has() sent after this batch sees its end markers.
    this.endedUnsent.clear();
    const sent = batch.send(this.cmd).then(
      ([failed, first]) => {
        if (failed > 0) this.onError(new Error(first), `mirroring events to Redis: ${failed} entries failed`);
      },
      (error) => this.onError(error, 'mirroring events to Redis failed'),
    );
    this.inflight.add(sent);
    void sent.then(() => this.inflight.delete(sent));
    return sent;
  }

  /** Keeps the streams of running responses alive (a dead producer's expire after liveTtlMs). */
  private refreshRunning(): void {
    if (this.closed || this.mirrors.size === 0) return;
    const pipeline = this.cmd.pipeline();
    for (const mirror of this.mirrors.values()) if (mirror.written) pipeline.pexpire(mirror.key, this.options.liveTtlMs);
    pipeline.exec().catch((error) => this.onError(error, 'refreshing event log expiry failed'));
  }

  // ---------------------------------------------------------------------------------------------
  // Following.

  has(responseId: string): boolean | Promise<boolean> {
    if (this.local.has(responseId)) return true;
    if (this.endedUnsent.has(responseId)) return false;
    return this.lastEntries(responseId, 1).then((entries) => {
      if (entries.length === 0) return false;
      const last = parseEntry(entries[0]);
      // A log kept for 0 ms is gone once it ended, as in memory (its stream lingers for endGraceMs).
      return !(last.kind === 'end' && last.retainMs <= 0);
    });
  }

  async snapshot(responseId: string): Promise<ResponseObject | null> {
    const entries = (await this.cmd.xrange(eventsKey(this.prefix, responseId), '-', '+')) as StreamEntry[];
    let state: AccumulatorState | null = null;
    for (const entry of entries) {
      const parsed = parseEntry(entry);
      if (parsed.kind === 'event') state = applyEvent(state, frameData(parsed.event.frame) as ResponseStreamEvent);
    }
    return state?.response ?? null;
  }

  follow(responseId: string, after: number, follower: Follower): () => void {
    if (this.local.has(responseId)) return this.local.follow(responseId, after, follower);
    if (this.closed) {
      follower.onEnd();
      return () => {};
    }
    const key = eventsKey(this.prefix, responseId);
    let watched = this.watched.get(key);
    if (!watched) this.watched.set(key, (watched = { key, tails: new Set(), checked: false }));
    const tail: Tail = { follower, delivered: Math.max(after, -1), fresh: true, closed: false };
    watched.tails.add(tail);
    watched.checked = false;
    this.wake();
    const w = watched;
    return () => this.drop(w, tail, false);
  }

  /** The newest `count` entries of a response's stream, newest first. */
  lastEntries(responseId: string, count: number): Promise<StreamEntry[]> {
    return this.cmd.xrevrange(eventsKey(this.prefix, responseId), '+', '-', 'COUNT', count) as Promise<StreamEntry[]>;
  }

  publish(channel: string, message: string): Promise<unknown> {
    return this.cmd.publish(channel, message);
  }

  private drop(watched: Watched, tail: Tail, end: boolean): void {
    if (tail.closed) return;
    tail.closed = true;
    watched.tails.delete(tail);
    if (watched.tails.size === 0 && this.watched.get(watched.key) === watched) this.watched.delete(watched.key);
    if (end) this.call(() => tail.follower.onEnd());
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.onError(error, 'an event log follower threw');
    }
  }

  /** Ends the XREAD in flight (or the idle wait) so that the loop reads for the new tails too. */
  private wake(): void {
    if (this.idle) {
      this.idle();
      this.idle = null;
      return;
    }
    if (!this.reading || this.woken) return;
    this.woken = true;
    this.cmd
      .pipeline()
      .xadd(this.wakeKey, 'MAXLEN', '1', '*', 'w', '1')
      .pexpire(this.wakeKey, 60_000)
      .exec()
      .catch((error) => this.onError(error, 'waking the event log reader failed'));
  }

  private async read(): Promise<void> {
    while (!this.closed) {
      if (this.watched.size === 0) {
        await new Promise<void>((resolve) => (this.idle = resolve));
        continue;
      }
      try {
        await this.check();
        if (this.watched.size === 0 || this.closed) continue;
        const keys = [this.wakeKey];
        const ids = [this.wakeCursor];
        for (const watched of this.watched.values()) {
          let min = Number.POSITIVE_INFINITY;
          for (const tail of watched.tails) {
            tail.fresh = false;
            if (tail.delivered < min) min = tail.delivered;
          }
          keys.push(watched.key);
          ids.push(cursorAfter(min));
        }
        this.reading = true;
        this.woken = false;
        const reply = (await this.reader.call(
          'XREAD', 'COUNT', this.options.readCount, 'BLOCK', this.options.blockMs, 'STREAMS', ...keys, ...ids,
        )) as [string, StreamEntry[]][] | null;
        this.reading = false;
        if (reply) this.deliver(reply);
      } catch (error) {
        this.reading = false;
        if (this.closed) break;
        this.onError(error, 'reading event logs from Redis failed');
        await sleep(500);
      }
    }
  }

  /**
   * Looks at the streams new tails follow (and at all of them every blockMs): a missing stream
   * (expired, or its producer died) ends its tails, as does an end marker they are already past.
   */
  private async check(): Promise<void> {
    const now = Date.now();
    const all = now - this.lastCheck >= this.options.blockMs;
    if (all) this.lastCheck = now;
    const targets = [...this.watched.values()].filter((watched) => all || !watched.checked);
    if (targets.length === 0) return;
    const pipeline = this.reader.pipeline();
    for (const watched of targets) {
      watched.checked = true;
      pipeline.xrevrange(watched.key, '+', '-', 'COUNT', 1);
    }
    const results = (await pipeline.exec()) ?? [];
    targets.forEach((watched, i) => {
      const [error, entries] = results[i] ?? [new Error('no reply')];
      if (error) throw error;
      const last = (entries as StreamEntry[])[0];
      const parsed = last ? parseEntry(last) : null;
      for (const tail of watched.tails) {
        if (!parsed || (parsed.kind === 'end' && tail.delivered >= parsed.lastSeq)) this.drop(watched, tail, true);
      }
    });
  }

  private deliver(reply: [string, StreamEntry[]][]): void {
    for (const [key, entries] of reply) {
      if (key === this.wakeKey) {
        if (entries.length) this.wakeCursor = entries[entries.length - 1][0];
        continue;
      }
      const watched = this.watched.get(key);
      if (!watched) continue;
      for (const entry of entries) {
        const parsed = parseEntry(entry);
        if (parsed.kind === 'end') {
          for (const tail of watched.tails) if (!tail.fresh) this.drop(watched, tail, true);
          break;
        }
        const { event } = parsed;
        for (const tail of watched.tails) {
          if (tail.fresh || event.seq <= tail.delivered) continue;
          // Never across a gap: events were lost (a write failed, or the stream expired and came back).
          if (event.seq !== tail.delivered + 1) {
            this.drop(watched, tail, true);
            continue;
          }
          tail.delivered = event.seq;
          this.call(() => tail.follower.onEvent(event));
        }
      }
    }
  }

  /** Flushes pending writes, ends remote followers and quits the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.heartbeat);
    this.closed = true;
    await this.flush();
    await Promise.allSettled([...this.inflight]);
    for (const watched of [...this.watched.values()]) for (const tail of [...watched.tails]) this.drop(watched, tail, true);
    this.idle?.();
    this.reader.disconnect();
    await this.loop;
    await this.cancels.close();
    await quit(this.cmd);
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
