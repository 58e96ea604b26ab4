/**
 * The unauthenticated links of SNS deliveries, as SNS serves them: the SubscribeURL
 * (`GET /?Action=ConfirmSubscription&TopicArn=…&Token=…`), the UnsubscribeURL
 * (`GET /?Action=Unsubscribe&SubscriptionArn=…`), answered with SNS's XML, and the certificate
 * that SigningCertURL names (`GET /SimpleNotificationService-<id>.pem`). The token in the link is
 * the proof for a confirmation; the random subscription id for an unsubscribe, as on SNS.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { badRequest, SesError, type Core } from '../../core/index.ts';
import { newRequestId } from '../../lib/ids.ts';
import { QueryParams } from '../../lib/query.ts';
import { queryError, queryResponse, type XmlValue } from '../../lib/xml.ts';
import type { Logger } from '../../observability/logger.ts';

/** The SNS XML namespace. */
const SNS_NS = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** Dependencies of the SNS links. */
export interface SnsLinkDeps {
  core: Core;
  logger: Logger;
  /** The signing certificate and the path it is served at (`/SimpleNotificationService-<id>.pem`). */
  certificate?: { path: string; pem: string };
}

/** Registers `GET /` (ConfirmSubscription, Unsubscribe) and the signing certificate. */
export function registerSnsLinks(app: FastifyInstance, deps: SnsLinkDeps): void {
  app.get('/', async (req, reply) => {
    const requestId = newRequestId();
    const q = req.url.indexOf('?');
    try {
      const params = QueryParams.parse(Buffer.alloc(0), q < 0 ? '' : req.url.slice(q + 1), (kind, message, name) =>
        badRequest(kind === 'missing' ? `Invalid parameter: ${name} Reason: no value for required parameter` : `Invalid parameter: ${name} Reason: ${message}`),
      );
      const action = params.action;
      if (action === 'ConfirmSubscription') {
        const arn = await deps.core.topics.confirmSubscription(undefined, params.string('TopicArn'), params.string('Token'));
        return send(reply, requestId, action, { SubscriptionArn: arn });
      }
      if (action === 'Unsubscribe') {
        await deps.core.topics.unsubscribe(undefined, params.string('SubscriptionArn'));
        return send(reply, requestId, action, undefined);
      }
      throw new SesError('UnknownOperation', action ? `The action ${action} is not valid for an unauthenticated GET; use ConfirmSubscription or Unsubscribe.` : 'Action is required.');
    } catch (err) {
      let e = err;
      if (!(e instanceof SesError)) {
        deps.logger.error({ code: 'API_INTERNAL_ERROR', err, requestId, operation: 'sns-link' }, 'internal error in an SNS link');
        e = new SesError('InternalServiceErrorException', `Internal error; request id ${requestId}.`);
      }
      const se = e as SesError;
      const [status, code, type] =
        se.code === 'NotFoundException'
          ? ([404, 'NotFound', 'Sender'] as const)
          : se.code === 'UnknownOperation'
            ? ([400, 'InvalidAction', 'Sender'] as const)
            : se.code === 'InternalServiceErrorException'
              ? ([500, 'InternalError', 'Receiver'] as const)
              : ([400, 'InvalidParameter', 'Sender'] as const);
      return reply.status(status).header('x-amzn-RequestId', requestId).header('content-type', 'text/xml').send(queryError(SNS_NS, type, code, se.message, requestId));
    }
  });

  const cert = deps.certificate;
  if (cert) {
    app.get(cert.path, async (_req, reply) => reply.header('content-type', 'application/x-x509-ca-cert').header('cache-control', 'public, max-age=86400').send(cert.pem));
  }
}

function send(reply: FastifyReply, requestId: string, action: string, result: Record<string, XmlValue> | undefined): FastifyReply {
  return reply.status(200).header('x-amzn-RequestId', requestId).header('content-type', 'text/xml').send(queryResponse(SNS_NS, action, result, requestId, 'omit'));
}
