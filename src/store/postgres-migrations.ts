// Schema of the PostgreSQL store. Each entry moves the schema up one version; the table
// parley_schema_migrations records the versions applied. Append only: never edit a migration
// that has shipped.
import type pg from 'pg';

const MIGRATIONS: string[] = [
  // 1: responses with their input and output items, conversations with theirs. Snapshots and
  // items are JSON, not JSONB: JSON keeps the text as written (key order, \u0000, lone
  // surrogates), so a response reads back byte for byte. `seq` orders rows by insertion: the
  // newest item wins when an id repeats.
  `
  CREATE TABLE responses (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    previous_response_id TEXT,
    status TEXT NOT NULL,
    body JSON NOT NULL
  );
  CREATE TABLE items (
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    response_id TEXT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('input', 'output')),
    position INTEGER NOT NULL,
    item_id TEXT,
    body JSON NOT NULL,
    PRIMARY KEY (response_id, kind, position)
  );
  CREATE INDEX items_item_id ON items (item_id, seq);
  CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    body JSON NOT NULL
  );
  CREATE TABLE conversation_items (
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    body JSON NOT NULL,
    PRIMARY KEY (conversation_id, position),
    UNIQUE (conversation_id, item_id)
  );
  CREATE INDEX conversation_items_item_id ON conversation_items (item_id, seq);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the schema in the connection's search_path up to date, in one transaction under an
 * advisory lock: instances starting at once wait for each other, and the later ones find
 * nothing left to do.
 */
export async function migratePostgres(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ schema: string | null; search_path: string }>(
    `SELECT current_schema() AS schema, current_setting('search_path') AS search_path`,
  );
  const schema = rows[0].schema;
  if (schema === null) {
    throw new Error(`DATABASE_URL: no schema of search_path (${rows[0].search_path}) exists; create it first`);
  }
  await client.query('BEGIN');
  try {
    // Keyed by schema: stores in different schemas of one database do not wait for each other.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('parley.migrate.' || $1))`, [schema]);
    await client.query(`CREATE TABLE IF NOT EXISTS parley_schema_migrations (
      version INTEGER PRIMARY KEY,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);
    const applied = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM parley_schema_migrations`);
    const current = applied.rows[0].version ?? 0;
    if (current > MIGRATIONS.length) {
      throw new Error(`database schema version ${current} is newer than this Parley (${MIGRATIONS.length})`);
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      await client.query(MIGRATIONS[v]);
      await client.query(`INSERT INTO parley_schema_migrations (version) VALUES ($1)`, [v + 1]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
