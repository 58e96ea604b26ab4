/**
 * The repositories of storage/ports.ts over Kysely, shared by both backends: the queries here use
 * only SQL that SQLite and PostgreSQL both accept. A backend supplies the Kysely instance, its
 * migrations run first, and its own `isUniqueViolation`.
 */
import { SqlOutbox, SqlReputation, SqlSubscriptions, SqlWebhooks } from './events.ts';
import { SqlObjects } from './objects.ts';
import { SqlJobLeases, SqlNodes } from './nodes.ts';
import { SqlLimits } from './limits.ts';
import { SqlConsoleUsers } from './console-users.ts';
import { sql, type Kysely, type Selectable } from 'kysely';
import {
  StorageConflictError,
  type AccessKeyRecord,
  type BlobStore,
  type AccessKeyRepository,
  type ConsoleSessionRecord,
  type ConsoleSessionRepository,
  type AccessKeyStatus,
  type AccountRecord,
  type AccountRepository,
  type IdentityRecord,
  type IdentityRepository,
  type IdentityType,
  type NamedRecord,
  type NamedRepository,
  type Storage,
  type Tag,
  type TagRepository,
  type VerificationStatus,
} from '../ports.ts';
import { SqlQueue, SqlSuppression } from './queue.ts';
import type { AccessKeysTable, Database, IdentitiesTable, NamedTable } from './tables.ts';

/** Tells whether a driver error is a primary-key or unique violation. */
export type UniqueViolationTest = (err: unknown) => boolean;

async function insertOrConflict(run: () => Promise<unknown>, isUnique: UniqueViolationTest, what: string): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (isUnique(err)) throw new StorageConflictError(`${what} already exists`);
    throw err;
  }
}

class SqlAccounts implements AccountRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async ensure(account: AccountRecord): Promise<AccountRecord> {
    await this.db
      .insertInto('accounts')
      .values({ id: account.id, created_at: account.createdAt, settings: JSON.stringify(account.settings) })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const got = await this.get(account.id);
    if (!got) throw new Error(`account ${account.id} vanished after insert`);
    return got;
  }

  async get(id: string): Promise<AccountRecord | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? { id: row.id, createdAt: Number(row.created_at), settings: JSON.parse(row.settings) as Record<string, unknown> } : undefined;
  }

  async updateSettings(id: string, settings: Record<string, unknown>): Promise<void> {
    await this.db.updateTable('accounts').set({ settings: JSON.stringify(settings) }).where('id', '=', id).execute();
  }

  async swapSettings(id: string, expected: Record<string, unknown>, next: Record<string, unknown>): Promise<boolean> {
    // The stored text was written by JSON.stringify, and parse → stringify gives it back unchanged.
    const r = await this.db
      .updateTable('accounts')
      .set({ settings: JSON.stringify(next) })
      .where('id', '=', id)
      .where('settings', '=', JSON.stringify(expected))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}

function toKey(row: Selectable<AccessKeysTable>): AccessKeyRecord {
  return {
    accessKeyId: row.access_key_id,
    accountId: row.account_id,
    secretSealed: row.secret_sealed,
    policy: row.policy,
    description: row.description,
    status: row.status as AccessKeyStatus,
    isRoot: Number(row.is_root) === 1,
    createdAt: Number(row.created_at),
  };
}

class SqlConsoleSessions implements ConsoleSessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(s: ConsoleSessionRecord): Promise<void> {
    await this.db
      .insertInto('console_sessions')
      .values({ token_hash: s.tokenHash, account_id: s.accountId, access_key_id: s.accessKeyId, csrf_token: s.csrfToken, created_at: s.createdAt, expires_at: s.expiresAt, user_name: s.userName ?? null })
      .execute();
  }

  async get(tokenHash: string): Promise<ConsoleSessionRecord | undefined> {
    const r = await this.db.selectFrom('console_sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return r
      ? { tokenHash: r.token_hash, accountId: r.account_id, accessKeyId: r.access_key_id, ...(r.user_name !== null ? { userName: r.user_name } : {}), csrfToken: r.csrf_token, createdAt: Number(r.created_at), expiresAt: Number(r.expires_at) }
      : undefined;
  }

  async delete(tokenHash: string): Promise<boolean> {
    const r = await this.db.deleteFrom('console_sessions').where('token_hash', '=', tokenHash).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async deleteForKey(accessKeyId: string): Promise<number> {
    const r = await this.db.deleteFrom('console_sessions').where('access_key_id', '=', accessKeyId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async deleteForUser(userName: string): Promise<number> {
    const r = await this.db.deleteFrom('console_sessions').where('user_name', '=', userName).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async deleteExpired(now: number): Promise<number> {
    const r = await this.db.deleteFrom('console_sessions').where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

class SqlAccessKeys implements AccessKeyRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly isUnique: UniqueViolationTest,
  ) {}

  async create(key: AccessKeyRecord): Promise<void> {
    await insertOrConflict(
      () =>
        this.db
          .insertInto('access_keys')
          .values({
            access_key_id: key.accessKeyId,
            account_id: key.accountId,
            secret_sealed: key.secretSealed,
            policy: key.policy,
            description: key.description,
            status: key.status,
            is_root: key.isRoot ? 1 : 0,
            created_at: key.createdAt,
          })
          .execute(),
      this.isUnique,
      `access key ${key.accessKeyId}`,
    );
  }

  async get(accessKeyId: string): Promise<AccessKeyRecord | undefined> {
    const row = await this.db.selectFrom('access_keys').selectAll().where('access_key_id', '=', accessKeyId).executeTakeFirst();
    return row ? toKey(row) : undefined;
  }

  async list(accountId: string): Promise<AccessKeyRecord[]> {
    const rows = await this.db.selectFrom('access_keys').selectAll().where('account_id', '=', accountId).orderBy('created_at').orderBy('access_key_id').execute();
    return rows.map(toKey);
  }

  async update(key: AccessKeyRecord): Promise<void> {
    await this.db
      .updateTable('access_keys')
      .set({ secret_sealed: key.secretSealed, policy: key.policy, description: key.description, status: key.status, is_root: key.isRoot ? 1 : 0 })
      .where('access_key_id', '=', key.accessKeyId)
      .execute();
  }

  async setStatus(accessKeyId: string, status: AccessKeyStatus): Promise<boolean> {
    const r = await this.db.updateTable('access_keys').set({ status }).where('access_key_id', '=', accessKeyId).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async setPolicy(accessKeyId: string, policy: string): Promise<boolean> {
    const r = await this.db.updateTable('access_keys').set({ policy }).where('access_key_id', '=', accessKeyId).where('is_root', '=', 0).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(accessKeyId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('access_keys').where('access_key_id', '=', accessKeyId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async findRoot(accountId: string): Promise<AccessKeyRecord | undefined> {
    const row = await this.db
      .selectFrom('access_keys')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('is_root', '=', 1)
      .orderBy('created_at')
      .executeTakeFirst();
    return row ? toKey(row) : undefined;
  }
}

function toIdentity(row: Selectable<IdentitiesTable>): IdentityRecord {
  return {
    accountId: row.account_id,
    name: row.name,
    type: row.type as IdentityType,
    verificationStatus: row.verification_status as VerificationStatus,
    nextCheckAt: row.next_check_at === null ? null : Number(row.next_check_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

class SqlIdentities implements IdentityRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly isUnique: UniqueViolationTest,
  ) {}

  async create(i: IdentityRecord): Promise<void> {
    await insertOrConflict(
      () =>
        this.db
          .insertInto('identities')
          .values({
            account_id: i.accountId,
            name: i.name,
            type: i.type,
            verification_status: i.verificationStatus,
            next_check_at: i.nextCheckAt,
            created_at: i.createdAt,
            updated_at: i.updatedAt,
            data: JSON.stringify(i.data),
          })
          .execute(),
      this.isUnique,
      `identity ${i.name}`,
    );
  }

  async get(accountId: string, name: string): Promise<IdentityRecord | undefined> {
    const row = await this.db.selectFrom('identities').selectAll().where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst();
    return row ? toIdentity(row) : undefined;
  }

  async list(accountId: string, options: { after?: string; limit: number; type?: IdentityType; nameContains?: string }): Promise<IdentityRecord[]> {
    let q = this.db.selectFrom('identities').selectAll().where('account_id', '=', accountId);
    if (options.after !== undefined) q = q.where('name', '>', options.after);
    if (options.type) q = q.where('type', '=', options.type);
    // A scan of the account's names in the database, not of their JSON in the process (10,000 identities: ms, not a second).
    if (options.nameContains) q = q.where(sql<boolean>`lower(name) like ${`%${options.nameContains.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`} escape '\\'`);
    const rows = await q.orderBy('name').limit(options.limit).execute();
    return rows.map(toIdentity);
  }

  async update(i: IdentityRecord, expectedUpdatedAt: number): Promise<boolean> {
    const r = await this.db
      .updateTable('identities')
      .set({
        verification_status: i.verificationStatus,
        next_check_at: i.nextCheckAt,
        updated_at: i.updatedAt,
        data: JSON.stringify(i.data),
      })
      .where('account_id', '=', i.accountId)
      .where('name', '=', i.name)
      .where('updated_at', '=', expectedUpdatedAt)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(accountId: string, name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('identities').where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async byName(name: string): Promise<IdentityRecord[]> {
    const rows = await this.db.selectFrom('identities').selectAll().where('name', '=', name).orderBy('account_id').execute();
    return rows.map(toIdentity);
  }

  async listDue(now: number, limit: number): Promise<IdentityRecord[]> {
    const rows = await this.db
      .selectFrom('identities')
      .selectAll()
      .where('next_check_at', 'is not', null)
      .where('next_check_at', '<=', now)
      .orderBy('next_check_at')
      .limit(limit)
      .execute();
    return rows.map(toIdentity);
  }

  async count(accountId: string): Promise<number> {
    const r = await this.db.selectFrom('identities').select((eb) => eb.fn.countAll().as('n')).where('account_id', '=', accountId).executeTakeFirstOrThrow();
    return Number(r.n);
  }
}

class SqlTags implements TagRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async put(accountId: string, resourceArn: string, tags: Tag[]): Promise<void> {
    if (tags.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      const existing = await trx
        .selectFrom('tags')
        .select((eb) => eb.fn.max('position').as('p'))
        .where('account_id', '=', accountId)
        .where('resource_arn', '=', resourceArn)
        .executeTakeFirst();
      let position = Number(existing?.p ?? 0);
      for (const t of tags) {
        position += 1;
        await trx
          .insertInto('tags')
          .values({ account_id: accountId, resource_arn: resourceArn, tag_key: t.key, tag_value: t.value, position })
          .onConflict((oc) => oc.columns(['account_id', 'resource_arn', 'tag_key']).doUpdateSet({ tag_value: t.value }))
          .execute();
      }
    });
  }

  async remove(accountId: string, resourceArn: string, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db.deleteFrom('tags').where('account_id', '=', accountId).where('resource_arn', '=', resourceArn).where('tag_key', 'in', keys).execute();
  }

  async list(accountId: string, resourceArn: string): Promise<Tag[]> {
    const rows = await this.db
      .selectFrom('tags')
      .select(['tag_key', 'tag_value'])
      .where('account_id', '=', accountId)
      .where('resource_arn', '=', resourceArn)
      .orderBy('position')
      .orderBy('tag_key')
      .execute();
    return rows.map((r) => ({ key: r.tag_key, value: r.tag_value }));
  }

  async removeAll(accountId: string, resourceArn: string): Promise<void> {
    await this.db.deleteFrom('tags').where('account_id', '=', accountId).where('resource_arn', '=', resourceArn).execute();
  }
}

/** Templates and configuration sets: one implementation over two tables of the same shape. */
class SqlNamed implements NamedRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly table: 'templates' | 'configuration_sets' | 'topics' | 'event_buses' | 'receipt_rule_sets' | 'receipt_filters' | 'functions' | 'buckets' | 'external_buckets',
    private readonly isUnique: UniqueViolationTest,
  ) {}

  async create(r: NamedRecord): Promise<void> {
    await insertOrConflict(
      () => this.db.insertInto(this.table).values({ account_id: r.accountId, name: r.name, data: JSON.stringify(r.data), created_at: r.createdAt, updated_at: r.updatedAt }).execute(),
      this.isUnique,
      `${this.table} ${r.name}`,
    );
  }

  async get(accountId: string, name: string): Promise<NamedRecord | undefined> {
    const row = await this.db.selectFrom(this.table).selectAll().where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst();
    return row ? toNamed(row) : undefined;
  }

  async list(accountId: string, o: { after?: string; limit: number }): Promise<NamedRecord[]> {
    let q = this.db.selectFrom(this.table).selectAll().where('account_id', '=', accountId);
    if (o.after !== undefined) q = q.where('name', '>', o.after);
    return (await q.orderBy('name').limit(o.limit).execute()).map(toNamed);
  }

  async update(r: NamedRecord): Promise<boolean> {
    const res = await this.db
      .updateTable(this.table)
      .set({ data: JSON.stringify(r.data), updated_at: r.updatedAt })
      .where('account_id', '=', r.accountId)
      .where('name', '=', r.name)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async swap(r: NamedRecord, expectedUpdatedAt: number): Promise<boolean> {
    const res = await this.db
      .updateTable(this.table)
      .set({ data: JSON.stringify(r.data), updated_at: r.updatedAt })
      .where('account_id', '=', r.accountId)
      .where('name', '=', r.name)
      .where('updated_at', '=', expectedUpdatedAt)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async delete(accountId: string, name: string): Promise<boolean> {
    const res = await this.db.deleteFrom(this.table).where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async count(accountId: string): Promise<number> {
    const r = await this.db.selectFrom(this.table).select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', accountId).executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}

function toNamed(row: Selectable<NamedTable>): NamedRecord {
  return { accountId: row.account_id, name: row.name, data: JSON.parse(row.data) as Record<string, unknown>, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at) };
}

/** Builds a Storage over a migrated Kysely instance. */
export function sqlStorage(kind: Storage['kind'], db: Kysely<Database>, isUnique: UniqueViolationTest, close: () => Promise<void>, blobs: BlobStore): Storage {
  let closed = false;
  return {
    kind,
    accounts: new SqlAccounts(db),
    accessKeys: new SqlAccessKeys(db, isUnique),
    consoleSessions: new SqlConsoleSessions(db),
    consoleUsers: new SqlConsoleUsers(db, isUnique),
    identities: new SqlIdentities(db, isUnique),
    tags: new SqlTags(db),
    queue: new SqlQueue(db, kind),
    suppression: new SqlSuppression(db, kind),
    templates: new SqlNamed(db, 'templates', isUnique),
    configurationSets: new SqlNamed(db, 'configuration_sets', isUnique),
    topics: new SqlNamed(db, 'topics', isUnique),
    eventBuses: new SqlNamed(db, 'event_buses', isUnique),
    receiptRuleSets: new SqlNamed(db, 'receipt_rule_sets', isUnique),
    receiptFilters: new SqlNamed(db, 'receipt_filters', isUnique),
    functions: new SqlNamed(db, 'functions', isUnique),
    buckets: new SqlNamed(db, 'buckets', isUnique),
    externalBuckets: new SqlNamed(db, 'external_buckets', isUnique),
    objects: new SqlObjects(db),
    blobs,
    subscriptions: new SqlSubscriptions(db),
    webhooks: new SqlWebhooks(db, kind),
    outbox: new SqlOutbox(db),
    reputation: new SqlReputation(db),
    nodes: new SqlNodes(db),
    jobLeases: new SqlJobLeases(db),
    limits: new SqlLimits(db, kind),
    async ping() {
      await db.selectFrom('accounts').select('id').limit(1).execute();
    },
    async close() {
      if (closed) return;
      closed = true;
      await close();
    },
  };
}
