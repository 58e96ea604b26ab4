/**
 * Schema migrations, written once with Kysely's schema builder so that both backends get the same
 * tables. They run at start (Kysely's Migrator takes a lock on PostgreSQL, so several nodes starting
 * together migrate once). Never edit a released migration; add a new one.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/** The SQL dialect a migration runs on, for the few types that differ (blobs, identity columns). */
export type Dialect = 'sqlite' | 'postgres';

/** A per-account document table (templates, configuration sets, topics, …): name unique per account. */
async function createNamedTable(db: Kysely<unknown>, table: string): Promise<void> {
  await db.schema
    .createTable(table)
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint(`${table}_pk`, ['account_id', 'name'])
    .execute();
}

const migrations = (dialect: Dialect): Record<string, Migration> => ({
  '0001_foundation': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      await db.schema
        .createTable('access_keys')
        .addColumn('access_key_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('secret_sealed', 'text', (c) => c.notNull())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('is_root', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('access_keys_account').on('access_keys').columns(['account_id']).execute();
      await db.schema
        .createTable('identities')
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('verification_status', 'text', (c) => c.notNull())
        .addColumn('next_check_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('identities_pk', ['account_id', 'name'])
        .execute();
      await db.schema.createIndex('identities_due').on('identities').columns(['next_check_at']).execute();
      await db.schema
        .createTable('tags')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('resource_arn', 'text', (c) => c.notNull())
        .addColumn('tag_key', 'text', (c) => c.notNull())
        .addColumn('tag_value', 'text', (c) => c.notNull())
        .addColumn('position', 'bigint', (c) => c.notNull().defaultTo(sql`0`))
        .addPrimaryKeyConstraint('tags_pk', ['account_id', 'resource_arn', 'tag_key'])
        .execute();
    },
  },
  '0002_queue': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('messages')
        .addColumn('message_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('mail_from', 'text', (c) => c.notNull())
        .addColumn('body', dialect === 'postgres' ? sql`bytea` : 'blob', (c) => c.notNull())
        .addColumn('configuration_set', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('meta', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('recipients')
        .addColumn('message_id', 'text', (c) => c.notNull().references('messages.message_id').onDelete('cascade'))
        .addColumn('rcpt', 'text', (c) => c.notNull())
        .addColumn('domain', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires_at', 'bigint')
        .addColumn('last_response', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('recipients_pk', ['message_id', 'rcpt'])
        .execute();
      await db.schema.createIndex('recipients_due').on('recipients').columns(['state', 'next_attempt_at']).execute();
      await db.schema
        .createTable('events')
        .addColumn('id', dialect === 'postgres' ? sql`bigserial` : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_message').on('events').columns(['message_id', 'id']).execute();
      await db.schema
        .createTable('suppressed_destinations')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('last_update_time', 'bigint', (c) => c.notNull())
        .addColumn('message_id', 'text')
        .addColumn('feedback_id', 'text')
        .addPrimaryKeyConstraint('suppressed_pk', ['account_id', 'email'])
        .execute();
      await db.schema
        .createTable('send_counters')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('bucket', 'bigint', (c) => c.notNull())
        .addColumn('recipients', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('send_counters_pk', ['account_id', 'bucket'])
        .execute();
    },
  },
  '0003_templates_configuration_sets': {
    async up(db: Kysely<unknown>) {
      for (const table of ['templates', 'configuration_sets']) await createNamedTable(db, table);
      // A configuration set whose TlsPolicy is REQUIRE: delivery must not fall back to plain text.
      await db.schema.alterTable('messages').addColumn('require_tls', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      // GetSendStatistics counts an account's events per 15 minutes over two weeks.
      await db.schema.createIndex('events_account_time').on('events').columns(['account_id', 'created_at']).execute();
    },
  },
  '0004_event_publishing': {
    async up(db: Kysely<unknown>) {
      // The events table becomes an outbox: an event waits (published_at NULL) until the dispatcher
      // has fanned it out. Events stored before this migration had no destinations to go to.
      await db.schema.alterTable('events').addColumn('published_at', 'bigint').execute();
      await sql`UPDATE events SET published_at = created_at`.execute(db);
      await db.schema.createIndex('events_unpublished').on('events').column('id').where(sql.ref('published_at'), 'is', null).execute();
      for (const table of ['topics', 'event_buses']) await createNamedTable(db, table);
      await db.schema
        .createTable('subscriptions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('topic', 'text', (c) => c.notNull())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('endpoint', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('token', 'text', (c) => c.notNull())
        .addColumn('attributes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('subscriptions_topic').on('subscriptions').columns(['account_id', 'topic', 'id']).execute();
      await db.schema
        .createTable('webhooks')
        .addColumn('id', dialect === 'postgres' ? sql`bigserial` : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('subscription_id', 'text')
        .addColumn('headers', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .execute();
      await db.schema.createIndex('webhooks_due').on('webhooks').columns(['next_attempt_at']).execute();
      await db.schema.createIndex('webhooks_subscription').on('webhooks').columns(['subscription_id']).execute();
      await db.schema
        .createTable('reputation_counters')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('configuration_set', 'text', (c) => c.notNull())
        .addColumn('bucket', 'bigint', (c) => c.notNull())
        .addColumn('sends', 'bigint', (c) => c.notNull())
        .addColumn('hard_bounces', 'bigint', (c) => c.notNull())
        .addColumn('complaints', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('reputation_counters_pk', ['account_id', 'configuration_set', 'bucket'])
        .execute();
    },
  },
  '0005_receiving': {
    async up(db: Kysely<unknown>) {
      for (const table of ['receipt_rule_sets', 'receipt_filters', 'functions', 'buckets']) await createNamedTable(db, table);
      // The MX looks identities up by name across accounts.
      await db.schema.createIndex('identities_name').on('identities').column('name').execute();
      await db.schema
        .createTable('objects')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('bucket', 'text', (c) => c.notNull())
        // S3 lists keys in byte order (UTF-8 binary): PostgreSQL must not use the database's locale.
        .addColumn('key', 'text', (c) => (dialect === 'postgres' ? c.notNull().modifyEnd(sql`COLLATE "C"`) : c.notNull()))
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('blob_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('objects_pk', ['account_id', 'bucket', 'key'])
        .execute();
      await db.schema
        .createTable('blobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('data', dialect === 'postgres' ? sql`bytea` : 'blob', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0006_message_blobs': {
    async up(db: Kysely<unknown>) {
      // A large message's body lives in the BlobStore; the row keeps its head and names the rest.
      await db.schema.alterTable('messages').addColumn('body_blob', 'text').execute();
      await db.schema.alterTable('messages').addColumn('body_blob_offset', 'bigint').execute();
      await db.schema
        .createTable('blob_chunks')
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('data', dialect === 'postgres' ? sql`bytea` : 'blob', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('blob_chunks_pk', ['id', 'seq'])
        .execute();
      // Buckets on S3-compatible endpoints that the S3 receipt action writes to (operator-linked).
      await createNamedTable(db, 'external_buckets');
    },
  },
  '0007_nodes': {
    async up(db: Kysely<unknown>) {
      // The node registry: every `sesame serve` registers itself and refreshes heartbeat_at.
      await db.schema
        .createTable('nodes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('hostname', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
        .addColumn('heartbeat_interval_ms', 'bigint', (c) => c.notNull())
        .execute();
      // Installation-wide job leases: periodic work that runs on the one node holding the job's row.
      await db.schema
        .createTable('job_leases')
        .addColumn('job', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('acquired_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0008_shared_limits': {
    async up(db: Kysely<unknown>) {
      // Limits that hold across nodes sharing one database (ADR 0014): token buckets, leased
      // slots and strike counters, each changed by one atomic statement.
      await db.schema
        .createTable('limit_buckets')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('tokens', 'double precision', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('last_taken', 'double precision', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('limit_slots')
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('slot', 'integer', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('limit_slots_pk', ['key', 'slot'])
        .execute();
      await db.schema.createIndex('limit_slots_owner').on('limit_slots').column('owner').execute();
      await db.schema
        .createTable('limit_strikes')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('last_count', 'integer', (c) => c.notNull())
        .addColumn('last_at', 'bigint', (c) => c.notNull())
        .addColumn('locked_until', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('limit_strikes_last').on('limit_strikes').column('last_at').execute();
    },
  },
  '0009_recipient_leases': {
    async up(db: Kysely<unknown>) {
      // A node renews and releases its leases by owner: only leased rows are in this index.
      await db.schema.createIndex('recipients_leased').on('recipients').column('lease_owner').where(sql.ref('lease_owner'), 'is not', null).execute();
    },
  },
  '0010_console_sessions': {
    async up(db: Kysely<unknown>) {
      // Web console sign-ins: the cookie's token is kept only as its SHA-256, so a copy of the
      // database cannot be replayed as a session.
      await db.schema
        .createTable('console_sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('access_key_id', 'text', (c) => c.notNull())
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('console_sessions_key').on('console_sessions').column('access_key_id').execute();
      await db.schema.createIndex('console_sessions_expiry').on('console_sessions').column('expires_at').execute();
    },
  },
  '0011_message_search': {
    async up(db: Kysely<unknown>) {
      // The console's message search: an account's messages newest first, and the messages sent to an address.
      await db.schema.createIndex('messages_account_time').on('messages').columns(['account_id', 'created_at', 'message_id']).execute();
      await db.schema.createIndex('recipients_rcpt').on('recipients').column('rcpt').execute();
    },
  },
  '0012_message_text': {
    async up(db: Kysely<unknown>) {
      // SQLite: a trigram full-text index of each message's sender and subject, so the console's text
      // search finds a rare substring among millions of messages without reading them all. Kept by
      // triggers; contentless (the text stays in messages.meta). PostgreSQL searches with ILIKE.
      if (dialect !== 'sqlite') return;
      await sql`CREATE VIRTUAL TABLE message_text USING fts5(text, tokenize = 'trigram', content = '', contentless_delete = 1)`.execute(db);
      const text = (row: string) =>
        sql.raw(
          `coalesce(json_extract(${row}.meta, '$.mail.source'), '') || char(10) || coalesce(json_extract(${row}.meta, '$.mail.commonHeaders.subject'), '') || char(10) || coalesce((SELECT group_concat(value, char(10)) FROM json_each(${row}.meta, '$.mail.commonHeaders.from')), '')`,
        );
      await sql`CREATE TRIGGER message_text_insert AFTER INSERT ON messages BEGIN INSERT INTO message_text (rowid, text) VALUES (new.rowid, ${text('new')}); END`.execute(db);
      await sql`CREATE TRIGGER message_text_delete AFTER DELETE ON messages BEGIN DELETE FROM message_text WHERE rowid = old.rowid; END`.execute(db);
      await sql`INSERT INTO message_text (rowid, text) SELECT messages.rowid, ${text('messages')} FROM messages`.execute(db);
    },
  },
  '0013_paused_destinations': {
    async up(db: Kysely<unknown>) {
      // Destination domains an operator paused: the delivery claim skips their recipients (NOT
      // EXISTS on this tiny table, by primary key), on every node sharing the database.
      await db.schema
        .createTable('paused_destinations')
        .addColumn('domain', 'text', (c) => c.primaryKey())
        .addColumn('paused_at', 'bigint', (c) => c.notNull())
        .addColumn('paused_by', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .execute();
    },
  },
  '0014_console_users': {
    async up(db: Kysely<unknown>) {
      // Web console users: a name (unique in the installation) and an scrypt hash of the password
      // (parameters stored with it, ADR 0017), acting with one access key's policy. A session
      // opened with a password remembers its user, so removing the user or changing the password
      // ends it.
      await db.schema
        .createTable('console_users')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('access_key_id', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('password_changed_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('console_users_account').on('console_users').columns(['account_id', 'name']).execute();
      await db.schema.alterTable('console_sessions').addColumn('user_name', 'text').execute();
      await db.schema.createIndex('console_sessions_user').on('console_sessions').column('user_name').execute();
    },
  },
  '0015_message_text_trgm': {
    async up(db: Kysely<unknown>) {
      // PostgreSQL: a trigram index (pg_trgm) of each message's sender and subject, the same text
      // SQLite's message_text holds, so the console's text search does not read every message of
      // the account. pg_trgm is a trusted extension (PostgreSQL 13+): a role with CREATE on the
      // database and on schema public may create it. When it cannot be created (or public is not
      // writable), the index is left out and searches still work, reading the account's messages;
      // an operator adds it later by hand (docs/operations.md: the statements of createMessageTextTrgm).
      // The build holds a SHARE lock on messages until the migration commits: on a large existing
      // database, sends wait for it (a plain CREATE INDEX, since CONCURRENTLY cannot run in the
      // migration's transaction).
      if (dialect !== 'postgres') return;
      await createMessageTextTrgm(db);
    },
  },
});

/** The text the console's search matches on PostgreSQL: Source, Subject and the From addresses (the index's expression, and the query's). */
export const PG_MESSAGE_TEXT = `(coalesce((meta::jsonb) #>> '{mail,source}', '') || chr(10) || coalesce((meta::jsonb) #>> '{mail,commonHeaders,subject}', '') || chr(10) || coalesce((meta::jsonb) #>> '{mail,commonHeaders,from}', ''))`;

/**
 * Creates pg_trgm (in schema public, so that dropping another schema never drops it) and the
 * trigram index on the messages' text; inside a savepoint, so that a database where that is not
 * allowed keeps the rest of the migration. True when the index exists afterwards.
 */
export async function createMessageTextTrgm(db: Kysely<unknown>): Promise<boolean> {
  await sql`SAVEPOINT message_text_trgm`.execute(db);
  try {
    await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public`.execute(db);
    await sql.raw(`CREATE INDEX IF NOT EXISTS messages_text_trgm ON messages USING gin ((${PG_MESSAGE_TEXT}) public.gin_trgm_ops)`).execute(db);
    await sql`RELEASE SAVEPOINT message_text_trgm`.execute(db);
    return true;
  } catch {
    await sql`ROLLBACK TO SAVEPOINT message_text_trgm`.execute(db);
    return false;
  }
}

/** Provides the migrations above to Kysely's Migrator. */
class StaticProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations(this.dialect);
  }
}

/** Brings the schema up to date; throws with the failing migration's error. */
export async function migrateToLatest(db: Kysely<unknown>, dialect: Dialect, schema?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: new StaticProvider(dialect),
    migrationTableName: 'sesame_migrations',
    migrationLockTableName: 'sesame_migrations_lock',
    // On PostgreSQL, Kysely looks for its tables by name across schemas unless told which one.
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? '?'} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
