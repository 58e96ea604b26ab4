/**
 * Limits shared by the nodes of an installation (ADR 0014), over Kysely for both backends. Each
 * operation is ONE statement, so that it is atomic without an explicit transaction:
 * - a token bucket is a row per key, taken from by `INSERT … ON CONFLICT DO UPDATE … RETURNING`
 *   (the insert creates a full bucket; the update refills it for the time passed and takes what the
 *   caller may have). PostgreSQL locks the row for the update, so concurrent takers from several
 *   nodes queue on it and each sees the tokens the previous one left;
 * - a connection slot is a row per key and slot number with an owner and an expiry: taken by an
 *   insert of a free slot number that falls back to taking over an expired row, renewed by its
 *   owner, deleted on release; a dead node's slots expire;
 * - a strike counter is a row per key whose failures reset after a quiet window and turn into a
 *   lockout at the maximum.
 * The SQL is the same on both backends but for the names of GREATEST/LEAST and FLOOR.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { LimitRepository, StrikeSettings, TokenGrant } from '../ports.ts';
import type { Dialect } from './migrations.ts';
import type { Database } from './tables.ts';

/** Absorbs floating-point error in refilled token counts (0.9999999 tokens is one token). */
const EPSILON = 1e-9;
/** Unused rows are swept after this many writes of a kind (amortised cleanup, no timer). */
const SWEEP_EVERY = 1024;
/** A bucket untouched for this long is full again for every rate Sesame accepts (≥ 1/h); its row goes. */
const BUCKET_IDLE_MS = 2 * 3_600_000;

const float = (v: number): RawBuilder<number> => sql<number>`CAST(${v} AS double precision)`;
const int = (v: number): RawBuilder<number> => sql<number>`CAST(${v} AS bigint)`;

/** What a take gets from `avail` tokens: the same rule as the SQL below, for a bucket that is new (full). */
function grant(avail: number, burst: number, min: number, max: number): number {
  return avail + EPSILON >= Math.min(min, burst) ? Math.max(min, Math.min(max, Math.floor(avail + EPSILON))) : 0;
}

/** The shared limits of one database. */
export class SqlLimits implements LimitRepository {
  private writes = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  private greatest(a: RawBuilder<unknown>, b: RawBuilder<unknown>): RawBuilder<number> {
    return this.dialect === 'postgres' ? sql<number>`GREATEST(${a}, ${b})` : sql<number>`MAX(${a}, ${b})`;
  }

  private least(a: RawBuilder<unknown>, b: RawBuilder<unknown>): RawBuilder<number> {
    return this.dialect === 'postgres' ? sql<number>`LEAST(${a}, ${b})` : sql<number>`MIN(${a}, ${b})`;
  }

  /** floor(x) for x ≥ 0 (SQLite's floor() needs its optional math functions; a cast truncates). */
  private floor(x: RawBuilder<unknown>): RawBuilder<number> {
    return this.dialect === 'postgres' ? sql<number>`FLOOR(${x})` : sql<number>`CAST(${x} AS INTEGER)`;
  }

  async takeTokens(key: string, rate: number, burst: number, min: number, max: number, now: number): Promise<TokenGrant> {
    if (!(rate > 0) || !(burst > 0) || min < 0 || max < min) throw new RangeError(`takeTokens(${key}): rate and burst must be positive and 0 ≤ min ≤ max`);
    await this.sweep(now);
    const first = grant(burst, burst, min, max);
    // The bucket as it is now: what it held, refilled for the time since (never backwards: a node
    // whose clock is behind refills nothing), capped at the burst.
    const avail = this.least(
      float(burst),
      sql`limit_buckets.tokens + ${this.greatest(sql`CAST(0 AS bigint)`, sql`${int(now)} - limit_buckets.updated_at`)} * ${float(rate)} / 1000.0`,
    );
    const taken = sql<number>`CASE WHEN ${avail} + ${float(EPSILON)} >= ${this.least(float(min), float(burst))}
      THEN ${this.greatest(float(min), this.least(float(max), this.floor(sql`${avail} + ${float(EPSILON)}`)))} ELSE 0 END`;
    const r = await sql<{ last_taken: number; tokens: number }>`
      INSERT INTO limit_buckets (key, tokens, updated_at, last_taken)
      VALUES (${key}, ${float(burst - first)}, ${int(now)}, ${float(first)})
      ON CONFLICT (key) DO UPDATE SET
        tokens = ${avail} - ${taken},
        last_taken = ${taken},
        updated_at = ${this.greatest(sql.ref('limit_buckets.updated_at'), int(now))}
      RETURNING last_taken, tokens`.execute(this.db);
    const row = r.rows[0];
    if (!row) throw new Error(`takeTokens(${key}): the bucket row was not returned`);
    return { taken: Number(row.last_taken), left: Number(row.tokens) };
  }

  async acquireSlot(key: string, slots: number, owner: string, now: number, ttlMs: number): Promise<number | undefined> {
    if (!(slots >= 1)) return undefined;
    // A random free slot number, so that racing nodes rarely pick the same one; the primary key
    // settles a race (the loser's insert turns into an update whose WHERE no longer holds). SQLite
    // needs `WHERE true` to parse INSERT … SELECT … ON CONFLICT.
    const r = await sql<{ slot: number }>`
      WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < ${int(slots)}),
      free AS (
        SELECT n FROM seq
        WHERE NOT EXISTS (SELECT 1 FROM limit_slots s WHERE s.key = ${key} AND s.slot = seq.n AND s.expires_at > ${int(now)})
        ORDER BY random() LIMIT 1)
      INSERT INTO limit_slots (key, slot, owner, expires_at)
      SELECT ${key}, n, ${owner}, ${int(now + ttlMs)} FROM free WHERE true
      ON CONFLICT (key, slot) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
        WHERE limit_slots.expires_at <= ${int(now)}
      RETURNING slot`.execute(this.db);
    const row = r.rows[0];
    return row ? Number(row.slot) : undefined;
  }

  async renewSlots(owner: string, until: number): Promise<number> {
    const r = await this.db.updateTable('limit_slots').set({ expires_at: until }).where('owner', '=', owner).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async releaseSlot(key: string, slot: number, owner: string): Promise<void> {
    await this.db.deleteFrom('limit_slots').where('key', '=', key).where('slot', '=', slot).where('owner', '=', owner).execute();
  }

  async releaseEarlierSlots(node: string, current: string): Promise<number> {
    const prefix = `${node}/`;
    // A prefix compared as text (not LIKE, whose `_` and `%` a name may hold).
    const r = await this.db
      .deleteFrom('limit_slots')
      .where(sql<string>`substr(owner, 1, ${prefix.length})`, '=', prefix)
      .where('owner', '!=', current)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async heldSlots(key: string, now: number): Promise<number> {
    const r = await this.db
      .selectFrom('limit_slots')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('key', '=', key)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async strike(key: string, now: number, s: StrikeSettings): Promise<{ failures: number; lockedUntil: number }> {
    await this.sweep(now, s.windowMs);
    const lockedAt = now + s.lockoutMs;
    // The count this failure reaches: one after a quiet window, else one more than before.
    const count = sql<number>`CASE WHEN ${int(now)} - limit_strikes.last_at > ${int(s.windowMs)} THEN 1 ELSE limit_strikes.failures + 1 END`;
    const first = 1 >= s.max;
    const r = await sql<{ last_count: number; locked_until: number }>`
      INSERT INTO limit_strikes (key, failures, last_count, last_at, locked_until)
      VALUES (${key}, ${int(first ? 0 : 1)}, 1, ${int(now)}, ${int(first ? lockedAt : 0)})
      ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN ${count} >= ${int(s.max)} THEN 0 ELSE ${count} END,
        last_count = ${count},
        locked_until = CASE WHEN ${count} >= ${int(s.max)} THEN ${int(lockedAt)} ELSE limit_strikes.locked_until END,
        last_at = ${int(now)}
      RETURNING last_count, locked_until`.execute(this.db);
    const row = r.rows[0];
    if (!row) throw new Error(`strike(${key}): the counter row was not returned`);
    return { failures: Number(row.last_count), lockedUntil: Number(row.locked_until) };
  }

  async lockedUntil(key: string): Promise<number> {
    const row = await this.db.selectFrom('limit_strikes').select('locked_until').where('key', '=', key).executeTakeFirst();
    return Number(row?.locked_until ?? 0);
  }

  /** Now and then, drops rows that no longer matter: idle (full) buckets, forgotten strikes. */
  private async sweep(now: number, strikeWindowMs?: number): Promise<void> {
    if (++this.writes % SWEEP_EVERY !== 0) return;
    await this.db.deleteFrom('limit_buckets').where('updated_at', '<', now - BUCKET_IDLE_MS).execute();
    if (strikeWindowMs !== undefined) {
      await this.db.deleteFrom('limit_strikes').where('last_at', '<', now - strikeWindowMs).where('locked_until', '<', now).execute();
    }
  }
}
