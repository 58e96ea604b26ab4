/**
 * Server-side verification of AWS Signature Version 4, header form
 * (`Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`).
 *
 * Spec: "Create a signed AWS API request" and "Elements of an AWS API request signature"
 * in the IAM User Guide (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html).
 * Where the spec is silent, behaviour follows what the AWS SDKs actually sign
 * (@smithy/signature-v4, aws4), because those are the clients we must accept.
 *
 * Pure functions over the raw request; no knowledge of accounts or keys. The caller
 * looks up the secret for `parseAuthorization(req).accessKeyId` and then calls
 * `verifySignature`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The parts of an HTTP request that SigV4 covers, as received on the wire. */
export interface SigV4Request {
  /** HTTP method, e.g. `POST`. */
  method: string;
  /** Raw request path exactly as received on the wire (still percent-encoded, no query). */
  path: string;
  /** Raw query string without the leading `?` (`''` if none). */
  query: string;
  /** Node's IncomingHttpHeaders: lowercase names, duplicates possibly as arrays. */
  headers: Record<string, string | string[] | undefined>;
  /** The complete request body. */
  body: Buffer;
}

/** The fields of a SigV4 `Authorization` header. */
export interface ParsedAuthorization {
  /** Access key id, first element of the credential scope. */
  accessKeyId: string;
  /** `YYYYMMDD` from the credential scope. */
  date: string;
  /** Region from the credential scope. */
  region: string;
  /** Service from the credential scope. */
  service: string;
  /** Header names listed in `SignedHeaders`, in the order given. */
  signedHeaders: string[];
  /** Hex signature as sent by the client. */
  signature: string;
}

/** AWS error codes a SigV4 failure maps to (the names AWS returns on the wire). */
export type SigV4ErrorCode =
  | 'MissingAuthenticationToken'
  | 'IncompleteSignature'
  | 'SignatureDoesNotMatch'
  | 'InvalidClientTokenId';

/** A SigV4 failure carrying the AWS error code the frontends should return. */
export class SigV4Error extends Error {
  /** AWS error code, e.g. `SignatureDoesNotMatch`. */
  readonly code: SigV4ErrorCode;

  /** Create an error with an AWS error code and an AWS-style message. */
  constructor(code: SigV4ErrorCode, message: string) {
    super(message);
    this.name = 'SigV4Error';
    this.code = code;
  }
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const TERMINATOR = 'aws4_request';
const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
const ISO_BASIC_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** Single header value; arrays (repeated headers) are joined with ',' as the SigV4 spec says. */
function headerValue(req: SigV4Request, name: string): string | undefined {
  const v = req.headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

/** Parse `YYYYMMDDTHHMMSSZ` into epoch ms, or undefined if malformed or not a real instant. */
function parseIsoBasic(s: string): number | undefined {
  const m = ISO_BASIC_RE.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, se);
  // Reject overflowing fields (e.g. month 13) that Date.UTC would silently roll over.
  return toIsoBasic(ms) === s ? ms : undefined;
}

/** Format epoch ms as ISO 8601 basic `YYYYMMDDTHHMMSSZ` (milliseconds dropped), as AWS prints times. */
function toIsoBasic(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/**
 * The request timestamp: `x-amz-date` (ISO 8601 basic) wins, else the HTTP `Date` header,
 * per the spec's "Date" element. Returns the ISO basic string used in the string to sign.
 */
function requestTime(req: SigV4Request): { iso: string; ms: number } {
  const amz = headerValue(req, 'x-amz-date');
  if (amz !== undefined) {
    const ms = parseIsoBasic(amz.trim());
    if (ms === undefined) {
      throw new SigV4Error(
        'IncompleteSignature',
        `Date must be in ISO-8601 'basic format'. Got '${amz}'. See http://en.wikipedia.org/wiki/ISO_8601`,
      );
    }
    return { iso: amz.trim(), ms };
  }
  const date = headerValue(req, 'date');
  if (date !== undefined) {
    const ms = Date.parse(date);
    if (Number.isNaN(ms)) {
      throw new SigV4Error('IncompleteSignature', `Date header is not a valid HTTP date. Got '${date}'.`);
    }
    return { iso: toIsoBasic(ms), ms };
  }
  throw new SigV4Error(
    'IncompleteSignature',
    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
  );
}

/**
 * Parse and structurally validate the `Authorization` header. Messages are modelled on
 * the ones AWS returns for the same faults so that SDK users see familiar text.
 */
export function parseAuthorization(req: SigV4Request): ParsedAuthorization {
  const header = headerValue(req, 'authorization')?.trim();
  if (!header) {
    throw new SigV4Error('MissingAuthenticationToken', 'Request is missing Authentication Token');
  }

  const space = header.indexOf(' ');
  const algorithm = space < 0 ? header : header.slice(0, space);
  if (algorithm !== ALGORITHM) {
    // AWS reports non-SigV4 schemes (Basic, Bearer, SigV2, garbage) as an incomplete signature.
    throw new SigV4Error(
      'IncompleteSignature',
      `Unsupported authorization algorithm '${algorithm}'; only '${ALGORITHM}' is supported. Authorization=${header}`,
    );
  }

  // The components are comma-separated; clients differ on whether a space follows the comma.
  const params = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const kv = part.trim();
    if (kv === '') continue;
    const eq = kv.indexOf('=');
    if (eq <= 0) {
      throw new SigV4Error(
        'IncompleteSignature',
        `'${kv}' not a valid key=value pair (missing equal-sign) in Authorization header: '${header}'.`,
      );
    }
    const key = kv.slice(0, eq);
    if (!params.has(key)) params.set(key, kv.slice(eq + 1));
  }

  const missing = ['Credential', 'Signature', 'SignedHeaders']
    .filter((k) => !params.get(k))
    .map((k) => `Authorization header requires '${k}' parameter.`);
  if (headerValue(req, 'x-amz-date') === undefined && headerValue(req, 'date') === undefined) {
    missing.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (missing.length > 0) {
    throw new SigV4Error('IncompleteSignature', `${missing.join(' ')} Authorization=${header}`);
  }

  const credential = params.get('Credential') as string;
  const scope = credential.split('/');
  if (scope.length !== 5) {
    throw new SigV4Error(
      'IncompleteSignature',
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`,
    );
  }
  const [accessKeyId, date, region, service, terminator] = scope as [string, string, string, string, string];
  if (terminator !== TERMINATOR) {
    throw new SigV4Error(
      'IncompleteSignature',
      `Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${terminator}'.`,
    );
  }
  if (!/^\d{8}$/.test(date)) {
    throw new SigV4Error('IncompleteSignature', `Credential date must be in the form YYYYMMDD, got '${date}'.`);
  }
  if (!accessKeyId || !region || !service) {
    throw new SigV4Error(
      'IncompleteSignature',
      `Credential must name an access key, a region and a service, got '${credential}'.`,
    );
  }

  const signedHeaders = (params.get('SignedHeaders') as string).split(';').map((h) => h.trim().toLowerCase());
  if (signedHeaders.some((h) => h === '')) {
    throw new SigV4Error('IncompleteSignature', `SignedHeaders contains an empty header name. Authorization=${header}`);
  }
  // The spec requires Host to be signed; without it a signature could be replayed against another host.
  if (!signedHeaders.includes('host') && !signedHeaders.includes(':authority')) {
    throw new SigV4Error(
      'IncompleteSignature',
      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    );
  }

  // Validate the timestamp's format now, so a malformed date is reported as a malformed request.
  requestTime(req);

  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders,
    signature: params.get('Signature') as string,
  };
}

/** HMAC-SHA256 of `data` under `key`. */
function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** Lowercase hex SHA-256. */
function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The SigV4 signing key: HMAC chain over date, region, service and `aws4_request`
 * (spec: "Calculate the signature", step "derive a signing key").
 */
export function deriveSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secret}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, TERMINATOR);
}

/** RFC 3986 encoding as SigV4 requires: everything but `A-Za-z0-9-._~` is percent-encoded (uppercase hex). */
function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Decode a query component, treating `+` as space as form/querystring decoders (and aws4) do. */
function decodeQueryComponent(s: string): string {
  const spaced = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    // Malformed escapes: sign over the literal text; the signature simply will not match a sane client.
    return spaced;
  }
}

/**
 * Canonical URI. For every service but S3 the SDKs normalise the path (drop empty and `.`
 * segments, resolve `..`) and URI-encode each segment of the already-encoded path a second
 * time; S3 signs the path as sent (spec: "CanonicalURI"; @smithy/signature-v4 getCanonicalPath).
 */
function canonicalUri(rawPath: string, service: string): string {
  if (rawPath === '') return '/';
  if (service === 's3') return rawPath;
  const segments: string[] = [];
  for (const seg of rawPath.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const leading = rawPath.startsWith('/') ? '/' : '';
  const trailing = segments.length > 0 && rawPath.endsWith('/') ? '/' : '';
  return `${leading}${segments.map(encodeRfc3986).join('/')}${trailing}`;
}

/** Canonical query string: each pair decoded and re-encoded per RFC 3986, sorted by key then value. */
function canonicalQuery(rawQuery: string): string {
  const pairs: Array<[string, string]> = [];
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const k = eq < 0 ? piece : piece.slice(0, eq);
    const v = eq < 0 ? '' : piece.slice(eq + 1);
    pairs.push([encodeRfc3986(decodeQueryComponent(k)), encodeRfc3986(decodeQueryComponent(v))]);
  }
  // Encoded strings are pure ASCII, so code-unit order equals the byte order the spec asks for.
  pairs.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/**
 * Canonical header value: line breaks become spaces, runs of spaces/tabs collapse to one,
 * and the ends are trimmed, as @smithy/signature-v4 does (spec: "CanonicalHeaders", Trimall).
 */
function canonicalHeaderValue(v: string): string {
  return v.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
}

/** `15 min.` style duration as printed in AWS's expiry messages. */
function formatSkew(ms: number): string {
  return `${ms / 60000} min.`;
}

/** Constant-time comparison of two strings; differing lengths still cost one comparison. */
function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

/**
 * Verify a SigV4 header signature against `secretAccessKey`. Returns normally on success
 * and throws `SigV4Error` otherwise: scope, clock-skew and payload-hash checks come first
 * (cheap, and they give more helpful messages), the HMAC comparison last.
 */
export function verifySignature(
  req: SigV4Request,
  auth: ParsedAuthorization,
  secretAccessKey: string,
  opts: { now: Date; maxSkewMs?: number; expectedRegion?: string },
): void {
  if (opts.expectedRegion !== undefined && auth.region !== opts.expectedRegion) {
    throw new SigV4Error('SignatureDoesNotMatch', 'Credential should be scoped to a valid region. ');
  }

  const time = requestTime(req);
  if (auth.date !== time.iso.slice(0, 8)) {
    throw new SigV4Error(
      'SignatureDoesNotMatch',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ` +
        `'${auth.date}' != '${time.iso.slice(0, 8)}', from '${time.iso}'.`,
    );
  }

  // Spec: requests more than 15 minutes from the server clock are rejected (replay window).
  const maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const nowMs = opts.now.getTime();
  if (time.ms < nowMs - maxSkewMs) {
    throw new SigV4Error(
      'SignatureDoesNotMatch',
      `Signature expired: ${time.iso} is now earlier than ${toIsoBasic(nowMs - maxSkewMs)} ` +
        `(${toIsoBasic(nowMs)} - ${formatSkew(maxSkewMs)})`,
    );
  }
  if (time.ms > nowMs + maxSkewMs) {
    throw new SigV4Error(
      'SignatureDoesNotMatch',
      `Signature not yet current: ${time.iso} is still later than ${toIsoBasic(nowMs + maxSkewMs)} ` +
        `(${toIsoBasic(nowMs)} + ${formatSkew(maxSkewMs)})`,
    );
  }

  // The payload hash is signed as sent, so a client-declared hash must be checked against the body.
  const bodyHash = sha256Hex(req.body);
  const declared = headerValue(req, 'x-amz-content-sha256')?.trim();
  let payloadHash = bodyHash;
  if (declared !== undefined) {
    const unsignedAllowed = declared === 'UNSIGNED-PAYLOAD' && auth.service === 's3';
    if (!unsignedAllowed && declared.toLowerCase() !== bodyHash) {
      throw new SigV4Error(
        'SignatureDoesNotMatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
    }
    payloadHash = declared;
  }

  const canonicalHeaders = auth.signedHeaders
    .map((name) => `${name}:${canonicalHeaderValue(headerValue(req, name) ?? '')}\n`)
    .join('');
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalUri(req.path, auth.service),
    canonicalQuery(req.query),
    canonicalHeaders,
    auth.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');

  const scope = `${auth.date}/${auth.region}/${auth.service}/${TERMINATOR}`;
  const stringToSign = [ALGORITHM, time.iso, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = deriveSigningKey(secretAccessKey, auth.date, auth.region, auth.service);
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');

  if (!safeEqual(expected, auth.signature.toLowerCase())) {
    throw new SigV4Error('SignatureDoesNotMatch', SIGNATURE_MISMATCH);
  }
}
