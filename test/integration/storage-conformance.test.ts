/**
 * Runs the storage conformance suite (src/storage/conformance/suite.ts) on both backends — SQLite
 * on a fresh temporary file per test group, PostgreSQL on a fresh schema per group when
 * SESAME_TEST_DATABASE_URL is set — plus the properties that only one backend has: SQLite's
 * durability settings and reopening, PostgreSQL's concurrent start on one schema.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { storageConformanceSuite } from '../../src/storage/conformance/suite.ts';
import { openPostgresStorage } from '../../src/storage/postgres/index.ts';
import { PG_MESSAGE_TEXT } from '../../src/storage/sql/migrations.ts';
import { withReadCache } from '../../src/storage/read-cache.ts';
import { openSqliteStorage } from '../../src/storage/sqlite/index.ts';
import type { Storage } from '../../src/storage/ports.ts';
import { freshPostgresSchema } from '../helpers/server.ts';

/**
 * Every better-sqlite3 connection opened in this file, so a test can ask the storage's own
 * connection for its per-connection settings (synchronous, foreign_keys), which another connection
 * cannot see. The subclass changes nothing else.
 */
const sqliteConnections = vi.hoisted(() => [] as BetterSqlite3.Database[]);
vi.mock('better-sqlite3', async (importOriginal) => {
  const mod = await importOriginal<{ default: typeof BetterSqlite3 }>();
  const Real = mod.default;
  class Recording extends Real {
    constructor(...args: ConstructorParameters<typeof Real>) {
      super(...args);
      sqliteConnections.push(this);
    }
  }
  return { ...mod, default: Recording };
});

const PG_URL = process.env.SESAME_TEST_DATABASE_URL;

/** A fresh SQLite file in a fresh temporary directory. */
async function freshSqliteFile(): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sesame-storage-'));
  return { dir, file: join(dir, 'data', 'sesame.db') };
}

storageConformanceSuite('sqlite', async () => {
  const { dir, file } = await freshSqliteFile();
  const storage = await openSqliteStorage(file);
  return {
    storage,
    async cleanup() {
      await storage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

// The server's storage is the backend behind its read cache (src/storage/read-cache.ts): through it
// too, every read after a write of the same storage sees that write.
storageConformanceSuite('sqlite behind the read cache', async () => {
  const { dir, file } = await freshSqliteFile();
  const backend = await openSqliteStorage(file);
  return {
    storage: withReadCache(backend, 60_000),
    async cleanup() {
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe.skipIf(!PG_URL)('postgres (needs SESAME_TEST_DATABASE_URL)', () => {
  storageConformanceSuite('postgres', async () => {
    const schema = await freshPostgresSchema();
    let storage: Storage;
    try {
      storage = await openPostgresStorage(schema.url);
    } catch (err) {
      await schema.drop();
      throw err;
    }
    return {
      storage,
      async cleanup() {
        try {
          await storage.close();
        } finally {
          await schema.drop();
        }
      },
    };
  });
});

describe('sqlite backend specifics', () => {
  const disposers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (disposers.length) await disposers.pop()!();
  });

  /** Opens a storage on `file` and closes it after the test. */
  async function openOn(file: string): Promise<Storage> {
    const storage = await openSqliteStorage(file);
    disposers.push(() => storage.close());
    return storage;
  }

  async function tempFile(): Promise<string> {
    const { dir, file } = await freshSqliteFile();
    disposers.unshift(() => rm(dir, { recursive: true, force: true })); // runs last
    return file;
  }

  /** A read-only look at the file, as an operator's `sqlite3 -readonly` would have. */
  function readOnly(file: string): BetterSqlite3.Database {
    const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
    disposers.push(async () => void db.close());
    return db;
  }

  it('keeps the database in WAL mode with synchronous = NORMAL (the storage flushes the WAL itself) and foreign keys on', async () => {
    const file = await tempFile();
    const storage = await openOn(file);
    await storage.accounts.ensure({ id: 'wal', createdAt: 1, settings: {} });

    // journal_mode is a property of the file: any connection sees it.
    expect(readOnly(file).pragma('journal_mode', { simple: true })).toBe('wal');
    expect(await readdir(join(file, '..'))).toEqual(expect.arrayContaining(['sesame.db', 'sesame.db-wal', 'sesame.db-shm']));

    // synchronous and foreign_keys are per connection: ask the storage's own connection.
    const own = sqliteConnections.filter((c) => c.name === file && !c.readonly);
    expect(own).toHaveLength(1);
    expect(own[0]!.pragma('journal_mode', { simple: true })).toBe('wal');
    // 1 = NORMAL: commits are flushed by the storage before they return (test/unit/wal-flush.test.ts).
    expect(own[0]!.pragma('synchronous', { simple: true })).toBe(1);
    expect(own[0]!.pragma('foreign_keys', { simple: true })).toBe(1);
    // 0: a busy write lock is waited for with timers, not by SQLite sleeping on the event loop (test/unit/sqlite-busy.test.ts).
    expect(own[0]!.pragma('busy_timeout', { simple: true })).toBe(0);
  });

  it('reopening an existing file keeps the data and does not re-run migrations', async () => {
    const file = await tempFile();
    const first = await openSqliteStorage(file);
    await first.accounts.ensure({ id: 'keep', createdAt: 2 ** 40, settings: { kept: ['yes'] } });
    await first.accessKeys.create({
      accessKeyId: 'AKIAKEEPKEEPKEEP0001',
      accountId: 'keep',
      secretSealed: 'v1.abc',
      policy: '{}',
      description: 'kept',
      status: 'Active',
      isRoot: true,
      createdAt: 2 ** 40 + 1,
    });
    await first.identities.create({
      accountId: 'keep',
      name: 'kept.test',
      type: 'DOMAIN',
      verificationStatus: 'PENDING',
      nextCheckAt: 5,
      createdAt: 3,
      updatedAt: 4,
      data: { kept: true },
    });
    await first.tags.put('keep', 'arn:x', [{ key: 'k', value: 'v' }]);
    await first.close();

    const migrationsBefore = readOnly(file).prepare('SELECT name, timestamp FROM sesame_migrations ORDER BY name').all();
    expect(migrationsBefore.length).toBeGreaterThan(0);

    const second = await openOn(file);
    expect(await second.accounts.get('keep')).toEqual({ id: 'keep', createdAt: 2 ** 40, settings: { kept: ['yes'] } });
    expect(await second.accessKeys.findRoot('keep')).toMatchObject({ accessKeyId: 'AKIAKEEPKEEPKEEP0001', createdAt: 2 ** 40 + 1 });
    expect(await second.identities.get('keep', 'kept.test')).toMatchObject({ data: { kept: true }, nextCheckAt: 5 });
    expect(await second.tags.list('keep', 'arn:x')).toEqual([{ key: 'k', value: 'v' }]);

    const check = readOnly(file);
    const migrationsAfter = check.prepare('SELECT name, timestamp FROM sesame_migrations ORDER BY name').all();
    // Same rows, same timestamps: nothing was migrated again.
    expect(migrationsAfter).toEqual(migrationsBefore);
    expect(check.prepare('SELECT COUNT(*) AS n FROM sesame_migrations').get()).toEqual({ n: migrationsBefore.length });
    expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('two storages on one file (the CLI while the server runs) see each other’s writes', async () => {
    const file = await tempFile();
    const server = await openOn(file);
    const cli = await openOn(file);
    await server.accounts.ensure({ id: 'shared', createdAt: 1, settings: {} });
    expect(await cli.accounts.get('shared')).toBeDefined();
    await cli.accessKeys.create({
      accessKeyId: 'AKIASHAREDSHARED0001',
      accountId: 'shared',
      secretSealed: 'v1.x',
      policy: '{}',
      description: '',
      status: 'Active',
      isRoot: false,
      createdAt: 2,
    });
    expect(await server.accessKeys.get('AKIASHAREDSHARED0001')).toMatchObject({ accountId: 'shared' });
  });
});

describe.skipIf(!PG_URL)('postgres backend specifics (needs SESAME_TEST_DATABASE_URL)', () => {
  const disposers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (disposers.length) await disposers.pop()!();
  });

  async function schema(): Promise<{ url: string; name: string }> {
    const s = await freshPostgresSchema();
    disposers.unshift(s.drop); // runs after the storages are closed
    return { url: s.url, name: new URL(s.url).searchParams.get('schema')! };
  }

  /** Waits for every open; closes after the test those that succeeded, and throws the first failure. */
  async function openAll(opening: Array<Promise<Storage>>): Promise<Storage[]> {
    const settled = await Promise.allSettled(opening);
    for (const r of settled) if (r.status === 'fulfilled') disposers.push(() => r.value.close());
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<Storage>).value);
  }

  async function query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      return (await c.query<T>(text, values)).rows;
    } finally {
      await c.end();
    }
  }

  it('indexes the messages\' sender and subject with pg_trgm, and the text search uses that index', async () => {
    const s = await schema();
    const storage = await openPostgresStorage(s.url);
    disposers.push(() => storage.close());
    const indexes = await query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'messages_text_trgm'`, [s.name]);
    expect(indexes).toHaveLength(1);
    expect(indexes[0]!.indexdef).toContain('USING gin');
    expect(indexes[0]!.indexdef).toContain('gin_trgm_ops');
    const now = Date.now();
    const message = (id: string, subject: string, source: string, tag: string) => ({
      message: { messageId: id, accountId: 'a1', mailFrom: `${id}@b.test`, body: Buffer.from('x'), configurationSet: null, createdAt: now, expiresAt: now + 60_000, meta: { mail: { messageId: id, source, commonHeaders: { from: [source], subject }, tags: { campaign: [tag] } } } },
      recipients: [{ messageId: id, rcpt: `to@${id}.test`, domain: `${id}.test`, state: 'queued' as const, attempts: 0, nextAttemptAt: now + 3_600_000, leaseOwner: null, leaseExpiresAt: null, lastResponse: null, updatedAt: now }],
      events: [],
    });
    await storage.queue.enqueue([message('m1', 'Quarterly Invoice 4711', 'Billing <billing@b.test>', 'x'), message('m2', 'Newsletter', 'News <news@b.test>', 'invoice 4711')]);
    // Matched in the subject, case ignored; text only in another part of the stored mail (a tag) is not a match.
    expect((await storage.queue.search({ accountId: 'a1', text: 'invoice 4711' }, 50)).map((r) => r.messageId)).toEqual(['m1']);
    expect((await storage.queue.search({ accountId: 'a1', text: 'NEWS@B' }, 50)).map((r) => r.messageId)).toEqual(['m2']);
    const c = new pg.Client({ connectionString: s.url.replace(/\?schema=.*$/, '') });
    await c.connect();
    try {
      await c.query(`SET search_path TO "${s.name}", public`);
      await c.query('SET enable_seqscan = off');
      const plan = (await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT message_id FROM messages WHERE ${PG_MESSAGE_TEXT} ILIKE '%invoice 4711%'`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toContain('messages_text_trgm');
    } finally {
      await c.end();
    }
  });

  it('keeps its tables in the schema named by ?schema=', async () => {
    const s = await schema();
    const storage = await openPostgresStorage(s.url);
    disposers.push(() => storage.close());
    const rows = await query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, [s.name]);
    expect(rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['access_keys', 'accounts', 'identities', 'sesame_migrations', 'sesame_migrations_lock', 'tags']));
    const migrations = await query<{ name: string }>(`SELECT name FROM "${s.name}".sesame_migrations`);
    expect(migrations.length).toBeGreaterThan(0);
  });

  it('two storages opened concurrently on one fresh schema both come up and see each other’s writes', async () => {
    // Several nodes starting together against a `?schema=` that does not exist yet. The race is
    // timing-dependent, so it is run on a few fresh schemas.
    for (let round = 0; round < 3; round++) {
      const s = await schema();
      const [a, b] = (await openAll([openPostgresStorage(s.url), openPostgresStorage(s.url)])) as [Storage, Storage];
      await a.accounts.ensure({ id: 'node-a', createdAt: 1, settings: { by: 'a' } });
      expect(await b.accounts.get('node-a')).toEqual({ id: 'node-a', createdAt: 1, settings: { by: 'a' } });
      await b.identities.create({
        accountId: 'node-a',
        name: 'from-b.test',
        type: 'DOMAIN',
        verificationStatus: 'PENDING',
        nextCheckAt: 10,
        createdAt: 1,
        updatedAt: 1,
        data: { by: 'b' },
      });
      expect(await a.identities.get('node-a', 'from-b.test')).toMatchObject({ data: { by: 'b' } });
      // Each migration ran once.
      const migrations = await query<{ name: string }>(`SELECT name FROM "${s.name}".sesame_migrations ORDER BY name`);
      expect(migrations.length).toBeGreaterThan(0);
      expect(new Set(migrations.map((m) => m.name)).size).toBe(migrations.length);
    }
  });

  it('two storages opened concurrently on an existing but empty schema both come up (the migration lock)', async () => {
    const s = await schema();
    await query(`CREATE SCHEMA "${s.name}"`);
    const opened = await openAll(Array.from({ length: 4 }, () => openPostgresStorage(s.url)));
    await opened[0]!.accounts.ensure({ id: 'n0', createdAt: 1, settings: {} });
    for (const o of opened) expect(await o.accounts.get('n0')).toBeDefined();
    await opened[3]!.tags.put('n0', 'arn:n', [{ key: 'by', value: '3' }]);
    expect(await opened[1]!.tags.list('n0', 'arn:n')).toEqual([{ key: 'by', value: '3' }]);
  });

  it('a fresh schema migrates while another schema of the same database already holds Sesame’s tables', async () => {
    // Two deployments (or two test runs) sharing one PostgreSQL database, each in its own schema.
    const first = await schema();
    const a = await openPostgresStorage(first.url);
    disposers.push(() => a.close());
    const second = await schema();
    const b = await openPostgresStorage(second.url);
    disposers.push(() => b.close());
    await b.accounts.ensure({ id: 'second', createdAt: 1, settings: {} });
    expect(await a.accounts.get('second')).toBeUndefined();
  });
});
