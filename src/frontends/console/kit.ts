/**
 * What every console API route shares: the session check (cookie, CSRF token, own origin), the
 * refusal shape `{ code, message }`, and the small request readers. Each page's routes take a
 * `ConsoleKit` and register themselves (routes.ts, and one module per page beside it).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IAM_STATUS, IamError, SesError, sameText, type ConsoleSession, type Core } from '../../core/index.ts';
import type { Logger } from '../../observability/logger.ts';

/** The session cookie's name. */
export const CONSOLE_COOKIE = 'sesame_console';
/** Where the console's API lives. */
export const CONSOLE_API = '/console/api';

/** A refusal of the console API: its HTTP status, code and message. */
export class ConsoleRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const NO_SESSION = () => new ConsoleRefusal(401, 'Unauthenticated', 'Sign in to the console first (your session is missing, expired, or its access key was revoked).');

/** What a page's routes are given. */
export interface ConsoleKit {
  app: FastifyInstance;
  logger: Logger;
  /** Wraps a handler: JSON out (204 when it returns undefined), refusals and SES errors as `{ code, message }`, no caching. */
  route(handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>): (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  /** The request's session, or a 401; state-changing methods also need the CSRF token and the console's own origin. */
  session(req: FastifyRequest): Promise<ConsoleSession>;
}

export function consoleKit(app: FastifyInstance, core: Pick<Core, 'consoleSessions'>, logger: Logger): ConsoleKit {
  const route: ConsoleKit['route'] = (handler) => async (req, reply) => {
    reply.header('cache-control', 'no-store');
    try {
      crossSite(req);
      const body = await handler(req, reply);
      // A handler that answered itself (a stream, a file) returns the reply.
      if (reply.sent || body === reply) return reply;
      return body === undefined ? reply.status(204).send() : reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
    } catch (err) {
      if (err instanceof ConsoleRefusal) return refuse(reply, err.status, err.code, err.message);
      // Core's IAM refusals (access keys) keep IAM's own code and status.
      if (err instanceof IamError) return refuse(reply, IAM_STATUS[err.iamCode], err.iamCode, err.message);
      if (err instanceof SesError) return refuse(reply, sesStatus(err.code), err.code, err.message);
      logger.error({ code: 'CONSOLE_INTERNAL_ERROR', err, url: req.url }, 'a console request failed');
      return refuse(reply, 500, 'InternalError', 'The console request failed; the server log has the details.');
    }
  };
  const session: ConsoleKit['session'] = async (req) => {
    const s = await core.consoleSessions.resolve(cookie(req, CONSOLE_COOKIE) ?? '');
    if (!s) throw NO_SESSION();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sameOrigin(req);
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !sameText(sent, s.csrfToken)) throw new ConsoleRefusal(403, 'InvalidCsrfToken', 'This request needs the X-CSRF-Token header of your console session.');
    }
    return s;
  };
  return { app, logger, route, session };
}

/** The query string's parameters as single strings: a parameter given twice counts once (its first value). */
export function queryOf(req: FastifyRequest): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) {
    const first: unknown = Array.isArray(v) ? v[0] : v;
    if (typeof first === 'string') out[k] = first;
  }
  return out;
}

export function refuse(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.status(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify({ code, message }));
}

export function sesStatus(code: string): number {
  if (code === 'AccessDenied') return 403;
  if (code === 'NotFoundException') return 404;
  if (code === 'AlreadyExistsException') return 409;
  if (code === 'TooManyRequestsException' || code === 'LimitExceededException') return 429;
  if (code === 'InvalidClientTokenId') return 401;
  return 400;
}

/** A browser that says the request comes from another site (Fetch Metadata) is refused, whatever the method. */
export function crossSite(req: FastifyRequest): void {
  if (req.headers['sec-fetch-site'] === 'cross-site') throw new ConsoleRefusal(403, 'CrossSiteRequest', 'The console API does not answer requests made by other sites.');
}

/**
 * A state-changing request that names its origin must come from the console's own host. The scheme
 * is not compared, and the host may be the one a proxy forwarded (`X-Forwarded-Host`): behind a
 * TLS-terminating proxy the browser's origin is `https://…` while Sesame is reached over HTTP.
 */
export function sameOrigin(req: FastifyRequest): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new ConsoleRefusal(403, 'CrossSiteRequest', `The Origin header is not an origin: ${origin}.`);
  }
  const forwarded = req.headers['x-forwarded-host'];
  const own = [req.headers.host, ...(typeof forwarded === 'string' ? forwarded.split(',').map((h) => h.trim()) : [])].filter((h): h is string => Boolean(h));
  if (!own.includes(host)) throw new ConsoleRefusal(403, 'CrossSiteRequest', `The console API answers only its own origin (${own.join(' or ')}), not ${origin}.`);
}

/** Whether the browser reached the console over HTTPS (directly, or through a proxy that says so). */
export function overHttps(req: FastifyRequest): boolean {
  return req.protocol === 'https' || String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim() === 'https';
}

export function json(body: unknown): Record<string, unknown> {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : '';
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // falls through to the refusal
  }
  throw new ConsoleRefusal(400, 'BadRequest', 'The request body must be a JSON object.');
}

/** A cookie's value from the Cookie header. */
export function cookie(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site sends it), the console's path only, Secure over HTTPS (or behind a proxy that says the browser used it). */
export function sessionCookie(req: FastifyRequest, token: string, maxAgeSeconds: number): string {
  return [`${CONSOLE_COOKIE}=${token}`, 'Path=/console', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSeconds}`, ...(overHttps(req) ? ['Secure'] : [])].join('; ');
}
