// /v1/responses: thin routes over the engine. Every way of reading a response's events —
// the original POST, a later GET ?stream=true, waiting for the end — follows the same log.
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import type { Engine, Run } from '../engine/engine.js';
import { ApiError, badRequest } from '../protocol/errors.js';
import type { ResponseObject } from '../protocol/types.js';
import type { Store } from '../store/types.js';
import type { EventLog } from '../streams/types.js';
import { readJsonBody } from './body.js';
import { listQuery } from './list-query.js';
import { followLog } from './sse.js';

export interface ResponsesRouteDeps {
  engine: Engine;
  store: Store;
  log: EventLog;
  keepAliveMs: number;
  maxBodyBytes: number;
}

export function responsesRoutes({ engine, store, log, keepAliveMs, maxBodyBytes }: ResponsesRouteDeps) {
  const app = new Hono<{ Bindings: HttpBindings }>();

  app.post('/', async (c) => {
    const body = await readJsonBody(c.env.incoming, maxBodyBytes);
    const run = await engine.create(body, streamEventsHeader(c.req.header('parley-stream-events')));
    const res = c.env.outgoing;
    if (run.stream) {
      followLog(res, log, run.id, -1, { keepAliveMs, onClientGone: () => abortUnlessBackground(run) });
      return RESPONSE_ALREADY_SENT;
    }
    if (run.background) return c.body(run.acceptedJson, 200, { 'content-type': 'application/json' });
    res.once('close', () => {
      if (!res.writableFinished) abortUnlessBackground(run);
    });
    await run.done;
    return finalJson(run.writer.response);
  });

  app.get('/:id', async (c) => {
    const id = c.req.param('id');
    if (!isTrue(c.req.query('stream'))) return c.json(await engine.retrieve(id));
    const after = parseStartingAfter(c.req.query('starting_after'));
    if (!(await log.has(id))) {
      await engine.retrieve(id);
      throw badRequest(
        'The event stream of this response is no longer available; retrieve it without stream=true.',
        'stream',
      );
    }
    followLog(c.env.outgoing, log, id, after, { keepAliveMs });
    return RESPONSE_ALREADY_SENT;
  });

  app.delete('/:id', async (c) => {
    const id = c.req.param('id');
    await engine.delete(id);
    return c.json({ id, object: 'response', deleted: true });
  });

  app.post('/:id/cancel', async (c) => c.json(await engine.cancel(c.req.param('id'))));

  app.get('/:id/input_items', async (c) => {
    const id = c.req.param('id');
    await engine.retrieve(id);
    // A response that is not in the background is stored when it ends: wait for that.
    const run = engine.active(id);
    if (run && !run.background) await run.done;
    const page = await store.listInputItems(id, listQuery(c.req.query()));
    return c.json({ object: 'list', ...page });
  });

  return app;
}

function abortUnlessBackground(run: Run) {
  if (!run.background) run.abort();
}

/** A non-streaming response: the final object, or OpenAI's error shape if it failed. */
function finalJson(response: ResponseObject): Response {
  if (response.status === 'failed' && response.error) {
    const status = response.error.code === 'rate_limit_exceeded' ? 429 : 500;
    const type = status === 429 ? 'rate_limit_error' : 'server_error';
    return Response.json(new ApiError(status, response.error.message, type, null, response.error.code).toJSON(), { status });
  }
  return Response.json(response);
}

/** `Parley-Stream-Events: annotation.queued, …`: extra event types this response's stream carries. */
function streamEventsHeader(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

function isTrue(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}

function parseStartingAfter(value: string | undefined): number {
  if (value === undefined) return -1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < -1) {
    throw badRequest("Invalid value for 'starting_after': expected a sequence number.", 'starting_after', 'invalid_value');
  }
  return n;
}

