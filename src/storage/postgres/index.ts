/**
 * The scale-out backend: PostgreSQL through `pg`, for several nodes sharing one database. A
 * `?schema=name` parameter on the URL keeps Sesame's tables in their own schema (created if missing).
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Storage } from '../ports.ts';
import { SqlBlobStore } from '../blobs.ts';
import { migrateToLatest } from '../sql/migrations.ts';
import { sqlStorage } from '../sql/repositories.ts';
import type { Database } from '../sql/tables.ts';

// int8 (bigint) columns hold millisecond timestamps, well inside Number's exact range.
const INT8_OID = 20;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

/**
 * Arbitrary constant naming Sesame's migration lock (pg_advisory_lock takes a bigint). Whoever drops
 * a schema of a database Sesame nodes share should hold it too: Kysely's migrator reads the catalog
 * of every schema, and a schema dropped meanwhile fails that read.
 */
export const MIGRATION_LOCK_KEY = 0x5e5a3e;

/** Opens a pool to `url`, migrates the schema and returns the Storage. */
export async function openPostgresStorage(url: string, options: { poolSize?: number; onConnectionError?: (err: Error) => void } = {}): Promise<Storage> {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`SESAME_DATABASE_URL: schema "${schema}" must be a lower-case SQL identifier`);
  }
  const pool = new pg.Pool({
    connectionString: u.toString(),
    max: options.poolSize ?? 10,
    types,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client's network error must not crash the process; the pool replaces the client.
  pool.on('error', (err) => options.onConnectionError?.(err));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  // Nodes starting together race to create the schema and Kysely's own migration tables. A
  // session-level advisory lock, held on a separate connection (so that a pool of size 1 still
  // works), makes them go one after the other; the later ones find nothing to do.
  const admin = new pg.Client({ connectionString: u.toString() });
  try {
    await admin.connect();
    await admin.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      if (schema) await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await migrateToLatest(db as Kysely<unknown>, 'postgres', schema ?? 'public');
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    }
  } catch (err) {
    await db.destroy();
    throw err;
  } finally {
    await admin.end().catch(() => {});
  }
  return sqlStorage(
    'postgres',
    db,
    (err) => (err as { code?: unknown })?.code === '23505',
    async () => {
      await db.destroy();
    },
    new SqlBlobStore(db),
  );
}
