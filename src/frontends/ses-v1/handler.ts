/**
 * The SES v1 Query front end: `POST /` with `Action=…&Version=2010-12-01`, authenticated with SigV4
 * (service `ses`), dispatched to one handler per action, answered in XML with `ErrorResponse` errors.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SesError, type Core, type Principal } from '../../core/index.ts';
import { newRequestId } from '../../lib/ids.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { V1_ERRORS } from './errors.ts';
import { actions } from './operations/index.ts';
import { QueryParams } from './query.ts';
import { xmlError, xmlResponse, type XmlValue } from './xml.ts';

/** What an action handler receives. */
export interface V1Context {
  core: Core;
  principal: Principal;
  params: QueryParams;
  /** The caller's IP address. */
  sourceIp: string;
}

/** One v1 action. The handler returns the members of `<ActionResult>`. */
export interface V1Action {
  action: string;
  handler: (ctx: V1Context) => Promise<Record<string, XmlValue> | undefined>;
}

/** Dependencies of the v1 front end. */
export interface V1Deps {
  core: Core;
  region: string;
  logger: Logger;
  metrics: Metrics;
}

const byName = new Map(actions.map((a) => [a.action, a]));

/** Sends an SES v1 `ErrorResponse`. */
export function sendV1Error(reply: FastifyReply, requestId: string, e: SesError): FastifyReply {
  const m = V1_ERRORS[e.code];
  return reply
    .status(m.status)
    .header('x-amzn-RequestId', requestId)
    .header('content-type', 'text/xml')
    .send(xmlError(m.type, e.v1Code ?? m.code, e.message, requestId));
}

/** Handles one `POST /` request addressed to SES v1. */
export async function handleSesV1(deps: V1Deps, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
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
      { region: deps.region, services: ['ses'] },
    );
    const params = QueryParams.parse(raw, query);
    const name = params.action;
    const op = name ? byName.get(name) : undefined;
    if (!op) throw new SesError('UnknownOperation', name ? `The action ${name} is not valid for this web service.` : 'Action is required.');
    action = op.action;
    const version = params.string('Version');
    if (version !== undefined && version !== '2010-12-01') throw new SesError('BadRequestException', `Version ${version} is not supported; use 2010-12-01.`, 'InvalidParameterValue');
    const result = await op.handler({ core: deps.core, principal, params, sourceIp: req.ip });
    return reply.status(200).header('x-amzn-RequestId', requestId).header('content-type', 'text/xml').send(xmlResponse(op.action, result, requestId));
  } catch (err) {
    let e: SesError;
    if (err instanceof SesError) {
      e = err;
    } else {
      deps.logger.error({ code: 'API_INTERNAL_ERROR', err, requestId, operation: action }, `internal error in ${action}`);
      e = new SesError('InternalServiceErrorException', `Internal error; request id ${requestId}.`);
    }
    code = e.code;
    if (['MissingAuthenticationToken', 'IncompleteSignature', 'InvalidClientTokenId', 'SignatureDoesNotMatch'].includes(e.code)) deps.metrics.authFailures.inc({ code: e.code });
    return sendV1Error(reply, requestId, e);
  } finally {
    deps.metrics.apiRequests.inc({ api: 'v1', operation: action, code });
    deps.metrics.apiDuration.observe({ api: 'v1' }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
