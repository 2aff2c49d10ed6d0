// Cancel from anywhere (REDIS_URL): see RedisCancelBus.
import type { Redis } from 'ioredis';
import type { ResponseObject } from '../protocol/types.js';
import type { RedisEventLog } from './redis.js';
import { frameData, parseEntry } from './redis-entries.js';
import type { CancelBus } from './types.js';

const TERMINAL = new Set(['response.completed', 'response.failed', 'response.incomplete']);

/**
 * Cancel from anywhere: a request is published on `${prefix}cancel`; the instance that runs the
 * response aborts it (as a local cancel does) and, once it is stored, publishes the response on
 * `${prefix}cancelled`. The requester also follows the log, so a run that ends on its own, or an
 * instance that never answers, does not leave it waiting.
 */
export class RedisCancelBus implements CancelBus {
  readonly ready: Promise<void>;
  private readonly requests: string;
  private readonly answers: string;
  private handler: ((responseId: string) => Promise<ResponseObject | null>) | null = null;
  private readonly waiters = new Map<string, Set<(response: ResponseObject | null) => void>>();

  constructor(
    private readonly log: RedisEventLog,
    private readonly sub: Redis,
    private readonly options: { prefix: string; cancelAckGraceMs: number; cancelTimeoutMs: number },
    private readonly onError: (error: unknown, message: string) => void,
  ) {
    this.requests = `${options.prefix}cancel`;
    this.answers = `${options.prefix}cancelled`;
    sub.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    this.ready = sub.subscribe(this.requests, this.answers).then(() => {});
    this.ready.catch(() => {});
  }

  serve(handler: (responseId: string) => Promise<ResponseObject | null>): void {
    this.handler = handler;
  }

  async request(responseId: string): Promise<ResponseObject | null> {
    await this.ready;
    const [last, previous] = await this.log.lastEntries(responseId, 2);
    if (!last) return null; // no log: no instance runs it
    const parsed = parseEntry(last);
    if (parsed.kind === 'end') {
      // It ended already: the terminal event carries the final response.
      return previous ? responseOfFrame(parseEntry(previous)) : null;
    }
    return new Promise((resolve) => {
      let settled = false;
      let lastEvent: ReturnType<typeof parseEntry> | null = null;
      let grace: NodeJS.Timeout | undefined;
      let unfollow = () => {};
      const waiters = this.waiters.get(responseId) ?? new Set();
      this.waiters.set(responseId, waiters);
      const finish = (response: ResponseObject | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        clearTimeout(grace);
        unfollow();
        waiters.delete(finish);
        if (waiters.size === 0 && this.waiters.get(responseId) === waiters) this.waiters.delete(responseId);
        resolve(response);
      };
      const fromLog = () => finish(lastEvent ? responseOfFrame(lastEvent) : null);
      const timeout = setTimeout(fromLog, this.options.cancelTimeoutMs);
      waiters.add(finish);
      unfollow = this.log.follow(responseId, parsed.event.seq, {
        onEvent: (event) => {
          lastEvent = { kind: 'event', event };
        },
        onEnd: () => {
          grace = setTimeout(fromLog, this.options.cancelAckGraceMs);
        },
      });
      this.log.publish(this.requests, responseId).catch((error) => {
        this.onError(error, 'publishing a cancel request failed');
        fromLog();
      });
    });
  }

  private onMessage(channel: string, message: string): void {
    if (channel === this.requests) {
      const handler = this.handler;
      if (!handler) return;
      handler(message)
        .then((response) => (response ? this.log.publish(this.answers, JSON.stringify({ id: message, response })) : undefined))
        .catch((error) => this.onError(error, 'serving a cancel request failed'));
      return;
    }
    if (channel !== this.answers) return;
    let answer: { id?: string; response?: ResponseObject };
    try {
      answer = JSON.parse(message);
    } catch {
      return;
    }
    const waiters = answer.id ? this.waiters.get(answer.id) : undefined;
    if (!waiters || !answer.response) return;
    for (const finish of [...waiters]) finish(answer.response);
  }

  async close(): Promise<void> {
    for (const waiters of [...this.waiters.values()]) for (const finish of [...waiters]) finish(null);
    await quit(this.sub);
  }
}

/** The response a terminal event carries. */
function responseOfFrame(entry: ReturnType<typeof parseEntry>): ResponseObject | null {
  if (entry.kind !== 'event' || !TERMINAL.has(entry.event.type)) return null;
  const data = frameData(entry.event.frame) as { response?: ResponseObject } | undefined;
  return data?.response ?? null;
}

/** QUIT when connected (pending replies arrive first), else just drop the connection attempts. */
export async function quit(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') return redis.disconnect();
  await redis.quit().catch(() => redis.disconnect());
}
