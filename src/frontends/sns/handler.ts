/**
 * The SNS-compatible Query front end: `POST /` with `Action=…&Version=2010-03-31` whose SigV4
 * credential scope names the service `sns`, dispatched to one handler per action, answered in SNS's
 * XML (namespace http://sns.amazonaws.com/doc/2010-03-31/) with SNS's `ErrorResponse` errors.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, SesError, type Core } from '../../core/index.ts';
import { newRequestId } from '../../lib/ids.ts';
import { QueryParams } from '../../lib/query.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { SNS_ERRORS } from './errors.ts';
import { actions } from './operations/index.ts';
import { snsError, snsResponse } from './xml.ts';

/** Dependencies of the SNS front end. */
export interface SnsDeps {
  core: Core;
  region: string;
  logger: Logger;
  metrics: Metrics;
}

/** The SNS API version the Query protocol names. */
export const SNS_VERSION = '2010-03-31';

const byName = new Map(actions.map((a) => [a.action, a]));
const AUTH_CODES = ['MissingAuthenticationToken', 'IncompleteSignature', 'InvalidClientTokenId', 'SignatureDoesNotMatch'];

/** Parses Query parameters with SNS's wording for bad ones (`Invalid parameter: Name`). */
export function parseSnsQuery(body: Buffer, queryString: string): QueryParams {
  return QueryParams.parse(body, queryString, (kind, message, name) =>
    badRequest(kind === 'missing' ? `Invalid parameter: ${name ?? 'parameter'} Reason: no value for required parameter` : `Invalid parameter: ${name ?? 'parameter'} Reason: ${message}`),
  );
}

/** Sends an SNS `ErrorResponse`. */
export function sendSnsError(reply: FastifyReply, requestId: string, e: SesError): FastifyReply {
  const m = SNS_ERRORS[e.code];
  return reply.status(m.status).header('x-amzn-RequestId', requestId).header('content-type', 'text/xml').send(snsError(m.type, m.code, e.message, requestId));
}

/** Sends an SNS success response. */
export function sendSnsResponse(reply: FastifyReply, requestId: string, action: string, result: Parameters<typeof snsResponse>[1]): FastifyReply {
  return reply.status(200).header('x-amzn-RequestId', requestId).header('content-type', 'text/xml').send(snsResponse(action, result, requestId));
}

/** Handles one `POST /` request addressed to SNS. */
export async function handleSns(deps: SnsDeps, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const requestId = newRequestId();
  const started = process.hrtime.bigint();
  let action = 'unknown';
  let code = 'OK';
  try {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const q = req.url.indexOf('?');
    const query = q < 0 ? '' : req.url.slice(q + 1);
    const principal = await deps.core.accounts.authenticateSigV4(
      { method: req.method, path: q < 0 ? req.url : req.url.slice(0, q), query, headers: req.headers, body: raw },
      { region: deps.region, services: ['sns'] },
    );
    const params = parseSnsQuery(raw, query);
    const name = params.action;
    const op = name ? byName.get(name) : undefined;
    if (!op) throw new SesError('UnknownOperation', name ? `The action ${name} is not valid for this web service.` : 'Action is required.');
    action = op.action;
    const version = params.string('Version');
    if (version !== undefined && version !== SNS_VERSION) throw badRequest(`Invalid parameter: Version Reason: ${version} is not supported; use ${SNS_VERSION}`);
    const result = await op.handler({ core: deps.core, principal, params });
    return sendSnsResponse(reply, requestId, op.action, result);
  } catch (err) {
    let e: SesError;
    if (err instanceof SesError) {
      e = err;
    } else {
      deps.logger.error({ code: 'API_INTERNAL_ERROR', err, requestId, operation: action }, `internal error in SNS ${action}`);
      e = new SesError('InternalServiceErrorException', `Internal error; request id ${requestId}.`);
    }
    code = e.code;
    if (AUTH_CODES.includes(e.code)) deps.metrics.authFailures.inc({ code: e.code });
    return sendSnsError(reply, requestId, e);
  } finally {
    deps.metrics.apiRequests.inc({ api: 'sns', operation: action, code });
    deps.metrics.apiDuration.observe({ api: 'sns' }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
