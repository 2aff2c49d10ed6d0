// Two Parley processes on one Redis (REDIS_URL) and one store: instance A is a child process
// (`src/cli.ts serve`), instance B runs in this process (startTestServer). They share nothing
// but Redis and the data directory (SQLite in WAL mode, opened by both). A response that runs
// on A is streamed, resumed, polled and cancelled through B. Redis is required: no skipping.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import OpenAI, { type APIError } from 'openai';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import type { Response as SdkResponse, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { assertConformingStream } from '../helpers/spec.js';
import { withTimeout } from '../helpers/stream.js';
import { REDIS_URL, deleteKeys } from '../streams/helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface ChildParley {
  url: string;
  client: OpenAI;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** `parley serve` in a child process on a free port; resolves once it listens. */
async function spawnParley(env: Record<string, string>): Promise<ChildParley> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', HOST: '127.0.0.1', PARLEY_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const url = await withTimeout(
    new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'parley listening' && entry.url) resolve(entry.url);
        } catch {
          // not a log line
        }
      });
      void exited.then((code) => reject(new Error(`parley exited (${code}) before listening:\n${stderr}`)));
    }),
    30_000,
    'the child Parley to listen',
  );
  return {
    url,
    client: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 }),
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      assert.equal(code, 0, `parley A exits cleanly on SIGTERM (Redis connections quit)\n${stderr}`);
    },
  };
}

async function drain(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** Schema, stream rules, our accumulator and the SDK's: the whole stream conforms. */
function conforms(events: ResponseStreamEvent[]): SdkResponse {
  assertConformingStream(events as never, { background: true });
  let snapshot: SdkResponse | undefined;
  for (const event of events) snapshot = accumulateResponse(event, snapshot);
  return snapshot!;
}

async function rawSse(url: string, id: string, after?: number): Promise<string> {
  const query = after === undefined ? '' : `&starting_after=${after}`;
  const res = await fetch(`${url}/v1/responses/${id}?stream=true${query}`);
  assert.equal(res.status, 200, await res.clone().text());
  return res.text();
}

describe('Two Parley instances sharing Redis and a store', () => {
  const prefix = `parley-test:${randomUUID()}:`;
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-redis-'));
  const env = { REDIS_URL, PARLEY_REDIS_PREFIX: prefix, PARLEY_DATA_DIR: dataDir };
  let a: ChildParley;
  let b: TestServer;

  before(async () => {
    a = await spawnParley(env); // first: it creates the database
    b = await startTestServer(env);
  });

  after(async () => {
    await b?.close();
    await a?.stop();
    await deleteKeys(prefix);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a background response running on A, streamed and resumed from B: the same events as on A', async () => {
    const queued = await a.client.responses.create({ model: 'scripted', input: '/slow 25 30', background: true });
    assert.equal(queued.status, 'queued');
    const id = queued.id;

    // Polling from B while it runs: the shared store.
    const polled = await b.client.responses.retrieve(id);
    assert.equal(polled.id, id);
    assert.equal(polled.background, true);
    assert.ok(['queued', 'in_progress'].includes(polled.status!), polled.status);

    const onA = drain(await a.client.responses.retrieve(id, { stream: true }));
    // B follows from the start, and a second follower on B joins mid-run after its first delta.
    const onB: ResponseStreamEvent[] = [];
    let joined: { after: number; events: Promise<ResponseStreamEvent[]> } | null = null;
    let midRun: { text: string; polled: Promise<SdkResponse> } | null = null;
    for await (const event of await b.client.responses.retrieve(id, { stream: true })) {
      onB.push(event);
      if (event.type === 'response.output_text.delta' && !joined) {
        const after = event.sequence_number;
        joined = { after, events: b.client.responses.retrieve(id, { stream: true, starting_after: after }).then(drain) };
        midRun = { text: event.delta, polled: b.client.responses.retrieve(id) };
      }
    }
    const fromA = await onA;
    const final = conforms(onB);
    assert.equal(final.status, 'completed');
    assert.deepEqual(onB, fromA, "B's stream equals A's own");
    assert.deepEqual(fromA.slice(0, 3).map((e) => e.type), ['response.created', 'response.queued', 'response.in_progress']);

    // Polled from B mid-run: the live snapshot folded from the shared log, not the stored `queued` one.
    assert.ok(midRun, 'a delta was seen');
    const live = await midRun.polled;
    assert.equal(live.status, 'in_progress');
    assert.ok(live.output_text.startsWith(midRun.text) && live.output_text.length < final.output_text.length, live.output_text);

    assert.ok(joined, 'a delta was seen');
    const resumed = await joined.events;
    assert.ok(resumed.length > 10, `joined mid-run: ${resumed.length} events`);
    assert.deepEqual(resumed, fromA.slice(joined.after + 1), `from B starting_after ${joined.after}`);

    // After the end, within the retention: B replays from Redis byte for byte what A replays from memory.
    for (const after of [undefined, -1, 0, 7, fromA.length - 2, fromA.length - 1]) {
      assert.equal(await rawSse(b.url, id, after), await rawSse(a.url, id, after), `raw SSE starting_after ${after}`);
    }
    const resumedAfterEnd = await drain(await b.client.responses.retrieve(id, { stream: true, starting_after: 12 }));
    assert.deepEqual(resumedAfterEnd, fromA.slice(13));

    const [storedOnA, storedOnB] = await Promise.all([a.client.responses.retrieve(id), b.client.responses.retrieve(id)]);
    assert.equal(storedOnB.status, 'completed');
    assert.equal(storedOnB.output_text, final.output_text);
    assert.deepEqual(storedOnB, storedOnA);
  });

  test('a delete sent to B stops the run on A, and the response stays deleted', async () => {
    const queued = await a.client.responses.create({ model: 'scripted', input: '/stall', background: true });
    const events = a.client.responses.retrieve(queued.id, { stream: true }).then(drain);
    await withTimeout(b.client.responses.delete(queued.id), 10_000, 'the delete through B');
    const onA = await withTimeout(events, 10_000, "A's stream to end");
    const last = onA.at(-1)!;
    assert.ok(last.type === 'response.failed' && last.response.status === 'cancelled', last.type);
    for (const client of [a.client, b.client]) {
      await assert.rejects(client.responses.retrieve(queued.id), (error: APIError) => error.status === 404);
    }
  });

  test('a cancel sent to B cancels the run on A', async () => {
    const queued = await a.client.responses.create({ model: 'scripted', input: '/stall', background: true });
    const id = queued.id;
    const onA: ResponseStreamEvent[] = [];
    const readingA = (async () => {
      for await (const event of await a.client.responses.retrieve(id, { stream: true })) onA.push(event);
    })();
    const readingB = b.client.responses.retrieve(id, { stream: true }).then(drain);
    await withTimeout(
      (async () => {
        while (!onA.some((e) => e.type === 'response.output_text.delta')) await new Promise((r) => setTimeout(r, 5));
      })(),
      10_000,
      'the run to start on A',
    );

    const cancelled = await withTimeout(b.client.responses.cancel(id), 10_000, 'the cancel through B');
    assert.equal(cancelled.id, id);
    assert.equal(cancelled.status, 'cancelled');

    // The run on A ended as cancelled: its own stream says so.
    await withTimeout(readingA, 10_000, "A's stream to end");
    const last = onA.at(-1)!;
    assert.ok(last.type === 'response.failed' && last.response.status === 'cancelled', last.type);
    conforms(onA);
    assert.deepEqual(await readingB, onA, "B's stream equals A's");
    assert.deepEqual(cancelled, (last as { response: unknown }).response);

    // Stored before B answered: both instances read it at once.
    assert.equal((await b.client.responses.retrieve(id)).status, 'cancelled');
    assert.equal((await a.client.responses.retrieve(id)).status, 'cancelled');
    // Cancelling again, from either, returns it unchanged.
    assert.equal((await b.client.responses.cancel(id)).status, 'cancelled');
    assert.equal((await a.client.responses.cancel(id)).status, 'cancelled');
  });

  test('a cancel sent to B right after A accepted the response', async () => {
    // Sent at once: the run on A may still be queued, or not have produced any text yet.
    const queued = await a.client.responses.create({ model: 'scripted', input: '/stall', background: true });
    const cancelled = await withTimeout(b.client.responses.cancel(queued.id), 10_000, 'the cancel through B');
    assert.equal(cancelled.status, 'cancelled');
    const events = await drain(await b.client.responses.retrieve(queued.id, { stream: true }));
    conforms(events);
    assert.equal(events.at(-1)!.type, 'response.failed');
  });

  test("B knows when a response's stream is gone, and what it never had", async () => {
    // Not background: the log is kept for 0 ms, so its stream is not available after the end.
    const done = await a.client.responses.create({ model: 'scripted', input: 'hello' });
    assert.equal(done.status, 'completed');
    await assert.rejects(
      b.client.responses.retrieve(done.id, { stream: true }).then(drain),
      (error: APIError) => error.status === 400 && error.param === 'stream',
    );
    await assert.rejects(b.client.responses.cancel(done.id), (error: APIError) => error.status === 400);
    await assert.rejects(b.client.responses.retrieve('resp_nothere', { stream: true }).then(drain), (error: APIError) => error.status === 404);
  });
});
