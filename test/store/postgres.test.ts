// The PostgreSQL store: the shared Store suites (responses-suite.ts, conversations-suite.ts),
// each in fresh schemas it drops afterwards, then what only PostgreSQL has: migrations under
// an advisory lock, JSON columns, connection errors. PostgreSQL is required (see postgres-schema.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { openStore } from '../../src/store/index.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { SCHEMA_VERSION } from '../../src/store/postgres-migrations.js';
import { postgresBackend } from './backends.js';
import { conversationStoreSuite } from './conversations-suite.js';
import { createTestSchema, TEST_DATABASE_URL, withSearchPath, type TestSchema } from './postgres-schema.js';
import { finished, makeResponse, message, outputMessage, responseStoreSuite } from './responses-suite.js';

responseStoreSuite(postgresBackend);
conversationStoreSuite(postgresBackend);

/** Runs `fn` with a fresh schema, dropped afterwards whatever happens. */
async function inSchema(fn: (schema: TestSchema) => Promise<void>): Promise<void> {
  const schema = await createTestSchema();
  try {
    await fn(schema);
  } finally {
    await schema.drop();
  }
}

describe('postgres store: schema and connection', () => {
  it('instances starting at once on an empty schema migrate it once', async () => {
    await inSchema(async (schema) => {
      const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(schema.url)));
      try {
        const { rows } = await schema.query<{ version: number }>('SELECT version FROM parley_schema_migrations ORDER BY version');
        assert.deepEqual(rows.map((r) => r.version), Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
        // Every instance sees what another writes.
        await stores[0].createResponse(makeResponse('resp_shared'), [message('msg_shared', 'hi')]);
        assert.deepEqual(await stores[3].getItem('msg_shared'), message('msg_shared', 'hi'));
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
      // A restart finds nothing to do.
      const again = await openPostgresStore(schema.url);
      await again.close();
      const { rows } = await schema.query('SELECT version FROM parley_schema_migrations');
      assert.equal(rows.length, SCHEMA_VERSION);
    });
  });

  it('refuses a schema newer than this code', async () => {
    await inSchema(async (schema) => {
      await (await openPostgresStore(schema.url)).close();
      await schema.query('INSERT INTO parley_schema_migrations (version) VALUES ($1)', [SCHEMA_VERSION + 1]);
      await assert.rejects(openPostgresStore(schema.url), new RegExp(`schema version ${SCHEMA_VERSION + 1} is newer than this Parley`));
    });
  });

  it('keeps its tables in the search_path schema only', async () => {
    await inSchema(async (schema) => {
      await (await openPostgresStore(schema.url)).close();
      const { rows } = await schema.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
        [schema.name],
      );
      assert.deepEqual(rows.map((r) => r.table_name), ['conversation_items', 'conversations', 'items', 'parley_schema_migrations', 'responses']);
    });
  });

  it('stores snapshots and items as JSON objects, key order kept, the newest finish only', async () => {
    await inSchema(async (schema) => {
      const store = await openPostgresStore(schema.url);
      try {
        await store.createResponse(makeResponse('resp_json'), [message('msg_json', 'hi')]);
        await store.finishResponse(finished('resp_json', [outputMessage('msg_json_out', 'ok')]));
        const response = await schema.query(`SELECT json_typeof(body) AS t, body->>'status' AS status, status AS col FROM responses`);
        assert.deepEqual(response.rows, [{ t: 'object', status: 'completed', col: 'completed' }]);
        const stored = await store.getResponse('resp_json');
        assert.equal(JSON.stringify(stored), JSON.stringify(finished('resp_json', [outputMessage('msg_json_out', 'ok')])));
        const items = await schema.query(`SELECT kind, position, item_id, body->>'type' AS type FROM items ORDER BY kind, position`);
        assert.deepEqual(items.rows, [
          { kind: 'input', position: 0, item_id: 'msg_json', type: 'message' },
          { kind: 'output', position: 0, item_id: 'msg_json_out', type: 'message' },
        ]);
      } finally {
        await store.close();
      }
    });
  });

  it('fails clearly when the search_path schema does not exist', async () => {
    await assert.rejects(openPostgresStore(withSearchPath(TEST_DATABASE_URL, 'parley_no_such_schema')), /no schema of search_path \(parley_no_such_schema\) exists/);
  });

  it('fails clearly, password masked, when PostgreSQL is unreachable', async () => {
    await assert.rejects(openPostgresStore('postgres://parley:s3cret@127.0.0.1:1/parley'), (error: Error) => {
      assert.match(error.message, /^cannot connect to PostgreSQL at postgres:\/\/parley:\*\*\*\*@127\.0\.0\.1:1\/parley: /);
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
  });

  it('close lets operations under way finish, then refuses new ones', async () => {
    await inSchema(async (schema) => {
      const store = await openPostgresStore(schema.url);
      const writing = store.createResponse(makeResponse('resp_closing'), [message('msg_closing', 'x')]);
      await store.close();
      await writing;
      await assert.rejects(store.getResponse('resp_closing'), /closed/);
      const reopened = await openPostgresStore(schema.url);
      assert.equal((await reopened.getResponse('resp_closing'))?.id, 'resp_closing');
      await reopened.close();
    });
  });
});

describe('openStore: DATABASE_URL picks the store', () => {
  /** A logger whose lines land in `lines`. */
  const capture = () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    return { logger, lines };
  };

  it('PostgreSQL when set (logged, password masked), SQLite kept for file_search', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-store-'));
    try {
      await inSchema(async (schema) => {
        const url = new URL(schema.url);
        url.password = 'hunter2'; // trust auth ignores it
        const { logger, lines } = capture();
        const opened = await openStore({ dataDir, databaseUrl: url.toString() }, logger);
        try {
          assert.equal(opened.kind, 'postgres');
          await opened.store.createResponse(makeResponse('resp_factory'), []);
          assert.equal((await schema.query('SELECT id FROM responses')).rows[0].id, 'resp_factory');
          assert.ok(fs.existsSync(path.join(dataDir, 'parley.db')), 'file_search tables stay in SQLite');
          assert.deepEqual(opened.sqlite.prepare(`SELECT id FROM responses`).all(), []);
        } finally {
          await opened.close();
        }
        const line = lines.find((l) => l.msg === 'store: PostgreSQL');
        assert.ok(line, JSON.stringify(lines));
        assert.equal(line.store, 'postgres');
        assert.match(String(line.database), /^postgres:\/\/postgres:\*\*\*\*@127\.0\.0\.1/);
        assert.doesNotMatch(JSON.stringify(lines), /hunter2/);
      });
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('SQLite when unset (logged)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-store-'));
    try {
      const { logger, lines } = capture();
      const opened = await openStore({ dataDir }, logger);
      assert.equal(opened.kind, 'sqlite');
      await opened.store.createResponse(makeResponse('resp_local'), []);
      assert.deepEqual(opened.sqlite.prepare(`SELECT id FROM responses`).all(), [{ id: 'resp_local' }]);
      await opened.close();
      assert.deepEqual(
        lines.filter((l) => l.msg === 'store: SQLite').map((l) => [l.store, l.file]),
        [['sqlite', path.join(dataDir, 'parley.db')]],
      );
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('an unreachable DATABASE_URL fails the start', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-store-'));
    try {
      await assert.rejects(openStore({ dataDir, databaseUrl: 'postgres://postgres@127.0.0.1:1/test' }, capture().logger), /cannot connect to PostgreSQL/);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
