/**
 * The embedded default backend: one SQLite file in the data dir through better-sqlite3 12.x, in WAL
 * mode. A write is on disk before the call that made it returns (so before any reply that depends
 * on it), but the flush does not block the event loop: SQLite runs with `synchronous = NORMAL` (a
 * commit writes the WAL without fsync) and the storage flushes the WAL file with fdatasync on
 * libuv's thread pool before it hands the result back, one flush for every commit made while the
 * previous flush ran (ADR 0015).
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FileBlobStore } from '../blobs.ts';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, type DatabaseConnection, type Driver, type SqliteDatabase, type SqliteDialectConfig } from 'kysely';
import type { Storage } from '../ports.ts';
import { migrateToLatest } from '../sql/migrations.ts';
import { sqlStorage } from '../sql/repositories.ts';
import type { Database } from '../sql/tables.ts';

/** Opens (creating if needed) the SQLite database at `file`, migrates it, and returns the Storage. */
export async function openSqliteStorage(file: string): Promise<Storage> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const sqlite = new BetterSqlite3(file);
  sqlite.pragma('journal_mode = WAL');
  // Commits are flushed by flushWal below, off the event loop; checkpoints still sync as SQLite does.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  // Another process (the CLI while the server runs) may hold the write lock briefly.
  sqlite.pragma('busy_timeout = 5000');
  const wal = flushWal(`${file}-wal`);
  const db = new Kysely<Database>({ dialect: new DurableSqliteDialect({ database: withStatementCache(sqlite) }, sqlite, wal.flush) });
  try {
    await migrateToLatest(db as Kysely<unknown>, 'sqlite');
  } catch (err) {
    await db.destroy();
    await wal.close();
    throw err;
  }
  // From here on SQLite never sleeps on a busy lock: that sleep blocks the thread's event loop
  // (SQLite's busy handler sleeps 1, 2, 5, 10… ms in a row). The dialect waits for the lock with
  // timers instead, so the thread serves other work while the other connection commits (ADR 0019).
  sqlite.pragma('busy_timeout = 0');
  // The database holds only sealed secrets, but identities and mail are nobody else's business
  // (-wal and -shm exist once the migrations have written).
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  const storage = sqlStorage(
    'sqlite',
    db,
    (err) => typeof (err as { code?: unknown })?.code === 'string' && /^SQLITE_CONSTRAINT_(PRIMARYKEY|UNIQUE)$/.test((err as { code: string }).code),
    async () => {
      await db.destroy();
      await wal.close();
    },
    new FileBlobStore(join(dirname(file), 'blobs')),
  );
  return Object.assign(storage, {
    walCheckpoints(by: 'self' | 'other') {
      // The worker thread may end after the node closed its storage.
      if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${by === 'self' ? WAL_AUTOCHECKPOINT_PAGES : WAL_BACKSTOP_PAGES}`);
    },
    checkpointWal() {
      // Not inside this connection's own open transaction (an async one spans turns of the loop);
      // PASSIVE neither waits for nor blocks the other connection's readers and writers.
      if (sqlite.open && !sqlite.inTransaction) sqlite.pragma('wal_checkpoint(PASSIVE)');
    },
  });
}

/** SQLite's own default: a commit that leaves the write-ahead log over this many pages checkpoints it. */
const WAL_AUTOCHECKPOINT_PAGES = 1000;

/**
 * The checkpoint threshold of a connection that leaves checkpoints to another one (`walCheckpoints('other')`):
 * about 40 MB of log at 4 KiB pages, reached only if that connection stops checkpointing.
 */
export const WAL_BACKSTOP_PAGES = 10_000;

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

/**
 * Flushes of the WAL file, shared by concurrent callers: `flush()` resolves once an fdatasync that
 * started after the call has finished, so every commit made before the call is on disk. While one
 * runs, the callers that arrive meanwhile share the next one (group commit of the flushes).
 * `sync` is the flush itself (injected by tests). The WAL file is opened once and kept: SQLite
 * rewrites it in place after checkpoints and deletes it only when the last connection closes, which
 * the node's own connection outlives (ADR 0015).
 */
export function flushWal(path: string, sync?: () => Promise<void>): { flush(): Promise<void>; close(): Promise<void> } {
  let handle: Promise<FileHandle> | undefined;
  const datasync =
    sync ??
    (async () => {
      handle ??= open(path, 'r+');
      await (await handle).datasync();
    });
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const flush = (): Promise<void> => {
    if (!running) {
      running = datasync().finally(() => {
        running = undefined;
      });
      return running;
    }
    // The running flush may have started before this caller's commit: wait for the one after it.
    next ??= running
      .catch(() => undefined)
      .then(() => {
        next = undefined;
        return flush();
      });
    return next;
  };
  return {
    flush,
    async close() {
      await running?.catch(() => undefined);
      await next?.catch(() => undefined);
      await (await handle?.catch(() => undefined))?.close();
      handle = undefined;
    },
  };
}

/**
 * How long a statement waits for another connection's write lock before SQLITE_BUSY is the caller's.
 * Long: giving up costs more than waiting (a delivery outcome that cannot be committed is retried,
 * and the message sent again), and only a stuck writer holds the lock this long.
 */
const BUSY_WAIT_MS = 30_000;

/**
 * Runs `run`, and again while it fails with SQLITE_BUSY: on the next turn of the event loop first,
 * then every millisecond, for up to BUSY_WAIT_MS. Meant for statements that take the write lock
 * first (BEGIN IMMEDIATE, a write on its own), which did nothing when they failed busy.
 */
export async function whenNotBusy<R>(run: () => Promise<R>, waitMs = BUSY_WAIT_MS): Promise<R> {
  let deadline: number | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (!/^SQLITE_BUSY/.test(String((err as { code?: unknown })?.code))) throw err;
      const now = performance.now();
      deadline ??= now + waitMs;
      if (now >= deadline) throw err;
      await new Promise((r) => (attempt === 0 ? setImmediate(r) : setTimeout(r, 1)));
    }
  }
}

/** Whether a statement may change the database (anything but a read). */
function writes(q: CompiledQuery): boolean {
  if (q.query.kind === 'SelectQueryNode') return false;
  return !(q.query.kind === 'RawNode' && /^\s*(select|pragma)\b/i.test(q.sql));
}

/**
 * Kysely's SQLite dialect, with each write made durable before its result is handed back: a
 * connection that committed (a transaction, or a write outside one) waits for `flush` after it has
 * released the connection, so other queries run during the flush.
 */
class DurableSqliteDialect extends SqliteDialect {
  constructor(
    config: SqliteDialectConfig,
    private readonly sqlite: BetterSqlite3.Database,
    private readonly flush: () => Promise<void>,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    const inner = super.createDriver();
    const { sqlite, flush } = this;
    // SQLite has one connection, held by one caller at a time: what it committed is flushed at its release.
    let committed = false;
    const wrap = (c: DatabaseConnection): DatabaseConnection => ({
      async executeQuery<R>(q: CompiledQuery) {
        const inTransaction = sqlite.inTransaction;
        // Outside a transaction (a BEGIN IMMEDIATE, or a statement on its own) the write lock may be
        // the other connection's: SQLITE_BUSY changed nothing, so wait and try again.
        const r = inTransaction ? await c.executeQuery<R>(q) : await whenNotBusy(() => c.executeQuery<R>(q));
        if (!sqlite.inTransaction && (inTransaction || writes(q))) committed = true;
        return r;
      },
      streamQuery: (q, chunkSize) => c.streamQuery(q, chunkSize),
    });
    return {
      init: () => inner.init(),
      acquireConnection: async () => wrap(await inner.acquireConnection()),
      // IMMEDIATE: a transaction takes the write lock when it begins, where whenNotBusy waits for it.
      // With two connections (the worker thread's, ADR 0019), a deferred one that read first and then
      // wrote after the other connection committed would fail with SQLITE_BUSY mid-transaction.
      beginTransaction: async (c) => {
        await c.executeQuery(CompiledQuery.raw('begin immediate'));
      },
      commitTransaction: (c) => inner.commitTransaction(c),
      // After some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM…) SQLite has rolled the transaction
      // back itself; a ROLLBACK then fails ("no transaction is active") and that error would replace
      // the one that says what happened (the disk is full).
      rollbackTransaction: async (c) => {
        if (sqlite.inTransaction) await inner.rollbackTransaction(c);
      },
      savepoint: (c, name, compile) => inner.savepoint!(c, name, compile),
      rollbackToSavepoint: (c, name, compile) => inner.rollbackToSavepoint!(c, name, compile),
      releaseSavepoint: (c, name, compile) => inner.releaseSavepoint!(c, name, compile),
      async releaseConnection(c) {
        const mustFlush = committed;
        committed = false;
        await inner.releaseConnection(c);
        if (mustFlush) await flush();
      },
      destroy: () => inner.destroy(),
    };
  }
}
