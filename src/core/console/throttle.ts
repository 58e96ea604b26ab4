/**
 * The console's sign-in brake, for both sign-in kinds (access key pair, user name and password):
 * after `maxFailuresPerName` failed sign-ins for one name (or key id), or `maxFailuresPerClient`
 * from one client address, each within `lockoutMs` of the previous, every further sign-in for that
 * name or from that address is refused for `lockoutMs` — the right password too — without the
 * credentials being looked at. Failures and lockouts are the strike counters of the shared limits
 * (ADR 0014: `limit_strikes`, one atomic statement each), on both backends: sign-ins are rare, so
 * the round trip costs nothing, and nodes sharing PostgreSQL count together (ADR 0017).
 */
import { createHash } from 'node:crypto';
import type { LimitRepository } from '../../storage/ports.ts';
import type { Clock } from '../clock.ts';
import { SesError } from '../errors.ts';

export interface SignInThrottleSettings {
  /** Failures for one user name or access key id that lock it out (default 5). */
  maxFailuresPerName: number;
  /** Failures from one client address (IPv4, or IPv6 /64) that lock it out (default 20). */
  maxFailuresPerClient: number;
  /** Lockout length, and how long a failure is remembered (default 15 minutes). */
  lockoutMs: number;
}

export const SIGN_IN_THROTTLE_DEFAULTS: SignInThrottleSettings = { maxFailuresPerName: 5, maxFailuresPerClient: 20, lockoutMs: 15 * 60_000 };

/** A sign-in refused by the brake: HTTP 429 with `Retry-After: retryAfterSeconds`. */
export class SignInThrottled extends SesError {
  constructor(
    readonly retryAfterSeconds: number,
    /** What is locked out: the name (or key id) signed in with, the client address, or the node (too many password checks at once). */
    readonly lockedOut: 'name' | 'client' | 'busy',
  ) {
    const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
    super(
      'TooManyRequestsException',
      lockedOut === 'busy' ? 'Too many sign-ins are being checked at once; try again in a moment.' : `Too many failed sign-in attempts. Sign-in is paused; try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
    );
  }
}

/** What a sign-in is counted under: the kind and name signed in with, and the client's address key. */
export interface SignInAttempt {
  kind: 'key' | 'user';
  /** The access key id or the (normalised) user name. */
  name: string;
  /** The client's address key (front end's: the IPv4 address or the IPv6 /64); empty when unknown. */
  client: string;
}

export class SignInThrottle {
  constructor(
    private readonly limits: LimitRepository,
    private readonly clock: Clock,
    private readonly settings: SignInThrottleSettings,
  ) {}

  private keys(a: SignInAttempt): { name: string; client?: string } {
    // A name too long to be a real one (a request can carry megabytes) is counted under its hash.
    const name = a.name.length > 256 ? `sha256:${createHash('sha256').update(a.name).digest('hex')}` : a.name;
    return { name: `console:${a.kind}:${name}`, ...(a.client ? { client: `console:client:${a.client}` } : {}) };
  }

  /** Throws SignInThrottled while the name or the client is locked out. */
  async check(a: SignInAttempt): Promise<void> {
    const k = this.keys(a);
    const now = this.clock.now();
    const [byName, byClient] = await Promise.all([this.limits.lockedUntil(k.name), k.client ? this.limits.lockedUntil(k.client) : Promise.resolve(0)]);
    const until = Math.max(byName, byClient);
    if (until > now) throw new SignInThrottled(Math.ceil((until - now) / 1000), byName > now ? 'name' : 'client');
  }

  /** Counts a failed sign-in against the name and the client. */
  async fail(a: SignInAttempt): Promise<void> {
    const k = this.keys(a);
    const now = this.clock.now();
    const { lockoutMs } = this.settings;
    await this.limits.strike(k.name, now, { windowMs: lockoutMs, max: this.settings.maxFailuresPerName, lockoutMs });
    if (k.client) await this.limits.strike(k.client, now, { windowMs: lockoutMs, max: this.settings.maxFailuresPerClient, lockoutMs });
  }
}
