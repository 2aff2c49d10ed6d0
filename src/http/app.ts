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
import { conversationsRoutes } from './conversations.js';
import { sendError, toApiError } from './errors.js';
import { modelsRoutes } from './models.js';
import { responsesRoutes } from './responses.js';
import { filesRoutes } from './files.js';
import { vectorStoresRoutes } from './vector-stores.js';
import { containersRoutes } from './containers.js';
import type { Containers } from '../containers/containers.js';
import type { Files } from '../files/files.js';
import type { VectorStores } from '../vector-stores/service.js';

export interface AppDeps {
  config: Config;
  engine: Engine;
  store: Store;
  log: EventLog;
  models: ModelRegistry;
  logger: Logger;
  /** The Files and Vector Stores APIs (file_search); absent = not served. */
  files?: Files;
  vectorStores?: VectorStores;
  /** The Containers API (code_interpreter); absent = not served. */
  containers?: Containers;
}

export function createApp({ config, engine, store, log, models, logger, files, vectorStores, containers }: AppDeps) {
  const app = new Hono<{ Bindings: HttpBindings }>();

  app.get('/health', (c) => c.json({ status: 'ok' }));

  const v1 = new Hono<{ Bindings: HttpBindings }>();
  v1.use(bearerAuth(config.apiKeys));
  v1.route('/responses', responsesRoutes({ engine, store, log, keepAliveMs: config.keepAliveMs, maxBodyBytes: config.maxBodyBytes }));
  v1.route('/conversations', conversationsRoutes({ store, maxBodyBytes: config.maxBodyBytes }));
  v1.route('/models', modelsRoutes(models));
  if (files) v1.route('/files', filesRoutes({ files, maxFileBytes: config.maxFileBytes }));
  if (vectorStores) v1.route('/vector_stores', vectorStoresRoutes({ vectorStores, maxBodyBytes: config.maxBodyBytes }));
  if (containers) v1.route('/containers', containersRoutes({ containers, maxBodyBytes: config.maxBodyBytes, maxFileBytes: config.maxFileBytes }));
  app.route('/v1', v1);

  app.notFound((c) =>
    sendError(c, new ApiError(404, `Invalid URL (${c.req.method} ${new URL(c.req.url).pathname})`, 'invalid_request_error')),
  );
  app.onError((error, c) => sendError(c, toApiError(error, logger)));
  return app;
}
