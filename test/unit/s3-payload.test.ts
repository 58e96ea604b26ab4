/**
 * S3's request-body framings and SigV4 variants, against what real signers produce: the aws-chunked
 * decoder (unsigned with a trailer, as @aws-sdk/client-s3 sends a stream; signed chunks with a signed
 * trailer, the S3 API reference's chunk and trailer string-to-sign), S3 bucket naming rules and
 * ranges, and presigned-URL verification against @smithy/signature-v4's `presign`.
 */
import { createHash, createHmac } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SignatureV4 } from '@smithy/signature-v4';
import { ObjectStoreError, resolveRange, validBucketName } from '../../src/core/receiving/object-store.ts';
import { readPayload, type PayloadChecks, type PayloadMode } from '../../src/frontends/s3/payload.ts';
import { parseQueryAuthorization, SigV4Error, verifyQuerySignature, type SigV4Request } from '../../src/lib/sigv4.ts';
import { Sha256 } from '../helpers/aws-wire.ts';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const crc = (b: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(b) >>> 0);
  return out.toString('base64');
};

async function read(wire: Buffer, mode: PayloadMode, checks: Partial<PayloadChecks> = {}, pieces = 7): Promise<Buffer> {
  // Split the wire bytes at awkward places, as TCP may.
  const parts: Buffer[] = [];
  const step = Math.max(1, Math.floor(wire.length / pieces));
  for (let i = 0; i < wire.length; i += step) parts.push(wire.subarray(i, i + step));
  const out: Buffer[] = [];
  for await (const b of readPayload((async function* () { yield* parts; })(), mode, { checksums: {}, trailerNames: [], ...checks })) out.push(b);
  return Buffer.concat(out);
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ObjectStoreError);
    return (e as ObjectStoreError).s3Code;
  }
  throw new Error('expected a failure');
}

describe('aws-chunked bodies', () => {
  const data = Buffer.from('hello chunked world, '.repeat(500));

  it('decodes STREAMING-UNSIGNED-PAYLOAD-TRAILER and checks its CRC32 trailer', async () => {
    const wire = Buffer.concat([Buffer.from(`2000\r\n`), data.subarray(0, 0x2000), Buffer.from(`\r\n${(data.length - 0x2000).toString(16)}\r\n`), data.subarray(0x2000), Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${crc(data)}\r\n\r\n`)]);
    const checks = { trailerNames: ['x-amz-checksum-crc32'], decodedLength: data.length };
    expect((await read(wire, { kind: 'chunked', trailer: true }, checks)).equals(data)).toBe(true);
    const bad = Buffer.from(wire.toString('latin1').replace(crc(data), 'AAAAAA=='), 'latin1');
    expect(await failure(read(bad, { kind: 'chunked', trailer: true }, checks))).toBe('BadDigest');
    expect(await failure(read(wire.subarray(0, wire.length - 40), { kind: 'chunked', trailer: true }, checks))).toBe('IncompleteBody');
    expect(await failure(read(wire, { kind: 'chunked', trailer: true }, { ...checks, decodedLength: 1 }))).toBe('IncompleteBody');
    expect(await failure(read(Buffer.from('zz\r\n'), { kind: 'chunked', trailer: false }))).toBe('InvalidRequest');
  });

  it('verifies the chunk-signature chain and the trailer signature', async () => {
    const key = Buffer.alloc(32, 7);
    const signing = { key, iso: '20260101T000000Z', scope: '20260101/us-east-1/s3/aws4_request', seed: 'a'.repeat(64) };
    const hmac = (s: string) => createHmac('sha256', key).update(s).digest('hex');
    const build = (tamper: boolean) => {
      let previous = signing.seed;
      const out: Buffer[] = [];
      for (const c of [data.subarray(0, 5000), data.subarray(5000), Buffer.alloc(0)]) {
        const sig = hmac(['AWS4-HMAC-SHA256-PAYLOAD', signing.iso, signing.scope, previous, sha256(''), sha256(c)].join('\n'));
        previous = sig;
        out.push(Buffer.from(`${c.length.toString(16)};chunk-signature=${sig}\r\n`), tamper && c.length ? Buffer.concat([Buffer.from('X'), c.subarray(1)]) : c, c.length ? Buffer.from('\r\n') : Buffer.alloc(0));
      }
      const trailer = `x-amz-checksum-crc32:${crc(data)}\n`;
      const trailerSig = hmac(['AWS4-HMAC-SHA256-TRAILER', signing.iso, signing.scope, previous, sha256(trailer)].join('\n'));
      out.push(Buffer.from(`${trailer.replace('\n', '\r\n')}x-amz-trailer-signature:${trailerSig}\r\n\r\n`));
      return Buffer.concat(out);
    };
    const mode: PayloadMode = { kind: 'chunked', signing, trailer: true };
    expect((await read(build(false), mode, { trailerNames: ['x-amz-checksum-crc32'] })).equals(data)).toBe(true);
    expect(await failure(read(build(true), mode, { trailerNames: ['x-amz-checksum-crc32'] }))).toBe('SignatureDoesNotMatch');
    const wrongTrailer = Buffer.from(build(false).toString('latin1').replace(/x-amz-trailer-signature:[0-9a-f]+/, `x-amz-trailer-signature:${'0'.repeat(64)}`), 'latin1');
    expect(await failure(read(wrongTrailer, mode, { trailerNames: ['x-amz-checksum-crc32'] }))).toBe('SignatureDoesNotMatch');
  });

  it('checks a plain body against its declared SHA-256', async () => {
    expect((await read(data, { kind: 'plain', sha256: sha256(data) })).equals(data)).toBe(true);
    expect(await failure(read(data, { kind: 'plain', sha256: sha256('other') }))).toBe('XAmzContentSHA256Mismatch');
    expect((await read(data, { kind: 'plain' })).equals(data)).toBe(true);
  });
});

describe('S3 rules in core', () => {
  it('follows the bucket naming rules', () => {
    for (const ok of ['abc', 'my-bucket', 'a.b.c', 'x'.repeat(63), '1bucket', 'docexamplebucket1']) expect(validBucketName(ok), ok).toBe(true);
    for (const bad of ['ab', 'x'.repeat(64), 'My-Bucket', 'my_bucket', '-ab', 'ab-', 'a..b', '192.168.5.4', 'xn--a', 'sthree-a', 'amzn-s3-demo-a', 'a-s3alias', 'a--ol-s3', 'a.mrap', 'a--x-s3']) expect(validBucketName(bad), bad).toBe(false);
  });

  it('resolves byte ranges as RFC 9110 and S3 do', () => {
    expect(resolveRange('bytes=0-0', 10)).toEqual({ start: 0, end: 0 });
    expect(resolveRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(resolveRange('bytes=-30', 10)).toEqual({ start: 0, end: 9 });
    expect(resolveRange('bytes=4-', 10)).toEqual({ start: 4, end: 9 });
    expect(resolveRange('bytes=4-2', 10)).toBeUndefined();
    expect(resolveRange('bytes=0-1,3-4', 10)).toBeUndefined();
    expect(resolveRange('items=0-1', 10)).toBeUndefined();
    expect(() => resolveRange('bytes=10-', 10)).toThrow(ObjectStoreError);
    expect(() => resolveRange('bytes=-0', 10)).toThrow(ObjectStoreError);
  });
});

describe('presigned URLs (query-string SigV4)', () => {
  const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
  const signedAt = new Date('2026-11-28T10:00:00Z');

  async function presigned(path: string, expiresIn: number, query: Record<string, string> = {}): Promise<SigV4Request> {
    const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false });
    const r = await signer.presign({ method: 'GET', protocol: 'https:', hostname: 'h.test', path, query, headers: { host: 'h.test', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, { expiresIn, signingDate: signedAt });
    const qs = Object.entries(r.query!).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
    return { method: 'GET', path, query: qs, headers: { host: 'h.test' }, body: Buffer.alloc(0) };
  }

  it('verifies what @smithy/signature-v4 presigns, within its validity only', async () => {
    const req = await presigned('/bucket/a%20key.txt', 300, { 'response-content-type': 'text/plain' });
    const auth = parseQueryAuthorization(req);
    expect(auth).toMatchObject({ accessKeyId: creds.accessKeyId, region: 'us-east-1', service: 's3', expiresSeconds: 300 });
    expect(verifyQuerySignature(req, auth, creds.secretAccessKey, { now: new Date(signedAt.getTime() + 60_000), expectedRegion: 'us-east-1' }).payloadHash).toBe('UNSIGNED-PAYLOAD');
    const expired = (() => {
      try {
        verifyQuerySignature(req, auth, creds.secretAccessKey, { now: new Date(signedAt.getTime() + 301_000) });
      } catch (e) {
        return e as SigV4Error;
      }
    })();
    expect(expired?.reason).toBe('expired');
    expect(() => verifyQuerySignature({ ...req, path: '/bucket/other' }, auth, creds.secretAccessKey, { now: signedAt })).toThrow(SigV4Error);
    expect(() => verifyQuerySignature(req, auth, 'wrong', { now: signedAt })).toThrow(/does not match/);
  });

  it('refuses incomplete or over-long query authentication', async () => {
    const req = await presigned('/bucket/k', 300);
    expect(() => parseQueryAuthorization({ ...req, query: req.query.replace(/X-Amz-Credential=[^&]*&?/, '') })).toThrow(/requires the X-Amz-Algorithm/);
    expect(() => parseQueryAuthorization({ ...req, query: req.query.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604801') })).toThrow(/less than a week/);
  });
});
