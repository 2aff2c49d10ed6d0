// The two Store implementations, as the shared suites (responses-suite.ts,
// conversations-suite.ts) see them: a fresh, empty place to keep data, opened as often as a
// case likes (close and reopen = a restart).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { createTestSchema } from './postgres-schema.js';

export interface StoreLocation {
  /** A store on this location's data; every store opened here sees the same data. */
  open(): Promise<Store>;
  /** Removes the data (after every store opened here is closed). */
  dispose(): Promise<void>;
}

export interface StoreBackend {
  name: string;
  /** A new, empty location: a data directory, a PostgreSQL schema. */
  location(): Promise<StoreLocation>;
}

export const sqliteBackend: StoreBackend = {
  name: 'sqlite',
  async location() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-store-'));
    // A data dir that does not exist yet: the store creates it.
    const dataDir = path.join(dir, 'nested', 'data');
    return {
      open: async () => openSqliteStore(dataDir),
      dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  },
};

export const postgresBackend: StoreBackend = {
  name: 'postgres',
  async location() {
    const schema = await createTestSchema();
    return {
      open: () => openPostgresStore(schema.url),
      dispose: () => schema.drop(),
    };
  },
};

/** A store on a new, empty location of `backend`, and how to close it and remove its data. */
export async function freshStore(backend: StoreBackend): Promise<{ store: Store; dispose(): Promise<void> }> {
  const location = await backend.location();
  let store: Store;
  try {
    store = await location.open();
  } catch (error) {
    await location.dispose();
    throw error;
  }
  return {
    store,
    async dispose() {
      await store.close();
      await location.dispose();
    },
  };
}
