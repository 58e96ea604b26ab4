/**
 * GetObject (`GET /bucket/key`) and HeadObject (`HEAD /bucket/key`): the object's headers (ETag,
 * Content-Length, Content-Type, Last-Modified, `x-amz-meta-*`, the standard headers stored with it,
 * `x-amz-server-side-encryption` for an encrypted one), the read conditions (`If-Match`,
 * `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`), one `Range` (206 with Content-Range)
 * and, on GET, the `response-*` overrides of presigned download links. The body is streamed.
 */
import { ObjectStoreError, resolveRange, type ReadConditions, type StoredObject } from '../../../core/index.ts';
import type { FastifyReply } from 'fastify';
import { headerValue, type S3Context, type S3Operation } from '../context.ts';

/** `response-*` query parameters and the header each one sets (GetObject API reference). */
const OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

function httpDate(headers: S3Context['headers'], name: string): number | undefined {
  const v = headerValue(headers, name);
  if (v === undefined) return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

function conditions(headers: S3Context['headers']): ReadConditions {
  return {
    ifMatch: headerValue(headers, 'if-match'),
    ifNoneMatch: headerValue(headers, 'if-none-match'),
    ifModifiedSince: httpDate(headers, 'if-modified-since'),
    ifUnmodifiedSince: httpDate(headers, 'if-unmodified-since'),
  };
}

/** A header value Node can send: anything outside Latin-1 or with control characters is RFC 2047-encoded, as S3 does for metadata. */
function headerSafe(v: string): string {
  return /^[\u0020-\u007e\u00a0-\u00ff\t]*$/.test(v) ? v : `=?UTF-8?B?${Buffer.from(v, 'utf8').toString('base64')}?=`;
}

function objectHeaders(reply: FastifyReply, o: StoredObject): void {
  reply
    .header('etag', `"${o.etag}"`)
    .header('last-modified', new Date(o.lastModified).toUTCString())
    .header('content-type', headerSafe(o.contentType))
    .header('accept-ranges', 'bytes');
  for (const [h, v] of Object.entries(o.headers)) reply.header(h, headerSafe(v));
  for (const [m, v] of Object.entries(o.metadata)) reply.header(`x-amz-meta-${m}`, headerSafe(v));
  if (o.encrypted) reply.header('x-amz-server-side-encryption', 'AES256');
}

function unsupported(query: URLSearchParams): void {
  const version = query.get('versionId');
  if (version !== null && version !== 'null') throw new ObjectStoreError('NotImplemented', 'Versioning is not supported by Sesame; objects have the version "null".', { Parameter: 'versionId' });
  const part = query.get('partNumber');
  if (part !== null && part !== '1') throw new ObjectStoreError('NotImplemented', 'Multipart uploads are not supported by Sesame; every object is one part.', { Parameter: 'partNumber' });
}

export const getObject: S3Operation = {
  name: 'GetObject',
  async handler({ core, principal, bucket, key, headers, query, reply }) {
    unsupported(query);
    const range = headerValue(headers, 'range');
    const c = await core.objectStore.getObjectStream(principal, bucket, key, { range, conditions: conditions(headers) });
    objectHeaders(reply, c.object);
    for (const [param, h] of Object.entries(OVERRIDES)) {
      const v = query.get(param);
      if (v !== null) reply.header(h, headerSafe(v));
    }
    reply.header('content-length', String(c.length));
    if (c.range) reply.status(206).header('content-range', `bytes ${c.range.start}-${c.range.end}/${c.object.size}`);
    else reply.status(200);
    return reply.send(c.body);
  },
};

export const headObject: S3Operation = {
  name: 'HeadObject',
  async handler({ core, principal, bucket, key, headers, query, reply }) {
    unsupported(query);
    const o = await core.objectStore.headObject(principal, bucket, key, conditions(headers));
    objectHeaders(reply, o);
    const rangeHeader = headerValue(headers, 'range');
    const range = rangeHeader !== undefined ? resolveRange(rangeHeader, o.size) : undefined;
    if (range) reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${o.size}`).header('content-length', String(range.end - range.start + 1));
    else reply.status(200).header('content-length', String(o.size));
    return reply.send();
  },
};
