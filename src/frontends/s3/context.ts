/** What an S3 operation handler receives, and what it is. */
import type { FastifyReply } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { Core, Principal } from '../../core/index.ts';

/** One S3 request, authenticated, addressed to a bucket and key of the path-style URL. */
export interface S3Context {
  core: Core;
  principal: Principal;
  region: string;
  /** `''` for the service (`GET /`). */
  bucket: string;
  /** `''` for a bucket-level request. */
  key: string;
  /** Decoded query parameters. */
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  method: string;
  /** The body, checked against the signature and checksums as it is read (see payload.ts). */
  body: AsyncIterable<Buffer>;
  reply: FastifyReply;
}

/** An operation: S3's name (for metrics and logs) and its handler, which sends the reply. */
export interface S3Operation {
  name: string;
  handler: (ctx: S3Context) => Promise<FastifyReply>;
}

/** A header's single value. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}
