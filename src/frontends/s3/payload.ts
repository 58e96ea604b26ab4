/**
 * An S3 request body, read as it streams in and checked against what the signed request declared:
 * the `x-amz-content-sha256` hash, or the `aws-chunked` encoding of the streaming modes with their
 * chunk-signature chain and trailing headers (S3 API reference, "Authenticating Requests: Using the
 * Authorization Header" → "Transferring Payload in Multiple Chunks" and "Including Trailing
 * Headers"), plus the `x-amz-checksum-*` values of S3's additional checksums. Every check that needs
 * the whole body fails at its end by throwing from the iterator, so the object store, which writes
 * the bytes before the row that names them, never keeps an upload that failed a check.
 *
 * @aws-sdk/client-s3 sends a Buffer body with its hex SHA-256 and an `x-amz-checksum-crc32` header, and
 * a stream body as `STREAMING-UNSIGNED-PAYLOAD-TRAILER` (aws-chunked, a CRC32 trailer); other SDKs use
 * the signed `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` modes; presigned URLs `UNSIGNED-PAYLOAD`.
 */
import { createHash, createHmac, timingSafeEqual, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { ObjectStoreError } from '../../core/index.ts';

/** SHA-256 of the empty string: the chunk string-to-sign's fixed "previous payload" line. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** Longest header or trailer line of the chunked framing we buffer while looking for its end. */
const MAX_LINE = 8192;
const SIGNATURE_MISMATCH = 'The request signature we calculated does not match the signature you provided. Check your key and signing method.';

/** What chunk signatures are verified with: the request's signing key, time, scope and signature (the seed). */
export interface ChunkSigning {
  key: Buffer;
  iso: string;
  scope: string;
  seed: string;
}

/** How the body is framed and what its hash must be. */
export type PayloadMode =
  /** The bytes as sent; `sha256` (hex) is checked at the end unless the payload is unsigned. */
  | { kind: 'plain'; sha256?: string }
  /** aws-chunked; chunk signatures when `signing` is given; trailing headers when `trailer`. */
  | { kind: 'chunked'; signing?: ChunkSigning; trailer: boolean };

/** S3's additional checksum algorithms whose values Sesame verifies (CRC64NVME is accepted unchecked). */
export const CHECKSUMS = ['crc32', 'crc32c', 'sha1', 'sha256'] as const;

/** One of the verified checksum algorithms. */
export type ChecksumAlgorithm = (typeof CHECKSUMS)[number];

/** The expectations of one body besides its framing. */
export interface PayloadChecks {
  /** Checksums given as headers (`x-amz-checksum-<algorithm>`: base64). */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  /** Trailing headers the request announced (`x-amz-trailer`). */
  trailerNames: string[];
  /** `x-amz-decoded-content-length` of a chunked body. */
  decodedLength?: number;
}

/** The checksum modes' running state. */
class Checksum {
  private crc = 0;
  private readonly hash?: Hash;
  constructor(readonly algorithm: ChecksumAlgorithm) {
    if (algorithm === 'sha1' || algorithm === 'sha256') this.hash = createHash(algorithm);
  }
  update(b: Buffer): void {
    if (this.hash) this.hash.update(b);
    else if (this.algorithm === 'crc32') this.crc = crc32(b, this.crc);
    else this.crc = crc32c(b, this.crc);
  }
  base64(): string {
    if (this.hash) return this.hash.digest('base64');
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.crc >>> 0);
    return out.toString('base64');
  }
}

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven. */
const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32c(b: Buffer, previous: number): number {
  let c = ~previous >>> 0;
  for (let i = 0; i < b.length; i++) c = CRC32C_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function hex(b: string): Buffer {
  return Buffer.from(b, 'hex');
}

function sameHex(a: string, b: string): boolean {
  const x = hex(a.toLowerCase());
  const y = hex(b.toLowerCase());
  return x.length === 32 && y.length === 32 && timingSafeEqual(x, y);
}

function malformed(why: string): ObjectStoreError {
  return new ObjectStoreError('InvalidRequest', `The aws-chunked body is malformed: ${why}.`);
}

/**
 * The body's bytes (decoded from aws-chunked when it is chunked), checked as they pass: throws
 * SignatureDoesNotMatch, XAmzContentSHA256Mismatch, BadDigest, IncompleteBody or InvalidRequest
 * when a check fails (the last ones at the end of the body).
 */
export async function* readPayload(source: AsyncIterable<Buffer>, mode: PayloadMode, checks: PayloadChecks): AsyncGenerator<Buffer> {
  const sums = new Map<ChecksumAlgorithm, Checksum>();
  const want = (name: string): void => {
    const a = name.replace(/^x-amz-checksum-/, '') as ChecksumAlgorithm;
    if ((CHECKSUMS as readonly string[]).includes(a) && !sums.has(a)) sums.set(a, new Checksum(a));
  };
  for (const a of Object.keys(checks.checksums)) want(a);
  for (const t of checks.trailerNames) want(t);
  const trailers = new Map<string, string>();
  let size = 0;
  const seen = (b: Buffer): Buffer => {
    size += b.length;
    for (const s of sums.values()) s.update(b);
    return b;
  };

  if (mode.kind === 'plain') {
    const sha = mode.sha256 ? createHash('sha256') : undefined;
    for await (const chunk of source) {
      sha?.update(chunk);
      yield seen(chunk);
    }
    if (sha && mode.sha256 && !sameHex(sha.digest('hex'), mode.sha256)) {
      throw new ObjectStoreError('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", { ClientComputedContentSHA256: mode.sha256 });
    }
  } else {
    const signing = mode.signing;
    let previous = signing?.seed ?? '';
    const verifyChunk = (signature: string | undefined, hash: string): void => {
      if (!signing) return;
      const expected = createHmac('sha256', signing.key).update(['AWS4-HMAC-SHA256-PAYLOAD', signing.iso, signing.scope, previous, EMPTY_SHA256, hash].join('\n')).digest('hex');
      if (signature === undefined || !sameHex(expected, signature)) throw new ObjectStoreError('SignatureDoesNotMatch', SIGNATURE_MISMATCH);
      previous = expected;
    };
    let state: 'size' | 'data' | 'data-end' | 'trailers' | 'done' = 'size';
    let remaining = 0;
    let chunkSignature: string | undefined;
    let chunkHash: Hash | undefined;
    let trailerSignature: string | undefined;
    const trailerLines: string[] = [];
    let pending: Buffer | undefined;
    for await (const input of source) {
      const data: Buffer = pending ? Buffer.concat([pending, input]) : input;
      pending = undefined;
      let i = 0;
      while (i < data.length) {
        if (state === 'done') throw malformed('bytes follow the end of the body');
        if (state === 'data') {
          const part = data.subarray(i, i + Math.min(remaining, data.length - i));
          chunkHash?.update(part);
          i += part.length;
          remaining -= part.length;
          if (remaining === 0) state = 'data-end';
          yield seen(part);
          continue;
        }
        const eol = data.indexOf('\r\n', i);
        if (eol < 0) {
          pending = data.subarray(i);
          if (pending.length > MAX_LINE) throw malformed('a chunk header or trailer line is too long');
          break;
        }
        const line = data.subarray(i, eol).toString('latin1');
        i = eol + 2;
        if (state === 'data-end') {
          if (line !== '') throw malformed('a chunk is longer than its declared size');
          verifyChunk(chunkSignature, chunkHash?.digest('hex') ?? '');
          state = 'size';
        } else if (state === 'size') {
          const m = /^([0-9a-fA-F]{1,16})(?:;chunk-signature=([0-9a-fA-F]{64}))?$/.exec(line);
          if (!m) throw malformed(`"${line.slice(0, 100)}" is not a chunk header`);
          const n = parseInt(m[1]!, 16);
          chunkSignature = m[2];
          if (signing && chunkSignature === undefined) throw new ObjectStoreError('SignatureDoesNotMatch', `${SIGNATURE_MISMATCH} (a chunk has no chunk-signature)`);
          if (n === 0) {
            verifyChunk(chunkSignature, EMPTY_SHA256);
            state = 'trailers';
          } else {
            remaining = n;
            chunkHash = signing ? createHash('sha256') : undefined;
            state = 'data';
          }
        } else if (state === 'trailers') {
          if (line === '') {
            state = 'done';
            continue;
          }
          if (!mode.trailer) throw malformed('trailing headers were not announced (x-amz-content-sha256 has no -TRAILER)');
          const colon = line.indexOf(':');
          if (colon <= 0) throw malformed('a trailing header has no name');
          const name = line.slice(0, colon).trim().toLowerCase();
          const value = line.slice(colon + 1).trim();
          if (name === 'x-amz-trailer-signature') trailerSignature = value;
          else {
            trailers.set(name, value);
            trailerLines.push(`${name}:${value}\n`);
          }
        }
      }
    }
    // Clients differ on the CRLF that ends the body after the last chunk (or its trailers); its absence changes nothing.
    if (state === 'trailers' && pending === undefined) state = 'done';
    if (state !== 'done') throw new ObjectStoreError('IncompleteBody', 'The request body ended before its last chunk.');
    if (signing && mode.trailer) {
      const expected = createHmac('sha256', signing.key)
        .update(['AWS4-HMAC-SHA256-TRAILER', signing.iso, signing.scope, previous, createHash('sha256').update(trailerLines.join('')).digest('hex')].join('\n'))
        .digest('hex');
      if (trailerSignature === undefined || !sameHex(expected, trailerSignature)) throw new ObjectStoreError('SignatureDoesNotMatch', `${SIGNATURE_MISMATCH} (trailer signature)`);
    }
    if (checks.decodedLength !== undefined && checks.decodedLength !== size) {
      throw new ObjectStoreError('IncompleteBody', `You did not provide the number of bytes specified by the x-amz-decoded-content-length HTTP header (${checks.decodedLength}; the body holds ${size}).`);
    }
    for (const name of checks.trailerNames) {
      if (!trailers.has(name)) throw new ObjectStoreError('IncompleteBody', `The trailing header ${name} announced by x-amz-trailer is missing.`);
    }
  }

  for (const [a, sum] of sums) {
    const expected = checks.checksums[a] ?? trailers.get(`x-amz-checksum-${a}`);
    if (expected !== undefined && expected !== sum.base64()) {
      throw new ObjectStoreError('BadDigest', `The ${a.toUpperCase()} you specified did not match the calculated checksum.`);
    }
  }
}

/** Reads a small body whole (CreateBucket's configuration), refusing more than `limit` bytes. */
export async function collect(body: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const b of body) {
    n += b.length;
    if (n > limit) throw new ObjectStoreError('InvalidRequest', `The request body is larger than ${limit} bytes.`);
    parts.push(b);
  }
  return Buffer.concat(parts);
}
