/**
 * Token buckets for sending rates (MaxSendRate) and per-destination rates. One node keeps its
 * buckets in memory (RateLimiter); nodes sharing one PostgreSQL take from buckets in the database
 * (SharedBuckets over the storage's LimitRepository, ADR 0014), leasing a few tokens ahead so that
 * a busy node does not make a round trip to one hot row for every message.
 */
import type { LimitRepository } from '../../storage/ports.ts';

/** A token bucket for MaxSendRate: `rate` tokens per second, bursting to one second's worth. */
export class RateLimiter {
  private tokens: number;
  private last = 0;

  constructor(readonly rate: number) {
    this.tokens = rate;
  }

  /** Takes `n` tokens at time `now` (ms) if available. */
  take(n: number, now: number): boolean {
    if (this.last > 0) this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    // A single message larger than the burst still goes once the bucket is full.
    if (this.tokens >= Math.min(n, this.rate)) {
      this.tokens -= n;
      return true;
    }
    return false;
  }
}

/** How SharedBuckets leases ahead. */
export interface SharedBucketSettings {
  /** At most this fraction of a second's worth of tokens is leased ahead (default 0.1: rate/10). */
  leaseFraction?: number;
  /** Tokens leased ahead and not used within this long are dropped, never carried over (default 1 s). */
  holdMs?: number;
}

/** This node's view of one shared bucket. */
interface Local {
  /** Tokens this node took from the shared bucket and has not used yet. */
  tokens: number;
  /** When unused tokens are dropped. */
  expiresAt: number;
  /** After a refusal, the bucket is known to be short until then: refuse without asking. */
  deniedUntil: number;
  /** How many tokens the next refill leases ahead: doubles while the node keeps coming back, up to the cap. */
  ahead: number;
  lastRefillAt: number;
  /** The refill in flight: other takers of this node wait for it instead of asking too. */
  inflight?: Promise<void>;
}

/** Above this many keys, idle ones are swept out. */
const SWEEP_AT = 10_000;
/** Attempts of one take under contention with other takers of the same node before it is refused. */
const MAX_ROUNDS = 8;

/**
 * Token buckets shared by the nodes of an installation. Every token is taken from the shared bucket
 * in the database before it is used, so the rate over all nodes never exceeds the bucket's; a node
 * that is busy leases up to `rate × leaseFraction` tokens ahead (one round trip per batch instead of
 * per message), and a node refused by the bucket refuses locally until the bucket should have
 * refilled. Tokens leased ahead and left unused expire after `holdMs` (the rate can only fall short
 * by them, never exceed).
 */
export class SharedBuckets {
  private readonly local = new Map<string, Local>();
  private readonly leaseFraction: number;
  private readonly holdMs: number;

  constructor(
    private readonly limits: LimitRepository,
    settings: SharedBucketSettings = {},
  ) {
    this.leaseFraction = settings.leaseFraction ?? 0.1;
    this.holdMs = settings.holdMs ?? 1000;
  }

  /**
   * Takes `n` tokens of bucket `key` (refilling at `rate` per second up to `burst`) at `now` (ms).
   * Returns 0 when they were taken, or how many milliseconds to wait before asking again (nothing
   * is taken then). As RateLimiter, `n` above the burst is taken once the bucket is full.
   */
  async take(key: string, rate: number, burst: number, n: number, now: number): Promise<number> {
    const s = this.state(key, now);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (s.expiresAt <= now) s.tokens = 0;
      if (s.tokens >= n) {
        s.tokens -= n;
        return 0;
      }
      if (now < s.deniedUntil) return s.deniedUntil - now;
      if (!s.inflight) {
        s.inflight = this.refill(s, key, rate, burst, n, now).finally(() => {
          s.inflight = undefined;
        });
      }
      await s.inflight;
    }
    // Other takers of this node kept using up what came in; ask the caller to come back shortly.
    return Math.max(1, Math.ceil(1000 / rate));
  }

  private async refill(s: Local, key: string, rate: number, burst: number, n: number, now: number): Promise<void> {
    const have = s.expiresAt > now ? s.tokens : 0;
    const need = n - have;
    const cap = Math.max(0, Math.floor(rate * this.leaseFraction) - 1);
    // A node that comes back within holdMs is busy: lease more ahead each time (0, 1, 2, 4, … up to
    // the cap). A node sending now and then takes exactly what it needs and wastes nothing.
    s.ahead = now - s.lastRefillAt < this.holdMs ? Math.min(cap, Math.max(1, s.ahead * 2)) : 0;
    s.lastRefillAt = now;
    const got = await this.limits.takeTokens(key, rate, burst, need, need + s.ahead, now);
    if (got.taken > 0) {
      s.tokens = have + got.taken;
      s.expiresAt = now + this.holdMs;
      return;
    }
    // Refused: the bucket holds `left`; it has what this take needs after (need - left) / rate.
    s.ahead = 0;
    s.deniedUntil = now + Math.max(1, Math.ceil(((Math.min(need, burst) - got.left) / rate) * 1000));
  }

  private state(key: string, now: number): Local {
    let s = this.local.get(key);
    if (!s) {
      if (this.local.size >= SWEEP_AT) {
        for (const [k, v] of this.local) if (!v.inflight && v.expiresAt <= now && v.deniedUntil <= now) this.local.delete(k);
      }
      s = { tokens: 0, expiresAt: 0, deniedUntil: 0, ahead: 0, lastRefillAt: -Infinity };
      this.local.set(key, s);
    }
    return s;
  }
}
