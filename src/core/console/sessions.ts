/**
 * Web console sessions. A user signs in with an access key pair (the same key that signs API
 * calls); the console then holds a random session token in an HttpOnly cookie. The token is stored
 * only as its SHA-256, each session has its own CSRF token, and a session lives as long as its key:
 * a revoked or deleted key ends every session opened with it, on the next request, on every node.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Storage } from '../../storage/ports.ts';
import type { AccountsService, Principal } from '../accounts/service.ts';
import { SesError } from '../errors.ts';
import type { Clock } from '../clock.ts';

/** How long a console session lasts after sign-in (absolute; signing in again starts a new one). */
export const CONSOLE_SESSION_TTL_MS = 12 * 3_600_000;

/** A session as the console's front end sees it. */
export interface ConsoleSession {
  principal: Principal;
  csrfToken: string;
  expiresAt: number;
}

/** The wording of a refused sign-in: the same whether the key id is unknown, inactive or the secret wrong. */
const BAD_CREDENTIALS = 'The access key ID or the secret access key is not correct, or the key is not active.';

export class ConsoleSessions {
  constructor(
    private readonly storage: Storage,
    private readonly accounts: AccountsService,
    private readonly clock: Clock,
  ) {}

  /** Opens a session for an access key pair; returns the cookie's token once. */
  async signIn(accessKeyId: string, secretAccessKey: string): Promise<{ token: string; session: ConsoleSession }> {
    let found: Awaited<ReturnType<AccountsService['authenticate']>>;
    try {
      found = await this.accounts.authenticate(accessKeyId);
    } catch (err) {
      if (err instanceof SesError) throw new SesError('InvalidClientTokenId', BAD_CREDENTIALS);
      throw err;
    }
    if (!sameText(found.secretAccessKey, secretAccessKey)) throw new SesError('InvalidClientTokenId', BAD_CREDENTIALS);
    const now = this.clock.now();
    // Expired sessions are swept at sign-in: rare enough to cost nothing, often enough to keep the table small.
    await this.storage.consoleSessions.deleteExpired(now);
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const expiresAt = now + CONSOLE_SESSION_TTL_MS;
    await this.storage.consoleSessions.create({ tokenHash: hashToken(token), accountId: found.principal.accountId, accessKeyId, csrfToken, createdAt: now, expiresAt });
    return { token, session: { principal: found.principal, csrfToken, expiresAt } };
  }

  /**
   * The session a cookie's token names, or undefined when there is none: unknown, expired, or its
   * key revoked or deleted since (such a session is removed).
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
    try {
      const { principal } = await this.accounts.authenticate(s.accessKeyId);
      return { principal, csrfToken: s.csrfToken, expiresAt: s.expiresAt };
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
