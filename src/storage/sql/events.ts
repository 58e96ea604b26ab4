/**
 * Event publishing over Kysely: the outbox side of the events table, topic subscriptions, durable
 * webhook deliveries and reputation counters. Publishing claims an event with
 * `UPDATE … WHERE published_at IS NULL`, so when two nodes fan out the same event only one inserts
 * what it causes; leases on webhook rows work as the recipient queue's (SKIP LOCKED on PostgreSQL).
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type {
  EventOutboxRepository,
  EventRecord,
  PublishClaim,
  ReputationRepository,
  SubscriptionRecord,
  SubscriptionRepository,
  WebhookRecord,
  WebhookRepository,
  WebhookResult,
} from '../ports.ts';
import type { Dialect } from './migrations.ts';
import type { Database, SubscriptionsTable, WebhooksTable } from './tables.ts';

const HOUR = 3_600_000;

function toSubscription(r: Selectable<SubscriptionsTable>): SubscriptionRecord {
  return {
    id: r.id,
    accountId: r.account_id,
    topic: r.topic,
    protocol: r.protocol as SubscriptionRecord['protocol'],
    endpoint: r.endpoint,
    status: r.status as SubscriptionRecord['status'],
    token: r.token,
    attributes: JSON.parse(r.attributes) as Record<string, string>,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/** Topic subscriptions. */
export class SqlSubscriptions implements SubscriptionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(s: SubscriptionRecord): Promise<void> {
    await this.db
      .insertInto('subscriptions')
      .values({
        id: s.id,
        account_id: s.accountId,
        topic: s.topic,
        protocol: s.protocol,
        endpoint: s.endpoint,
        status: s.status,
        token: s.token,
        attributes: JSON.stringify(s.attributes),
        created_at: s.createdAt,
        updated_at: s.updatedAt,
      })
      .execute();
  }

  async get(id: string): Promise<SubscriptionRecord | undefined> {
    const r = await this.db.selectFrom('subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toSubscription(r) : undefined;
  }

  async list(accountId: string, o: { topic?: string; after?: string; limit: number }): Promise<SubscriptionRecord[]> {
    let q = this.db.selectFrom('subscriptions').selectAll().where('account_id', '=', accountId);
    if (o.topic !== undefined) q = q.where('topic', '=', o.topic);
    if (o.after !== undefined) q = q.where('id', '>', o.after);
    const rows = await q.orderBy('id').limit(o.limit).execute();
    return rows.map(toSubscription);
  }

  async update(s: SubscriptionRecord): Promise<boolean> {
    const r = await this.db
      .updateTable('subscriptions')
      .set({ status: s.status, token: s.token, attributes: JSON.stringify(s.attributes), updated_at: s.updatedAt })
      .where('id', '=', s.id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('subscriptions').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async deleteTopic(accountId: string, topic: string): Promise<number> {
    const r = await this.db.deleteFrom('subscriptions').where('account_id', '=', accountId).where('topic', '=', topic).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

function webhookRow(w: WebhookRecord) {
  return {
    account_id: w.accountId,
    kind: w.kind,
    url: w.url,
    subscription_id: w.subscriptionId,
    headers: JSON.stringify(w.headers),
    body: w.body,
    attempts: w.attempts,
    next_attempt_at: w.nextAttemptAt,
    expires_at: w.expiresAt,
    lease_owner: null,
    lease_expires_at: null,
    created_at: w.createdAt,
    last_error: w.lastError,
  };
}

function toWebhook(r: Selectable<WebhooksTable>): WebhookRecord {
  return {
    id: Number(r.id),
    accountId: r.account_id,
    kind: r.kind,
    url: r.url,
    subscriptionId: r.subscription_id,
    headers: JSON.parse(r.headers) as Record<string, string>,
    body: r.body,
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    expiresAt: Number(r.expires_at),
    createdAt: Number(r.created_at),
    lastError: r.last_error,
  };
}

/** Durable webhook deliveries. */
export class SqlWebhooks implements WebhookRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async enqueue(items: WebhookRecord[]): Promise<void> {
    if (items.length === 0) return;
    await this.db.insertInto('webhooks').values(items.map(webhookRow)).execute();
  }

  async lease(owner: string, now: number, leaseMs: number, limit: number): Promise<WebhookRecord[]> {
    const due = sql`next_attempt_at <= ${now} AND (lease_expires_at IS NULL OR lease_expires_at < ${now})`;
    const inner =
      this.dialect === 'postgres'
        ? sql`SELECT id FROM webhooks WHERE ${due} ORDER BY next_attempt_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED`
        : sql`SELECT id FROM webhooks WHERE ${due} ORDER BY next_attempt_at, id LIMIT ${limit}`;
    const rows = await sql<WebhooksTable>`UPDATE webhooks SET lease_owner = ${owner}, lease_expires_at = ${now + leaseMs} WHERE id IN (${inner}) RETURNING *`.execute(this.db);
    return rows.rows.map((r) => toWebhook(r as unknown as Selectable<WebhooksTable>)).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.id! - b.id!);
  }

  async complete(owner: string, results: WebhookResult[]): Promise<void> {
    if (results.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      const gone = results.filter((r) => r.outcome !== 'retry').map((r) => r.id);
      if (gone.length > 0) await trx.deleteFrom('webhooks').where('id', 'in', gone).where('lease_owner', '=', owner).execute();
      for (const r of results) {
        if (r.outcome !== 'retry') continue;
        await trx
          .updateTable('webhooks')
          .set({ attempts: r.attempts, next_attempt_at: r.nextAttemptAt, last_error: r.lastError.slice(0, 1000), lease_owner: null, lease_expires_at: null })
          .where('id', '=', r.id)
          .where('lease_owner', '=', owner)
          .execute();
      }
    });
  }

  async release(owner: string): Promise<void> {
    await this.db.updateTable('webhooks').set({ lease_owner: null, lease_expires_at: null }).where('lease_owner', '=', owner).execute();
  }

  async count(): Promise<number> {
    const r = await this.db.selectFrom('webhooks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async deleteBySubscription(subscriptionId: string): Promise<number> {
    const r = await this.db.deleteFrom('webhooks').where('subscription_id', '=', subscriptionId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

function toEvent(e: Selectable<Database['events']>): EventRecord {
  return { id: Number(e.id), messageId: e.message_id, accountId: e.account_id, type: e.type, createdAt: Number(e.created_at), payload: JSON.parse(e.payload) as Record<string, unknown> };
}

/** The events outbox. */
export class SqlOutbox implements EventOutboxRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async pending(limit: number): Promise<EventRecord[]> {
    const rows = await this.db.selectFrom('events').selectAll().where('published_at', 'is', null).orderBy('id').limit(limit).execute();
    return rows.map(toEvent);
  }

  async publish(claims: PublishClaim[], now: number): Promise<number[]> {
    if (claims.length === 0) return [];
    return this.db.transaction().execute(async (trx) => {
      // The claim writes first, so SQLite takes its write lock at once, and on PostgreSQL a second
      // node publishing the same events waits for this transaction and then finds them claimed.
      const claimed = await trx
        .updateTable('events')
        .set({ published_at: now })
        .where('id', 'in', claims.map((c) => c.eventId))
        .where('published_at', 'is', null)
        .returning('id')
        .execute();
      const ids = new Set(claimed.map((r) => Number(r.id)));
      const webhooks: WebhookRecord[] = [];
      const counters = new Map<string, { sends: number; hardBounces: number; complaints: number }>();
      for (const c of claims) {
        if (!ids.has(c.eventId)) continue;
        webhooks.push(...c.webhooks);
        for (const d of c.reputation) {
          const key = `${d.accountId}\u0000${d.configurationSet}\u0000${Math.floor(d.at / HOUR) * HOUR}`;
          const t = counters.get(key) ?? { sends: 0, hardBounces: 0, complaints: 0 };
          t.sends += d.sends;
          t.hardBounces += d.hardBounces;
          t.complaints += d.complaints;
          counters.set(key, t);
        }
      }
      for (let i = 0; i < webhooks.length; i += 500) await trx.insertInto('webhooks').values(webhooks.slice(i, i + 500).map(webhookRow)).execute();
      // Counters are upserted in one fixed order (sorted keys), so two concurrent publishes touching
      // the same counters lock them in the same order instead of deadlocking on PostgreSQL.
      for (const [key, t] of [...counters].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
        const [accountId, set, bucket] = key.split('\u0000') as [string, string, string];
        await trx
          .insertInto('reputation_counters')
          .values({ account_id: accountId, configuration_set: set, bucket: Number(bucket), sends: t.sends, hard_bounces: t.hardBounces, complaints: t.complaints })
          .onConflict((oc) =>
            oc.columns(['account_id', 'configuration_set', 'bucket']).doUpdateSet({
              sends: sql`reputation_counters.sends + ${t.sends}`,
              hard_bounces: sql`reputation_counters.hard_bounces + ${t.hardBounces}`,
              complaints: sql`reputation_counters.complaints + ${t.complaints}`,
            }),
          )
          .execute();
      }
      return [...ids];
    });
  }

  async record(events: EventRecord[]): Promise<void> {
    if (events.length === 0) return;
    await this.db
      .insertInto('events')
      .values(events.map((e) => ({ message_id: e.messageId, account_id: e.accountId, type: e.type, created_at: e.createdAt, payload: JSON.stringify(e.payload) })))
      .execute();
  }

  async backlog(): Promise<number> {
    const r = await this.db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('published_at', 'is', null).executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}

/** Reputation counters. */
export class SqlReputation implements ReputationRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async totals(accountId: string, configurationSet: string, since: number): Promise<{ sends: number; hardBounces: number; complaints: number }> {
    const r = await this.db
      .selectFrom('reputation_counters')
      .select([(eb) => eb.fn.sum<number>('sends').as('sends'), (eb) => eb.fn.sum<number>('hard_bounces').as('hb'), (eb) => eb.fn.sum<number>('complaints').as('c')])
      .where('account_id', '=', accountId)
      .where('configuration_set', '=', configurationSet)
      .where('bucket', '>=', Math.floor(since / HOUR) * HOUR)
      .executeTakeFirst();
    return { sends: Number(r?.sends ?? 0), hardBounces: Number(r?.hb ?? 0), complaints: Number(r?.c ?? 0) };
  }
}
