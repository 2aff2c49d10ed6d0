import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../log.js';
import type { ModelRegistry } from '../models/registry.js';
import { ApiError } from '../protocol/errors.js';
import type { Store } from '../store/types.js';
import type { EventLog } from '../streams/types.js';
import type { Config } from '../config.js';
import { bearerAuth } from './auth.js';
import { sendError, toApiError } from './errors.js';
import { modelsRoutes } from './models.js';
import { responsesRoutes } from './responses.js';

export interface AppDeps {
  config: Config;
  engine: Engine;
  store: Store;
  log: EventLog;
  models: ModelRegistry;
  logger: Logger;
}

export function createApp({ config, engine, store, log, models, logger }: AppDeps) {
  const app = new Hono<{ Bindings: HttpBindings }>();

  app.get('/health', (c) => c.json({ status: 'ok' }));

  const v1 = new Hono<{ Bindings: HttpBindings }>();
  v1.use(bearerAuth(config.apiKeys));
  v1.route('/responses', responsesRoutes({ engine, store, log, keepAliveMs: config.keepAliveMs, maxBodyBytes: config.maxBodyBytes }));
  v1.route('/models', modelsRoutes(models));
  app.route('/v1', v1);

  app.notFound((c) =>
    sendError(c, new ApiError(404, `Invalid URL (${c.req.method} ${new URL(c.req.url).pathname})`, 'invalid_request_error')),
  );
  app.onError((error, c) => sendError(c, toApiError(error, logger)));
  return app;
}
