/**
 * The console's Queue page: the signed-in account's queue per destination domain (depth, in
 * flight, oldest message, next attempt, the commonest deferral replies), retry of a domain's mail,
 * and pausing or resuming delivery to a domain (every account's: a root key or an explicit allow
 * of sesame:PauseDestination, checked in core).
 */
import type { FastifyRequest } from 'fastify';
import type { Core, DestinationView } from '../../core/index.ts';
import { CONSOLE_API, json, type ConsoleKit } from './kit.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** One destination as the page shows it (times in ISO 8601, ages relative to the server's clock). */
function destinationView(d: DestinationView, now: number) {
  return {
    domain: d.domain,
    queued: d.queued,
    inFlight: d.inFlight,
    oldestCreatedAt: iso(d.oldestCreatedAt),
    oldestAgeSeconds: d.oldestCreatedAt === null ? null : Math.max(0, Math.floor((now - d.oldestCreatedAt) / 1000)),
    nextAttemptAt: iso(d.nextAttemptAt),
    deferrals: d.deferrals,
    paused: d.paused ? { pausedAt: iso(d.paused.pausedAt), pausedBy: d.paused.pausedBy, reason: d.paused.reason } : null,
  };
}

/** GET /console/api/queue, POST /console/api/queue/:domain/retry|pause|resume. */
export function registerQueueRoutes(kit: ConsoleKit, core: Core): void {
  const { app, route, session } = kit;
  const domain = (req: FastifyRequest) => (req.params as { domain: string }).domain;

  app.get(
    `${CONSOLE_API}/queue`,
    route(async (req) => {
      const s = await session(req);
      const q = await core.accountMessages.destinations(s.principal);
      const now = Date.now();
      return { destinations: q.destinations.map((d) => destinationView(d, now)), totalQueued: q.totalQueued, truncated: q.truncated, at: new Date(now).toISOString() };
    }),
  );
  app.post(
    `${CONSOLE_API}/queue/:domain/retry`,
    route(async (req) => ({ recipientsMadeDue: await core.accountMessages.retryDestination((await session(req)).principal, domain(req)) })),
  );
  app.post(
    `${CONSOLE_API}/queue/:domain/pause`,
    route(async (req) => {
      const s = await session(req);
      // The body is optional: `{ "reason": "…" }`.
      const body = req.body === undefined || req.body === null || (typeof req.body === 'string' && req.body.trim() === '') ? {} : json(req.body);
      const reason = typeof body.reason === 'string' ? body.reason : undefined;
      const p = await core.accountMessages.pauseDestination(s.principal, domain(req), reason);
      return { domain: p.domain, pausedAt: iso(p.pausedAt), pausedBy: p.pausedBy, reason: p.reason, alreadyPaused: p.alreadyPaused };
    }),
  );
  app.post(
    `${CONSOLE_API}/queue/:domain/resume`,
    route(async (req) => {
      const r = await core.accountMessages.resumeDestination((await session(req)).principal, domain(req));
      return { domain: r.domain, recipientsMadeDue: r.recipientsMadeDue };
    }),
  );
}
