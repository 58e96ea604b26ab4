/**
 * The per-client-address defences of the submission port: how many connections an address (and
 * the node) may hold open, and the AUTH brute-force brake (replies slow down after a few failures,
 * then the address is locked out for a while). State lives in memory on this node: a restart or
 * another node starts from zero, which is acceptable for a brake whose job is to make guessing slow.
 */
import { isIPv6 } from 'node:net';

/** The key an address is counted under: itself for IPv4, its /64 for IPv6 (one subscriber's prefix). */
export function clientKey(address: string): string {
  const a = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  if (!isIPv6(a)) return a;
  const [head = '', tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

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
  ) {}

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
    const steps = Math.min(MAX_STEPS, Math.max(0, failures - FREE_FAILURES));
    let lockedOut = false;
    if (failures >= this.settings.maxFailures) {
      r.lockedUntil = now + this.settings.lockoutMs;
      r.failures = 0;
      lockedOut = true;
    }
    this.clients.set(key, r);
    return { delayMs: steps * this.settings.delayStepMs, lockedOut, failures };
  }

  private sweep(now: number): void {
    for (const [k, r] of this.clients) {
      if (r.lockedUntil <= now && now - r.lastFailureAt > this.settings.lockoutMs) this.clients.delete(k);
    }
  }
}
