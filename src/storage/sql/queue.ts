/**
 * The durable queue and the suppression list over Kysely. Enqueue writes a batch of messages, their
 * recipient rows, their first events and the send counters in ONE transaction, so a commit (one
 * disk flush) covers many concurrent requests. Leasing differs by dialect: PostgreSQL uses
 * `FOR UPDATE SKIP LOCKED` so several nodes never lease the same row; SQLite has one writer, so an
 * UPDATE … RETURNING inside its transaction is already exclusive.
 */
import { CompiledQuery, sql, type Kysely, type Selectable } from 'kysely';
import type {
  CompletionItem,
  DestinationSummary,
  EnqueueItem,
  EventCount,
  EventRecord,
  LeasedRecipient,
  MessageRecord,
  MessageSearch,
  MessageSearchRow,
  PausedDestination,
  QueueRepository,
  RecipientRecord,
  RecipientState,
  RecipientUpdate,
  StoredBody,
  SendCount,
  SuppressionRecord,
  SuppressionRepository,
} from '../ports.ts';
import { PG_MESSAGE_TEXT, type Dialect } from './migrations.ts';
import type { Database, RecipientsTable } from './tables.ts';

const BUCKET_MS = 15 * 60_000;

function toRecipient(r: Selectable<RecipientsTable>): RecipientRecord {
  return {
    messageId: r.message_id,
    rcpt: r.rcpt,
    domain: r.domain,
    state: r.state as RecipientState,
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at === null ? null : Number(r.lease_expires_at),
    lastResponse: r.last_response,
    updatedAt: Number(r.updated_at),
  };
}

/**
 * Rows per INSERT statement: a batch of n rows is written in statements of these sizes, largest
 * first, so each table has at most four statement shapes (SQLite prepares each once and keeps it)
 * and one statement's parameters stay far below both dialects' limits.
 */
const INSERT_ROWS = [64, 16, 4, 1] as const;

/** SQL written with `?` placeholders, as `dialect` numbers them (PostgreSQL: `$1`, `$2`, …). */
function forDialect(text: string, dialect: Dialect): string {
  let n = 0;
  return dialect === 'postgres' ? text.replace(/\?/g, () => `$${++n}`) : text;
}

/** A multi-row INSERT whose text is written once per dialect and row count. */
class MultiRowInsert {
  private readonly texts = new Map<string, string>();

  constructor(
    private readonly head: string,
    private readonly columns: number,
    private readonly tail = '',
  ) {}

  sql(dialect: Dialect, rows: number): string {
    const key = `${dialect}${rows}`;
    let text = this.texts.get(key);
    if (text === undefined) {
      const row = `(${Array.from({ length: this.columns }, () => '?').join(', ')})`;
      text = forDialect(`${this.head} VALUES ${Array.from({ length: rows }, () => row).join(', ')}${this.tail}`, dialect);
      this.texts.set(key, text);
    }
    return text;
  }
}

/** What enqueue (and complete, its events) writes: the columns in the order the values are given. */
const QUEUE_INSERTS = {
  messages: new MultiRowInsert('INSERT INTO messages (message_id, account_id, mail_from, body, configuration_set, created_at, expires_at, meta, require_tls, body_blob, body_blob_offset)', 11),
  recipients: new MultiRowInsert('INSERT INTO recipients (message_id, rcpt, domain, state, attempts, next_attempt_at, last_response, updated_at)', 8),
  events: new MultiRowInsert('INSERT INTO events (message_id, account_id, type, created_at, payload)', 5),
  sendCounters: new MultiRowInsert('INSERT INTO send_counters (account_id, bucket, recipients)', 3, ' ON CONFLICT (account_id, bucket) DO UPDATE SET recipients = send_counters.recipients + excluded.recipients'),
};

/** Writes `rows` with `insert`, in statements of INSERT_ROWS sizes. */
async function insertRows(db: Kysely<Database>, dialect: Dialect, insert: MultiRowInsert, rows: unknown[][]): Promise<void> {
  for (let i = 0; i < rows.length; ) {
    const n = INSERT_ROWS.find((size) => size <= rows.length - i)!;
    await db.executeQuery(CompiledQuery.raw(insert.sql(dialect, n), rows.slice(i, i + n).flat()));
    i += n;
  }
}

/** A delivery outcome: the recipient's new state, applied only while `owner` still holds its lease. */
const COMPLETE_UPDATE_SQL =
  'UPDATE recipients SET state = ?, attempts = ?, next_attempt_at = ?, last_response = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE message_id = ? AND rcpt = ? AND lease_owner = ?';
const COMPLETE_UPDATE: Record<Dialect, string> = { sqlite: COMPLETE_UPDATE_SQL, postgres: forDialect(COMPLETE_UPDATE_SQL, 'postgres') };

/** An event's values in the order of QUEUE_INSERTS.events. */
function eventValues(e: EventRecord): unknown[] {
  return [e.messageId, e.accountId, e.type, e.createdAt, JSON.stringify(e.payload)];
}

/** The queue repository. */
export class SqlQueue implements QueueRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async enqueue(items: EnqueueItem[]): Promise<void> {
    if (items.length === 0) return;
    const messages: unknown[][] = [];
    const recipients: unknown[][] = [];
    const events: unknown[][] = [];
    const counters = new Map<string, number>();
    for (const { message: m, recipients: rs, events: es, countTowardQuota } of items) {
      messages.push([m.messageId, m.accountId, m.mailFrom, m.body, m.configurationSet, m.createdAt, m.expiresAt, JSON.stringify(m.meta), m.requireTls ? 1 : 0, m.bodyBlob?.id ?? null, m.bodyBlob ? m.bodyBlob.offset : null]);
      for (const r of rs) recipients.push([r.messageId, r.rcpt, r.domain, r.state, r.attempts, r.nextAttemptAt, r.lastResponse, r.updatedAt]);
      for (const e of es) events.push(eventValues(e));
      if (countTowardQuota === false) continue;
      const key = `${m.accountId}\u0000${Math.floor(m.createdAt / BUCKET_MS) * BUCKET_MS}`;
      counters.set(key, (counters.get(key) ?? 0) + rs.length);
    }
    const sends = [...counters].map(([key, n]) => {
      const [accountId, bucket] = key.split('\u0000') as [string, string];
      return [accountId, Number(bucket), n];
    });
    // The queue's hottest write, a commit per group of accepted messages: a few multi-row INSERTs of
    // SQL written once per shape (QUEUE_INSERTS), not a query built and compiled per row.
    await this.db.transaction().execute(async (trx) => {
      for (const [insert, rows] of [
        [QUEUE_INSERTS.messages, messages],
        [QUEUE_INSERTS.recipients, recipients],
        [QUEUE_INSERTS.events, events],
        [QUEUE_INSERTS.sendCounters, sends],
      ] as const) {
        await insertRows(trx, this.dialect, insert, rows);
      }
    });
  }

  async lease(owner: string, now: number, leaseMs: number, limit: number): Promise<LeasedRecipient[]> {
    const expires = now + leaseMs;
    // A paused destination's recipients are not handed out: one primary-key probe of a table that
    // is empty (or tiny) when nothing is paused, in the same statement, so every node sees a pause
    // on its next claim.
    const due = sql`state = 'queued' AND next_attempt_at <= ${now} AND (lease_expires_at IS NULL OR lease_expires_at < ${now}) AND NOT EXISTS (SELECT 1 FROM paused_destinations p WHERE p.domain = recipients.domain)`;
    // SQLite: a read first, so that finding nothing takes neither the write lock (the accepting
    // thread's commits wait for it) nor a flush of the WAL (every write is flushed). Several
    // delivery loops on every node ask several times a second, mostly for nothing.
    if (this.dialect === 'sqlite' && (await sql`SELECT 1 FROM recipients WHERE ${due} LIMIT 1`.execute(this.db)).rows.length === 0) return [];
    const rows =
      this.dialect === 'postgres'
        ? await sql<RecipientsTable>`
            UPDATE recipients SET lease_owner = ${owner}, lease_expires_at = ${expires}
            WHERE (message_id, rcpt) IN (
              SELECT message_id, rcpt FROM recipients WHERE ${due}
              ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
            RETURNING *`.execute(this.db)
        : await sql<RecipientsTable>`
            UPDATE recipients SET lease_owner = ${owner}, lease_expires_at = ${expires}
            WHERE rowid IN (SELECT rowid FROM recipients WHERE ${due} ORDER BY next_attempt_at LIMIT ${limit})
            RETURNING *`.execute(this.db);
    if (rows.rows.length === 0) return [];
    const ids = [...new Set(rows.rows.map((r) => r.message_id))];
    const messages = await this.db
      .selectFrom('messages')
      .select(['message_id', 'account_id', 'mail_from', 'expires_at', 'configuration_set', 'require_tls', 'created_at', 'meta'])
      .where('message_id', 'in', ids)
      .execute();
    // Parse each message's metadata once, however many of its recipients were leased.
    const byId = new Map(messages.map((m) => [m.message_id, { ...m, meta: JSON.parse(m.meta) as Record<string, unknown> }]));
    return rows.rows.flatMap((r) => {
      const m = byId.get(r.message_id);
      if (!m) return [];
      return [
        {
          ...toRecipient(r),
          accountId: m.account_id,
          mailFrom: m.mail_from,
          expiresAt: Number(m.expires_at),
          configurationSet: m.configuration_set,
          requireTls: Number(m.require_tls) === 1,
          messageCreatedAt: Number(m.created_at),
          meta: m.meta,
        },
      ];
    });
  }

  async body(messageId: string): Promise<StoredBody | undefined> {
    const r = await this.db.selectFrom('messages').select(['body', 'body_blob', 'body_blob_offset']).where('message_id', '=', messageId).executeTakeFirst();
    return r ? { head: Buffer.from(r.body), blob: r.body_blob ? { id: r.body_blob, offset: Number(r.body_blob_offset ?? 0) } : null } : undefined;
  }

  async complete(owner: string, items: CompletionItem[], now = Date.now()): Promise<number> {
    if (items.length === 0) return 0;
    return this.db.transaction().execute(async (trx) => {
      let applied = 0;
      const events: unknown[][] = [];
      for (const { update: u, events: es, suppression: e } of items) {
        // The delivery loops' hottest write: SQL written once (COMPLETE_UPDATE), not built per recipient.
        const r = await trx.executeQuery(
          CompiledQuery.raw(COMPLETE_UPDATE[this.dialect], [u.state, u.attempts, u.nextAttemptAt, u.lastResponse, now, u.messageId, u.rcpt, owner]),
        );
        if (Number(r.numAffectedRows ?? 0) === 0) continue;
        applied++;
        for (const ev of es) events.push(eventValues(ev));
        if (e) {
          await trx
            .insertInto('suppressed_destinations')
            .values({ account_id: e.accountId, email: e.email, reason: e.reason, last_update_time: e.lastUpdateTime, message_id: e.messageId, feedback_id: e.feedbackId })
            .onConflict((oc) => oc.columns(['account_id', 'email']).doUpdateSet({ reason: e.reason, last_update_time: e.lastUpdateTime, message_id: e.messageId, feedback_id: e.feedbackId }))
            .execute();
        }
      }
      await insertRows(trx, this.dialect, QUEUE_INSERTS.events, events);
      return applied;
    });
  }

  async renew(owner: string, now: number, leaseMs: number): Promise<number> {
    const r = await this.db
      .updateTable('recipients')
      .set({ lease_expires_at: now + leaseMs })
      .where('lease_owner', '=', owner)
      .where('lease_expires_at', '>=', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async release(owner: string): Promise<void> {
    await this.db.updateTable('recipients').set({ lease_owner: null, lease_expires_at: null }).where('lease_owner', '=', owner).execute();
  }

  async search(f: MessageSearch, limit: number): Promise<MessageSearchRow[]> {
    // As given, and with the domain in lower case (how most senders write it and SES compares domains).
    const at = f.recipient !== undefined ? f.recipient.lastIndexOf('@') : -1;
    const forms = f.recipient !== undefined ? [...new Set([f.recipient, at > 0 ? f.recipient.slice(0, at + 1) + f.recipient.slice(at + 1).toLowerCase() : f.recipient])] : [];
    type Row = Pick<Selectable<Database['messages']>, 'message_id' | 'account_id' | 'mail_from' | 'configuration_set' | 'require_tls' | 'created_at' | 'expires_at' | 'meta'> & { seq?: number };
    let rows: Row[];
    if (this.dialect === 'sqlite' && f.text !== undefined && [...f.text].length >= 3) {
      // The trigram index (migration 0012), read newest stored first: fast for rare and common text alike.
      const where = [sql`f.message_text MATCH ${`"${f.text.replace(/"/g, '""')}"`}`, sql`m.account_id = ${f.accountId}`];
      if (f.messageId !== undefined) where.push(sql`m.message_id = ${f.messageId}`);
      if (forms.length > 0) where.push(sql`m.message_id IN (SELECT message_id FROM recipients WHERE rcpt IN (${sql.join(forms)}))`);
      if (f.state !== undefined) where.push(sql`EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.message_id AND r.state = ${f.state})`);
      if (f.since !== undefined) where.push(sql`m.created_at >= ${f.since}`);
      if (f.until !== undefined) where.push(sql`m.created_at < ${f.until}`);
      if (f.after?.seq !== undefined) where.push(sql`f.rowid < ${f.after.seq}`);
      rows = (
        await sql<Row>`SELECT f.rowid AS seq, m.message_id, m.account_id, m.mail_from, m.configuration_set, m.require_tls, m.created_at, m.expires_at, m.meta
          FROM message_text f JOIN messages m ON m.rowid = f.rowid WHERE ${sql.join(where, sql` AND `)} ORDER BY f.rowid DESC LIMIT ${limit}`.execute(this.db)
      ).rows;
    } else {
      let q = this.db
        .selectFrom('messages')
        .select(['message_id', 'account_id', 'mail_from', 'configuration_set', 'require_tls', 'created_at', 'expires_at', 'meta'])
        .where('account_id', '=', f.accountId);
      if (f.messageId !== undefined) q = q.where('message_id', '=', f.messageId);
      if (forms.length > 0) q = q.where('message_id', 'in', this.db.selectFrom('recipients').select('message_id').where('rcpt', 'in', forms));
      if (f.state !== undefined) {
        const state = f.state;
        q = q.where(({ exists, selectFrom }) => exists(selectFrom('recipients as r').select('r.message_id').whereRef('r.message_id', '=', 'messages.message_id').where('r.state', '=', state)));
      }
      if (f.since !== undefined) q = q.where('created_at', '>=', f.since);
      if (f.until !== undefined) q = q.where('created_at', '<', f.until);
      if (f.after) {
        const a = f.after;
        q = q.where((eb) => eb.or([eb('created_at', '<', a.createdAt), eb.and([eb('created_at', '=', a.createdAt), eb('message_id', '<', a.messageId)])]));
      }
      if (f.text) {
        const pattern = `%${f.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        // SQLite's LIKE ignores ASCII case (short text here; longer goes to message_text above).
        // PostgreSQL: ILIKE over the sender and subject, the expression of its trigram index (migration 0015).
        q = q.where(this.dialect === 'postgres' ? sql<boolean>`${sql.raw(PG_MESSAGE_TEXT)} ILIKE ${pattern} ESCAPE '\\'` : sql<boolean>`meta LIKE ${pattern} ESCAPE '\\'`);
      }
      rows = await q.orderBy('created_at', 'desc').orderBy('message_id', 'desc').limit(limit).execute();
    }
    const byMessage = new Map<string, RecipientRecord[]>();
    if (rows.length > 0) {
      const rs = await this.db.selectFrom('recipients').selectAll().where('message_id', 'in', rows.map((m) => m.message_id)).orderBy('rcpt').execute();
      for (const r of rs) {
        const list = byMessage.get(r.message_id) ?? [];
        list.push(toRecipient(r));
        byMessage.set(r.message_id, list);
      }
    }
    return rows.map((m) => ({
      recipients: byMessage.get(m.message_id) ?? [],
      ...(m.seq !== undefined ? { seq: Number(m.seq) } : {}),
      messageId: m.message_id,
      accountId: m.account_id,
      mailFrom: m.mail_from,
      configurationSet: m.configuration_set,
      requireTls: Number(m.require_tls) === 1,
      createdAt: Number(m.created_at),
      expiresAt: Number(m.expires_at),
      meta: JSON.parse(m.meta) as Record<string, unknown>,
    }));
  }

  async message(messageId: string): Promise<MessageRecord | undefined> {
    const m = await this.db.selectFrom('messages').selectAll().where('message_id', '=', messageId).executeTakeFirst();
    if (!m) return undefined;
    return {
      messageId: m.message_id,
      accountId: m.account_id,
      mailFrom: m.mail_from,
      body: Buffer.from(m.body),
      bodyBlob: m.body_blob ? { id: m.body_blob, offset: Number(m.body_blob_offset ?? 0) } : null,
      configurationSet: m.configuration_set,
      requireTls: Number(m.require_tls) === 1,
      createdAt: Number(m.created_at),
      expiresAt: Number(m.expires_at),
      meta: JSON.parse(m.meta) as Record<string, unknown>,
    };
  }

  async messageMeta(messageId: string): Promise<{ accountId: string; configurationSet: string | null; createdAt: number; meta: Record<string, unknown> } | undefined> {
    const m = await this.db.selectFrom('messages').select(['account_id', 'configuration_set', 'created_at', 'meta']).where('message_id', '=', messageId).executeTakeFirst();
    if (!m) return undefined;
    return { accountId: m.account_id, configurationSet: m.configuration_set, createdAt: Number(m.created_at), meta: JSON.parse(m.meta) as Record<string, unknown> };
  }

  async recipients(messageId: string): Promise<RecipientRecord[]> {
    const rows = await this.db.selectFrom('recipients').selectAll().where('message_id', '=', messageId).orderBy('rcpt').execute();
    return rows.map(toRecipient);
  }

  async events(messageId: string): Promise<EventRecord[]> {
    const rows = await this.db.selectFrom('events').selectAll().where('message_id', '=', messageId).orderBy('id').execute();
    return rows.map((e) => ({ id: Number(e.id), messageId: e.message_id, accountId: e.account_id, type: e.type, createdAt: Number(e.created_at), payload: JSON.parse(e.payload) as Record<string, unknown> }));
  }

  async listQueued(limit: number): Promise<RecipientRecord[]> {
    const rows = await this.db.selectFrom('recipients').selectAll().where('state', '=', 'queued').orderBy('next_attempt_at').limit(limit).execute();
    return rows.map(toRecipient);
  }

  async retryNow(messageId: string, now: number): Promise<number> {
    const r = await this.db
      .updateTable('recipients')
      .set({ next_attempt_at: now, updated_at: now })
      .where('message_id', '=', messageId)
      .where('state', '=', 'queued')
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async destinations(accountId: string | undefined, now: number, limit: number): Promise<DestinationSummary[]> {
    // Only queued rows (the recipients_due index's state prefix), never the delivered history; the
    // message row gives the account and the age.
    const mine = accountId === undefined ? sql`` : sql` AND m.account_id = ${accountId}`;
    const live = sql`r.lease_expires_at IS NOT NULL AND r.lease_expires_at > ${now}`;
    const rows = (
      await sql<{ domain: string; queued: number | string; in_flight: number | string | null; oldest: number | string; next_attempt: number | string | null }>`
        SELECT r.domain, COUNT(*) AS queued, SUM(CASE WHEN ${live} THEN 1 ELSE 0 END) AS in_flight,
          MIN(m.created_at) AS oldest, MIN(CASE WHEN ${live} THEN NULL ELSE r.next_attempt_at END) AS next_attempt
        FROM recipients r JOIN messages m ON m.message_id = r.message_id
        WHERE r.state = 'queued'${mine}
        GROUP BY r.domain ORDER BY COUNT(*) DESC, r.domain LIMIT ${limit}`.execute(this.db)
    ).rows;
    if (rows.length === 0) return [];
    const out = rows.map<DestinationSummary>((r) => ({
      domain: r.domain,
      queued: Number(r.queued),
      inFlight: Number(r.in_flight ?? 0),
      oldestCreatedAt: Number(r.oldest),
      nextAttemptAt: r.next_attempt === null ? null : Number(r.next_attempt),
      deferrals: [],
    }));
    const byDomain = new Map(out.map((d) => [d.domain, d]));
    // The three most frequent replies per domain, ranked in the database: at most 3 rows a domain
    // come back, however many distinct replies (with queue ids in them) the recipients hold.
    const replies = (
      await sql<{ domain: string; last_response: string; n: number | string }>`
        SELECT domain, last_response, n FROM (
          SELECT r.domain, r.last_response, COUNT(*) AS n,
            ROW_NUMBER() OVER (PARTITION BY r.domain ORDER BY COUNT(*) DESC, r.last_response) AS rk
          FROM recipients r JOIN messages m ON m.message_id = r.message_id
          WHERE r.state = 'queued' AND r.attempts > 0 AND r.last_response IS NOT NULL${mine}
            AND r.domain IN (${sql.join(out.map((d) => d.domain))})
          GROUP BY r.domain, r.last_response) ranked
        WHERE rk <= 3 ORDER BY domain, rk`.execute(this.db)
    ).rows;
    for (const r of replies) byDomain.get(r.domain)?.deferrals.push({ response: r.last_response, count: Number(r.n) });
    return out;
  }

  async retryDestination(accountId: string | undefined, domain: string, now: number): Promise<number> {
    let q = this.db.updateTable('recipients').set({ next_attempt_at: now, updated_at: now }).where('state', '=', 'queued').where('domain', '=', domain);
    if (accountId !== undefined) q = q.where('message_id', 'in', this.db.selectFrom('messages').select('message_id').where('account_id', '=', accountId));
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async pauseDestination(p: PausedDestination): Promise<boolean> {
    const inserted = await this.db
      .insertInto('paused_destinations')
      .values({ domain: p.domain, paused_at: p.pausedAt, paused_by: p.pausedBy, reason: p.reason })
      .onConflict((oc) => oc.column('domain').doNothing())
      .returning('domain')
      .executeTakeFirst();
    if (inserted) return true;
    await this.db.updateTable('paused_destinations').set({ paused_by: p.pausedBy, reason: p.reason }).where('domain', '=', p.domain).execute();
    return false;
  }

  async resumeDestination(domain: string, now: number): Promise<{ pause: PausedDestination; due: number } | undefined> {
    // The first statement writes, so SQLite takes the write lock at once; on PostgreSQL the delete
    // and the update commit together, so no claim sees the domain resumed with its rows still waiting.
    return this.db.transaction().execute(async (trx) => {
      const gone = await trx.deleteFrom('paused_destinations').where('domain', '=', domain).returningAll().executeTakeFirst();
      if (!gone) return undefined;
      const r = await trx.updateTable('recipients').set({ next_attempt_at: now, updated_at: now }).where('state', '=', 'queued').where('domain', '=', domain).executeTakeFirst();
      return { pause: toPaused(gone), due: Number(r.numUpdatedRows) };
    });
  }

  async holdPaused(now: number, until: number): Promise<number> {
    const waiting = (trx: Kysely<Database>, domains: string[] | 'all') =>
      trx
        .updateTable('recipients')
        .set({ next_attempt_at: until })
        .where('state', '=', 'queued')
        .where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
        .where('domain', 'in', domains === 'all' ? trx.selectFrom('paused_destinations').select('domain') : domains)
        .executeTakeFirst();
    if (this.dialect === 'sqlite') {
      // One statement: SQLite's single writer makes it atomic with a resume.
      return Number((await waiting(this.db, 'all')).numUpdatedRows);
    }
    // PostgreSQL: the pause rows are share-locked first, so a resume (which deletes its row before
    // making the recipients due) either waits for this transaction or is not seen by it at all.
    return this.db.transaction().execute(async (trx) => {
      const paused = (await sql<{ domain: string }>`SELECT domain FROM paused_destinations FOR SHARE`.execute(trx)).rows.map((r) => r.domain);
      if (paused.length === 0) return 0;
      return Number((await waiting(trx, paused)).numUpdatedRows);
    });
  }

  async pausedDestinations(): Promise<PausedDestination[]> {
    return (await this.db.selectFrom('paused_destinations').selectAll().orderBy('domain').execute()).map(toPaused);
  }

  async purge(messageId: string, items: Array<{ rcpt: string; lastResponse: string; events: EventRecord[] }>, now: number): Promise<string[]> {
    if (items.length === 0) return [];
    // The first statement writes, so SQLite takes the write lock at once (busy_timeout applies)
    // instead of failing to upgrade a read snapshot while the server's worker writes.
    return this.db.transaction().execute(async (trx) => {
      const purged: string[] = [];
      for (const it of items) {
        const r = await trx
          .updateTable('recipients')
          .set({ state: 'bounced', last_response: it.lastResponse, lease_owner: null, lease_expires_at: null, updated_at: now })
          .where('message_id', '=', messageId)
          .where('rcpt', '=', it.rcpt)
          .where('state', '=', 'queued')
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) continue;
        purged.push(it.rcpt);
        await insertRows(trx, this.dialect, QUEUE_INSERTS.events, it.events.map(eventValues));
      }
      return purged;
    });
  }

  async stats(): Promise<Record<RecipientState, number>> {
    const rows = await this.db.selectFrom('recipients').select(['state', (eb) => eb.fn.countAll().as('n')]).groupBy('state').execute();
    const out: Record<RecipientState, number> = { queued: 0, delivered: 0, bounced: 0, suppressed: 0 };
    for (const r of rows) out[r.state as RecipientState] = Number(r.n);
    return out;
  }

  async sentSince(accountId: string, since: number): Promise<number> {
    const r = await this.db
      .selectFrom('send_counters')
      .select((eb) => eb.fn.sum<number>('recipients').as('n'))
      .where('account_id', '=', accountId)
      .where('bucket', '>=', Math.floor(since / BUCKET_MS) * BUCKET_MS)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async sendCounts(accountId: string, since: number): Promise<SendCount[]> {
    const rows = await this.db
      .selectFrom('send_counters')
      .select(['bucket', 'recipients'])
      .where('account_id', '=', accountId)
      .where('bucket', '>=', Math.floor(since / BUCKET_MS) * BUCKET_MS)
      .orderBy('bucket')
      .execute();
    return rows.map((r) => ({ bucketStart: Number(r.bucket), recipients: Number(r.recipients) }));
  }

  async eventCounts(accountId: string, since: number, bucketMs: number, types: string[]): Promise<EventCount[]> {
    if (types.length === 0) return [];
    const size = Math.max(1, Math.floor(bucketMs));
    // Integer division on both backends (bigint / bigint in PostgreSQL, integer / integer in SQLite).
    const bucket = sql<number>`(created_at / ${sql.lit(size)}) * ${sql.lit(size)}`;
    const rows = await this.db
      .selectFrom('events')
      .select([bucket.as('bucket_start'), 'type', (eb) => eb.fn.countAll<number>().as('n')])
      .where('account_id', '=', accountId)
      .where('created_at', '>=', since)
      .where('type', 'in', types)
      .groupBy([bucket, 'type'])
      .orderBy(bucket)
      .execute();
    return rows.map((r) => ({ bucketStart: Number(r.bucket_start), type: r.type, count: Number(r.n) }));
  }
}

function toPaused(r: Selectable<Database['paused_destinations']>): PausedDestination {
  return { domain: r.domain, pausedAt: Number(r.paused_at), pausedBy: r.paused_by, reason: r.reason };
}

/** The suppression list repository. */
export class SqlSuppression implements SuppressionRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async put(e: SuppressionRecord): Promise<void> {
    const row = { account_id: e.accountId, email: e.email, reason: e.reason, last_update_time: e.lastUpdateTime, message_id: e.messageId, feedback_id: e.feedbackId };
    await this.db
      .insertInto('suppressed_destinations')
      .values(row)
      .onConflict((oc) => oc.columns(['account_id', 'email']).doUpdateSet({ reason: e.reason, last_update_time: e.lastUpdateTime, message_id: e.messageId, feedback_id: e.feedbackId }))
      .execute();
  }

  async putMany(entries: SuppressionRecord[]): Promise<void> {
    // Several hundred rows per statement (PostgreSQL's 65,535 bind parameters, SQLite's 32,766), one transaction.
    if (entries.length === 0) return;
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < entries.length; i += 500) {
        const rows = entries.slice(i, i + 500).map((e) => ({ account_id: e.accountId, email: e.email, reason: e.reason, last_update_time: e.lastUpdateTime, message_id: e.messageId, feedback_id: e.feedbackId }));
        await tx
          .insertInto('suppressed_destinations')
          .values(rows)
          .onConflict((oc) =>
            oc.columns(['account_id', 'email']).doUpdateSet((eb) => ({
              reason: eb.ref('excluded.reason'),
              last_update_time: eb.ref('excluded.last_update_time'),
              message_id: eb.ref('excluded.message_id'),
              feedback_id: eb.ref('excluded.feedback_id'),
            })),
          )
          .execute();
      }
    });
  }

  async deleteMany(accountId: string, emails: string[]): Promise<number> {
    let n = 0;
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < emails.length; i += 500) {
        const r = await tx.deleteFrom('suppressed_destinations').where('account_id', '=', accountId).where('email', 'in', emails.slice(i, i + 500)).executeTakeFirst();
        n += Number(r.numDeletedRows);
      }
    });
    return n;
  }

  async get(accountId: string, email: string): Promise<SuppressionRecord | undefined> {
    const r = await this.db.selectFrom('suppressed_destinations').selectAll().where('account_id', '=', accountId).where('email', '=', email).executeTakeFirst();
    return r ? toSuppression(r) : undefined;
  }

  async findMany(accountId: string, emails: string[]): Promise<SuppressionRecord[]> {
    if (emails.length === 0) return [];
    // Asked once per send (its recipients): SQL written here, not a query built and compiled.
    const text = forDialect(`SELECT * FROM suppressed_destinations WHERE account_id = ? AND email IN (${emails.map(() => '?').join(', ')})`, this.dialect);
    const { rows } = await this.db.executeQuery<Selectable<Database['suppressed_destinations']>>(CompiledQuery.raw(text, [accountId, ...emails]));
    return rows.map(toSuppression);
  }

  async delete(accountId: string, email: string): Promise<boolean> {
    const r = await this.db.deleteFrom('suppressed_destinations').where('account_id', '=', accountId).where('email', '=', email).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async list(accountId: string, o: { after?: string; limit: number; reasons?: Array<'BOUNCE' | 'COMPLAINT'>; start?: number; end?: number }): Promise<SuppressionRecord[]> {
    let q = this.db.selectFrom('suppressed_destinations').selectAll().where('account_id', '=', accountId);
    if (o.after !== undefined) q = q.where('email', '>', o.after);
    if (o.reasons && o.reasons.length > 0) q = q.where('reason', 'in', o.reasons);
    if (o.start !== undefined) q = q.where('last_update_time', '>=', o.start);
    if (o.end !== undefined) q = q.where('last_update_time', '<=', o.end);
    const rows = await q.orderBy('email').limit(o.limit).execute();
    return rows.map(toSuppression);
  }
}

function toSuppression(r: Selectable<Database['suppressed_destinations']>): SuppressionRecord {
  return {
    accountId: r.account_id,
    email: r.email,
    reason: r.reason as 'BOUNCE' | 'COMPLAINT',
    lastUpdateTime: Number(r.last_update_time),
    messageId: r.message_id,
    feedbackId: r.feedback_id,
  };
}
