/**
 * Wire-level helpers shared by the tests that talk to the server as AWS clients do: SDK-error
 * assertions, a SHA-256 for @smithy/signature-v4, raw requests over node:http, SigV4 signing with
 * the SDK's own signer, and SES v1 error parsing.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { expect } from 'vitest';
import { SignatureV4 } from '@smithy/signature-v4';
import type { DnsResolver } from '../../src/core/index.ts';

/** A resolver that knows no names (every lookup is NXDOMAIN): keeps the verification worker off the network. */
export const offlineResolver = new Proxy(
  {},
  {
    get: () => async (name: string) => {
      throw Object.assign(new Error(`query ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    },
  },
) as DnsResolver;

/** A request id as the server issues them (lowercase UUID). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What an SDK exception exposes. */
export interface SdkError {
  name: string;
  message: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/** Awaits a call that must fail and checks the typed exception: exact name and status, request id (and message). */
export async function expectSdkError(call: Promise<unknown>, name: string, status: number, message?: string | RegExp): Promise<SdkError> {
  let err: SdkError | undefined;
  try {
    await call;
  } catch (e) {
    err = e as SdkError;
  }
  expect(err, `expected ${name}, but the call succeeded`).toBeDefined();
  expect({ name: err!.name, status: err!.$metadata?.httpStatusCode }).toEqual({ name, status });
  expect(err!.$metadata?.requestId).toMatch(UUID);
  if (typeof message === 'string') expect(err!.message).toBe(message);
  else if (message) expect(err!.message).toMatch(message);
  return err!;
}

/** @smithy/types' SourceData, restated to avoid depending on a transitive package. */
export type SourceData = string | ArrayBuffer | ArrayBufferView;

/** SourceData as something node:crypto accepts. */
export const bytes = (d: SourceData): string | Uint8Array =>
  typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);

/** SHA-256 / HMAC-SHA256 in the shape @smithy/signature-v4 expects. */
export class Sha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.h = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: SourceData): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

/** A request sent byte for byte as given. */
export interface RawRequest {
  method: string;
  /** Path, percent-encoded as it goes on the wire. */
  path: string;
  /** Query parameters: encoded per RFC 3986 when sent, unless `rawQuery` is given. */
  query?: Record<string, string | string[]>;
  /** The query string exactly as sent (overrides the encoding of `query`, which is still what is signed). */
  rawQuery?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A response as read by `sendRaw` (body decoded as UTF-8). */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Percent-encodes per RFC 3986 (encodeURIComponent plus `!'()*`). */
export const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The request target (path and query string) as it goes on the wire. */
export function target(req: RawRequest): string {
  const qs =
    req.rawQuery ??
    Object.entries(req.query ?? {})
      .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${rfc3986(k)}=${rfc3986(x)}`))
      .join('&');
  return qs ? `${req.path}?${qs}` : req.path;
}

/** Sends a request over plain node:http (no SDK, no URL normalisation). */
export function sendRaw(baseUrl: string, req: RawRequest, timeoutMs = 15_000): Promise<RawResponse> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers };
    // node:http frames a GET/HEAD/DELETE/OPTIONS body only when told its length.
    if (req.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['content-length'] = String(Buffer.byteLength(req.body));
    const r = httpRequest({ host: u.hostname, port: Number(u.port), method: req.method, path: target(req), headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error(`no response within ${timeoutMs} ms`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

/** SigV4 headers for a request, computed by @smithy/signature-v4 (the SDK's own signer). */
export async function signHeaders(
  baseUrl: string,
  req: RawRequest,
  creds: { accessKeyId: string; secretAccessKey: string },
  opts: { region?: string; service?: string; applyChecksum?: boolean } = {},
): Promise<Record<string, string>> {
  const u = new URL(baseUrl);
  const signer = new SignatureV4({
    credentials: creds,
    region: opts.region ?? 'us-east-1',
    service: opts.service ?? 'ses',
    sha256: Sha256,
    applyChecksum: opts.applyChecksum ?? true,
  });
  const s = await signer.sign({
    method: req.method,
    protocol: 'http:',
    hostname: u.hostname,
    port: Number(u.port),
    path: req.path,
    query: req.query ?? {},
    headers: { host: u.host, ...req.headers },
    body: req.body,
  });
  return s.headers as Record<string, string>;
}

/** The request with its headers replaced by the SigV4-signed ones (see `signHeaders`). */
export async function signed(
  baseUrl: string,
  req: RawRequest,
  creds: { accessKeyId: string; secretAccessKey: string },
  opts: { region?: string; service?: string; applyChecksum?: boolean } = {},
): Promise<RawRequest> {
  return { ...req, headers: await signHeaders(baseUrl, req, creds, opts) };
}

/** Parses Type, Code, Message and RequestId out of an SES v1 ErrorResponse. */
export function v1Error(xml: string): { type?: string; code?: string; message?: string; requestId?: string } {
  const pick = (tag: string) => new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml)?.[1];
  return { type: pick('Type'), code: pick('Code'), message: pick('Message'), requestId: pick('RequestId') };
}
