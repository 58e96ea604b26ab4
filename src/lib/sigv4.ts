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
  /**
   * SHA-256 (hex) of the complete body, when the caller hashed it while streaming it (then `body`
   * is not looked at and may be empty).
   */
  bodySha256?: string;
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

/**
 * Why a signature was refused, where a front end words it differently from the generic code (S3
 * answers a stale request with `RequestTimeTooSkewed`, an expired presigned URL with `AccessDenied`).
 */
export type SigV4Reason = 'skew' | 'expired' | 'region' | 'payload-hash' | 'missing-payload-hash';

/** A SigV4 failure carrying the AWS error code the frontends should return. */
export class SigV4Error extends Error {
  /** AWS error code, e.g. `SignatureDoesNotMatch`. */
  readonly code: SigV4ErrorCode;
  /** The specific cause, when a front end may want to report it with a code of its own. */
  readonly reason?: SigV4Reason;

  /** Create an error with an AWS error code and an AWS-style message. */
  constructor(code: SigV4ErrorCode, message: string, reason?: SigV4Reason) {
    super(message);
    this.name = 'SigV4Error';
    this.code = code;
    if (reason !== undefined) this.reason = reason;
  }
}

/**
 * What a verified signature leaves for the checks that follow it: the S3 streaming payloads
 * (`aws-chunked`) chain each chunk's signature from the request's (the seed), under the same key,
 * time and scope.
 */
export interface VerifiedSignature {
  /** The request's signature (lower-case hex): the seed of a chunk-signature chain. */
  signature: string;
  /** The derived signing key. */
  signingKey: Buffer;
  /** `date/region/service/aws4_request`. */
  scope: string;
  /** The request time, ISO 8601 basic. */
  iso: string;
  /** The payload hash the signature covers (hex, `UNSIGNED-PAYLOAD` or a `STREAMING-…` value). */
  payloadHash: string;
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
  const memo = `${date}\n${region}\n${service}\n${secret}`;
  const known = signingKeys.get(memo);
  if (known) return known;
  const kDate = hmac(`AWS4${secret}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  const key = hmac(kService, TERMINATOR);
  // A key is valid for one day's scope; the memo is emptied when full rather than kept in order.
  if (signingKeys.size >= SIGNING_KEYS_MAX) signingKeys.clear();
  signingKeys.set(memo, key);
  return key;
}

/**
 * Derived signing keys by scope and secret: a client signs every request of a day with the same
 * key, and the four HMACs of the derivation were most of SigV4's cost per request.
 */
const signingKeys = new Map<string, Buffer>();
const SIGNING_KEYS_MAX = 1_000;

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
 * Verify a SigV4 header signature against `secretAccessKey`. Returns what chunk verification needs
 * on success and throws `SigV4Error` otherwise: scope, clock-skew and payload-hash checks come first
 * (cheap, and they give more helpful messages), the HMAC comparison last.
 *
 * With `deferPayload` the body is not looked at: the declared `x-amz-content-sha256` (required then)
 * is what the signature covers, including S3's `STREAMING-…` values, and the caller checks the body
 * against it while it reads it (S3 uploads are streamed, not buffered).
 */
export function verifySignature(
  req: SigV4Request,
  auth: ParsedAuthorization,
  secretAccessKey: string,
  opts: { now: Date; maxSkewMs?: number; expectedRegion?: string; deferPayload?: boolean },
): VerifiedSignature {
  if (opts.expectedRegion !== undefined && auth.region !== opts.expectedRegion) {
    throw new SigV4Error('SignatureDoesNotMatch', 'Credential should be scoped to a valid region. ', 'region');
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
      'skew',
    );
  }
  if (time.ms > nowMs + maxSkewMs) {
    throw new SigV4Error(
      'SignatureDoesNotMatch',
      `Signature not yet current: ${time.iso} is still later than ${toIsoBasic(nowMs + maxSkewMs)} ` +
        `(${toIsoBasic(nowMs)} + ${formatSkew(maxSkewMs)})`,
      'skew',
    );
  }

  // The payload hash is signed as sent, so a client-declared hash must be checked against the body.
  const declared = headerValue(req, 'x-amz-content-sha256')?.trim();
  let payloadHash: string;
  if (opts.deferPayload) {
    if (declared === undefined) {
      throw new SigV4Error('IncompleteSignature', 'Missing required header for this request: x-amz-content-sha256', 'missing-payload-hash');
    }
    payloadHash = declared;
  } else {
    const bodyHash = req.bodySha256 ?? sha256Hex(req.body);
    payloadHash = bodyHash;
    if (declared !== undefined) {
      const unsignedAllowed = declared === 'UNSIGNED-PAYLOAD' && auth.service === 's3';
      if (!unsignedAllowed && declared.toLowerCase() !== bodyHash) {
        throw new SigV4Error(
          'SignatureDoesNotMatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
          'payload-hash',
        );
      }
      payloadHash = declared;
    }
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
  return { signature: expected, signingKey: key, scope, iso: time.iso, payloadHash };
}

/** The query parameters of SigV4 query-string authentication (presigned URLs). */
const QUERY_AUTH_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Expires'] as const;

/** Longest validity of a presigned URL: seven days (spec: "Authenticating Requests: Using Query Parameters"). */
const MAX_PRESIGNED_SECONDS = 604_800;

/** The first value of each query parameter, decoded. */
function queryParams(rawQuery: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const k = decodeQueryComponent(eq < 0 ? piece : piece.slice(0, eq));
    if (!out.has(k)) out.set(k, decodeQueryComponent(eq < 0 ? '' : piece.slice(eq + 1)));
  }
  return out;
}

/** Whether a request carries its signature in the query string (a presigned URL) rather than in the Authorization header. */
export function hasQuerySignature(req: SigV4Request): boolean {
  return req.query !== '' && queryParams(req.query).has('X-Amz-Signature');
}

/** The fields of query-string authentication: the header form's, plus the time and validity. */
export interface ParsedQueryAuthorization extends ParsedAuthorization {
  /** `X-Amz-Date`, ISO 8601 basic. */
  iso: string;
  /** `X-Amz-Expires`: seconds the URL is valid from `iso`. */
  expiresSeconds: number;
}

/**
 * Parse and structurally validate query-string authentication (`X-Amz-Algorithm`, `X-Amz-Credential`,
 * `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`), as presigned URLs of
 * @aws-sdk/s3-request-presigner and the AWS CLI's `presign` carry it.
 */
export function parseQueryAuthorization(req: SigV4Request): ParsedQueryAuthorization {
  const q = queryParams(req.query);
  const missing = QUERY_AUTH_PARAMS.filter((k) => !q.get(k));
  if (missing.length > 0) {
    throw new SigV4Error(
      'IncompleteSignature',
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  const algorithm = q.get('X-Amz-Algorithm') as string;
  if (algorithm !== ALGORITHM) {
    throw new SigV4Error('IncompleteSignature', `X-Amz-Algorithm only supports "${ALGORITHM}"`);
  }
  const credential = q.get('X-Amz-Credential') as string;
  const scope = credential.split('/');
  if (scope.length !== 5 || scope[4] !== TERMINATOR || !/^\d{8}$/.test(scope[1] ?? '') || !scope[0] || !scope[2] || !scope[3]) {
    throw new SigV4Error('IncompleteSignature', `Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/${TERMINATOR}".`);
  }
  const iso = q.get('X-Amz-Date') as string;
  if (parseIsoBasic(iso) === undefined) {
    throw new SigV4Error('IncompleteSignature', "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  }
  const expiresText = q.get('X-Amz-Expires') as string;
  const expiresSeconds = /^\d{1,7}$/.test(expiresText) ? Number(expiresText) : NaN;
  if (!(expiresSeconds >= 1)) {
    throw new SigV4Error('IncompleteSignature', 'X-Amz-Expires should be a number of seconds, at least 1');
  }
  if (expiresSeconds > MAX_PRESIGNED_SECONDS) {
    throw new SigV4Error('IncompleteSignature', `X-Amz-Expires must be less than a week (in seconds) that is ${MAX_PRESIGNED_SECONDS}`);
  }
  const signedHeaders = (q.get('X-Amz-SignedHeaders') as string).split(';').map((h) => h.trim().toLowerCase());
  if (signedHeaders.some((h) => h === '') || (!signedHeaders.includes('host') && !signedHeaders.includes(':authority'))) {
    throw new SigV4Error('IncompleteSignature', "'Host' must be a 'SignedHeader' in the X-Amz-SignedHeaders parameter.");
  }
  const [accessKeyId, date, region, service] = scope as [string, string, string, string];
  return { accessKeyId, date, region, service, signedHeaders, signature: q.get('X-Amz-Signature') as string, iso, expiresSeconds };
}

/**
 * Verify query-string authentication (a presigned URL) against `secretAccessKey`. The canonical query
 * is every parameter but `X-Amz-Signature`; for S3 the payload is `UNSIGNED-PAYLOAD` unless the
 * request declares `x-amz-content-sha256`. The URL is valid from `X-Amz-Date` (with the usual skew
 * allowance) until `X-Amz-Expires` seconds later.
 */
export function verifyQuerySignature(
  req: SigV4Request,
  auth: ParsedQueryAuthorization,
  secretAccessKey: string,
  opts: { now: Date; maxSkewMs?: number; expectedRegion?: string },
): VerifiedSignature {
  if (opts.expectedRegion !== undefined && auth.region !== opts.expectedRegion) {
    throw new SigV4Error('SignatureDoesNotMatch', 'Credential should be scoped to a valid region. ', 'region');
  }
  if (auth.date !== auth.iso.slice(0, 8)) {
    throw new SigV4Error('SignatureDoesNotMatch', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${auth.iso.slice(0, 8)}', from '${auth.iso}'.`);
  }
  const signedAt = parseIsoBasic(auth.iso) as number;
  const nowMs = opts.now.getTime();
  const maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (signedAt > nowMs + maxSkewMs) {
    throw new SigV4Error('SignatureDoesNotMatch', 'Request is not valid yet', 'skew');
  }
  if (nowMs > signedAt + auth.expiresSeconds * 1000) {
    throw new SigV4Error('SignatureDoesNotMatch', 'Request has expired', 'expired');
  }
  // The SDK's S3 presigner hoists its x-amz-content-sha256 (UNSIGNED-PAYLOAD) into the query.
  const declared = headerValue(req, 'x-amz-content-sha256')?.trim() ?? queryParams(req.query).get('X-Amz-Content-Sha256');
  const payloadHash = declared ?? (auth.service === 's3' ? 'UNSIGNED-PAYLOAD' : (req.bodySha256 ?? sha256Hex(req.body)));
  const query = req.query
    .split('&')
    .filter((piece) => piece !== '' && decodeQueryComponent(piece.split('=', 1)[0] as string) !== 'X-Amz-Signature')
    .join('&');
  const canonicalHeaders = auth.signedHeaders.map((name) => `${name}:${canonicalHeaderValue(headerValue(req, name) ?? '')}\n`).join('');
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalUri(req.path, auth.service),
    canonicalQuery(query),
    canonicalHeaders,
    auth.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/${TERMINATOR}`;
  const stringToSign = [ALGORITHM, auth.iso, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = deriveSigningKey(secretAccessKey, auth.date, auth.region, auth.service);
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  if (!safeEqual(expected, auth.signature.toLowerCase())) {
    throw new SigV4Error('SignatureDoesNotMatch', SIGNATURE_MISMATCH);
  }
  return { signature: expected, signingKey: key, scope, iso: auth.iso, payloadHash };
}
