// Picks the store: PostgreSQL when DATABASE_URL is set, else SQLite under the data directory.
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { redactUrl } from '../net/redact-url.js';
import { openPostgresStore } from './postgres.js';
import { openSqliteStore, sqliteDatabase } from './sqlite.js';
import type { Store } from './types.js';

export interface OpenedStore {
  store: Store;
  kind: 'sqlite' | 'postgres';
  /**
   * The SQLite database that file_search keeps its tables in (files, vector stores, chunks):
   * the store's own; with PostgreSQL, `parley.db` under the data directory all the same.
   */
  sqlite: Database.Database;
  /** Closes the store (and that SQLite database). */
  close(): Promise<void>;
}

export async function openStore(config: Pick<Config, 'dataDir' | 'databaseUrl'>, logger: Logger): Promise<OpenedStore> {
  const local = openSqliteStore(config.dataDir);
  const sqlite = sqliteDatabase(local)!;
  if (!config.databaseUrl) {
    logger.info({ store: 'sqlite', file: path.join(config.dataDir, 'parley.db') }, 'store: SQLite');
    return { store: local, kind: 'sqlite', sqlite, close: () => local.close() };
  }
  let store: Store;
  try {
    store = await openPostgresStore(config.databaseUrl, { logger });
  } catch (error) {
    await local.close();
    throw error;
  }
  logger.info({ store: 'postgres', database: redactUrl(config.databaseUrl) }, 'store: PostgreSQL');
  return {
    store,
    kind: 'postgres',
    sqlite,
    async close() {
      await store.close();
      await local.close();
    },
  };
}
