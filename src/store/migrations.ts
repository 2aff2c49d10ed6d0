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
