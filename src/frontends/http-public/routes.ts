/**
 * Sesame's own public HTTP routes: `/health`, `/metrics` and the email-address verification link.
 * Paths are Sesame's own (SPEC "HTTP endpoints").
 */
import type { FastifyInstance } from 'fastify';
import { PIXEL_GIF, type Core } from '../../core/index.ts';
import type { Metrics } from '../../observability/metrics.ts';

/** Readiness as /health reports it. */
export interface HealthSource {
  /** Names of parts that are not ready yet (empty when all are). */
  notReady(): string[];
  /** Checks the database answers; throws if not. */
  pingStorage(): Promise<void>;
  /**
   * The worker thread's state on a SQLite node that runs one (ADR 0019), else undefined. A thread
   * being started again does not make the node unhealthy: it still accepts mail, which waits queued.
   */
  workerThread(): 'running' | 'restarting' | undefined;
}

/** Dependencies of the public routes. */
export interface PublicDeps {
  core: Core;
  metrics: Metrics;
  health: HealthSource;
}

function page(title: string, text: string): string {
  const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style></head><body><h1>${esc(title)}</h1><p>${esc(text)}</p></body></html>`;
}

/** Registers /health, /metrics, the tracking pixel and link redirect, and /verify-email. */
export function registerPublicRoutes(app: FastifyInstance, deps: PublicDeps): void {
  app.get('/health', async (_req, reply) => {
    const waiting = deps.health.notReady();
    let storage = 'ok';
    try {
      await deps.health.pingStorage();
    } catch (err) {
      storage = `error: ${(err as Error).message}`;
    }
    const ok = waiting.length === 0 && storage === 'ok';
    const workerThread = deps.health.workerThread();
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : storage !== 'ok' ? 'unavailable' : 'starting', waitingFor: waiting, storage, ...(workerThread ? { workerThread } : {}) });
  });

  app.get('/metrics', async (_req, reply) => {
    return reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.render());
  });

  // Open tracking: the pixel is always served (a mail client must not show a broken image), and the
  // Open event is recorded only for a genuine URL.
  app.get('/t/o/:messageId/:sig', async (req, reply) => {
    const { messageId, sig } = req.params as { messageId: string; sig: string };
    await deps.core.tracking.open(messageId, sig.replace(/\.gif$/, ''), req.ip, String(req.headers['user-agent'] ?? ''));
    return reply.header('content-type', 'image/gif').header('cache-control', 'no-store, max-age=0').send(PIXEL_GIF);
  });

  // Click tracking: record the Click event, then redirect to the link kept in the message's metadata.
  app.get('/t/c/:messageId/:index/:sig', async (req, reply) => {
    const { messageId, index, sig } = req.params as { messageId: string; index: string; sig: string };
    const url = /^\d{1,6}$/.test(index) ? await deps.core.tracking.click(messageId, Number(index), sig, req.ip, String(req.headers['user-agent'] ?? '')) : undefined;
    if (!url) return reply.status(404).header('content-type', 'text/html; charset=utf-8').send(page('Link not valid', 'This link is not valid. Check that you copied the whole link from the email.'));
    return reply.status(302).header('location', url).header('cache-control', 'no-store').send();
  });

  app.get('/verify-email', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const [account, identity, token] = [q.account, q.identity, q.token];
    reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store');
    if (typeof account !== 'string' || typeof identity !== 'string' || typeof token !== 'string') {
      return reply.status(400).send(page('Verification link not valid', 'This link is incomplete. Copy the whole link from the email.'));
    }
    const result = await deps.core.identities.confirmEmail(account, identity, token);
    switch (result) {
      case 'verified':
        return reply.send(page('Address verified', `${identity} is now verified and can send email.`));
      case 'already-verified':
        return reply.send(page('Address already verified', `${identity} was already verified.`));
      case 'expired':
        return reply.status(410).send(page('Verification link expired', 'Links are valid for 24 hours. Ask for a new one (VerifyEmailIdentity) and use it within a day.'));
      default:
        return reply.status(404).send(page('Verification link not valid', 'This link does not match a pending verification. It may have been replaced by a newer one.'));
    }
  });
}
