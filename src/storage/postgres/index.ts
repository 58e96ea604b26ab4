/**
 * The scale-out backend: PostgreSQL through `pg`, for several nodes sharing one database. A
 * `?schema=name` parameter on the URL keeps Sesame's tables in their own schema (created if missing).
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Storage } from '../ports.ts';
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

// Arbitrary constant naming Sesame's migration lock (pg_advisory_lock takes a bigint).
const MIGRATION_LOCK_KEY = 0x5e5a3e;

/** Opens a pool to `url`, migrates the schema and returns the Storage. */
export async function openPostgresStorage(url: string, options: { poolSize?: number } = {}): Promise<Storage> {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`SESAME_DATABASE_URL: schema "${schema}" must be a lower-case SQL identifier`);
  }
  if (schema) {
    const admin = new pg.Client({ connectionString: u.toString() });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: u.toString(),
    max: options.poolSize ?? 10,
    types,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client's network error must not crash the process; the pool replaces the client.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    // Nodes starting together race to create Kysely's own migration tables; a session-level
    // advisory lock makes them migrate one after the other (the later ones find nothing to do).
    const lockClient = await pool.connect();
    try {
      await lockClient.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      await migrateToLatest(db as Kysely<unknown>, 'postgres', schema ?? 'public');
    } finally {
      await lockClient.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
      lockClient.release();
    }
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return sqlStorage('postgres', db, (err) => (err as { code?: unknown })?.code === '23505', async () => {
    await db.destroy();
  });
}
