/**
 * The built-in object store: S3's buckets and objects, where the receipt rules' S3 action stores
 * received mail and applications read it back with the S3 SDK they already use. Semantics follow
 * Amazon S3 (API reference: CreateBucket, ListBuckets, DeleteBucket, PutObject, GetObject, HeadObject,
 * ListObjectsV2, DeleteObject; user guide: bucket naming rules, object key names), with buckets named
 * per account rather than in one global namespace, since the ARN `arn:aws:s3:::bucket` names no account
 * and path-style requests are always made by a key of one account.
 *
 * Bytes go to the BlobStore, index rows to the ObjectRepository: the blob is written (and flushed)
 * before the row that names it, and a replaced or deleted object's blob is removed only after the row
 * no longer names it, so a crash leaves at worst an unreferenced blob, never a row without bytes.
 *
 * Objects put with `encrypt` are sealed with AES-256-GCM under a key derived from the master key
 * (`SecretBox.derive('object-store')`); the IV and tag are kept in the row's metadata, and the
 * associated data binds the ciphertext to its account, bucket and key. Reads decrypt transparently,
 * as SES's KMS-encrypted objects are readable by their owner, and say so with
 * `encrypted: true` (S3's `x-amz-server-side-encryption`).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import type { SecretBox } from '../../lib/secretbox.ts';
import { StorageConflictError, type ObjectRecord, type Storage } from '../../storage/ports.ts';
import type { AccountsService, Principal } from '../accounts/service.ts';
import type { Clock } from '../clock.ts';
import { SesError, type ErrorCode } from '../errors.ts';

/** S3's error codes that the object store and its front end raise (S3 API reference, "Error responses"). */
export const S3_ERROR_CODES = [
  'AccessDenied',
  'AuthorizationHeaderMalformed',
  'AuthorizationQueryParametersError',
  'BadDigest',
  'BucketAlreadyExists',
  'BucketAlreadyOwnedByYou',
  'BucketNotEmpty',
  'EntityTooLarge',
  'IllegalLocationConstraintException',
  'IncompleteBody',
  'InternalError',
  'InvalidAccessKeyId',
  'InvalidArgument',
  'InvalidBucketName',
  'InvalidDigest',
  'InvalidRange',
  'InvalidRequest',
  'InvalidURI',
  'KeyTooLongError',
  'MalformedXML',
  'MetadataTooLarge',
  'MethodNotAllowed',
  'MissingContentLength',
  'NoSuchBucket',
  'NoSuchKey',
  'NotImplemented',
  'NotModified',
  'PreconditionFailed',
  'RequestTimeTooSkewed',
  'SignatureDoesNotMatch',
  'SlowDown',
  'XAmzContentSHA256Mismatch',
] as const;

/** One of S3's error codes. */
export type S3ErrorCode = (typeof S3_ERROR_CODES)[number];

/** The catalogue code each S3 code stands for, so that any other front end still has a mapping for it. */
const CATALOGUE: Record<S3ErrorCode, ErrorCode> = {
  AccessDenied: 'AccessDenied',
  AuthorizationHeaderMalformed: 'IncompleteSignature',
  AuthorizationQueryParametersError: 'IncompleteSignature',
  BadDigest: 'BadRequestException',
  BucketAlreadyExists: 'AlreadyExistsException',
  BucketAlreadyOwnedByYou: 'AlreadyExistsException',
  BucketNotEmpty: 'ConflictException',
  EntityTooLarge: 'BadRequestException',
  IllegalLocationConstraintException: 'BadRequestException',
  IncompleteBody: 'BadRequestException',
  InternalError: 'InternalServiceErrorException',
  InvalidAccessKeyId: 'InvalidClientTokenId',
  InvalidArgument: 'BadRequestException',
  InvalidBucketName: 'BadRequestException',
  InvalidDigest: 'BadRequestException',
  InvalidRange: 'BadRequestException',
  InvalidRequest: 'BadRequestException',
  InvalidURI: 'BadRequestException',
  KeyTooLongError: 'BadRequestException',
  MalformedXML: 'BadRequestException',
  MetadataTooLarge: 'BadRequestException',
  MethodNotAllowed: 'UnknownOperation',
  MissingContentLength: 'BadRequestException',
  NoSuchBucket: 'NotFoundException',
  NoSuchKey: 'NotFoundException',
  NotImplemented: 'UnknownOperation',
  NotModified: 'ConflictException',
  PreconditionFailed: 'ConflictException',
  RequestTimeTooSkewed: 'SignatureDoesNotMatch',
  SignatureDoesNotMatch: 'SignatureDoesNotMatch',
  SlowDown: 'TooManyRequestsException',
  XAmzContentSHA256Mismatch: 'BadRequestException',
};

/**
 * A refusal with S3's own code. It is a SesError of the catalogue code S3's code stands for (and
 * carries S3's code as the specific code), so every front end can answer it; the S3 front end uses
 * `s3Code` and the `details` S3 puts in its `<Error>` (BucketName, Key, RangeRequested…).
 */
export class ObjectStoreError extends SesError {
  constructor(
    readonly s3Code: S3ErrorCode,
    message: string,
    readonly details: Record<string, string> = {},
  ) {
    super(CATALOGUE[s3Code], message, s3Code);
  }
}

/** A bucket as listed. */
export interface BucketInfo {
  name: string;
  createdAt: number;
  region: string;
}

/** Standard headers S3 stores with an object and returns on GET and HEAD. */
export const STORED_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'] as const;

/** One of the standard stored headers. */
export type StoredHeader = (typeof STORED_HEADERS)[number];

/** An object's description (HeadObject; each entry of a listing). */
export interface StoredObject {
  bucket: string;
  key: string;
  /** Size of the (plain) content in bytes. */
  size: number;
  /** Hex MD5 of the plain content, without the quotes S3 puts around it on the wire. */
  etag: string;
  contentType: string;
  lastModified: number;
  /** User metadata (`x-amz-meta-*`, names in lower case). */
  metadata: Record<string, string>;
  /** Standard headers given at upload. */
  headers: Partial<Record<StoredHeader, string>>;
  /** Whether the bytes at rest are encrypted with the master key. */
  encrypted: boolean;
}

/** How to store an object. */
export interface PutObjectOptions {
  /** Default `binary/octet-stream`, as S3. */
  contentType?: string;
  /** User metadata; names are lower-cased, as S3 returns them. */
  metadata?: Record<string, string>;
  /** Seal the bytes with the master key (AES-256-GCM); reads decrypt transparently. */
  encrypt?: boolean;
  headers?: Partial<Record<StoredHeader, string>>;
  /** Base64 MD5 the content must have (`Content-MD5`); the object is not stored otherwise. */
  contentMd5?: string;
  /** Bytes the body must yield (a streamed body of known length); the object is not stored otherwise. */
  size?: number;
}

/** Conditions of a read (`If-Match`, `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`). */
export interface ReadConditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: number;
  ifUnmodifiedSince?: number;
}

/** An object's content as a stream, with the part of it that was asked for. */
export interface ObjectContent {
  object: StoredObject;
  /** The byte range served (inclusive), when a Range was asked for. */
  range?: { start: number; end: number };
  /** Length of what `body` yields. */
  length: number;
  body: Readable;
}

/** ListObjectsV2's parameters. */
export interface ListObjectsOptions {
  prefix?: string;
  delimiter?: string;
  /** Default and maximum 1000, as S3. */
  maxKeys?: number;
  continuationToken?: string;
  startAfter?: string;
}

/** One page of a listing. */
export interface ObjectListing {
  contents: StoredObject[];
  commonPrefixes: string[];
  /** Contents plus common prefixes. */
  keyCount: number;
  maxKeys: number;
  isTruncated: boolean;
  /** Resumes after this page (when truncated). */
  nextContinuationToken?: string;
  /** The last key or common prefix of the page (ListObjects v1's NextMarker). */
  lastEntry?: string;
}

/** Settings of the object store. */
export interface ObjectStoreSettings {
  /** The region buckets live in (SESAME_REGION). */
  region: string;
  /** Largest object accepted; default 5 GiB on SQLite (files), 64 MiB on PostgreSQL (blobs are rows read whole). */
  maxObjectBytes?: number;
}

const ENCRYPTION = 'sesame:encryption';
const ENCRYPTION_IV = 'sesame:iv';
const ENCRYPTION_TAG = 'sesame:tag';
const HEADER_PREFIX = 'sesame:header:';
const INTERNAL_PREFIX = 'sesame:';
/** S3 limits user-defined metadata to 2 KB (names and values, in UTF-8). */
const MAX_METADATA_BYTES = 2048;
/** S3 object keys are at most 1024 bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;
const MAX_KEYS = 1000;
const PAGE = 1000;
/** The largest code point: `prefix + AFTER_ALL` sorts after every key that starts with `prefix` (UTF-8 binary order). */
const AFTER_ALL = '\u{10FFFF}';
/** RFC 9110 token characters: what a metadata name (an HTTP header name suffix) may hold. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `name` follows S3's naming rules for general purpose buckets (S3 user guide, "Bucket naming rules"). */
export function validBucketName(name: string): boolean {
  if (name.length < 3 || name.length > 63) return false;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return false;
  if (name.includes('..')) return false;
  if (isIP(name) !== 0) return false;
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) return false;
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)) return false;
  return true;
}

/** The ARN of a bucket or of an object, as IAM policies name S3 resources. */
export function s3Arn(bucket: string, key?: string): string {
  return key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`;
}

/** The bucket, objects and bytes of the built-in store. */
export class ObjectStoreService {
  readonly #key: Buffer;
  /** Largest object accepted, in bytes. */
  readonly maxObjectBytes: number;

  constructor(
    private readonly storage: Storage,
    private readonly accounts: AccountsService,
    box: SecretBox,
    private readonly clock: Clock,
    private readonly settings: ObjectStoreSettings,
  ) {
    this.#key = box.derive('object-store');
    // Blobs stream on both backends (files; 1 MiB chunk rows on PostgreSQL): S3's single-PUT limit.
    this.maxObjectBytes = settings.maxObjectBytes ?? 5 * 1024 ** 3;
  }

  /** The time requests are checked against (the injected clock). */
  now(): number {
    return this.clock.now();
  }

  /**
   * CreateBucket. An invalid name is InvalidBucketName. Creating a bucket the account already has is
   * BucketAlreadyOwnedByYou, except in us-east-1 where S3, for legacy compatibility, answers 200 and
   * changes nothing. A LocationConstraint must name this region.
   */
  async createBucket(p: Principal, name: string, o: { locationConstraint?: string } = {}): Promise<{ bucket: BucketInfo; created: boolean }> {
    this.accounts.authorize(p, { action: 's3:CreateBucket', resource: s3Arn(name) });
    if (!validBucketName(name)) throw new ObjectStoreError('InvalidBucketName', 'The specified bucket is not valid.', { BucketName: name });
    const region = this.settings.region;
    if (o.locationConstraint !== undefined && o.locationConstraint !== '' && o.locationConstraint !== region) {
      throw new ObjectStoreError('IllegalLocationConstraintException', `The ${o.locationConstraint} location constraint is incompatible for the region specific endpoint this request was sent to (${region}).`);
    }
    // A name the operator linked to an S3-compatible endpoint is that endpoint's bucket (S3's answer for a name taken elsewhere).
    if (await this.storage.externalBuckets.get(p.accountId, name)) throw new ObjectStoreError('BucketAlreadyExists', 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.', { BucketName: name });
    const now = this.clock.now();
    try {
      await this.storage.buckets.create({ accountId: p.accountId, name, data: { region }, createdAt: now, updatedAt: now });
      return { bucket: { name, createdAt: now, region }, created: true };
    } catch (err) {
      if (!(err instanceof StorageConflictError)) throw err;
      const existing = await this.storage.buckets.get(p.accountId, name);
      if (region === 'us-east-1' && existing) return { bucket: bucketInfo(existing, region), created: false };
      throw new ObjectStoreError('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: name });
    }
  }

  /** ListBuckets: the account's buckets in name order, optionally by prefix and in pages. */
  async listBuckets(p: Principal, o: { prefix?: string; continuationToken?: string; maxBuckets?: number } = {}): Promise<{ buckets: BucketInfo[]; continuationToken?: string }> {
    this.accounts.authorize(p, { action: 's3:ListAllMyBuckets', resource: '*' });
    const max = o.maxBuckets ?? 10_000;
    if (!Number.isInteger(max) || max < 1 || max > 10_000) throw new ObjectStoreError('InvalidArgument', 'max-buckets must be an integer between 1 and 10000.');
    let after = o.continuationToken !== undefined ? decodeToken(o.continuationToken).value : undefined;
    const prefix = o.prefix ?? '';
    const out: BucketInfo[] = [];
    for (;;) {
      const page = await this.storage.buckets.list(p.accountId, { after, limit: PAGE });
      for (const b of page) {
        if (b.name < prefix) continue;
        if (!b.name.startsWith(prefix)) return { buckets: out };
        if (out.length === max) return { buckets: out, continuationToken: encodeToken('k', out[out.length - 1]!.name) };
        out.push(bucketInfo(b, this.settings.region));
      }
      if (page.length < PAGE) return { buckets: out };
      after = page[page.length - 1]!.name;
    }
  }

  /** HeadBucket: the bucket, or NoSuchBucket (S3 requires s3:ListBucket for it). */
  async headBucket(p: Principal, name: string): Promise<BucketInfo> {
    this.accounts.authorize(p, { action: 's3:ListBucket', resource: s3Arn(name) });
    return this.requireBucket(p.accountId, name);
  }

  /** GetBucketLocation. */
  async bucketLocation(p: Principal, name: string): Promise<string> {
    this.accounts.authorize(p, { action: 's3:GetBucketLocation', resource: s3Arn(name) });
    return (await this.requireBucket(p.accountId, name)).region;
  }

  /** DeleteBucket: only an empty bucket (BucketNotEmpty otherwise). */
  async deleteBucket(p: Principal, name: string): Promise<void> {
    this.accounts.authorize(p, { action: 's3:DeleteBucket', resource: s3Arn(name) });
    await this.requireBucket(p.accountId, name);
    if ((await this.storage.objects.count(p.accountId, name)) > 0) {
      throw new ObjectStoreError('BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: name });
    }
    await this.storage.buckets.delete(p.accountId, name);
  }

  /**
   * Stores an object for an account without authorization: the receipt rules' S3 action (the rule
   * set's owner writes to its own bucket). Replaces an object of the same key. The body may be a
   * stream; it is written to the BlobStore as it arrives (encrypted on the way when asked), and the
   * object appears only once all of it is stored. A body iterable that throws (a failed upload
   * check) leaves nothing behind. Nothing is held whole: the MD5 (the ETag) and, with `encrypt`,
   * AES-256-GCM (a stream cipher; the tag is taken at the end) are computed chunk by chunk.
   */
  async putObject(accountId: string, bucket: string, key: string, body: Buffer | AsyncIterable<Buffer>, o: PutObjectOptions = {}): Promise<StoredObject> {
    checkKey(key);
    const metadata = checkMetadata(o.metadata ?? {});
    await this.requireBucket(accountId, bucket);
    const max = this.maxObjectBytes;
    const md5 = createHash('md5');
    let size = 0;
    const iv = o.encrypt ? randomBytes(12) : undefined;
    const cipher = iv ? createCipheriv('aes-256-gcm', this.#key, iv).setAAD(Buffer.from(aad(accountId, bucket, key))) : undefined;
    const source: AsyncIterable<Buffer> = Buffer.isBuffer(body) ? one(body) : body;
    async function* content(): AsyncGenerator<Buffer> {
      for await (const chunk of source) {
        size += chunk.length;
        if (size > max) throw new ObjectStoreError('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { MaxSizeAllowed: String(max) });
        md5.update(chunk);
        yield cipher ? cipher.update(chunk) : chunk;
      }
      if (o.size !== undefined && size !== o.size) throw new ObjectStoreError('IncompleteBody', `The body was ${size} bytes, not the ${o.size} expected.`);
      if (cipher) {
        const rest = cipher.final();
        if (rest.length > 0) yield rest;
      }
    }
    const blob = await this.storage.blobs.put(content());
    const digest = md5.digest();
    const stored: Record<string, string> = { ...metadata };
    for (const [h, v] of Object.entries(o.headers ?? {})) if (v !== undefined && v !== '') stored[HEADER_PREFIX + h] = v;
    if (cipher && iv) {
      stored[ENCRYPTION] = 'AES256-GCM';
      stored[ENCRYPTION_IV] = iv.toString('base64');
      stored[ENCRYPTION_TAG] = cipher.getAuthTag().toString('base64');
    }
    const record: ObjectRecord = {
      accountId,
      bucket,
      key,
      size,
      etag: digest.toString('hex'),
      contentType: o.contentType || 'binary/octet-stream',
      metadata: stored,
      blobId: blob.id,
      createdAt: this.clock.now(),
    };
    let replaced: string | undefined;
    try {
      if (o.contentMd5 !== undefined && o.contentMd5 !== digest.toString('base64')) {
        throw new ObjectStoreError('BadDigest', 'The Content-MD5 you specified did not match what we received.', { ExpectedDigest: o.contentMd5, CalculatedDigest: digest.toString('base64') });
      }
      replaced = await this.storage.objects.put(record);
    } catch (err) {
      await this.storage.blobs.delete(blob.id);
      throw err;
    }
    // The bucket may have been deleted while the bytes were arriving (it was empty then): undo.
    if (!(await this.storage.buckets.get(accountId, bucket))) {
      await this.storage.objects.delete(accountId, bucket, key);
      await this.storage.blobs.delete(blob.id);
      throw noSuchBucket(bucket);
    }
    if (replaced !== undefined && replaced !== blob.id) await this.storage.blobs.delete(replaced);
    return describe(record);
  }

  /** PutObject on behalf of a caller: `s3:PutObject` on the object's ARN, then `putObject`. */
  async putObjectAs(p: Principal, bucket: string, key: string, body: Buffer | AsyncIterable<Buffer>, o: PutObjectOptions = {}): Promise<StoredObject> {
    this.accounts.authorize(p, { action: 's3:PutObject', resource: s3Arn(bucket, key) });
    return this.putObject(p.accountId, bucket, key, body, o);
  }

  /** HeadObject: the object's description, after the read conditions. */
  async headObject(p: Principal, bucket: string, key: string, conditions: ReadConditions = {}): Promise<StoredObject> {
    const record = await this.readable(p, bucket, key);
    const object = describe(record);
    checkConditions(object, conditions);
    return object;
  }

  /**
   * GetObject as a stream, so that a 40 MB object is never held whole: the bytes come from the
   * BlobStore chunk by chunk, decrypted on the way for an encrypted object. `range` is S3's Range
   * parameter (`bytes=first-last`, `bytes=first-`, `bytes=-suffixLength`); a range that does not fit
   * the object is InvalidRange, one that is not of that form is ignored (the whole object), as S3.
   * An encrypted object's tag is checked at the end of a whole read: tampered bytes end the stream
   * with an error.
   */
  async getObjectStream(p: Principal, bucket: string, key: string, o: { range?: string; conditions?: ReadConditions } = {}): Promise<ObjectContent> {
    for (let attempt = 1; ; attempt++) {
      const record = await this.readable(p, bucket, key);
      const object = describe(record);
      checkConditions(object, o.conditions ?? {});
      const range = o.range !== undefined ? resolveRange(o.range, object.size) : undefined;
      const raw = await this.storage.blobs.stream(record.blobId);
      if (!raw) {
        // Replaced or deleted between reading the row and opening its bytes: read the row again.
        if (attempt < 3) continue;
        throw new Error(`the bytes of object ${bucket}/${key} (blob ${record.blobId}) are missing from the blob store`);
      }
      let chunks: AsyncIterable<Buffer> = raw;
      if (object.encrypted) chunks = this.decrypt(record, chunks, range === undefined);
      if (range) chunks = slice(chunks, range.start, range.end);
      const length = range ? range.end - range.start + 1 : object.size;
      return { object, range, length, body: Readable.from(chunks, { objectMode: false }) };
    }
  }

  /** GetObject with the whole (decrypted) content in memory: for small objects and tests. */
  async getObject(p: Principal, bucket: string, key: string): Promise<{ object: StoredObject; body: Buffer }> {
    const c = await this.getObjectStream(p, bucket, key);
    const parts: Buffer[] = [];
    for await (const chunk of c.body) parts.push(chunk as Buffer);
    return { object: c.object, body: Buffer.concat(parts) };
  }

  /**
   * ListObjectsV2: keys in UTF-8 binary order, those under `prefix`, with the keys that share a part up
   * to the next `delimiter` rolled up into one CommonPrefix; at most `maxKeys` entries (contents and
   * prefixes) per page, with an opaque continuation token.
   */
  async listObjectsV2(p: Principal, bucket: string, o: ListObjectsOptions = {}): Promise<ObjectListing> {
    const prefix = o.prefix ?? '';
    const delimiter = o.delimiter || undefined;
    this.accounts.authorize(p, {
      action: 's3:ListBucket',
      resource: s3Arn(bucket),
      context: { 's3:prefix': prefix, 's3:delimiter': delimiter, 's3:max-keys': o.maxKeys !== undefined ? String(o.maxKeys) : undefined },
    });
    const maxKeys = Math.min(o.maxKeys ?? MAX_KEYS, MAX_KEYS);
    if (!Number.isInteger(maxKeys) || maxKeys < 0) throw new ObjectStoreError('InvalidArgument', 'Argument maxKeys must be an integer between 0 and 2147483647', { ArgumentName: 'maxKeys' });
    await this.requireBucket(p.accountId, bucket);

    // Where to resume: after a key, or after every key of a common prefix already listed.
    let after: string | undefined;
    let lastPrefix: string | undefined;
    // A common prefix at or before StartAfter counts as listed already (v1 resumes from NextMarker, a prefix).
    let listedUpTo: string | undefined;
    if (o.continuationToken !== undefined) {
      const t = decodeToken(o.continuationToken);
      if (t.kind === 'p') {
        lastPrefix = t.value;
        after = t.value + AFTER_ALL;
      } else after = t.value;
    } else if (o.startAfter) after = listedUpTo = o.startAfter;

    const contents: StoredObject[] = [];
    const commonPrefixes: string[] = [];
    let last: { kind: 'k' | 'p'; value: string } | undefined;
    let truncated = false;
    if (maxKeys === 0) return { contents, commonPrefixes, keyCount: 0, maxKeys, isTruncated: false };
    scan: for (;;) {
      const page = await this.storage.objects.list(p.accountId, bucket, { prefix: prefix || undefined, after, limit: PAGE });
      for (const r of page) {
        after = r.key;
        let common: string | undefined;
        if (delimiter) {
          const at = r.key.indexOf(delimiter, prefix.length);
          if (at >= 0) common = r.key.slice(0, at + delimiter.length);
        }
        if (common !== undefined && common === lastPrefix) continue;
        if (common !== undefined && listedUpTo !== undefined && common <= listedUpTo) {
          lastPrefix = common;
          continue;
        }
        if (contents.length + commonPrefixes.length === maxKeys) {
          truncated = true;
          break scan;
        }
        if (common !== undefined) {
          commonPrefixes.push(common);
          lastPrefix = common;
          last = { kind: 'p', value: common };
        } else {
          contents.push(describe(r));
          last = { kind: 'k', value: r.key };
        }
      }
      if (page.length < PAGE) break;
      // Skip the rest of a rolled-up prefix in one step rather than reading all of its keys.
      if (lastPrefix !== undefined && after !== undefined && after.startsWith(lastPrefix)) after = lastPrefix + AFTER_ALL;
    }
    return {
      contents,
      commonPrefixes,
      keyCount: contents.length + commonPrefixes.length,
      maxKeys,
      isTruncated: truncated,
      nextContinuationToken: truncated && last ? encodeToken(last.kind, last.value) : undefined,
      lastEntry: last?.value,
    };
  }

  /** DeleteObject: succeeds whether or not the key exists (S3 answers 204 either way); the bucket must exist. */
  async deleteObject(p: Principal, bucket: string, key: string): Promise<void> {
    this.accounts.authorize(p, { action: 's3:DeleteObject', resource: s3Arn(bucket, key) });
    await this.requireBucket(p.accountId, bucket);
    const blobId = await this.storage.objects.delete(p.accountId, bucket, key);
    if (blobId !== undefined) await this.storage.blobs.delete(blobId);
  }

  /**
   * The row of an object the caller may read. A missing key is NoSuchKey only for a caller that may
   * list the bucket; S3 answers AccessDenied otherwise, so that keys cannot be probed.
   */
  private async readable(p: Principal, bucket: string, key: string): Promise<ObjectRecord> {
    this.accounts.authorize(p, { action: 's3:GetObject', resource: s3Arn(bucket, key) });
    const record = await this.storage.objects.get(p.accountId, bucket, key);
    if (record) return record;
    await this.requireBucket(p.accountId, bucket);
    this.accounts.authorize(p, { action: 's3:ListBucket', resource: s3Arn(bucket) });
    throw new ObjectStoreError('NoSuchKey', 'The specified key does not exist.', { Key: key });
  }

  private async requireBucket(accountId: string, name: string): Promise<BucketInfo> {
    const b = await this.storage.buckets.get(accountId, name);
    if (!b) throw noSuchBucket(name);
    return bucketInfo(b, this.settings.region);
  }

  private decrypt(record: ObjectRecord, chunks: AsyncIterable<Buffer>, verify: boolean): AsyncIterable<Buffer> {
    const iv = Buffer.from(record.metadata[ENCRYPTION_IV] ?? '', 'base64');
    const tag = Buffer.from(record.metadata[ENCRYPTION_TAG] ?? '', 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, iv).setAAD(Buffer.from(aad(record.accountId, record.bucket, record.key)));
    decipher.setAuthTag(tag);
    return (async function* () {
      for await (const chunk of chunks) yield decipher.update(chunk);
      // A ranged read stops early and has not seen every byte; the tag can only be checked on a whole read.
      if (verify) {
        try {
          const rest = decipher.final();
          if (rest.length > 0) yield rest;
        } catch {
          throw new Error(`object ${record.bucket}/${record.key} failed its integrity check (tampered with, or sealed under another master key)`);
        }
      }
    })();
  }
}

function bucketInfo(b: { name: string; createdAt: number; data: Record<string, unknown> }, region: string): BucketInfo {
  return { name: b.name, createdAt: b.createdAt, region: typeof b.data.region === 'string' ? b.data.region : region };
}

function noSuchBucket(name: string): ObjectStoreError {
  return new ObjectStoreError('NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
}

/** Associated data of an encrypted object: its ciphertext cannot be moved under another name. */
function aad(accountId: string, bucket: string, key: string): string {
  return `object-store:${accountId}:${bucket}/${key}`;
}

function describe(r: ObjectRecord): StoredObject {
  const metadata: Record<string, string> = {};
  const headers: Partial<Record<StoredHeader, string>> = {};
  for (const [k, v] of Object.entries(r.metadata)) {
    if (k.startsWith(HEADER_PREFIX)) {
      const h = k.slice(HEADER_PREFIX.length) as StoredHeader;
      if ((STORED_HEADERS as readonly string[]).includes(h)) headers[h] = v;
    } else if (!k.startsWith(INTERNAL_PREFIX)) metadata[k] = v;
  }
  return {
    bucket: r.bucket,
    key: r.key,
    size: r.size,
    etag: r.etag,
    contentType: r.contentType,
    lastModified: r.createdAt,
    metadata,
    headers,
    encrypted: r.metadata[ENCRYPTION] !== undefined,
  };
}

function checkKey(key: string): void {
  if (key === '') throw new ObjectStoreError('InvalidArgument', 'An object key must not be empty.', { ArgumentName: 'key' });
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new ObjectStoreError('KeyTooLongError', 'Your key is too long', { MaxSizeAllowed: String(MAX_KEY_BYTES) });
  // PostgreSQL text cannot hold NUL, and an unpaired surrogate has no UTF-8 form.
  if (key.includes('\u0000') || LONE_SURROGATE.test(key)) throw new ObjectStoreError('InvalidArgument', 'An object key must be valid UTF-8 without NUL characters.', { ArgumentName: 'key' });
}

function checkMetadata(metadata: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(metadata)) {
    const n = name.toLowerCase();
    if (!TOKEN.test(n)) throw new ObjectStoreError('InvalidArgument', `The metadata name ${JSON.stringify(name)} is not a valid HTTP header name.`, { ArgumentName: `x-amz-meta-${name}` });
    bytes += Buffer.byteLength(n) + Buffer.byteLength(value);
    out[n] = value;
  }
  if (bytes > MAX_METADATA_BYTES) throw new ObjectStoreError('MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size', { Size: String(bytes), MaxSizeAllowed: String(MAX_METADATA_BYTES) });
  return out;
}

/** The ETag comparison of RFC 9110 §13.1.1 as S3 applies it: `*` or a list of (quoted) tags. */
function etagMatches(header: string, etag: string): boolean {
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
    return tag === '*' || tag === etag;
  });
}

/** S3's precedence: If-Match, then If-Unmodified-Since (412); If-None-Match, then If-Modified-Since (304). */
function checkConditions(object: StoredObject, c: ReadConditions): void {
  // HTTP dates have one-second resolution.
  const modified = Math.floor(object.lastModified / 1000) * 1000;
  if (c.ifMatch !== undefined) {
    if (!etagMatches(c.ifMatch, object.etag)) throw new ObjectStoreError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
  } else if (c.ifUnmodifiedSince !== undefined && modified > c.ifUnmodifiedSince) {
    throw new ObjectStoreError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Unmodified-Since' });
  }
  if (c.ifNoneMatch !== undefined) {
    if (etagMatches(c.ifNoneMatch, object.etag)) throw new ObjectStoreError('NotModified', 'Not Modified');
  } else if (c.ifModifiedSince !== undefined && modified <= c.ifModifiedSince) {
    throw new ObjectStoreError('NotModified', 'Not Modified');
  }
}

/**
 * Resolves S3's Range parameter against a size (RFC 9110 §14.1.2, one range). Undefined when the
 * header is not a single byte range (S3 then serves the whole object); InvalidRange when it cannot
 * be satisfied.
 */
export function resolveRange(header: string, size: number): { start: number; end: number } | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) throw invalidRange(header, size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
    if (start >= size) throw invalidRange(header, size);
  }
  return { start, end };
}

function invalidRange(header: string, size: number): ObjectStoreError {
  return new ObjectStoreError('InvalidRange', 'The requested range is not satisfiable', { RangeRequested: header, ActualObjectSize: String(size) });
}

async function* one(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

async function* slice(chunks: AsyncIterable<Buffer>, start: number, end: number): AsyncGenerator<Buffer> {
  let pos = 0;
  for await (const c of chunks) {
    const next = pos + c.length;
    if (next > start) yield c.subarray(Math.max(0, start - pos), Math.min(c.length, end + 1 - pos));
    pos = next;
    if (pos > end) return;
  }
}

/** Continuation tokens: opaque to clients, a key (`k`) or a rolled-up common prefix (`p`) to resume after. */
function encodeToken(kind: 'k' | 'p', value: string): string {
  return Buffer.from(`${kind}:${value}`, 'utf8').toString('base64url');
}

function decodeToken(token: string): { kind: 'k' | 'p'; value: string } {
  const text = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  const kind = text.slice(0, 2);
  if (kind !== 'k:' && kind !== 'p:') throw new ObjectStoreError('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
  return { kind: kind[0] as 'k' | 'p', value: text.slice(2) };
}
