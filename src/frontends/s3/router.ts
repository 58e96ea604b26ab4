/**
 * The S3-compatible REST front end (path-style: `/bucket/key`) of the built-in object store, on
 * Sesame's HTTP port. A request whose SigV4 credential scope names the service `s3` is routed here
 * whatever its path but `/v2/…` and `POST /` (src/main/app.ts rewrites its URL under
 * `S3_ROUTE_PREFIX`), so bucket names never collide with Sesame's own paths (`/health`, the SNS links
 * on `GET /`).
 *
 * Bodies are not buffered: the route's content-type parser hands the request stream through, and an
 * upload streams into the object store, checked on the way (payload.ts). Responses are S3's XML and
 * headers (`x-amz-request-id`, `x-amz-id-2`), errors S3's `<Error>` document.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ObjectStoreError, SesError, type Core } from '../../core/index.ts';
import { newRequestId } from '../../lib/ids.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { authenticateS3 } from './auth.ts';
import type { S3Operation } from './context.ts';
import { S3_CATALOGUE, S3_STATUS } from './errors.ts';
import { createBucket } from './operations/create-bucket.ts';
import { deleteBucket } from './operations/delete-bucket.ts';
import { deleteObject } from './operations/delete-object.ts';
import { getBucketLocation } from './operations/get-bucket-location.ts';
import { getObject, headObject } from './operations/get-object.ts';
import { headBucket } from './operations/head-bucket.ts';
import { listBuckets } from './operations/list-buckets.ts';
import { listObjects, listObjectsV2 } from './operations/list-objects.ts';
import { putObject } from './operations/put-object.ts';
import { readPayload } from './payload.ts';
import { errorXml } from './xml.ts';

/** The internal path prefix S3 requests are routed under (never seen by clients). */
export const S3_ROUTE_PREFIX = '/~s3';

/**
 * Whether a request may be an S3 request by its method and path: every path but SES v2's `/v2/…`
 * (`v2` is no valid bucket name) and `POST /` (no S3 operation; the SES v1 and SNS Query APIs), which
 * keep their own front ends and error formats whatever a request's signature names.
 */
export function mayBeS3(method: string, url: string): boolean {
  if (url.startsWith('/v2/') || url === '/v2') return false;
  return !(method === 'POST' && (url === '/' || url.startsWith('/?')));
}

/** Dependencies of the S3 front end. */
export interface S3Deps {
  core: Core;
  region: string;
  logger: Logger;
  metrics: Metrics;
}

/** Query parameters that name an S3 subresource: another operation than the plain one on the path. */
const SUBRESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'delete', 'encryption', 'intelligent-tiering', 'inventory', 'legal-hold',
  'lifecycle', 'location', 'logging', 'metadataTable', 'metrics', 'notification', 'object-lock', 'ownershipControls', 'policy',
  'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'restore', 'retention', 'select', 'session', 'tagging',
  'torrent', 'uploadId', 'uploads', 'versioning', 'versions', 'website',
]);

const AUTH_CODES = new Set(['AccessDenied', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'AuthorizationHeaderMalformed', 'AuthorizationQueryParametersError', 'RequestTimeTooSkewed']);
const SERVED = 'CreateBucket, ListBuckets, HeadBucket, GetBucketLocation, DeleteBucket, ListObjects(V2), PutObject, GetObject, HeadObject and DeleteObject';
const CONTENT_TYPE = Symbol('s3.content-type');

async function* nothing(): AsyncGenerator<Buffer> {}

function notImplemented(what: string): ObjectStoreError {
  return new ObjectStoreError('NotImplemented', `A header you provided implies functionality that is not implemented: Sesame's object store does not implement ${what}; it serves ${SERVED}.`);
}

function methodNotAllowed(method: string, what: string): ObjectStoreError {
  return new ObjectStoreError('MethodNotAllowed', 'The specified method is not allowed against this resource.', { Method: method, ResourceType: what });
}

/** The operation a request names: by method, by whether the path names a bucket or an object, and by subresource. */
function selectOperation(method: string, bucket: string, key: string, query: URLSearchParams): S3Operation {
  const subs = [...query.keys()].filter((k) => SUBRESOURCES.has(k));
  const refuseSubresources = (allowed: string[] = []) => {
    const other = subs.find((s) => !allowed.includes(s));
    if (other !== undefined) throw notImplemented(`the ?${other} subresource (${method})`);
  };
  if (bucket === '') {
    if (method === 'GET') return listBuckets;
    throw methodNotAllowed(method, 'SERVICE');
  }
  if (key === '') {
    switch (method) {
      case 'PUT':
        refuseSubresources();
        return createBucket;
      case 'DELETE':
        refuseSubresources();
        return deleteBucket;
      case 'HEAD':
        return headBucket;
      case 'GET': {
        if (query.has('location')) return getBucketLocation;
        refuseSubresources();
        const listType = query.get('list-type');
        if (listType === null) return listObjects;
        if (listType === '2') return listObjectsV2;
        throw new ObjectStoreError('InvalidArgument', 'Invalid List Type specified in Request', { ArgumentName: 'list-type', ArgumentValue: listType });
      }
      case 'POST':
        throw notImplemented(subs.includes('delete') ? 'DeleteObjects' : 'POST uploads');
    }
    throw methodNotAllowed(method, 'BUCKET');
  }
  switch (method) {
    case 'GET':
      refuseSubresources();
      return getObject;
    case 'HEAD':
      refuseSubresources();
      return headObject;
    case 'PUT':
      refuseSubresources();
      return putObject;
    case 'DELETE':
      refuseSubresources();
      return deleteObject;
    case 'POST':
      throw notImplemented(subs.includes('uploads') || subs.includes('uploadId') ? 'multipart uploads' : 'POST on an object');
  }
  throw methodNotAllowed(method, 'OBJECT');
}

/** Bucket and key of a path-style request path (`/bucket/key…`, still percent-encoded). */
function parsePath(path: string): { bucket: string; key: string } {
  const m = /^\/([^/]*)(?:\/([\s\S]*))?$/.exec(path);
  if (!m) throw new ObjectStoreError('InvalidURI', "Couldn't parse the specified URI.", { URI: path.slice(0, 1024) });
  try {
    return { bucket: decodeURIComponent(m[1]!), key: decodeURIComponent(m[2] ?? '') };
  } catch {
    throw new ObjectStoreError('InvalidURI', "Couldn't parse the specified URI.", { URI: path.slice(0, 1024) });
  }
}

/** A random `x-amz-id-2` (S3's extended request id). */
function hostId(): string {
  return randomBytes(24).toString('base64');
}

/** Sends S3's `<Error>` document (headers only for HEAD, as S3; nothing but the status for 304). */
export function sendS3Error(reply: FastifyReply, ids: { requestId: string; hostId: string }, e: SesError, resource: string, method: string): FastifyReply {
  const code = e instanceof ObjectStoreError ? e.s3Code : S3_CATALOGUE[e.code];
  const status = S3_STATUS[code];
  reply.status(status).header('x-amz-request-id', ids.requestId).header('x-amz-id-2', ids.hostId);
  if (status === 304 || method === 'HEAD') return reply.send();
  const details = e instanceof ObjectStoreError ? e.details : {};
  return reply.header('content-type', 'application/xml').send(errorXml(code, e.message, details, resource, ids.requestId, ids.hostId));
}

/**
 * Answers an error Fastify raised before the route ran (bad percent-encoding, a malformed header) in
 * S3's form, for requests routed to S3 (`req.url` starts with S3_ROUTE_PREFIX).
 */
export function sendS3FrameworkError(reply: FastifyReply, req: { url: string; method: string }, status: number, message: string): FastifyReply {
  const path = req.url.slice(S3_ROUTE_PREFIX.length).split('?')[0] ?? '/';
  const e =
    status === 413
      ? new ObjectStoreError('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size')
      : /percent-encoding|URL/i.test(message)
        ? new ObjectStoreError('InvalidURI', "Couldn't parse the specified URI.")
        : new ObjectStoreError('InvalidRequest', message);
  return sendS3Error(reply, { requestId: newRequestId(), hostId: hostId() }, e, path, req.method);
}

/** Registers the S3 routes (under S3_ROUTE_PREFIX), with a content-type parser of their own that streams bodies. */
export function registerS3(app: FastifyInstance, deps: S3Deps): void {
  void app.register(async (s3) => {
    s3.removeAllContentTypeParsers();
    s3.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    // S3 stores any Content-Type as given; Fastify would refuse one that is not a valid media type
    // before the route runs, so it is held aside here and put back in the handler.
    s3.addHook('onRequest', async (req) => {
      const ct = req.headers['content-type'];
      if (ct !== undefined) {
        (req as unknown as Record<symbol, unknown>)[CONTENT_TYPE] = ct;
        delete req.headers['content-type'];
      }
    });
    const handler = (req: FastifyRequest, reply: FastifyReply) => handleS3(deps, req, reply);
    s3.route({ method: ['GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH', 'OPTIONS'], url: S3_ROUTE_PREFIX, handler, exposeHeadRoute: false });
    s3.route({ method: ['GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH', 'OPTIONS'], url: `${S3_ROUTE_PREFIX}/*`, handler, exposeHeadRoute: false });
  });
}

/** Handles one S3 request. */
async function handleS3(deps: S3Deps, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const ids = { requestId: newRequestId(), hostId: hostId() };
  const started = process.hrtime.bigint();
  const ct = (req as unknown as Record<symbol, unknown>)[CONTENT_TYPE];
  if (typeof ct === 'string') req.headers['content-type'] = ct;
  let operation = 'unknown';
  let code = 'OK';
  const url = req.originalUrl;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  let resource = path;
  reply.header('x-amz-request-id', ids.requestId).header('x-amz-id-2', ids.hostId);
  try {
    const { bucket, key } = parsePath(path);
    resource = bucket === '' ? '/' : key === '' ? `/${bucket}` : `/${bucket}/${key}`;
    const auth = await authenticateS3(deps.core, deps.region, { method: req.method, path, query: rawQuery, headers: req.headers, body: Buffer.alloc(0) });
    const query = new URLSearchParams(rawQuery);
    const op = selectOperation(req.method, bucket, key, query);
    operation = op.name;
    // S3 refuses a request whose x-amz-expected-bucket-owner is not the bucket's account.
    const owner = req.headers['x-amz-expected-bucket-owner'];
    if (owner !== undefined && owner !== auth.principal.accountId) throw new ObjectStoreError('AccessDenied', 'Access Denied');
    const raw = req.body as AsyncIterable<Buffer> | undefined;
    const source = raw !== undefined && raw !== null && typeof (raw as AsyncIterable<Buffer>)[Symbol.asyncIterator] === 'function' ? raw : nothing();
    const body = readPayload(source, auth.mode, auth.checks);
    return await op.handler({ core: deps.core, principal: auth.principal, region: deps.region, bucket, key, query, headers: req.headers, method: req.method, body, reply });
  } catch (err) {
    let e: SesError;
    if (err instanceof SesError) e = err;
    else {
      deps.logger.error({ code: 'API_INTERNAL_ERROR', err, requestId: ids.requestId, operation }, `internal error in S3 ${operation}`);
      e = new ObjectStoreError('InternalError', 'We encountered an internal error. Please try again.');
    }
    code = e instanceof ObjectStoreError ? e.s3Code : S3_CATALOGUE[e.code];
    if (AUTH_CODES.has(code)) deps.metrics.authFailures.inc({ code });
    return sendS3Error(reply, ids, e, resource, req.method);
  } finally {
    deps.metrics.apiRequests.inc({ api: 's3', operation, code });
    deps.metrics.apiDuration.observe({ api: 's3' }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
