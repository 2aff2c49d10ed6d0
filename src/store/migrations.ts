import type Database from 'better-sqlite3';

// Each entry moves the schema up one version; PRAGMA user_version records how many have run.
// Append only: never edit a migration that has shipped.
const MIGRATIONS: string[] = [
  `
  CREATE TABLE responses (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    previous_response_id TEXT,
    status TEXT NOT NULL,
    json TEXT NOT NULL
  );
  CREATE TABLE items (
    response_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('input', 'output')),
    position INTEGER NOT NULL,
    item_id TEXT,
    json TEXT NOT NULL,
    PRIMARY KEY (response_id, kind, position)
  );
  CREATE INDEX items_item_id ON items (item_id);
  `,
  // 2: conversations and their items. An item id appears at most once per conversation; the
  // index also serves lookups by item id alone (item_reference).
  `
  CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    json TEXT NOT NULL
  );
  CREATE TABLE conversation_items (
    conversation_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (conversation_id, position)
  );
  CREATE UNIQUE INDEX conversation_items_item_id ON conversation_items (item_id, conversation_id);
  `,
  // 3: file_search (src/files, src/vector-stores): uploaded files (their bytes live under
  // <data dir>/files), the text extracted from each, vector stores, their files and batches,
  // chunks with an FTS5 index kept in step by triggers, and what the model read from each
  // file_search call (so that a later turn shows it the same text). IF NOT EXISTS: a database
  // rolled back to an earlier version (tests do) may still hold these tables.
  `
  CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    expires_at INTEGER,
    json TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS file_texts (
    file_id TEXT PRIMARY KEY,
    text TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS vector_stores (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    json TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS vector_store_files (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    vector_store_id TEXT NOT NULL,
    file_id TEXT NOT NULL,
    batch_id TEXT,
    created_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    usage_bytes INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    attributes TEXT,
    chunking_strategy TEXT NOT NULL
  );
  CREATE UNIQUE INDEX IF NOT EXISTS vector_store_files_key ON vector_store_files (vector_store_id, file_id);
  CREATE INDEX IF NOT EXISTS vector_store_files_file ON vector_store_files (file_id);
  CREATE INDEX IF NOT EXISTS vector_store_files_batch ON vector_store_files (batch_id);
  CREATE TABLE IF NOT EXISTS vector_store_file_batches (
    id TEXT PRIMARY KEY,
    vector_store_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    cancelled INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    vector_store_id TEXT NOT NULL,
    file_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    embedding BLOB
  );
  CREATE INDEX IF NOT EXISTS chunks_owner ON chunks (vector_store_id, file_id, position);
  CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content = 'chunks', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2'
  );
  CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);
  END;
  CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
  END;
  CREATE TABLE IF NOT EXISTS file_search_calls (
    item_id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    output TEXT NOT NULL
  );
  `,
];

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this Parley (${MIGRATIONS.length})`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
