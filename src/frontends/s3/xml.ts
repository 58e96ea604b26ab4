/**
 * S3's REST XML (namespace http://s3.amazonaws.com/doc/2006-03-01/): elements named as the S3 API
 * reference names them, timestamps ISO 8601 with milliseconds, ETags quoted, lists as repeated
 * elements (not the Query protocol's `<member>`).
 */
import type { BucketInfo, ObjectListing, StoredObject } from '../../core/index.ts';

/** The S3 XML namespace. */
export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/**
 * Escapes text for element content. Characters XML cannot carry literally are written as character
 * references, as S3 does (a key with such characters is best listed with `encoding-type=url`).
 */
export function esc(s: string): string {
  return s.replace(/[<>&"'\r\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) =>
    c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === '"' ? '&quot;' : c === "'" ? '&apos;' : `&#${c.charCodeAt(0)};`,
  );
}

/** `<name>text</name>`, or nothing when the value is undefined. */
function el(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : `<${name}>${esc(String(value))}</${name}>`;
}

/** S3's timestamp form in XML: ISO 8601, in whole seconds (`.000Z`) as HTTP's Last-Modified, so a listing and a HEAD agree. */
export function isoTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

/** The owner S3 reports: Sesame has no canonical user ids, so the account id stands for one. */
function owner(accountId: string): string {
  return `<Owner>${el('ID', accountId)}${el('DisplayName', accountId)}</Owner>`;
}

/** ListBuckets' result. */
export function listAllMyBuckets(accountId: string, buckets: BucketInfo[], o: { prefix?: string; continuationToken?: string }): string {
  const items = buckets.map((b) => `<Bucket>${el('Name', b.name)}${el('CreationDate', isoTime(b.createdAt))}${el('BucketRegion', b.region)}</Bucket>`).join('');
  return `${DECLARATION}<ListAllMyBucketsResult xmlns="${S3_NS}">${owner(accountId)}<Buckets>${items}</Buckets>${el('ContinuationToken', o.continuationToken)}${el('Prefix', o.prefix)}</ListAllMyBucketsResult>`;
}

/** GetBucketLocation's result: empty for us-east-1, as S3 answers. */
export function locationConstraint(region: string): string {
  return `${DECLARATION}<LocationConstraint xmlns="${S3_NS}">${region === 'us-east-1' ? '' : esc(region)}</LocationConstraint>`;
}

/** Parameters of a listing as the request gave them, echoed in the result. */
export interface ListingEcho {
  bucket: string;
  prefix: string;
  delimiter?: string;
  encodingType?: 'url';
  /** v2 */
  continuationToken?: string;
  startAfter?: string;
  fetchOwner?: boolean;
  /** v1 */
  marker?: string;
}

/** Percent-encoding of `encoding-type=url` (as S3: RFC 3986 unreserved characters and `/` kept). */
function urlEncode(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/');
}

function contentsXml(o: StoredObject, enc: (s: string) => string, withOwner: string | undefined): string {
  return `<Contents>${el('Key', enc(o.key))}${el('LastModified', isoTime(o.lastModified))}${el('ETag', `"${o.etag}"`)}${el('Size', o.size)}${el('StorageClass', 'STANDARD')}${withOwner ? owner(withOwner) : ''}</Contents>`;
}

/** ListObjectsV2's result. */
export function listBucketResultV2(accountId: string, echo: ListingEcho, l: ObjectListing): string {
  const enc = echo.encodingType === 'url' ? urlEncode : (s: string) => s;
  return (
    `${DECLARATION}<ListBucketResult xmlns="${S3_NS}">` +
    el('Name', echo.bucket) +
    el('Prefix', enc(echo.prefix)) +
    (echo.delimiter ? el('Delimiter', enc(echo.delimiter)) : '') +
    el('MaxKeys', l.maxKeys) +
    el('EncodingType', echo.encodingType) +
    el('KeyCount', l.keyCount) +
    el('IsTruncated', l.isTruncated) +
    el('ContinuationToken', echo.continuationToken) +
    el('NextContinuationToken', l.nextContinuationToken) +
    (echo.startAfter ? el('StartAfter', enc(echo.startAfter)) : '') +
    l.contents.map((o) => contentsXml(o, enc, echo.fetchOwner ? accountId : undefined)).join('') +
    l.commonPrefixes.map((p) => `<CommonPrefixes>${el('Prefix', enc(p))}</CommonPrefixes>`).join('') +
    '</ListBucketResult>'
  );
}

/** ListObjects' (v1) result: Marker, and NextMarker when a delimiter was given and the list is truncated. */
export function listBucketResultV1(accountId: string, echo: ListingEcho, l: ObjectListing): string {
  const enc = echo.encodingType === 'url' ? urlEncode : (s: string) => s;
  return (
    `${DECLARATION}<ListBucketResult xmlns="${S3_NS}">` +
    el('Name', echo.bucket) +
    el('Prefix', enc(echo.prefix)) +
    el('Marker', enc(echo.marker ?? '')) +
    (l.isTruncated && echo.delimiter && l.lastEntry !== undefined ? el('NextMarker', enc(l.lastEntry)) : '') +
    el('MaxKeys', l.maxKeys) +
    (echo.delimiter ? el('Delimiter', enc(echo.delimiter)) : '') +
    el('EncodingType', echo.encodingType) +
    el('IsTruncated', l.isTruncated) +
    l.contents.map((o) => contentsXml(o, enc, accountId)).join('') +
    l.commonPrefixes.map((p) => `<CommonPrefixes>${el('Prefix', enc(p))}</CommonPrefixes>`).join('') +
    '</ListBucketResult>'
  );
}

/** S3's error document. `details` are the extra elements S3 adds for the code (BucketName, Key, …). */
export function errorXml(code: string, message: string, details: Record<string, string>, resource: string, requestId: string, hostId: string): string {
  const extra = Object.entries(details)
    .map(([k, v]) => el(k, v))
    .join('');
  return `${DECLARATION}<Error>${el('Code', code)}${el('Message', message)}${extra}${el('Resource', resource)}${el('RequestId', requestId)}${el('HostId', hostId)}</Error>`;
}
