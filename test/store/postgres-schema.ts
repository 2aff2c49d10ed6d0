// A fresh PostgreSQL schema per test file (or per case), dropped afterwards: tests never see
// each other's tables. PostgreSQL is required, never skipped: CI always has it, and a machine
// without it fails with a message saying so.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Where the tests find PostgreSQL (trust auth; each test file works in schemas of its own). */
export const TEST_DATABASE_URL = process.env.PARLEY_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  name: string;
  /** TEST_DATABASE_URL with `options=-c search_path=<name>`: what DATABASE_URL is set to. */
  url: string;
  /** Runs SQL in this schema, outside any store. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  drop(): Promise<void>;
}

/** `url` with its search_path set to `schema`: the standard libpq `options` parameter. */
export function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw new Error(
      `PostgreSQL is required by the store tests and is not reachable at ${TEST_DATABASE_URL} (${(error as Error).message}). ` +
        'Start it (trust auth, user postgres, database test) or point PARLEY_TEST_DATABASE_URL at one.',
      { cause: error },
    );
  }
  return client;
}

/** Creates an empty schema with a random name. */
export async function createTestSchema(): Promise<TestSchema> {
  const name = `parley_test_${randomBytes(6).toString('hex')}`;
  const admin = await connect(TEST_DATABASE_URL);
  try {
    await admin.query(`CREATE SCHEMA ${name}`);
  } finally {
    await admin.end();
  }
  const url = withSearchPath(TEST_DATABASE_URL, name);
  return {
    name,
    url,
    async query(text, values) {
      const client = await connect(url);
      try {
        return await client.query(text, values);
      } finally {
        await client.end();
      }
    },
    async drop() {
      const client = await connect(TEST_DATABASE_URL);
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
