/**
 * Per-destination shaping, checked before every dispatch as MTAs do it (Postfix's
 * `default_destination_concurrency_limit` and `_rate_delay`, KumoMTA's per-domain
 * `connection_limit` and `max_message_rate`): at most N simultaneous connections to a domain from
 * this node, and a message rate per domain (a token bucket holding one second of burst). A domain
 * may have its own rate; `*` is the default for the others.
 */

/** Limits per destination domain. */
export interface DomainLimitSettings {
  /** Simultaneous connections per destination domain on this node. */
  connections: number;
  /** Messages per second by domain (lower-case); `*` applies to domains without their own. */
  rates: Record<string, number>;
}

interface Bucket {
  tokens: number;
  at: number;
  rate: number;
}

/** Connection slots and message-rate buckets, per destination domain. */
export class DomainLimits {
  private readonly busy = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly settings: DomainLimitSettings) {}

  /** How many connections a domain may have at once. */
  connections(): number {
    return this.settings.connections;
  }

  /** Waits for a free connection slot for `domain`; call the returned function to free it. */
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
   * Takes one message from `domain`'s rate; returns 0 when it may go now, or how many milliseconds
   * until it may (nothing is taken then).
   */
  take(domain: string, now: number): number {
    const rate = this.settings.rates[domain] ?? this.settings.rates['*'];
    if (rate === undefined || !(rate > 0)) return 0;
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
}
