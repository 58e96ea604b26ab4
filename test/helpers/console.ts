/**
 * A small client for the web console's HTTP API, as the console's HTTP-level tests use it: sign in
 * (POST /console/api/session) with an access key pair or a console user's name and password, call a
 * route with the session's cookie and CSRF token, and sign in with a new key that has a given policy.
 */
import { expect } from 'vitest';
import type { TestServer } from './server.ts';

/** Where the console's API lives on the server. */
export const CONSOLE_API = '/console/api';

/** A signed-in console session. */
export interface ConsoleSession {
  /** The `Cookie` header value, `sesame_console=<token>`. */
  cookie: string;
  /** The session token (the cookie's value). */
  token: string;
  /** The CSRF token the sign-in answered with (`csrfToken`). */
  csrf: string;
  /** The access key the session acts as (the sign-in body's `accessKeyId`). */
  accessKeyId: string;
  /** The sign-in's own answer (its body, its raw Set-Cookie header). */
  answer: ConsoleAnswer;
}

/**
 * A console API answer. `status` and `body` are its only enumerable fields, so that
 * `expect(answer).toEqual({ status, body })` compares exactly those two; `text` (the raw body),
 * `headers` and `setCookie` (the raw Set-Cookie header, or null) are there as well, non-enumerable.
 */
export interface ConsoleAnswer {
  status: number;
  /** The body parsed as JSON; `{}` when empty (or, with `lenient`, when not JSON). */
  body: Record<string, unknown>;
  text: string;
  headers: Headers;
  setCookie: string | null;
}

export interface ConsoleCallOptions {
  /** Sends its cookie, and its CSRF token unless `csrf` is false or a string. */
  session?: Pick<ConsoleSession, 'cookie' | 'csrf'> | null;
  /** A `Cookie` header of its own (instead of the session's); empty sends none. */
  cookie?: string;
  /** false: no CSRF token even with a session; a string: that token; empty string: none. */
  csrf?: boolean | string;
  /** Sent as JSON (with `content-type: application/json`). */
  body?: unknown;
  /** Extra request headers (e.g. `origin`, `sec-fetch-site`). */
  headers?: Record<string, string>;
  /** A body that is not JSON (CSV, say) reads as `{}` instead of failing the call. */
  lenient?: boolean;
}

/** `method path` on the server (path from the root, e.g. `/console/api/keys`). */
export async function consoleCall(server: Pick<TestServer, 'url'>, method: string, path: string, options: ConsoleCallOptions = {}): Promise<ConsoleAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  const cookie = options.cookie ?? options.session?.cookie;
  if (cookie) headers.cookie = cookie;
  const csrf = typeof options.csrf === 'string' ? options.csrf : options.session && options.csrf !== false ? options.session.csrf : undefined;
  if (csrf) headers['x-csrf-token'] = csrf;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${server.url}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await r.text();
  let body: Record<string, unknown> = {};
  if (text) {
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      if (!options.lenient) throw err;
    }
  }
  const answer = { status: r.status, body } as ConsoleAnswer;
  Object.defineProperties(answer, {
    text: { value: text, enumerable: false },
    headers: { value: r.headers, enumerable: false },
    setCookie: { value: r.headers.get('set-cookie'), enumerable: false },
  });
  return answer;
}

/**
 * Posts `credentials` to /console/api/session and expects a session: 200, a `sesame_console`
 * cookie holding a 43-character token, and the CSRF token in the body.
 */
async function signIn(server: Pick<TestServer, 'url'>, credentials: Record<string, string>): Promise<ConsoleSession> {
  const answer = await consoleCall(server, 'POST', `${CONSOLE_API}/session`, { body: credentials });
  expect(answer.status, answer.text).toBe(200);
  const token = /^sesame_console=([^;]+)/.exec(answer.setCookie ?? '')?.[1] ?? '';
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return { cookie: `sesame_console=${token}`, token, csrf: String(answer.body.csrfToken), accessKeyId: String(answer.body.accessKeyId), answer };
}

/** Signs in to the console with an access key pair (see `signIn` for what is expected). */
export function consoleSignIn(server: Pick<TestServer, 'url'>, accessKeyId: string, secretAccessKey: string): Promise<ConsoleSession> {
  return signIn(server, { accessKeyId, secretAccessKey });
}

/** Signs in to the console as a console user, with its name and password. */
export function consoleSignInUser(server: Pick<TestServer, 'url'>, userName: string, password: string): Promise<ConsoleSession> {
  return signIn(server, { userName, password });
}

/** A console session for a new access key (made through core) with `policy`, if given. */
export async function keySession(server: TestServer, policy?: unknown, description = 'console test'): Promise<ConsoleSession> {
  const key = await server.instance.core.accounts.createKey({ description, ...(policy ? { policy } : {}) });
  return consoleSignIn(server, key.accessKeyId, key.secretAccessKey);
}
