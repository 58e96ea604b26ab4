/**
 * Web console sessions. A user signs in with an access key pair (the same key that signs API
 * calls) or as a console user with a name and password (users.ts: acting with one access key's
 * policy); the console then holds a random session token in an HttpOnly cookie. The token is stored
 * only as its SHA-256, each session has its own CSRF token, and a session lives as long as its key:
 * a revoked or deleted key ends every session opened with it, on the next request, on every node.
 * A user's session also ends when the user is removed or its password changes. Failed sign-ins of
 * both kinds are counted by the sign-in brake (throttle.ts), which refuses a name or client address
 * for a while after too many.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Storage } from '../../storage/ports.ts';
import type { AccountsService, Principal } from '../accounts/service.ts';
import { SesError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import { verifyAgainstDummy, verifyPassword } from './passwords.ts';
import { SIGN_IN_THROTTLE_DEFAULTS, SignInThrottle, SignInThrottled, type SignInAttempt, type SignInThrottleSettings } from './throttle.ts';
import { normaliseUserName, PASSWORD_MAX_LENGTH } from './users.ts';

/** How long a console session lasts after sign-in (absolute; signing in again starts a new one). */
export const CONSOLE_SESSION_TTL_MS = 12 * 3_600_000;

/** A session as the console's front end sees it. */
export interface ConsoleSession {
  principal: Principal;
  csrfToken: string;
  expiresAt: number;
  /** The console user signed in with a password; absent for a key sign-in. */
  userName?: string;
}

/** The wording of a refused sign-in: the same whether the key id is unknown, inactive or the secret wrong. */
const BAD_CREDENTIALS = 'The access key ID or the secret access key is not correct, or the key is not active.';
/** The same for a password sign-in: unknown user, wrong password, or the user's key revoked. */
const BAD_PASSWORD = 'The user name or the password is not correct.';

/** Password checks one node runs at once; more sign-ins meanwhile are refused with 429 (they cost ~32 MiB each). */
const MAX_PASSWORD_CHECKS_AT_ONCE = 4;

export class ConsoleSessions {
  private readonly throttle: SignInThrottle;
  /** Password checks under way on this node. */
  private checking = 0;

  constructor(
    private readonly storage: Storage,
    private readonly accounts: AccountsService,
    private readonly clock: Clock,
    throttle: SignInThrottleSettings = SIGN_IN_THROTTLE_DEFAULTS,
  ) {
    this.throttle = new SignInThrottle(storage.limits, clock, throttle);
  }

  /**
   * Opens a session for an access key pair; returns the cookie's token once. `client` is the
   * client's address key for the sign-in brake. Throws SignInThrottled (TooManyRequestsException)
   * while the key id or the client is locked out, InvalidClientTokenId when the pair is wrong.
   */
  async signIn(accessKeyId: string, secretAccessKey: string, client = ''): Promise<{ token: string; session: ConsoleSession }> {
    const attempt: SignInAttempt = { kind: 'key', name: accessKeyId, client };
    await this.throttle.check(attempt);
    let found: Awaited<ReturnType<AccountsService['authenticate']>> | undefined;
    try {
      found = await this.accounts.authenticate(accessKeyId);
    } catch (err) {
      if (!(err instanceof SesError)) throw err;
    }
    if (!found || !sameText(found.secretAccessKey, secretAccessKey)) {
      await this.throttle.fail(attempt);
      throw new SesError('InvalidClientTokenId', BAD_CREDENTIALS);
    }
    return this.open(found.principal);
  }

  /**
   * Opens a session for a console user's name and password; the session acts with the policy of
   * the user's access key. An unknown user, a wrong password and a user whose key is not active
   * are refused alike (InvalidClientTokenId, same words, same time: an unknown user is checked
   * against a dummy hash). Throws SignInThrottled while the name or the client is locked out.
   */
  async signInWithPassword(userName: string, password: string, client = ''): Promise<{ token: string; session: ConsoleSession }> {
    const name = normaliseUserName(userName);
    const attempt: SignInAttempt = { kind: 'user', name, client };
    await this.throttle.check(attempt);
    // Guesses sent in parallel would all pass the check above before the first failure is counted
    // (a password check takes ~100 ms and 32 MiB): only a few are checked at once per node.
    if (this.checking >= MAX_PASSWORD_CHECKS_AT_ONCE) throw new SignInThrottled(1, 'busy');
    this.checking++;
    let user: Awaited<ReturnType<Storage['consoleUsers']['get']>>;
    const candidate = password.slice(0, PASSWORD_MAX_LENGTH + 1);
    let ok: boolean;
    try {
      user = await this.storage.consoleUsers.get(name);
      ok = user && password.length <= PASSWORD_MAX_LENGTH ? await verifyPassword(candidate, user.passwordHash) : await verifyAgainstDummy(candidate);
    } finally {
      this.checking--;
    }
    let principal: Principal | undefined;
    if (ok && user) {
      try {
        principal = (await this.accounts.authenticate(user.accessKeyId)).principal;
      } catch (err) {
        if (!(err instanceof SesError)) throw err;
        ok = false;
      }
    }
    if (!ok || !user || !principal) {
      await this.throttle.fail(attempt);
      throw new SesError('InvalidClientTokenId', BAD_PASSWORD);
    }
    // Failures counted while this one was checked (guesses in parallel) still lock the name out.
    await this.throttle.check(attempt);
    return this.open(principal, user.name);
  }

  private async open(principal: Principal, userName?: string): Promise<{ token: string; session: ConsoleSession }> {
    const now = this.clock.now();
    // Expired sessions are swept at sign-in: rare enough to cost nothing, often enough to keep the table small.
    await this.storage.consoleSessions.deleteExpired(now);
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const expiresAt = now + CONSOLE_SESSION_TTL_MS;
    await this.storage.consoleSessions.create({ tokenHash: hashToken(token), accountId: principal.accountId, accessKeyId: principal.accessKeyId, ...(userName ? { userName } : {}), csrfToken, createdAt: now, expiresAt });
    return { token, session: { principal, csrfToken, expiresAt, ...(userName ? { userName } : {}) } };
  }

  /**
   * The session a cookie's token names, or undefined when there is none: unknown, expired, its key
   * revoked or deleted since, or (a user's session) its user removed, moved to another key, or its
   * password changed since (such a session is removed).
   */
  async resolve(token: string): Promise<ConsoleSession | undefined> {
    if (!token) return undefined;
    const tokenHash = hashToken(token);
    const s = await this.storage.consoleSessions.get(tokenHash);
    if (!s) return undefined;
    if (s.expiresAt <= this.clock.now()) {
      await this.storage.consoleSessions.delete(tokenHash);
      return undefined;
    }
    if (s.userName !== undefined) {
      const user = await this.storage.consoleUsers.get(s.userName);
      if (!user || user.accessKeyId !== s.accessKeyId || user.passwordChangedAt > s.createdAt) {
        await this.storage.consoleSessions.delete(tokenHash);
        return undefined;
      }
    }
    try {
      const { principal } = await this.accounts.authenticate(s.accessKeyId);
      return { principal, csrfToken: s.csrfToken, expiresAt: s.expiresAt, ...(s.userName !== undefined ? { userName: s.userName } : {}) };
    } catch (err) {
      if (!(err instanceof SesError)) throw err;
      await this.storage.consoleSessions.delete(tokenHash);
      return undefined;
    }
  }

  /** Ends the session a token names (signing out); false when there was none. */
  async signOut(token: string): Promise<boolean> {
    return token ? this.storage.consoleSessions.delete(hashToken(token)) : false;
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Compares two secrets in time independent of where they differ. */
export function sameText(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}
