// Cancel from anywhere over Redis pub/sub (RedisCancelBus): the instance that runs a response
// cancels it and answers; a requester never waits for an instance that does not answer.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { ResponseObject } from '../../src/protocol/types.js';
import { RedisEventLog } from '../../src/streams/redis.js';
import { REDIS_URL, deleteKeys, eventually } from './helpers.js';

const prefix = `parley-test:${randomUUID()}:`;
const newId = () => `resp_${randomUUID().replaceAll('-', '')}`;
const response = (id: string, status: string) => ({ id, object: 'response', status, background: true }) as unknown as ResponseObject;
const frame = (type: string, seq: number, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq, ...data })}\n\n`;

/** A background run on `log`: created, in_progress, then deltas. Returns its terminal step. */
function startRun(log: RedisEventLog, id: string) {
  log.open(id, 60_000);
  let seq = 0;
  const add = (type: string, data: object) => log.append(id, { seq, type, frame: frame(type, seq++, data) });
  add('response.created', { response: response(id, 'queued') });
  add('response.in_progress', { response: response(id, 'in_progress') });
  add('response.output_text.delta', { delta: 'Hi' });
  return (status: 'cancelled' | 'completed') => {
    const final = response(id, status);
    add(status === 'completed' ? 'response.completed' : 'response.failed', { response: final });
    log.end(id);
    return final;
  };
}

describe('Cancel from anywhere (Redis pub/sub)', () => {
  let a: RedisEventLog;
  let b: RedisEventLog;
  let c: RedisEventLog;
  const runsOnA = new Map<string, (status: 'cancelled' | 'completed') => ResponseObject>();
  const handled: string[] = [];

  before(async () => {
    const options = { url: REDIS_URL, prefix, blockMs: 500, cancelAckGraceMs: 150, cancelTimeoutMs: 3_000 };
    [a, b, c] = await Promise.all([RedisEventLog.connect(options), RedisEventLog.connect(options), RedisEventLog.connect(options)]);
    // A runs the responses; B and C serve too, with nothing running.
    a.cancels.serve(async (id) => {
      handled.push(id);
      const finish = runsOnA.get(id);
      if (!finish) return null;
      runsOnA.delete(id);
      await new Promise((resolve) => setTimeout(resolve, 20)); // the run stops and is stored
      return finish('cancelled');
    });
    b.cancels.serve(async () => null);
    c.cancels.serve(async () => null);
  });

  after(async () => {
    await Promise.all([a, b, c].map((log) => log?.close()));
    await deleteKeys(prefix);
  });

  test('the instance that runs the response cancels it and the requester gets the result', async () => {
    const id = newId();
    runsOnA.set(id, startRun(a, id));
    await eventually(async () => (await b.has(id)) === true, 'the log on Redis');
    const cancelled = await b.cancels.request(id);
    assert.equal(cancelled?.id, id);
    assert.equal(cancelled?.status, 'cancelled');
    assert.ok(handled.includes(id));
    assert.equal(runsOnA.has(id), false);
  });

  test('no log: no instance runs it, the answer is null at once', async () => {
    const started = Date.now();
    assert.equal(await c.cancels.request(newId()), null);
    assert.ok(Date.now() - started < 500);
  });

  test('a log that already ended: its terminal response, without asking anyone', async () => {
    const id = newId();
    const finish = startRun(a, id);
    finish('completed');
    await eventually(async () => (await b.lastEntries(id, 1))[0]?.[0].endsWith('-1') === true, 'the end marker');
    const count = handled.length;
    const result = await b.cancels.request(id);
    assert.equal(result?.status, 'completed');
    assert.equal(handled.length, count);
  });

  test('a run that ends on its own while nobody answers: the terminal response from the log', async () => {
    const id = newId();
    const finish = startRun(a, id); // not in runsOnA: A does not answer for it
    await eventually(async () => (await c.has(id)) === true, 'the log on Redis');
    const request = c.cancels.request(id);
    setTimeout(() => finish('completed'), 100);
    const result = await request;
    assert.equal(result?.status, 'completed');
  });

  test('an instance that never answers and a log that never ends: null after the time limit', async () => {
    const id = newId();
    startRun(a, id);
    await eventually(async () => (await c.has(id)) === true, 'the log on Redis');
    const started = Date.now();
    const result = await c.cancels.request(id);
    assert.ok(Date.now() - started >= 2_900);
    assert.equal(result, null); // the last event is not terminal: the caller reads the store
    a.end(id);
  });
});
