// Wires the pieces together and listens. Used by the CLI, the tests and the benchmarks.
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { loadConfig, type Config } from './config.js';
import { Engine } from './engine/engine.js';
import { createApp } from './http/app.js';
import { createLogger, type Logger } from './log.js';
import { ModelRegistry } from './models/registry.js';
import { openStore } from './store/index.js';
import { Files } from './files/files.js';
import { provideVectorStores } from './tools/file-search/index.js';
import { VectorStores } from './vector-stores/service.js';
import { MemoryEventLog } from './streams/memory.js';
import { RedisEventLog } from './streams/redis.js';
import { Containers } from './containers/containers.js';
import { setSpareCount } from './containers/sandbox.js';
import { provideContainers } from './tools/code-interpreter/index.js';

export interface RunningServer {
  url: string;
  config: Config;
  close(): Promise<void>;
}

export async function startServer(config: Config = loadConfig(), logger: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  // REDIS_URL = the Redis event log (several instances: resume and cancel anywhere), else in memory.
  const redis = config.redisUrl
    ? await RedisEventLog.connect({ url: config.redisUrl, prefix: config.redisPrefix, onError: (err, msg) => logger.warn({ err }, msg) })
    : null;
  // DATABASE_URL = PostgreSQL, else SQLite; file_search keeps its tables in SQLite either way.
  const { store, sqlite: db, close: closeStore } = await openStore(config, logger).catch(async (error: unknown) => {
    await redis?.close();
    throw error;
  });
  const log = redis ?? new MemoryEventLog();
  const models = new ModelRegistry(config);
  const engine = new Engine({ config, store, log, models, logger, cancels: redis?.cancels });
  // file_search: uploads, vector stores and chunks live in the SQLite database.
  const files = new Files(db, config.dataDir);
  const vectorStores = new VectorStores({ db, files, config, logger });
  const withdrawVectorStores = provideVectorStores(store, vectorStores);
  vectorStores.start();
  // code_interpreter: containers (Pyodide workers) live in this process's memory.
  setSpareCount(config.codeSpares);
  const containers = new Containers({ timeoutMs: config.codeTimeoutMs, memoryMb: config.codeMemoryMb }, files);
  const withdrawContainers = provideContainers(store, containers);
  const app = createApp({ config, engine, store, log, models, logger, files, vectorStores, containers });

  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, dataDir: config.dataDir, upstreams: config.upstreams.map((u) => `${u.name} ${u.protocol} ${u.url}`) }, 'parley listening');

  return {
    url,
    config,
    async close() {
      await engine.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await redis?.close();
      withdrawVectorStores();
      withdrawContainers();
      await containers.close();
      await vectorStores.close();
      await closeStore();
    },
  };
}
