/**
 * The HTTP listener of a node with the `api` role: one Fastify app carrying SES v2 (REST/JSON),
 * SES v1 and SNS (Query), the S3-compatible object store, the console's API and the public routes. Imported by
 * startSesame only when the role runs.
 */
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { SesError } from '../core/index.ts';
import { handleSesV1, sendV1Error } from '../frontends/ses-v1/handler.ts';
import { registerSesV2, sendV2Error } from '../frontends/ses-v2/router.ts';
import { registerPublicRoutes } from '../frontends/http-public/routes.ts';
import { registerConsoleApi } from '../frontends/console/routes.ts';
import { registerConsolePages } from '../frontends/console/pages.ts';
import { registerSnsLinks } from '../frontends/http-public/sns-links.ts';
import { handleSns, sendSnsError } from '../frontends/sns/handler.ts';
import { mayBeS3, registerS3, sendS3FrameworkError, S3_ROUTE_PREFIX } from '../frontends/s3/router.ts';
import { newRequestId } from '../lib/ids.ts';
import type { SesameInstance } from './app.ts';
import type { SnsSigning } from './sns-signing.ts';

/** The built web console (`npm run build`). */
const CONSOLE_DIST = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** Largest request body: a 40 MB raw message base64-encoded in JSON, with room for the envelope. */
const BODY_LIMIT = 56 * 1024 * 1024;

export function buildHttpApp(s: SesameInstance, notReady: () => string[], snsSigning: SnsSigning): FastifyInstance {
  // Errors Fastify raises before a route runs (bad percent-encoding, bad Content-Type, too large)
  // still answer in the wire format of the API the path belongs to, with a request id.
  const wireError = (req: { url: string; method: string; headers: Record<string, unknown> }, reply: FastifyReply, status: number, message: string) => {
    if (req.url.startsWith(S3_ROUTE_PREFIX)) return sendS3FrameworkError(reply, req, status, message);
    const requestId = newRequestId();
    const code = status === 413 ? 'MessageRejected' : 'BadRequestException';
    const err = new SesError(code, message, 'InvalidParameterValue');
    if (req.url.startsWith('/v2/')) return sendV2Error(reply, requestId, err);
    if (req.method === 'POST' && (req.url === '/' || req.url.startsWith('/?'))) return scopeService(req) === 'sns' ? sendSnsError(reply, requestId, err) : sendV1Error(reply, requestId, err);
    return reply.status(status).header('x-amzn-RequestId', requestId).header('content-type', 'application/json').send(JSON.stringify({ message }));
  };
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    // Behind the operator's reverse proxies, req.ip is the client X-Forwarded-For names (only when the request came from one of them).
    ...(s.config.trustedProxies.length > 0 ? { trustProxy: s.config.trustedProxies } : {}),
    forceCloseConnections: 'idle',
    // Identity names go up to 320 characters and are path parameters.
    routerOptions: { maxParamLength: 2048 },
    // Requests signed for the service `s3` go to the object store's routes (outside `/v2/` and `POST /`),
    // so a bucket may be named like Sesame's own paths (`GET /` is also SNS's unauthenticated links).
    rewriteUrl: (req) => {
      const url = req.url ?? '/';
      return mayBeS3(req.method ?? 'GET', url) && scopeService({ url, headers: req.headers }) === 's3' ? `${S3_ROUTE_PREFIX}${url}` : url;
    },
    frameworkErrors: (err, req, reply) => wireError(req, reply, err.statusCode ?? 400, err.code === 'FST_ERR_BAD_URL' ? `The request path is not valid percent-encoding: ${req.url.slice(0, 200)}` : err.message),
  });
  // Keep every body as raw bytes: SigV4 hashes the exact bytes, and each front end parses its own format.
  // (v2 SendEmail streams its body instead, through its own parser: src/frontends/ses-v2/stream-body.ts.)
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const deps = { core: s.core, region: s.config.region, logger: s.logger, metrics: s.metrics };
  registerPublicRoutes(app, { core: s.core, metrics: s.metrics, health: { notReady, pingStorage: () => s.storage.ping(), workerThread: () => s.workerThread?.state() } });
  registerSesV2(app, deps);
  registerSnsLinks(app, { core: s.core, logger: s.logger, certificate: { path: snsSigning.certPath, pem: snsSigning.certPem } });
  registerS3(app, deps);
  registerConsoleApi(app, { core: s.core, logger: s.logger });
  registerConsolePages(app, CONSOLE_DIST);
  // POST / carries SES v1 and SNS Query calls, told apart by the SigV4 credential scope's service (`s3` is routed by rewriteUrl above).
  app.post('/', (req, reply) => (scopeService(req) === 'sns' ? handleSns(deps, req, reply) : handleSesV1(deps, req, reply)));
  app.setErrorHandler((err, req, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) {
      s.logger.error({ code: 'HTTP_INTERNAL_ERROR', err }, 'unhandled HTTP error');
      const requestId = newRequestId();
      return reply.status(500).header('x-amzn-RequestId', requestId).header('content-type', 'application/json').send(JSON.stringify({ message: `Internal error; request id ${requestId}.` }));
    }
    const message = status === 413 ? `The request body is larger than ${BODY_LIMIT} bytes.` : status === 415 ? 'The Content-Type header is not valid.' : (err as Error).message;
    return wireError(req, reply, status, message);
  });
  return app;
}

/**
 * The service of a request's SigV4 credential scope (`Credential=AKID/date/region/SERVICE/aws4_request`
 * in the Authorization header, or `X-Amz-Credential` in the query), or undefined when there is none.
 */
function scopeService(req: { url: string; headers: Record<string, unknown> }): string | undefined {
  const auth = req.headers.authorization;
  let credential = typeof auth === 'string' ? /Credential=([^,\s]+)/.exec(auth)?.[1] : undefined;
  if (credential === undefined) {
    const q = req.url.indexOf('?');
    try {
      credential = q < 0 ? undefined : (new URLSearchParams(req.url.slice(q + 1)).get('X-Amz-Credential') ?? undefined);
    } catch {
      credential = undefined;
    }
  }
  return credential?.split('/')[3];
}
