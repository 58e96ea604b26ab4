/**
 * SigV4 for S3 requests: the Authorization header or a presigned URL's query parameters, with S3's
 * rules (the path signed as sent, `x-amz-content-sha256` required and covering the payload mode) and
 * S3's error codes for each failure (S3 API reference, "Authenticating Requests (AWS Signature
 * Version 4)"). The body is not read here: the payload mode returned tells `readPayload` what to
 * check while the body streams in.
 */
import { ObjectStoreError, SesError, type Core, type Principal } from '../../core/index.ts';
import {
  hasQuerySignature,
  parseAuthorization,
  parseQueryAuthorization,
  SigV4Error,
  verifyQuerySignature,
  verifySignature,
  type SigV4Request,
  type VerifiedSignature,
} from '../../lib/sigv4.ts';
import { CHECKSUMS, type ChecksumAlgorithm, type PayloadChecks, type PayloadMode } from './payload.ts';

/** An authenticated S3 request: who, and how its body must be read. */
export interface S3Auth {
  principal: Principal;
  mode: PayloadMode;
  checks: PayloadChecks;
}

const MAX_SKEW_MS = 15 * 60 * 1000;
const PAYLOAD_VALUES = 'UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';

function header(req: SigV4Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Authenticates an S3 request (the body is left unread; see `readPayload`). Throws ObjectStoreError or SesError with S3's codes. */
export async function authenticateS3(core: Core, region: string, req: SigV4Request): Promise<S3Auth> {
  const presigned = hasQuerySignature(req);
  const now = new Date(core.objectStore.now());
  let verified: VerifiedSignature;
  let principal: Principal;
  let scopedRegion = '';
  try {
    const auth = presigned ? parseQueryAuthorization(req) : parseAuthorization(req);
    scopedRegion = auth.region;
    if (auth.service !== 's3') {
      throw new ObjectStoreError('AuthorizationHeaderMalformed', `The authorization header is malformed; incorrect service "${auth.service}". This endpoint belongs to "s3".`);
    }
    let secret: string;
    try {
      ({ principal, secretAccessKey: secret } = await core.accounts.authenticate(auth.accessKeyId));
    } catch (err) {
      if (err instanceof SesError && err.code === 'InvalidClientTokenId') {
        throw new ObjectStoreError('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: auth.accessKeyId });
      }
      throw err;
    }
    if (presigned) {
      verified = verifyQuerySignature(req, auth as ReturnType<typeof parseQueryAuthorization>, secret, { now, expectedRegion: region, maxSkewMs: MAX_SKEW_MS });
    } else {
      verified = verifySignature(req, auth, secret, { now, expectedRegion: region, maxSkewMs: MAX_SKEW_MS, deferPayload: true });
    }
  } catch (err) {
    if (err instanceof SigV4Error) throw s3AuthError(err, presigned, { expected: region, scoped: scopedRegion }, req, now);
    throw err;
  }
  return { principal, mode: payloadMode(verified), checks: payloadChecks(req) };
}

function payloadMode(v: VerifiedSignature): PayloadMode {
  const h = v.payloadHash;
  const signing = { key: v.signingKey, iso: v.iso, scope: v.scope, seed: v.signature };
  if (/^[0-9a-fA-F]{64}$/.test(h)) return { kind: 'plain', sha256: h };
  switch (h) {
    case 'UNSIGNED-PAYLOAD':
      return { kind: 'plain' };
    case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
      return { kind: 'chunked', trailer: true };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
      return { kind: 'chunked', signing, trailer: false };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER':
      return { kind: 'chunked', signing, trailer: true };
  }
  if (h.startsWith('STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD')) {
    throw new ObjectStoreError('NotImplemented', 'SigV4a (ECDSA) streaming signatures are not supported; sign with AWS4-HMAC-SHA256.');
  }
  throw new ObjectStoreError('InvalidArgument', `x-amz-content-sha256 must be ${PAYLOAD_VALUES}, or a valid sha256 value.`, { ArgumentName: 'x-amz-content-sha256', ArgumentValue: h });
}

function payloadChecks(req: SigV4Request): PayloadChecks {
  const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
  for (const a of CHECKSUMS) {
    const v = header(req, `x-amz-checksum-${a}`);
    if (v === undefined) continue;
    const bytes = a === 'sha1' ? 20 : a === 'sha256' ? 32 : 4;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(v) || Buffer.from(v, 'base64').length !== bytes) {
      throw new ObjectStoreError('InvalidRequest', `Value for x-amz-checksum-${a} header is invalid.`);
    }
    checksums[a] = v;
  }
  const trailerNames = (header(req, 'x-amz-trailer') ?? '')
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');
  const decoded = header(req, 'x-amz-decoded-content-length');
  let decodedLength: number | undefined;
  if (decoded !== undefined) {
    if (!/^\d{1,15}$/.test(decoded.trim())) throw new ObjectStoreError('InvalidArgument', 'x-amz-decoded-content-length must be a number of bytes.', { ArgumentName: 'x-amz-decoded-content-length' });
    decodedLength = Number(decoded.trim());
  }
  return { checksums, trailerNames, decodedLength };
}

/** A SigV4 failure as S3 words it. */
function s3AuthError(e: SigV4Error, presigned: boolean, region: { expected: string; scoped: string }, req: SigV4Request, now: Date): ObjectStoreError {
  switch (e.code) {
    case 'MissingAuthenticationToken':
      return new ObjectStoreError('AccessDenied', 'Access Denied');
    case 'InvalidClientTokenId':
      return new ObjectStoreError('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    case 'IncompleteSignature':
      if (e.reason === 'missing-payload-hash') return new ObjectStoreError('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
      return new ObjectStoreError(presigned ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed', e.message);
    case 'SignatureDoesNotMatch':
      if (e.reason === 'expired') return new ObjectStoreError('AccessDenied', 'Request has expired', { ServerTime: now.toISOString() });
      if (e.reason === 'skew' && presigned) return new ObjectStoreError('AccessDenied', e.message, { ServerTime: now.toISOString() });
      if (e.reason === 'skew') {
        return new ObjectStoreError('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
          RequestTime: header(req, 'x-amz-date') ?? header(req, 'date') ?? '',
          ServerTime: now.toISOString(),
          MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
        });
      }
      if (e.reason === 'region') {
        return new ObjectStoreError(presigned ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${region.scoped}' is wrong; expecting '${region.expected}'`, { Region: region.expected });
      }
      return new ObjectStoreError('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
}
