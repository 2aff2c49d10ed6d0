// web_search's cache: every page it fetched and every search result it saw, in a SQLite file in
// the data directory (`web-cache.db`), full-text indexed (FTS5, bm25). Cache-only web_search
// (`external_web_access: false`) searches and opens only what is here and never fetches.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { citationKey } from '../citations.js';
import type { SearchHit } from './providers/index.js';
import type { Page } from './page.js';

/** At most this many pages and results are kept; the oldest go first. */
const MAX_ROWS = 20_000;

export interface CachedHit extends SearchHit {
  /** True when the page itself is cached (it can be opened), not only a search result. */
  hasPage: boolean;
}

export class PageCache {
  private db: Database.Database | null = null;
  private known: boolean | null = null;
  private writes = 0;

  constructor(private readonly dataDir: string) {}

  get file(): string {
    return join(this.dataDir, 'web-cache.db');
  }

  /** True when there is anything to search (checked without creating the file). */
  hasContent(): boolean {
    if (this.known) return true;
    if (!this.db && !existsSync(this.file)) return false;
    const row = this.open().prepare('SELECT EXISTS (SELECT 1 FROM pages UNION ALL SELECT 1 FROM results) AS any').get() as { any: number };
    this.known = row.any === 1;
    return this.known;
  }

  savePage(page: Page): void {
    const db = this.open();
    const save = db.transaction(() => {
      for (const url of new Set([page.url, page.finalUrl])) {
        const key = citationKey(url);
        db.prepare('INSERT OR REPLACE INTO pages (key, url, final_url, title, text, media_type, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
          key, url, page.finalUrl, page.title, page.text, page.mediaType, page.fetchedAt,
        );
        db.prepare("DELETE FROM search_fts WHERE key = ? AND kind = 'page'").run(key);
        db.prepare("INSERT INTO search_fts (key, url, title, body, kind) VALUES (?, ?, ?, ?, 'page')").run(key, page.finalUrl, page.title, page.text);
      }
    });
    save();
    this.known = true;
    this.pruneSometimes();
  }

  saveResults(hits: readonly SearchHit[]): void {
    if (hits.length === 0) return;
    const db = this.open();
    const now = Math.floor(Date.now() / 1000);
    db.transaction(() => {
      for (const hit of hits) {
        const key = citationKey(hit.url);
        db.prepare('INSERT OR REPLACE INTO results (key, url, title, snippet, seen_at) VALUES (?, ?, ?, ?, ?)').run(key, hit.url, hit.title, hit.snippet, now);
        db.prepare("DELETE FROM search_fts WHERE key = ? AND kind = 'result'").run(key);
        db.prepare("INSERT INTO search_fts (key, url, title, body, kind) VALUES (?, ?, ?, ?, 'result')").run(key, hit.url, hit.title, hit.snippet);
      }
    })();
    this.known = true;
    this.pruneSometimes();
  }

  /** A cached page by the URL asked for or landed on; `maxAgeSeconds` limits how old. */
  getPage(url: string, maxAgeSeconds = Number.POSITIVE_INFINITY): Page | null {
    if (!this.db && !existsSync(this.file)) return null;
    const row = this.open().prepare('SELECT url, final_url, title, text, media_type, fetched_at FROM pages WHERE key = ?').get(citationKey(url)) as
      | { url: string; final_url: string; title: string; text: string; media_type: string; fetched_at: number }
      | undefined;
    if (!row) return null;
    if (Date.now() / 1000 - row.fetched_at > maxAgeSeconds) return null;
    return { url: row.url, finalUrl: row.final_url, title: row.title, text: row.text, mediaType: row.media_type, fetchedAt: row.fetched_at };
  }

  /** Full-text search over cached pages and results, best first, one hit per URL. */
  search(query: string, count: number): CachedHit[] {
    if (!this.db && !existsSync(this.file)) return [];
    const terms = query.match(/[\p{L}\p{N}]+/gu) ?? [];
    if (terms.length === 0) return [];
    const match = terms.map((t) => `"${t}"`).join(' OR ');
    const rows = this.open()
      .prepare(
        `SELECT key, url, title, kind, snippet(search_fts, 3, '', '', '…', 32) AS excerpt
         FROM search_fts WHERE search_fts MATCH ? ORDER BY bm25(search_fts, 0, 0, 4, 1, 0) LIMIT ?`,
      )
      .all(match, count * 4) as Array<{ key: string; url: string; title: string; kind: string; excerpt: string }>;
    const byKey = new Map<string, CachedHit>();
    for (const row of rows) {
      const seen = byKey.get(row.key);
      if (seen) {
        seen.hasPage ||= row.kind === 'page';
        continue;
      }
      if (byKey.size >= count) continue;
      byKey.set(row.key, { url: row.url, title: row.title, snippet: row.excerpt, hasPage: row.kind === 'page' });
    }
    return [...byKey.values()];
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }

  private open(): Database.Database {
    if (this.db) return this.db;
    mkdirSync(this.dataDir, { recursive: true });
    const db = new Database(this.file);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS pages (
        key TEXT PRIMARY KEY, url TEXT NOT NULL, final_url TEXT NOT NULL, title TEXT NOT NULL,
        text TEXT NOT NULL, media_type TEXT NOT NULL, fetched_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS results (
        key TEXT PRIMARY KEY, url TEXT NOT NULL, title TEXT NOT NULL, snippet TEXT NOT NULL, seen_at INTEGER NOT NULL
      );
      CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(key UNINDEXED, url UNINDEXED, title, body, kind UNINDEXED);
    `);
    this.db = db;
    return db;
  }

  private pruneSometimes(): void {
    if (++this.writes % 100 !== 0) return;
    const db = this.open();
    db.transaction(() => {
      for (const [table, time] of [['pages', 'fetched_at'], ['results', 'seen_at']] as const) {
        const old = db.prepare(`SELECT key FROM ${table} ORDER BY ${time} DESC LIMIT -1 OFFSET ?`).all(MAX_ROWS) as Array<{ key: string }>;
        for (const { key } of old) {
          db.prepare(`DELETE FROM ${table} WHERE key = ?`).run(key);
          db.prepare('DELETE FROM search_fts WHERE key = ? AND kind = ?').run(key, table === 'pages' ? 'page' : 'result');
        }
      }
    })();
  }
}
