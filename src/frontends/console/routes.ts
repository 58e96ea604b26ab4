/**
 * The web console's back end under `/console/api/`: sign-in with an access key pair or a console
 * user's name and password (with a brake on failures), the session
 * in an HttpOnly, SameSite=Strict cookie, and the routes the console reads. Every route but
 * sign-in needs a session; every state-changing request also needs the session's CSRF token in
 * `X-CSRF-Token` and, when the browser says where it comes from (`Origin`, `Sec-Fetch-Site`), to
 * come from the console's own origin. Answers are JSON: `{ code, message }` on refusal.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CONSOLE_SESSION_TTL_MS, dkimView, SesError, SignInThrottled, verifiedForSending, type ConsoleSession, type Core, type Identity, type QueueRecipientView } from '../../core/index.ts';
import type { Logger } from '../../observability/logger.ts';
import { clientKey } from '../../lib/client-key.ts';
import { registerConfigurationSetsRoutes } from './configuration-sets.ts';
import { registerTemplateRoutes } from './templates.ts';
import { registerKeysRoutes } from './keys.ts';
import { registerReceivingRoutes } from './receiving.ts';
import { registerOverviewRoutes } from './overview.ts';
import { registerQueueRoutes } from './queue.ts';
import { CONSOLE_API, CONSOLE_COOKIE, ConsoleRefusal, consoleKit, cookie, json, queryOf, sameOrigin, sessionCookie, type ConsoleKit } from './kit.ts';

export { CONSOLE_API, CONSOLE_COOKIE } from './kit.ts';

const RECIPIENT_STATES: readonly string[] = ['queued', 'delivered', 'bounced', 'suppressed'];

interface Deps {
  core: Core;
  logger: Logger;
}

/** The pages whose routes live in their own modules: each takes the kit and the parts of core it uses. */
const PAGE_ROUTES: ReadonlyArray<(kit: ConsoleKit, core: Core) => void> = [registerOverviewRoutes, registerConfigurationSetsRoutes, registerTemplateRoutes, registerReceivingRoutes, registerKeysRoutes, registerQueueRoutes];

/**
 * The console's API: sessions, then each page's routes, then a catch-all that answers 404 only
 * to a session (so no path under the API answers without one).
 */
export function registerConsoleApi(app: FastifyInstance, deps: Deps): void {
  const kit = consoleKit(app, deps.core, deps.logger);
  const { route, session } = kit;
  const sessions = deps.core.consoleSessions;

  const view = (s: ConsoleSession) => ({
    accountId: s.principal.accountId,
    accessKeyId: s.principal.accessKeyId,
    ...(s.userName !== undefined ? { userName: s.userName } : {}),
    csrfToken: s.csrfToken,
    expiresAt: new Date(s.expiresAt).toISOString(),
  });

  // Sign-in with `{ accessKeyId, secretAccessKey }` or `{ userName, password }` (a console user).
  // Refused alike whatever was wrong (401 InvalidCredentials); after too many failures for the name
  // or from the address, refused for a while whatever is given (429 TooManyRequestsException, Retry-After).
  app.post(
    `${CONSOLE_API}/session`,
    route(async (req, reply) => {
      sameOrigin(req);
      const body = json(req.body);
      const text = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : '');
      const asUser = 'userName' in body || 'password' in body;
      const name = asUser ? text('userName').trim() : text('accessKeyId').trim();
      const secret = asUser ? text('password') : text('secretAccessKey');
      if (!name || !secret) throw new ConsoleRefusal(400, 'BadRequest', asUser ? 'Give userName and password.' : 'Give accessKeyId and secretAccessKey.');
      const who = asUser ? { userName: name } : { accessKeyId: name };
      try {
        const client = clientKey(req.ip);
        const { token, session: s } = asUser ? await sessions.signInWithPassword(name, secret, client) : await sessions.signIn(name, secret, client);
        reply.header('set-cookie', sessionCookie(req, token, Math.floor(CONSOLE_SESSION_TTL_MS / 1000)));
        deps.logger.info({ code: 'CONSOLE_SIGN_IN', ...who, accessKeyId: s.principal.accessKeyId, accountId: s.principal.accountId, ip: req.ip }, 'console sign-in');
        return view(s);
      } catch (err) {
        if (err instanceof SignInThrottled) {
          deps.logger.warn({ code: 'CONSOLE_SIGN_IN_THROTTLED', ...who, lockedOut: err.lockedOut, retryAfterSeconds: err.retryAfterSeconds, ip: req.ip }, 'console sign-in refused: too many failures');
          reply.header('retry-after', String(err.retryAfterSeconds));
          throw new ConsoleRefusal(429, err.code, err.message);
        }
        if (err instanceof SesError && err.code === 'InvalidClientTokenId') {
          deps.logger.warn({ code: 'CONSOLE_SIGN_IN_FAILED', ...who, ip: req.ip }, 'console sign-in refused');
          throw new ConsoleRefusal(401, 'InvalidCredentials', err.message);
        }
        throw err;
      }
    }),
  );
  app.get(
    `${CONSOLE_API}/session`,
    route(async (req) => view(await session(req))),
  );
  app.delete(
    `${CONSOLE_API}/session`,
    route(async (req, reply) => {
      await session(req);
      await sessions.signOut(cookie(req, CONSOLE_COOKIE) ?? '');
      reply.header('set-cookie', sessionCookie(req, '', 0));
      return undefined;
    }),
  );
  app.get(
    `${CONSOLE_API}/account`,
    route(async (req) => {
      const s = await session(req);
      const a = await deps.core.accountSettings.getAccount(s.principal);
      return { accountId: s.principal.accountId, ...a };
    }),
  );
  app.get(
    `${CONSOLE_API}/identities`,
    route(async (req) => {
      const s = await session(req);
      const q = queryOf(req);
      const page = await deps.core.identities.list(s.principal, { nextToken: q.nextToken || undefined, pageSize: q.pageSize ? Number(q.pageSize) : 50, nameContains: q.nameContains || undefined });
      return { items: page.items.map(identitySummary), ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
    }),
  );
  app.post(
    `${CONSOLE_API}/identities`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      const i = await deps.core.identities.create(s.principal, { EmailIdentity: typeof body.name === 'string' ? body.name.trim() : '' });
      return identitySummary(i);
    }),
  );
  app.get(
    `${CONSOLE_API}/identities/:name`,
    route(async (req) => {
      const s = await session(req);
      const i = await deps.core.identities.get(s.principal, (req.params as { name: string }).name);
      const records = i.type === 'DOMAIN' ? await deps.core.identities.dnsRecords(s.principal.accountId, i.name) : [];
      // Each record looked up now, through the node's resolver: what the console shows green or red.
      const checks = await deps.core.recordChecker.check(records);
      return { ...identitySummary(i), records: records.map((r, k) => ({ ...r, check: checks[k] })) };
    }),
  );
  app.put(
    `${CONSOLE_API}/identities/:name/mail-from`,
    route(async (req) => {
      const s = await session(req);
      const name = (req.params as { name: string }).name;
      const body = json(req.body);
      // SES v2 PutEmailIdentityMailFromAttributes: an empty domain turns the custom MAIL FROM off.
      await deps.core.identities.putMailFrom(s.principal, name, body.mailFromDomain ?? '', body.behaviorOnMxFailure);
      return identitySummary(await deps.core.identities.get(s.principal, name));
    }),
  );
  app.delete(
    `${CONSOLE_API}/identities/:name`,
    route(async (req) => {
      const s = await session(req);
      await deps.core.identities.delete(s.principal, (req.params as { name: string }).name);
      return undefined;
    }),
  );
  app.get(
    `${CONSOLE_API}/messages`,
    route(async (req) => {
      const s = await session(req);
      const q = queryOf(req);
      const state = q.status || undefined;
      if (state !== undefined && !RECIPIENT_STATES.includes(state)) throw new ConsoleRefusal(400, 'BadRequest', `status must be one of ${RECIPIENT_STATES.join(', ')}.`);
      const time = (name: string) => {
        const v = q[name];
        if (!v) return undefined;
        const t = Date.parse(v);
        if (Number.isNaN(t)) throw new ConsoleRefusal(400, 'BadRequest', `${name} must be a date and time (ISO 8601), not ${JSON.stringify(v)}.`);
        return t;
      };
      const limit = q.limit ? Number(q.limit) : 50;
      if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new ConsoleRefusal(400, 'BadRequest', 'limit must be a whole number from 1 to 200.');
      return deps.core.accountMessages.search(
        s.principal,
        { messageId: q.messageId?.trim() || undefined, recipient: q.recipient?.trim() || undefined, state: state as QueueRecipientView['state'] | undefined, text: q.q, since: time('since'), until: time('until'), cursor: q.cursor || undefined },
        limit,
      );
    }),
  );
  const messageId = (req: FastifyRequest) => (req.params as { id: string }).id;
  app.get(
    `${CONSOLE_API}/messages/:id`,
    route(async (req) => deps.core.accountMessages.inspect((await session(req)).principal, messageId(req))),
  );
  app.post(
    `${CONSOLE_API}/messages/:id/retry`,
    route(async (req) => ({ recipientsMadeDue: await deps.core.accountMessages.retry((await session(req)).principal, messageId(req)) })),
  );
  app.post(
    `${CONSOLE_API}/messages/:id/cancel`,
    route(async (req) => ({ recipientsCancelled: await deps.core.accountMessages.cancel((await session(req)).principal, messageId(req)) })),
  );
  app.get(
    `${CONSOLE_API}/activity`,
    route(async (req) => {
      const s = await session(req);
      const hours = Number(queryOf(req).hours ?? 24);
      if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 14) throw new ConsoleRefusal(400, 'BadRequest', 'hours must be a whole number from 1 to 336 (two weeks).');
      return deps.core.accountSettings.activity(s.principal, hours);
    }),
  );
  app.get(
    `${CONSOLE_API}/suppression`,
    route(async (req) => {
      const s = await session(req);
      const q = queryOf(req);
      if (q.email) {
        // One address: the list has it or not.
        const one = await deps.core.suppression.get(s.principal, q.email).catch((err: unknown) => {
          if (err instanceof SesError && err.code === 'NotFoundException') return undefined;
          throw err;
        });
        return { items: one ? [suppressionView(one)] : [] };
      }
      const page = await deps.core.suppression.list(s.principal, { nextToken: q.nextToken || undefined, pageSize: 100, ...(q.reason ? { reasons: [q.reason] } : {}) });
      return { items: page.items.map(suppressionView), ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
    }),
  );
  app.post(
    `${CONSOLE_API}/suppression`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      await deps.core.suppression.put(s.principal, typeof body.email === 'string' ? body.email.trim() : body.email, body.reason ?? 'BOUNCE');
      return suppressionView(await deps.core.suppression.get(s.principal, body.email));
    }),
  );
  app.post(
    `${CONSOLE_API}/suppression/import`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      if (typeof body.csv !== 'string') throw new ConsoleRefusal(400, 'BadRequest', 'Give the CSV text in csv.');
      const action = body.action === undefined ? 'PUT' : body.action;
      return deps.core.suppression.importCsv(s.principal, body.csv, action as 'PUT' | 'DELETE');
    }),
  );
  app.get(
    `${CONSOLE_API}/suppression/export`,
    route(async (req, reply) => {
      const s = await session(req);
      const lines = deps.core.suppression.exportCsv(s.principal);
      const day = new Date().toISOString().slice(0, 10);
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="suppression-list-${s.principal.accountId}-${day}.csv"`)
        .send(Readable.from(lines));
    }),
  );
  app.delete(
    `${CONSOLE_API}/suppression/:email`,
    route(async (req) => {
      const s = await session(req);
      await deps.core.suppression.delete(s.principal, (req.params as { email: string }).email);
      return undefined;
    }),
  );
  app.post(
    `${CONSOLE_API}/send-test`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      const text = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : '');
      // The same pipeline and checks as SES v2 SendEmail (verified From, sandbox, quota, suppression).
      const messageId = await deps.core.sending.send(s.principal, {
        action: 'ses:SendEmail',
        operation: 'SendEmail',
        from: text('from').trim(),
        to: text('to')
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean),
        content: { kind: 'simple', subject: text('subject') || 'Test message from the Sesame console', text: text('text') || 'This is a test message sent from the Sesame console.' },
        maxBytes: 10 * 1024 * 1024,
        sourceIp: req.ip,
      });
      return { messageId };
    }),
  );
  // Each page's own routes (one module per page beside this one).
  for (const register of PAGE_ROUTES) register(kit, deps.core);
  // Anything else under the console API: a session first, so no path answers without one.
  app.all(
    `${CONSOLE_API}/*`,
    route(async (req) => {
      await session(req);
      throw new ConsoleRefusal(404, 'NotFound', `There is no console route ${req.method} ${req.url.split('?')[0]}.`);
    }),
  );
}

/** An identity as the console lists it. */
function identitySummary(i: Identity) {
  const dkim = dkimView(i);
  return {
    name: i.name,
    type: i.type,
    verificationStatus: i.verificationStatus,
    verifiedForSending: verifiedForSending(i),
    dkim: { status: dkim.Status, signingEnabled: dkim.SigningEnabled, origin: dkim.SigningAttributesOrigin },
    mailFrom: i.data.mailFrom ? { domain: i.data.mailFrom.domain, status: i.data.mailFrom.status, behaviorOnMxFailure: i.data.mailFrom.behaviorOnMxFailure } : null,
    createdAt: new Date(i.createdAt).toISOString(),
  };
}

function suppressionView(r: { email: string; reason: string; lastUpdateTime: number; messageId: string | null }) {
  return { email: r.email, reason: r.reason, lastUpdateTime: new Date(r.lastUpdateTime).toISOString(), messageId: r.messageId };
}

