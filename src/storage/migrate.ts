/**
 * `sesame migrate --to postgres://…`: copies an embedded SQLite installation (database and blob
 * files) onto an empty PostgreSQL database, so that one or more nodes continue its work there.
 *
 * The copy is driven by the schema found at run time, not by a list written here: every table of
 * the source (minus migration bookkeeping and the registrations of running processes) is copied with
 * the columns it has, converted to the target column's type, in foreign-key order. So a table added
 * by a later migration is copied without anyone remembering this file; a table or column the target
 * lacks stops the copy with a message instead of dropping data.
 *
 * Safety:
 * - The source is opened with SQLite's exclusive locking mode: if any other process (a running
 *   `sesame serve`, another CLI command) has the database open, the copy is refused, and while it
 *   runs no node can start on the source and take work from the queue.
 * - The target is migrated first (same migrations as `sesame serve` runs), then refused if any table
 *   to be filled already has rows: this command creates an installation, it never merges two.
 * - Every row, every blob chunk and the sequence fix-ups go in ONE PostgreSQL transaction: a failure
 *   at any point leaves the target with its empty schema, and running the command again is safe.
 * - Leases (columns `lease_owner`/`lease_expires_at`, on queue and webhook rows) are cleared on the
 *   way, so the new nodes take the work at once instead of waiting for leases of a node that is gone.
 * - Sequences behind serial columns (`events.id`, `webhooks.id`) are moved past the copied ids (and
 *   past SQLite's AUTOINCREMENT high-water mark), so new events continue the old numbering.
 *
 * Secrets (access-key secrets, DKIM keys) are copied sealed, as stored: the PostgreSQL nodes must use
 * the master key of the SQLite installation (`SESAME_MASTER_KEY` or the data dir's `master.key`).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { MigrationProgress, MigrationSummary } from '../lib/migration-report.ts';
import { FileBlobStore, SqlBlobStore } from './blobs.ts';
import { openPostgresStorage } from './postgres/index.ts';
import { migrateToLatest } from './sql/migrations.ts';
import type { Database } from './sql/tables.ts';

/** SQLite's own tables, the migration bookkeeping, and the SQLite-only full-text index (PostgreSQL has none: it searches with ILIKE). */
const BOOKKEEPING = /^(sqlite_|sesame_migrations|message_text($|_))/;

/**
 * Tables that describe running processes rather than the installation: they are not copied, and the
 * nodes on PostgreSQL fill them as they start.
 */
const NOT_COPIED: Record<string, string> = {
  nodes: 'node registrations; the PostgreSQL nodes register themselves',
  job_leases: 'leases of periodic jobs held by running nodes; the PostgreSQL nodes take them',
  limit_slots: 'concurrency slots held by running nodes; none is held once the source is stopped',
};

/** Columns that hold a queue or delivery lease: cleared on copy so that the new nodes take the work. */
const LEASE_COLUMNS = new Set(['lease_owner', 'lease_expires_at']);

/** Columns that name a BlobStore id (`messages.body_blob`, `objects.blob_id`, and any `*_blob`/`*_blob_id` added later). */
const BLOB_COLUMN = /(^|_)blob(_id)?$/;

/** Rows per INSERT at most, and bytes of values per INSERT (about) at most. */
const BATCH_ROWS = 500;
const BATCH_BYTES = 8 * 1024 * 1024;
/** PostgreSQL's limit of bind parameters per statement is 65,535. */
const MAX_PARAMS = 60_000;

/** The migration was refused before anything was written (target has data, source in use, …). */
export class MigrationRefusedError extends Error {
  override readonly name = 'MigrationRefusedError';
}

/** Where the installation to migrate lives: as in the configuration (`SESAME_DATABASE_URL`, `SESAME_DATA_DIR`). */
export interface MigrationSource {
  databaseUrl?: string;
  dataDir: string;
}

/** The SQLite file an installation uses (the rule of storage/open.ts); refuses a PostgreSQL one. */
export function sqliteFileOf(source: MigrationSource): string {
  const url = source.databaseUrl;
  if (url && /^postgres(ql)?:/.test(url)) {
    throw new MigrationRefusedError('this installation already runs on PostgreSQL (SESAME_DATABASE_URL is a postgres:// URL); sesame migrate reads an embedded SQLite installation. Unset SESAME_DATABASE_URL and point SESAME_DATA_DIR at the SQLite installation.');
  }
  if (url) return url.replace(/^(sqlite|file):(\/\/)?/, '');
  return join(source.dataDir, 'sesame.db');
}

/** Splits `?schema=` off a PostgreSQL URL (as the PostgreSQL backend does). */
function parseTarget(url: string): { connectionString: string; schema: string | null } {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new MigrationRefusedError(`--to must be a postgres:// (or postgresql://) URL, got "${url.replace(/\/\/[^@/]*@/, '//…@')}"`);
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new MigrationRefusedError(`--to: schema "${schema}" must be a lower-case SQL identifier`);
  return { connectionString: u.toString(), schema };
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Opens the source with an exclusive lock; refuses when another process has it open. */
function openSourceExclusively(file: string): BetterSqlite3.Database {
  if (!existsSync(file)) {
    throw new MigrationRefusedError(`no Sesame database at ${file}. Set SESAME_DATA_DIR (or SESAME_DATABASE_URL=sqlite:/path/file.db) to the installation to migrate.`);
  }
  const db = new BetterSqlite3(file, { fileMustExist: true, timeout: 2000 });
  try {
    // In WAL mode every open connection holds a shared lock on the WAL index; exclusive locking mode
    // needs all of them gone, so this both detects a running node and keeps one from starting.
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new MigrationRefusedError(
        `${file} is in use by another process (a running "sesame serve" or another sesame command). Stop every Sesame process that uses this data dir, then run sesame migrate again.`,
      );
    }
    throw err;
  }
  db.pragma('foreign_keys = ON');
  return db;
}

/** Tables of the source in an order where every table comes after the tables its foreign keys name. */
function sourceTables(db: BetterSqlite3.Database): string[] {
  const names = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as Array<{ name: string }>).map((r) => r.name).filter((n) => !BOOKKEEPING.test(n));
  const deps = new Map(names.map((n) => [n, (db.prepare(`SELECT "table" AS t FROM pragma_foreign_key_list(?)`).all(n) as Array<{ t: string }>).map((r) => r.t).filter((t) => t !== n)]));
  const ordered: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (n: string) => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'visiting') throw new Error(`foreign keys form a cycle through table ${n}`);
    state.set(n, 'visiting');
    for (const d of deps.get(n) ?? []) if (deps.has(d)) visit(d);
    state.set(n, 'done');
    ordered.push(n);
  };
  for (const n of names) visit(n);
  return ordered;
}

/** Converts a SQLite value (integers read as BigInt) to what the target column of `dataType` takes. */
function converter(dataType: string, where: string): (v: unknown) => unknown {
  const bad = (v: unknown) => new Error(`${where}: cannot store a ${Buffer.isBuffer(v) ? 'blob' : typeof v} in a PostgreSQL ${dataType} column`);
  switch (dataType) {
    case 'bytea':
      return (v) => (v === null || Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8'));
    case 'smallint':
    case 'integer':
    case 'bigint':
    case 'numeric':
      // Sent as text: PostgreSQL parses it exactly, beyond Number's 2^53.
      return (v) => {
        if (v === null) return null;
        if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'string') return String(v);
        throw bad(v);
      };
    case 'real':
    case 'double precision':
      return (v) => (typeof v === 'bigint' ? Number(v) : v);
    case 'boolean':
      return (v) => (typeof v === 'bigint' || typeof v === 'number' ? Number(v) !== 0 : v);
    default:
      // text, json, jsonb, …: SQLite's dynamic typing may have stored a number or bytes.
      return (v) => (typeof v === 'bigint' || typeof v === 'number' ? String(v) : Buffer.isBuffer(v) ? v.toString('utf8') : v);
  }
}

/** Approximate bytes a value adds to an INSERT. */
const sizeOf = (v: unknown) => (v === null ? 1 : Buffer.isBuffer(v) ? v.length : typeof v === 'string' ? v.length : 8);

/**
 * Copies the SQLite installation of `source` onto the empty PostgreSQL database `targetUrl`
 * (`?schema=` honoured). Throws MigrationRefusedError when it must not start, and any other error
 * when the copy failed (the target then holds no copied rows).
 */
export async function migrateSqliteToPostgres(options: { source: MigrationSource; targetUrl: string; onProgress?: (p: MigrationProgress) => void }): Promise<MigrationSummary> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => {});
  const target = parseTarget(options.targetUrl);
  const file = sqliteFileOf(options.source);
  const blobDir = join(dirname(file), 'blobs');

  const sqlite = openSourceExclusively(file);
  // Kysely over the same (exclusive) connection, to bring the source to the current schema first.
  const sourceDb = new Kysely<unknown>({ dialect: new SqliteDialect({ database: sqlite }) });
  let pool: pg.Pool | undefined;
  let targetDb: Kysely<Database> | undefined;
  try {
    progress({ phase: 'prepare', message: `source ${file}: locked, migrating its schema to this version` });
    await migrateToLatest(sourceDb, 'sqlite');

    progress({ phase: 'prepare', message: 'target: migrating its schema (as sesame serve does)' });
    // The backend's own open path: same migrations, same advisory lock against nodes starting now.
    await (await openPostgresStorage(options.targetUrl)).close();

    pool = new pg.Pool({
      connectionString: target.connectionString,
      max: 1,
      ...(target.schema ? { options: `-c search_path=${target.schema}` } : {}),
    });
    pool.on('error', () => {});
    targetDb = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const tdb = targetDb;

    // Both sides must be at the same schema version, or columns would not line up.
    const srcMigrations = (sqlite.prepare('SELECT name FROM sesame_migrations ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name);
    const tgtMigrations = (await sql<{ name: string }>`SELECT name FROM sesame_migrations ORDER BY name`.execute(tdb)).rows.map((r) => r.name);
    if (srcMigrations.join() !== tgtMigrations.join()) {
      const onlySrc = srcMigrations.filter((m) => !tgtMigrations.includes(m));
      const onlyTgt = tgtMigrations.filter((m) => !srcMigrations.includes(m));
      throw new MigrationRefusedError(
        `source and target schemas differ (only in the source: ${onlySrc.join(', ') || 'none'}; only in the target: ${onlyTgt.join(', ') || 'none'}). Run sesame migrate with the Sesame version that last ran on both.`,
      );
    }

    const targetColumns = new Map<string, Map<string, string>>();
    const cols = await sql<{ table_name: string; column_name: string; data_type: string }>`
      SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema()`.execute(tdb);
    for (const c of cols.rows) {
      if (!targetColumns.has(c.table_name)) targetColumns.set(c.table_name, new Map());
      targetColumns.get(c.table_name)!.set(c.column_name, c.data_type);
    }

    const tables = sourceTables(sqlite);
    const skipped: MigrationSummary['skipped'] = [];
    const toCopy: Array<{ table: string; columns: string[] }> = [];
    for (const table of tables) {
      if (NOT_COPIED[table] !== undefined) {
        const rows = Number((sqlite.prepare(`SELECT count(*) AS n FROM ${quote(table)}`).get() as { n: number }).n);
        skipped.push({ table, rows, reason: NOT_COPIED[table] });
        continue;
      }
      const tcols = targetColumns.get(table);
      if (!tcols) throw new MigrationRefusedError(`table ${table} of the source does not exist in the target; the schemas do not match (nothing was copied)`);
      const columns = (sqlite.prepare(`SELECT name FROM pragma_table_info(?) ORDER BY cid`).all(table) as Array<{ name: string }>).map((r) => r.name);
      const missing = columns.filter((c) => !tcols.has(c));
      if (missing.length > 0) throw new MigrationRefusedError(`column(s) ${missing.map((c) => `${table}.${c}`).join(', ')} of the source do not exist in the target; the schemas do not match (nothing was copied)`);
      toCopy.push({ table, columns });
    }

    // SQLite AUTOINCREMENT never reuses an id, even of deleted rows: its high-water mark per table.
    const hasSqliteSequence = sqlite.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'`).get() !== undefined;
    const highWater = new Map<string, bigint>();
    if (hasSqliteSequence) {
      for (const r of sqlite.prepare('SELECT name, seq FROM sqlite_sequence').safeIntegers(true).all() as Array<{ name: string; seq: bigint }>) highWater.set(r.name, r.seq);
    }

    const summary: MigrationSummary = { source: file, tables: [], skipped, blobs: { count: 0, bytes: 0 }, missingBlobs: [], leasesCleared: 0, sequences: [], elapsedMs: 0 };
    for (const s of skipped) progress({ phase: 'skip', ...s });

    await tdb.transaction().execute(async (trx) => {
      // Refuse a target that already holds an installation (checked inside the transaction that fills it).
      const occupied: string[] = [];
      for (const { table } of toCopy) {
        const r = await sql<{ one: number }>`SELECT 1 AS one FROM ${sql.table(table)} LIMIT 1`.execute(trx);
        if (r.rows.length > 0) occupied.push(table);
      }
      if (occupied.length > 0) {
        throw new MigrationRefusedError(
          `the target already holds Sesame data (rows in ${occupied.join(', ')}). sesame migrate copies into an empty database only: give --to a new database or a new ?schema=name, or drop the existing schema first. Nothing was copied.`,
        );
      }

      const blobRefs = new Map<string, { table: string; column: string }>();
      for (const { table, columns } of toCopy) {
        const types = targetColumns.get(table)!;
        const convert = columns.map((c) => converter(types.get(c)!, `${table}.${c}`));
        const leaseIdx = columns.map((c, i) => (LEASE_COLUMNS.has(c) ? i : -1)).filter((i) => i >= 0);
        const ownerIdx = columns.indexOf('lease_owner');
        const blobIdx = columns.map((c, i) => (BLOB_COLUMN.test(c) && table !== 'blobs' && table !== 'blob_chunks' ? i : -1)).filter((i) => i >= 0);
        const total = Number((sqlite.prepare(`SELECT count(*) AS n FROM ${quote(table)}`).get() as { n: number }).n);
        const rowsPerBatch = Math.max(1, Math.min(BATCH_ROWS, Math.floor(MAX_PARAMS / Math.max(1, columns.length))));
        progress({ phase: 'table', table, copied: 0, total, done: false });
        let batch: Array<Record<string, unknown>> = [];
        let batchBytes = 0;
        let copied = 0;
        const flush = async () => {
          if (batch.length === 0) return;
          await (trx as unknown as Transaction<Record<string, Record<string, unknown>>>).insertInto(table).values(batch).execute();
          copied += batch.length;
          batch = [];
          batchBytes = 0;
          progress({ phase: 'table', table, copied, total, done: false });
        };
        // Raw rows as arrays, integers as BigInt (exact); the iterator holds SQLite's read snapshot.
        const stmt = sqlite.prepare(`SELECT ${columns.map(quote).join(', ')} FROM ${quote(table)}`).raw(true).safeIntegers(true);
        for (const raw of stmt.iterate() as IterableIterator<unknown[]>) {
          if (ownerIdx >= 0 && raw[ownerIdx] !== null) summary.leasesCleared++;
          for (const i of leaseIdx) raw[i] = null;
          for (const i of blobIdx) {
            const id = raw[i];
            if (typeof id === 'string' && id !== '' && !blobRefs.has(id)) blobRefs.set(id, { table, column: columns[i]! });
          }
          const row: Record<string, unknown> = {};
          for (let i = 0; i < columns.length; i++) {
            const v = convert[i]!(raw[i] ?? null);
            row[columns[i]!] = v;
            batchBytes += sizeOf(v);
          }
          batch.push(row);
          if (batch.length >= rowsPerBatch || batchBytes >= BATCH_BYTES) await flush();
        }
        await flush();
        summary.tables.push({ table, rows: copied });
        progress({ phase: 'table', table, copied, total, done: true });
      }

      // Blob files → blob_chunks rows under the same ids, in this same transaction.
      const files = new FileBlobStore(blobDir);
      const chunks = new SqlBlobStore(trx);
      const blobTotal = blobRefs.size;
      progress({ phase: 'blobs', copied: 0, total: blobTotal, bytes: 0, done: false });
      for (const [id, ref] of blobRefs) {
        const stream = await files.stream(id);
        if (!stream) {
          summary.missingBlobs.push({ ...ref, id });
          continue;
        }
        const { size } = await chunks.putWithId(id, stream);
        summary.blobs.count++;
        summary.blobs.bytes += size;
        progress({ phase: 'blobs', copied: summary.blobs.count, total: blobTotal, bytes: summary.blobs.bytes, done: false });
      }
      progress({ phase: 'blobs', copied: summary.blobs.count, total: blobTotal, bytes: summary.blobs.bytes, done: true });

      // Serial columns: the next value goes past every copied id and SQLite's high-water mark.
      const serials = await sql<{ table_name: string; column_name: string; seq: string | null }>`
        SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) AS seq
        FROM information_schema.columns
        WHERE table_schema = current_schema() AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')`.execute(trx);
      for (const s of serials.rows) {
        if (!s.seq || !toCopy.some((t) => t.table === s.table_name)) continue;
        const max = await sql<{ m: string | null }>`SELECT max(${sql.ref(s.column_name)})::text AS m FROM ${sql.table(s.table_name)}`.execute(trx);
        let next = BigInt(max.rows[0]?.m ?? '0') + 1n;
        const hw = highWater.get(s.table_name);
        if (hw !== undefined && hw + 1n > next) next = hw + 1n;
        // is_called = false: the next nextval() returns `next` itself.
        await sql`SELECT setval(${s.seq}, ${next.toString()}::bigint, false)`.execute(trx);
        summary.sequences.push({ table: s.table_name, column: s.column_name, next: Number(next) });
      }
      progress({ phase: 'commit' });
    });
    summary.elapsedMs = Date.now() - started;
    return summary;
  } finally {
    await targetDb?.destroy().catch(() => {});
    if (!targetDb) await pool?.end().catch(() => {});
    // Destroying Kysely closes the SQLite connection (and its exclusive lock).
    await sourceDb.destroy().catch(() => {});
    if (sqlite.open) sqlite.close();
  }
}
