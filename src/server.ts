// Wires the pieces together and listens. Used by the CLI, the tests and the benchmarks.
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { loadConfig, type Config } from './config.js';
import { Engine } from './engine/engine.js';
import { createApp } from './http/app.js';
import { createLogger, type Logger } from './log.js';
import { ModelRegistry } from './models/registry.js';
import { openSqliteStore, sqliteDatabase } from './store/sqlite.js';
import { Files } from './files/files.js';
import { provideVectorStores } from './tools/file-search/index.js';
import { VectorStores } from './vector-stores/service.js';
import { MemoryEventLog } from './streams/memory.js';
import { Containers } from './containers/containers.js';
import { provideContainers } from './tools/code-interpreter/index.js';

export interface RunningServer {
  url: string;
  config: Config;
  close(): Promise<void>;
}

export async function startServer(config: Config = loadConfig(), logger: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  const store = openSqliteStore(config.dataDir);
  const log = new MemoryEventLog();
  const models = new ModelRegistry(config);
  const engine = new Engine({ config, store, log, models, logger });
  // file_search: uploads, vector stores and chunks live in the same SQLite database.
  const db = sqliteDatabase(store)!;
  const files = new Files(db, config.dataDir);
  const vectorStores = new VectorStores({ db, files, config, logger });
  const withdrawVectorStores = provideVectorStores(store, vectorStores);
  vectorStores.start();
  // code_interpreter: containers (Pyodide workers) live in this process's memory.
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
      withdrawVectorStores();
      withdrawContainers();
      await containers.close();
      await vectorStores.close();
      await store.close();
    },
  };
}
