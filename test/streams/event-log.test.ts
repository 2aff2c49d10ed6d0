// The EventLog contract, run against every implementation with the same cases: in memory, Redis
// followed on the producing instance, and Redis followed from another instance (what a
// `GET ?stream=true` on another Parley sees). Redis is required (REDIS_URL, default
// redis://127.0.0.1:6379): these tests fail rather than skip when it is not there.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { MemoryEventLog } from '../../src/streams/memory.js';
import { RedisEventLog } from '../../src/streams/redis.js';
import type { EventLog, LoggedEvent } from '../../src/streams/types.js';
import { REDIS_URL, deleteKeys, eventually, record } from './helpers.js';

/** A producer and the log a follower reads (the same object, or another instance on the same Redis). */
interface Pair {
  producer: EventLog;
  follower: EventLog;
}

const frameOf = (seq: number, size = 0) =>
  `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":${seq},"delta":"hé 🦜 \\n${'x'.repeat(size)}"}\n\n`;
const ev = (seq: number, size = 0): LoggedEvent => ({ seq, type: 'response.output_text.delta', frame: frameOf(seq, size) });
const seqs = (events: LoggedEvent[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const newId = () => `resp_${randomUUID().replaceAll('-', '')}`;

/** Appends events seq from..to, a few per tick (as a model step does). */
async function appendRange(log: EventLog, id: string, from: number, to: number, perTick = 3) {
  for (let seq = from; seq <= to; seq++) {
    log.append(id, ev(seq));
    if ((seq - from) % perTick === perTick - 1) await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Waits until the follower's side can see the log (a remote follower needs the first flush). */
async function visible(pair: Pair, id: string) {
  await eventually(async () => (await pair.follower.has(id)) === true, `${id} visible to the follower`);
}

/** A new log with its first event, visible to the follower's side, followed from the start. */
async function followedFromStart(pair: Pair) {
  const id = newId();
  pair.producer.open(id, 60_000);
  pair.producer.append(id, ev(0));
  await visible(pair, id);
  return { id, seen: record(pair.follower, id, -1) };
}

function contract(name: string, setup: () => Promise<Pair>) {
  describe(`EventLog contract: ${name}`, () => {
    let pair: Pair;
    before(async () => {
      pair = await setup();
    });

    test('delivers every event in order, then onEnd once', async () => {
      const { id, seen } = await followedFromStart(pair);
      await appendRange(pair.producer, id, 1, 49);
      pair.producer.end(id);
      pair.producer.end(id); // a second end changes nothing
      await seen.ended;
      assert.deepEqual(seqs(seen.events), range(0, 49));
      assert.deepEqual(seen.events.map((e) => e.frame), range(0, 49).map((seq) => frameOf(seq)));
      assert.ok(seen.events.every((e) => e.type === 'response.output_text.delta'));
      await sleep(50);
      assert.equal(seen.ends, 1);
    });

    test('follows from any seq after the end, within the retention', async () => {
      const id = newId();
      pair.producer.open(id, 60_000);
      await appendRange(pair.producer, id, 0, 19);
      pair.producer.end(id);
      await visible(pair, id);
      const followers = [-1, 0, 1, 5, 10, 18, 19, 25].map((after) => ({ after, seen: record(pair.follower, id, after) }));
      for (const { after, seen } of followers) {
        await seen.ended;
        assert.deepEqual(seqs(seen.events), range(after + 1, 19), `starting after ${after}`);
      }
      await sleep(30);
      assert.ok(followers.every(({ seen }) => seen.ends === 1));
    });

    test('a follower that joins mid-run gets the rest: no gap, nothing twice', async () => {
      const id = newId();
      pair.producer.open(id, 60_000);
      await appendRange(pair.producer, id, 0, 9);
      await visible(pair, id);
      const seen = record(pair.follower, id, 4);
      await appendRange(pair.producer, id, 10, 29, 4);
      pair.producer.end(id);
      await seen.ended;
      assert.deepEqual(seqs(seen.events), range(5, 29));
    });

    test('several followers at different positions, joining while it runs', async () => {
      const id = newId();
      pair.producer.open(id, 60_000);
      await appendRange(pair.producer, id, 0, 14);
      await visible(pair, id);
      const a = record(pair.follower, id, -1);
      const b = record(pair.follower, id, 7);
      await appendRange(pair.producer, id, 15, 24);
      const c = record(pair.follower, id, 20);
      const d = record(pair.follower, id, 40); // ahead of the log: only what comes after its seq
      await appendRange(pair.producer, id, 25, 59);
      pair.producer.end(id);
      await Promise.all([a.ended, b.ended, c.ended, d.ended]);
      assert.deepEqual(seqs(a.events), range(0, 59));
      assert.deepEqual(seqs(b.events), range(8, 59));
      assert.deepEqual(seqs(c.events), range(21, 59));
      assert.deepEqual(seqs(d.events), range(41, 59));
    });

    test('a burst of events in one tick arrives whole and in order', async () => {
      const { id, seen } = await followedFromStart(pair);
      for (let seq = 1; seq < 2500; seq++) pair.producer.append(id, ev(seq, 200));
      pair.producer.end(id);
      await seen.ended;
      assert.equal(seen.events.length, 2500);
      assert.deepEqual(seqs(seen.events), range(0, 2499));
      assert.equal(seen.events[1234].frame, frameOf(1234, 200));
    });

    test('unsubscribe stops delivery, and onEnd is not called', async () => {
      const { id, seen } = await followedFromStart(pair);
      await appendRange(pair.producer, id, 1, 4);
      await eventually(() => seen.events.length === 5, 'the first five events');
      seen.unsubscribe();
      await appendRange(pair.producer, id, 5, 9);
      pair.producer.end(id);
      const other = record(pair.follower, id, -1);
      await other.ended; // everything was delivered to whoever still follows
      await sleep(50);
      assert.deepEqual(seqs(seen.events), range(0, 4));
      assert.equal(seen.ends, 0);
      assert.deepEqual(seqs(other.events), range(0, 9));
    });

    test('has(): unknown, running, retained, expired', async () => {
      assert.equal(await pair.follower.has(newId()), false);
      const id = newId();
      pair.producer.open(id, 300);
      pair.producer.append(id, ev(0));
      assert.equal(await pair.producer.has(id), true);
      await visible(pair, id);
      pair.producer.append(id, ev(1));
      pair.producer.end(id);
      await sleep(20);
      assert.equal(await pair.follower.has(id), true, 'retained after its end');
      const replay = record(pair.follower, id, -1);
      await replay.ended;
      assert.deepEqual(seqs(replay.events), [0, 1]);
      await eventually(async () => (await pair.follower.has(id)) === false, 'expired after the retention', 3_000);
      assert.equal(await pair.producer.has(id), false);
      const late = record(pair.follower, id, -1);
      await late.ended;
      assert.deepEqual(late.events, []);
    });

    test('a log kept for 0 ms is gone as soon as it ends', async () => {
      const id = newId();
      pair.producer.open(id, 0);
      pair.producer.append(id, ev(0));
      await visible(pair, id);
      const seen = record(pair.follower, id, -1);
      pair.producer.append(id, ev(1));
      pair.producer.end(id);
      assert.equal(await pair.producer.has(id), false);
      await seen.ended;
      assert.deepEqual(seqs(seen.events), [0, 1]);
      assert.equal(await pair.follower.has(id), false);
    });

    test('following a log that does not exist ends at once, with no events', async () => {
      const seen = record(pair.follower, newId(), -1);
      await seen.ended;
      assert.deepEqual(seen.events, []);
      assert.equal(seen.ends, 1);
    });
  });
}

describe('EventLog', () => {
  const prefix = `parley-test:${randomUUID()}:`;
  const redisLogs: RedisEventLog[] = [];
  const redis = async (options: { flushMs?: number } = {}) => {
    const log = await RedisEventLog.connect({ url: REDIS_URL, prefix, blockMs: 500, ...options, onError: (error, message) => console.error(message, error) });
    redisLogs.push(log);
    return log;
  };

  after(async () => {
    await Promise.all(redisLogs.map((log) => log.close()));
    await deleteKeys(prefix);
  });

  contract('in memory', async () => {
    const log = new MemoryEventLog();
    return { producer: log, follower: log };
  });
  contract('Redis, followed on the producing instance', async () => {
    const log = await redis();
    return { producer: log, follower: log };
  });
  contract('Redis, followed from another instance', async () => ({ producer: await redis(), follower: await redis() }));

  describe('Redis specifics', () => {
    let a: RedisEventLog;
    let b: RedisEventLog;
    let raw: Redis;
    before(async () => {
      a = await redis();
      b = await redis();
      raw = new Redis(REDIS_URL, { protocol: 2 });
    });
    after(() => raw.quit());

    test('published(): once it resolves, another instance sees the log, however late the next flush', async () => {
      const slow = await redis({ flushMs: 60_000 });
      const id = newId();
      slow.open(id, 120_000);
      slow.append(id, ev(0));
      assert.equal(await b.has(id), false, 'not flushed yet');
      await slow.published(id);
      assert.equal(await b.has(id), true);
      slow.end(id);
      await slow.published(id);
      const seen = record(b, id, -1);
      await seen.ended;
      assert.deepEqual(seen.events, [ev(0)]);
    });

    test('the stream: one entry per event with id seq+1-0, the end marker, the live expiry then the retention', async () => {
      const id = newId();
      const key = `${prefix}events:${id}`;
      a.open(id, 120_000);
      a.append(id, ev(0));
      a.append(id, ev(1));
      await eventually(async () => (await raw.xlen(key)) === 2, 'two entries');
      const live = await raw.pttl(key);
      assert.ok(live > 0 && live <= 60_000, `expires while running (${live} ms)`);
      a.append(id, ev(2));
      a.end(id);
      await eventually(async () => (await raw.xlen(key)) === 4, 'the end marker');
      const entries = await raw.xrange(key, '-', '+');
      assert.deepEqual(entries.map(([entryId]) => entryId), ['1-0', '2-0', '3-0', '3-1']);
      assert.deepEqual(entries[1][1], ['t', 'response.output_text.delta', 'f', frameOf(1)]);
      assert.deepEqual(entries[3][1], ['end', '120000']);
      const retained = await raw.pttl(key);
      assert.ok(retained > 60_000 && retained <= 120_000, `expires after the retention (${retained} ms)`);
    });

    test('a follower never crosses a gap: it ends where events are missing', async () => {
      const id = newId();
      const key = `${prefix}events:${id}`;
      await raw.xadd(key, '1-0', 't', 'a', 'f', frameOf(0));
      await raw.xadd(key, '2-0', 't', 'a', 'f', frameOf(1));
      await raw.xadd(key, '4-0', 't', 'a', 'f', frameOf(3));
      await raw.xadd(key, '4-1', 'end', '60000');
      await raw.pexpire(key, 60_000);
      const seen = record(b, id, -1);
      await seen.ended;
      assert.deepEqual(seqs(seen.events), [0, 1]);
    });

    test('a followed stream that disappears (its producer died) ends its followers', async () => {
      const id = newId();
      const key = `${prefix}events:${id}`;
      await raw.xadd(key, '1-0', 't', 'a', 'f', frameOf(0));
      const seen = record(b, id, -1);
      await eventually(() => seen.events.length === 1, 'the first event');
      await raw.del(key);
      await seen.ended; // at the next check, within blockMs
      assert.equal(seen.ends, 1);
    });

    test('close() flushes what is pending and ends remote followers', async () => {
      const producer = await RedisEventLog.connect({ url: REDIS_URL, prefix });
      const follower = await RedisEventLog.connect({ url: REDIS_URL, prefix, blockMs: 500 });
      const id = newId();
      producer.open(id, 60_000);
      producer.append(id, ev(0));
      await eventually(async () => (await follower.has(id)) === true, 'visible');
      const seen = record(follower, id, -1);
      producer.append(id, ev(1));
      producer.end(id);
      await producer.close(); // the end marker leaves before the connection quits
      await seen.ended;
      assert.deepEqual(seqs(seen.events), [0, 1]);
      const stuck = record(follower, newId(), -1);
      const open = newId();
      await raw.xadd(`${prefix}events:${open}`, '1-0', 't', 'a', 'f', frameOf(0));
      const running = record(follower, open, -1);
      await eventually(() => running.events.length === 1, 'following a running log');
      await follower.close();
      await Promise.all([stuck.ended, running.ended]);
      assert.equal(running.ends, 1);
    });

    test('a wrong REDIS_URL fails at start-up with a clear error', async () => {
      await assert.rejects(
        RedisEventLog.connect({ url: 'redis://:secret@127.0.0.1:1', prefix }, 500),
        (error: Error) => /REDIS_URL: cannot reach Redis at redis:\/\/:\*\*\*\*@127\.0\.0\.1:1/.test(error.message) && !error.message.includes('secret'),
      );
    });
  });
});
