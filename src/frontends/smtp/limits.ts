/**
 * The per-client-address defences of the submission port: how many connections an address (and
 * the node) may hold open, and the AUTH brute-force brake (replies slow down after a few failures,
 * then the address is locked out for a while). Connection counts live in memory on this node. The
 * brake does too on a single node; when nodes share PostgreSQL its failures and lockouts are counted
 * in the database (core's SharedFailureCounter, ADR 0014), so that a client locked out through one
 * node is refused by every node.
 */
import type { SharedFailureCounter } from '../../core/index.ts';

export { clientKey } from '../../lib/client-key.ts';

/** Open connections per client key and in total. */
export class ConnectionLimiter {
  private readonly open = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: { total: number; perClient: number }) {}

  /** Counts a new connection in, or says which limit refuses it. */
  admit(key: string): 'ok' | 'total' | 'per-client' {
    if (this.total >= this.limits.total) return 'total';
    const n = this.open.get(key) ?? 0;
    if (n >= this.limits.perClient) return 'per-client';
    this.open.set(key, n + 1);
    this.total++;
    return 'ok';
  }

  /** Counts an admitted connection out. */
  release(key: string): void {
    const n = this.open.get(key) ?? 0;
    if (n <= 1) this.open.delete(key);
    else this.open.set(key, n - 1);
    this.total = Math.max(0, this.total - 1);
  }

  /** Connections open now. */
  get size(): number {
    return this.total;
  }
}

/** Settings of the AUTH brake. */
export interface AuthThrottleSettings {
  /** Failures (each within `lockoutMs` of the previous) that lock an address out. */
  maxFailures: number;
  /** Lockout length, and how long a failure is remembered. */
  lockoutMs: number;
  /** Delay step: failure number FREE_FAILURES+k waits k steps (at most MAX_STEPS). */
  delayStepMs: number;
}

/** Failures answered at once; the ones after them are answered late. */
const FREE_FAILURES = 3;
/** The longest delay, in steps. */
const MAX_STEPS = 5;
/** Above this many tracked addresses, forgotten ones are swept out. */
const SWEEP_AT = 10_000;

/** The delay before refusing failure number `failures`: none for the first few, then one step more each time. */
function delayFor(failures: number, stepMs: number): number {
  return Math.min(MAX_STEPS, Math.max(0, failures - FREE_FAILURES)) * stepMs;
}

interface Record_ {
  failures: number;
  lastFailureAt: number;
  lockedUntil: number;
}

/**
 * The AUTH brute-force brake. Unknown key ids and wrong passwords are both failures, so the brake
 * says nothing about which key ids exist.
 */
export class AuthThrottle {
  private readonly clients = new Map<string, Record_>();

  constructor(
    private readonly settings: AuthThrottleSettings,
    private readonly now: () => number = Date.now,
    /** Counts failures for the installation (nodes sharing PostgreSQL); in memory when absent. */
    private readonly shared?: SharedFailureCounter,
  ) {}

  /**
   * As lockedOut, asking the installation's counter when there is one (a lockout that started on
   * another node). If that cannot be asked, this node's own record decides.
   */
  async isLockedOut(key: string): Promise<boolean> {
    if (this.lockedOut(key) || !this.shared) return this.lockedOut(key);
    const until = await this.shared.lockedUntil(key).catch(() => 0);
    if (until <= this.now()) return false;
    this.remember(key, until);
    return true;
  }

  /** As fail, counted by the installation's counter when there is one (this node's own record if that fails). */
  async recordFailure(key: string): Promise<{ delayMs: number; lockedOut: boolean; failures: number }> {
    if (!this.shared) return this.fail(key);
    const now = this.now();
    let counted: { failures: number; lockedUntil: number };
    try {
      counted = await this.shared.strike(key, now, { windowMs: this.settings.lockoutMs, max: this.settings.maxFailures, lockoutMs: this.settings.lockoutMs });
    } catch {
      return this.fail(key);
    }
    const lockedOut = counted.failures >= this.settings.maxFailures;
    if (lockedOut) this.remember(key, counted.lockedUntil);
    return { delayMs: delayFor(counted.failures, this.settings.delayStepMs), lockedOut, failures: counted.failures };
  }

  /** Keeps a lockout learnt from the installation, so that this node refuses without asking again. */
  private remember(key: string, lockedUntil: number): void {
    const now = this.now();
    if (this.clients.size >= SWEEP_AT) this.sweep(now);
    const r = this.clients.get(key) ?? { failures: 0, lastFailureAt: now, lockedUntil: 0 };
    r.lockedUntil = Math.max(r.lockedUntil, lockedUntil);
    this.clients.set(key, r);
  }

  /** True while `key` is locked out: its AUTH is refused without looking at the credentials. */
  lockedOut(key: string): boolean {
    const r = this.clients.get(key);
    return r !== undefined && r.lockedUntil > this.now();
  }

  /**
   * Records a failure. Returns how long to wait before answering it, and whether this failure
   * started a lockout.
   */
  fail(key: string): { delayMs: number; lockedOut: boolean; failures: number } {
    const now = this.now();
    if (this.clients.size >= SWEEP_AT) this.sweep(now);
    let r = this.clients.get(key);
    if (!r || now - r.lastFailureAt > this.settings.lockoutMs) r = { failures: 0, lastFailureAt: now, lockedUntil: 0 };
    r.failures++;
    r.lastFailureAt = now;
    const failures = r.failures;
    let lockedOut = false;
    if (failures >= this.settings.maxFailures) {
      r.lockedUntil = now + this.settings.lockoutMs;
      r.failures = 0;
      lockedOut = true;
    }
    this.clients.set(key, r);
    return { delayMs: delayFor(failures, this.settings.delayStepMs), lockedOut, failures };
  }

  private sweep(now: number): void {
    for (const [k, r] of this.clients) {
      if (r.lockedUntil <= now && now - r.lastFailureAt > this.settings.lockoutMs) this.clients.delete(k);
    }
  }
}
