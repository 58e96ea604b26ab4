/**
 * Per-destination shaping, checked before every dispatch as MTAs do it (Postfix's
 * `default_destination_concurrency_limit` and `_rate_delay`, KumoMTA's per-domain
 * `connection_limit` and `max_message_rate`): at most N simultaneous connections to a domain, and a
 * message rate per domain (a token bucket holding one second of burst). A domain may have its own
 * rate; `*` is the default for the others.
 *
 * On one node both live in memory. When several nodes share PostgreSQL (ADR 0014) they hold for the
 * installation: a connection needs, besides this node's slot, one of the domain's N slots leased in
 * the database (renewed while held, expiring when a node dies), and the rate's tokens come from a
 * shared bucket.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../observability/logger.ts';
import type { LimitRepository } from '../../storage/ports.ts';
import { SharedBuckets } from '../sending/rate-limiter.ts';

/** Limits per destination domain. */
export interface DomainLimitSettings {
  /** Simultaneous connections per destination domain (per installation when nodes share PostgreSQL). */
  connections: number;
  /** Messages per second by domain (lower-case); `*` applies to domains without their own. */
  rates: Record<string, number>;
}

/** What shared limits need: the storage's LimitRepository and this node's name for its slots. */
export interface SharedDomainLimits {
  limits: LimitRepository;
  /** Owner of this node's slot leases (made unique per process here). */
  owner: string;
  /** The clock (ms). */
  now: () => number;
  logger?: Logger;
  /** How long a slot lease lasts without renewal (default 30 s): a dead node's slots free up after it. */
  slotTtlMs?: number;
}

interface Bucket {
  tokens: number;
  at: number;
  rate: number;
}

/** First and longest pause between tries for a shared slot (ms); the pause doubles, with jitter. */
const SLOT_POLL_MIN_MS = 10;
const SLOT_POLL_MAX_MS = 50;

/** Connection slots and message-rate buckets, per destination domain. */
export class DomainLimits {
  private readonly busy = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly shared?: {
    limits: LimitRepository;
    /** The node's stable id, and this process's owner name under it (`node/<uuid>`). */
    node: string;
    owner: string;
    now: () => number;
    logger?: Logger;
    ttlMs: number;
    buckets: SharedBuckets;
  };
  /** Shared slots this node holds, to renew; and releases that failed, to try again. */
  private readonly held = new Set<string>();
  private readonly unreleased: Array<{ key: string; slot: number; at: number }> = [];
  private renewer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly settings: DomainLimitSettings,
    shared?: SharedDomainLimits,
  ) {
    if (shared) {
      this.shared = {
        limits: shared.limits,
        node: shared.owner,
        // The node id is stable across restarts; a slot must not be renewed by the next life of
        // the node (it would never expire), so each process owns its slots under a name of its own.
        owner: `${shared.owner}/${randomUUID()}`,
        now: shared.now,
        logger: shared.logger,
        ttlMs: shared.slotTtlMs ?? 30_000,
        buckets: new SharedBuckets(shared.limits),
      };
    }
  }

  /** How many connections a domain may have at once. */
  connections(): number {
    return this.settings.connections;
  }

  /** Whether slots are shared with other nodes (PostgreSQL), whose waiters this node cannot see. */
  isShared(): boolean {
    return this.shared !== undefined;
  }

  /** Whether a connection of this node to `domain` is waiting for a slot. */
  hasWaiters(domain: string): boolean {
    return (this.waiting.get(domain)?.length ?? 0) > 0;
  }

  /** Waits for a free connection slot of this node for `domain`; call the returned function to free it. */
  async acquire(domain: string): Promise<() => void> {
    const n = this.busy.get(domain) ?? 0;
    if (n < this.settings.connections) {
      this.busy.set(domain, n + 1);
    } else {
      // The slot is handed over by release(), so the count stays at the limit.
      await new Promise<void>((resolve) => {
        const q = this.waiting.get(domain) ?? [];
        q.push(resolve);
        this.waiting.set(domain, q);
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.get(domain)?.shift();
      if (next) return next();
      const left = (this.busy.get(domain) ?? 1) - 1;
      if (left <= 0) this.busy.delete(domain);
      else this.busy.set(domain, left);
      if (this.waiting.get(domain)?.length === 0) this.waiting.delete(domain);
    };
  }

  /**
   * A connection slot for `domain` that holds for the installation: this node's slot and, when
   * limits are shared, one of the domain's slots in the database. Waits at most `maxWaitMs` for the
   * shared one (polling: another node frees it); undefined when none came (nothing is held then).
   */
  async acquireWithin(domain: string, maxWaitMs: number): Promise<(() => void) | undefined> {
    const local = await this.acquire(domain);
    const sh = this.shared;
    if (!sh) return local;
    const key = `conn:domain:${domain}`;
    const deadline = sh.now() + maxWaitMs;
    let pause = SLOT_POLL_MIN_MS;
    for (;;) {
      let slot: number | undefined;
      try {
        slot = await sh.limits.acquireSlot(key, this.settings.connections, sh.owner, sh.now(), sh.ttlMs);
      } catch (err) {
        local();
        throw err;
      }
      if (slot !== undefined) {
        const id = `${slot}:${key}`;
        this.held.add(id);
        this.scheduleRenewal();
        let released = false;
        return () => {
          if (released) return;
          released = true;
          this.held.delete(id);
          // This node's slot is freed once the shared one is, so that the two counts agree.
          sh.limits
            .releaseSlot(key, slot, sh.owner)
            .catch((err: unknown) => {
              this.unreleased.push({ key, slot, at: sh.now() });
              this.scheduleRenewal();
              sh.logger?.warn({ code: 'DELIVERY_SLOT_RELEASE_FAILED', err, domain }, `could not free a connection slot of ${domain}; retrying (it expires anyway)`);
            })
            .finally(local);
        };
      }
      const left = deadline - sh.now();
      if (left <= 0 || this.closed) {
        local();
        return undefined;
      }
      await new Promise((r) => setTimeout(r, Math.min(left, pause * (0.5 + Math.random()))));
      pause = Math.min(SLOT_POLL_MAX_MS, pause * 2);
    }
  }

  /**
   * Takes one message from `domain`'s rate; returns 0 when it may go now, or how many milliseconds
   * until it may (nothing is taken then). In memory, on this node.
   */
  take(domain: string, now: number): number {
    const rate = this.rateOf(domain);
    if (rate === undefined) return 0;
    let b = this.buckets.get(domain);
    if (!b || b.rate !== rate) {
      b = { tokens: Math.max(1, rate), at: now, rate };
      this.buckets.set(domain, b);
    }
    b.tokens = Math.min(Math.max(1, rate), b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) / rate) * 1000);
  }

  /** As take, from the installation's shared bucket when limits are shared. */
  async takeMessage(domain: string, now: number): Promise<number> {
    const rate = this.rateOf(domain);
    if (rate === undefined) return 0;
    if (!this.shared) return this.take(domain, now);
    return this.shared.buckets.take(`rate:domain:${domain}`, rate, Math.max(1, rate), 1, now);
  }

  /**
   * Frees the shared slots an earlier life of this node still holds (it was killed holding them):
   * without this a restarted node would wait for them to expire, up to a slot's lifetime, before
   * reaching a domain whose every slot the dead process held. Nothing to do when not shared.
   */
  async releaseEarlierSlots(): Promise<number> {
    const sh = this.shared;
    return sh ? sh.limits.releaseEarlierSlots(sh.node, sh.owner) : 0;
  }

  /** Undoes close (a worker started again). */
  open(): void {
    this.closed = false;
  }

  /**
   * Waiting for shared slots gives up (the next try that fails returns undefined). Slots still held
   * stay renewed until they are released; the renewal stops once nothing is held.
   */
  close(): void {
    this.closed = true;
  }

  private rateOf(domain: string): number | undefined {
    const rate = this.settings.rates[domain] ?? this.settings.rates['*'];
    return rate !== undefined && rate > 0 ? rate : undefined;
  }

  /** Renews this node's shared slots every third of their lifetime while it holds any. */
  private scheduleRenewal(): void {
    const sh = this.shared;
    if (!sh || this.renewer) return;
    this.renewer = setTimeout(() => {
      this.renewer = undefined;
      void (async () => {
        // A slot that could not be freed is tried again until it has expired anyway.
        for (const u of this.unreleased.splice(0)) {
          if (sh.now() - u.at > sh.ttlMs) continue;
          await sh.limits.releaseSlot(u.key, u.slot, sh.owner).catch(() => this.unreleased.push(u));
        }
        if (this.held.size > 0) {
          await sh.limits.renewSlots(sh.owner, sh.now() + sh.ttlMs).catch((err: unknown) => {
            sh.logger?.warn({ code: 'DELIVERY_SLOT_RENEW_FAILED', err }, 'could not renew the connection slots of this node; retrying');
          });
        }
        if (this.held.size > 0 || this.unreleased.length > 0) this.scheduleRenewal();
      })();
    }, Math.max(100, Math.floor(sh.ttlMs / 3)));
    this.renewer.unref();
  }
}
