/**
 * The SES v2 REST JSON front end: routes `/v2/email/…` to one handler per operation, authenticates
 * every call with SigV4 (service `ses`), and translates core's errors into SES's wire errors
 * (status, `x-amzn-ErrorType`, `{"message": …}`, `x-amzn-RequestId`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SesError, type Core, type Principal } from '../../core/index.ts';
import { newRequestId } from '../../lib/ids.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { V2_ERRORS } from './errors.ts';
import { parseJsonBody, type Body } from './validate.ts';
import { operations } from './operations/index.ts';
import { BodyTooLargeError, BUFFER_BODIES_UP_TO, readSendEmailBody, readWholeBody, type StreamedBody } from './stream-body.ts';
import { parseAuthorization } from '../../lib/sigv4.ts';
import type { Readable } from 'node:stream';

/** What an operation handler receives. */
export interface V2Context {
  core: Core;
  principal: Principal;
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: Body;
  /** The caller's IP address. */
  sourceIp: string;
}

/** One SES v2 operation: its route and handler. The handler returns the JSON response body. */
export interface V2Operation {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  handler: (ctx: V2Context) => Promise<Record<string, unknown>>;
  /**
   * The body is streamed rather than buffered (SendEmail: a raw message is spooled while it arrives,
   * and `Content.Raw.Data` is a `StreamedData` in the body the handler gets).
   */
  streamBody?: boolean;
}

/** Dependencies of the v2 front end. */
export interface V2Deps {
  core: Core;
  region: string;
  logger: Logger;
  metrics: Metrics;
}

/** Sends an SES v2 error response. */
export function sendV2Error(reply: FastifyReply, requestId: string, err: SesError): FastifyReply {
  const m = V2_ERRORS[err.code];
  return reply
    .status(m.status)
    .header('x-amzn-RequestId', requestId)
    .header('x-amzn-ErrorType', m.type)
    .header('content-type', 'application/json')
    .send(JSON.stringify({ message: err.message }));
}

/** Registers every v2 route on the Fastify instance. */
export function registerSesV2(app: FastifyInstance, deps: V2Deps): void {
  for (const op of operations.filter((o) => !o.streamBody)) {
    app.route({
      method: op.method,
      url: op.path,
      handler: (req, reply) => handle(deps, op, req, reply, undefined),
    });
  }
  // Streamed operations get the request stream itself: a content-type parser of their own passes it
  // through (the app's parser buffers), with the app's body limit enforced while reading.
  const limit = app.initialConfig.bodyLimit ?? 1024 * 1024;
  void app.register(async (streaming) => {
    streaming.removeAllContentTypeParsers();
    streaming.addContentTypeParser('*', (req, payload, done) => {
      // As Fastify's own parser does: a declared length over the limit is refused before reading.
      if (Number(req.headers['content-length']) > limit) done(new BodyTooLargeError(), undefined);
      else done(null, payload);
    });
    for (const op of operations.filter((o) => o.streamBody)) {
      streaming.route({
        method: op.method,
        url: op.path,
        handler: async (req, reply) => {
          const body = await readBody(deps, req, reply, limit);
          return handle(deps, op, req, reply, body);
        },
      });
    }
  });
  // Paths under /v2/email that name no operation.
  app.all('/v2/*', async (req, reply) => {
    const requestId = newRequestId();
    deps.metrics.apiRequests.inc({ api: 'v2', operation: 'unknown', code: 'UnknownOperation' });
    return sendV2Error(reply, requestId, new SesError('UnknownOperation', `No SES v2 operation matches ${req.method} ${req.url.split('?')[0]}.`));
  });
}

/**
 * Reads a streamed body, as Fastify's parser reads a buffered one before the handler runs: a body
 * over the limit or a broken upload is answered by the app's error handler, as it was then.
 */
async function readBody(deps: V2Deps, req: FastifyRequest, reply: FastifyReply, limit: number): Promise<StreamedBody | Buffer> {
  const payload = req.body as Readable | undefined;
  const declared = Number(req.headers['content-length']);
  if (payload && typeof payload.on === 'function' && declared <= BUFFER_BODIES_UP_TO) {
    try {
      return await readWholeBody(payload, limit);
    } catch (err) {
      reply.header('connection', 'close');
      throw err;
    }
  }
  // A request that cannot authenticate (no or malformed Authorization) is read and hashed but not spooled.
  let spool: V2Deps['core']['spool'] | undefined = deps.core.spool;
  try {
    parseAuthorization({ method: req.method, path: req.url, query: '', headers: req.headers, body: EMPTY });
  } catch {
    spool = undefined;
  }
  try {
    return await readSendEmailBody(payload && typeof payload.on === 'function' ? payload : undefined, {
      limit,
      spool,
      onReleaseError: (err) => deps.logger.error({ code: 'API_SPOOL_NOT_REMOVED', err }, 'the spooled message of a refused SendEmail could not be deleted; its blob is an orphan'),
    });
  } catch (err) {
    // The client may still be sending: answer, then close the connection.
    reply.header('connection', 'close');
    throw err;
  }
}

const EMPTY = Buffer.alloc(0);

async function handle(deps: V2Deps, op: V2Operation, req: FastifyRequest, reply: FastifyReply, read: StreamedBody | Buffer | undefined): Promise<FastifyReply> {
  const requestId = newRequestId();
  const started = process.hrtime.bigint();
  let code = 'OK';
  // A streamed operation's body: streamed (large), or read whole (small, then as any other operation's).
  const streamed = Buffer.isBuffer(read) ? undefined : read;
  try {
    const raw = Buffer.isBuffer(read) ? read : streamed ? EMPTY : Buffer.isBuffer(req.body) ? req.body : EMPTY;
    const q = req.url.indexOf('?');
    const principal = await deps.core.accounts.authenticateSigV4(
      {
        method: req.method,
        path: q < 0 ? req.url : req.url.slice(0, q),
        query: q < 0 ? '' : req.url.slice(q + 1),
        headers: req.headers,
        body: raw,
        ...(streamed ? { bodySha256: streamed.sha256 } : {}),
      },
      { region: deps.region, services: ['ses'] },
    );
    const body = streamed ? await streamed.parse() : op.method === 'GET' || op.method === 'DELETE' ? {} : parseJsonBody(raw);
    const result = await op.handler({ core: deps.core, principal, params: req.params as Record<string, string>, query: req.query as Record<string, unknown>, body, sourceIp: req.ip });
    await streamed?.release();
    return reply.status(200).header('x-amzn-RequestId', requestId).header('content-type', 'application/json').send(JSON.stringify(result));
  } catch (err) {
    // A spooled message core did not take (refused before send) is dropped before the answer.
    await streamed?.release();
    const e = toSesError(err, deps.logger, requestId, op.name);
    code = e.code;
    if (['MissingAuthenticationToken', 'IncompleteSignature', 'InvalidClientTokenId', 'SignatureDoesNotMatch'].includes(e.code)) {
      deps.metrics.authFailures.inc({ code: e.code });
    }
    return sendV2Error(reply, requestId, e);
  } finally {
    deps.metrics.apiRequests.inc({ api: 'v2', operation: op.name, code });
    deps.metrics.apiDuration.observe({ api: 'v2' }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}

/** Turns anything thrown into a SesError; unexpected errors are logged and become InternalServiceError. */
export function toSesError(err: unknown, logger: Logger, requestId: string, operation: string): SesError {
  if (err instanceof SesError) return err;
  logger.error({ code: 'API_INTERNAL_ERROR', err, requestId, operation }, `internal error in ${operation}`);
  return new SesError('InternalServiceErrorException', `Internal error; request id ${requestId}.`);
}
