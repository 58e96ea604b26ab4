/**
 * The embedded default backend: one SQLite file in the data dir through better-sqlite3 12.x, in WAL
 * mode with `synchronous = FULL`, so that a commit is on disk before any reply that depends on it.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FileBlobStore } from '../blobs.ts';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase } from 'kysely';
import type { Storage } from '../ports.ts';
import { migrateToLatest } from '../sql/migrations.ts';
import { sqlStorage } from '../sql/repositories.ts';
import type { Database } from '../sql/tables.ts';

/** Opens (creating if needed) the SQLite database at `file`, migrates it, and returns the Storage. */
export async function openSqliteStorage(file: string): Promise<Storage> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const sqlite = new BetterSqlite3(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  // Another process (the CLI while the server runs) may hold the write lock briefly.
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  try {
    await migrateToLatest(db as Kysely<unknown>, 'sqlite');
  } catch (err) {
    await db.destroy();
    throw err;
  }
  // The database holds only sealed secrets, but identities and mail are nobody else's business
  // (-wal and -shm exist once the migrations have written).
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  return sqlStorage(
    'sqlite',
    db,
    (err) => typeof (err as { code?: unknown })?.code === 'string' && /^SQLITE_CONSTRAINT_(PRIMARYKEY|UNIQUE)$/.test((err as { code: string }).code),
    async () => {
      await db.destroy();
    },
    new FileBlobStore(join(dirname(file), 'blobs')),
  );
}

/**
 * better-sqlite3 as Kysely's driver sees it, with a bounded LRU cache of prepared statements: Kysely
 * prepares every query anew, and preparing was 5 % of the CPU of a send in the bench profile.
 * Reuse is safe because Kysely runs one statement at a time on this connection and reads results
 * with all()/run() (it iterates only for streamed queries, which Sesame does not use).
 */
function withStatementCache(sqlite: BetterSqlite3.Database, max = 500): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let st = cache.get(sql);
      if (st) {
        cache.delete(sql);
      } else {
        st = sqlite.prepare(sql);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, st);
      return st;
    },
  };
}
