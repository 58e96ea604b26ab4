/**
 * PutObject: `PUT /bucket/key`. The body streams into the object store as it arrives (checked against
 * the signature's payload hash, chunk signatures, `Content-MD5` and `x-amz-checksum-*`), with the
 * content type, `x-amz-meta-*` metadata and standard headers S3 keeps. `x-amz-server-side-encryption`
 * (`AES256` or `aws:kms`) seals the object with the master key. Answers 200 with the quoted ETag.
 */
import { ObjectStoreError, STORED_HEADERS, type StoredHeader } from '../../../core/index.ts';
import { headerValue, type S3Operation } from '../context.ts';

/** Request headers of features Sesame does not have: refusing them beats silently ignoring them. */
const UNSUPPORTED = [
  'x-amz-copy-source',
  'x-amz-tagging',
  'x-amz-object-lock-mode',
  'x-amz-object-lock-retain-until-date',
  'x-amz-object-lock-legal-hold',
  'x-amz-website-redirect-location',
  'x-amz-server-side-encryption-customer-algorithm',
  'if-match',
  'if-none-match',
];

export const putObject: S3Operation = {
  name: 'PutObject',
  async handler({ core, principal, bucket, key, headers, body, reply }) {
    for (const h of UNSUPPORTED) {
      if (headers[h] !== undefined) throw new ObjectStoreError('NotImplemented', `A header you provided implies functionality that is not implemented (${h}).`, { Header: h });
    }
    const sse = headerValue(headers, 'x-amz-server-side-encryption');
    if (sse !== undefined && !['AES256', 'aws:kms', 'aws:kms:dsse'].includes(sse)) {
      throw new ObjectStoreError('InvalidArgument', 'The encryption method specified is not supported', { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: sse });
    }
    // Refuse an announced oversize body before reading it.
    const max = core.objectStore.maxObjectBytes;
    for (const h of ['x-amz-decoded-content-length', 'content-length']) {
      const n = Number(headerValue(headers, h) ?? 0);
      if (n > max && (h !== 'content-length' || headers['x-amz-decoded-content-length'] === undefined)) {
        throw new ObjectStoreError('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { ProposedSize: String(n), MaxSizeAllowed: String(max) });
      }
    }
    const md5 = headerValue(headers, 'content-md5');
    if (md5 !== undefined && (!/^[A-Za-z0-9+/]{22}==$/.test(md5.trim()) || Buffer.from(md5.trim(), 'base64').length !== 16)) {
      throw new ObjectStoreError('InvalidDigest', 'The Content-MD5 you specified is not valid.', { 'Content-MD5': md5 });
    }
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name.startsWith('x-amz-meta-') && value !== undefined) metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
    }
    const stored: Partial<Record<StoredHeader, string>> = {};
    for (const h of STORED_HEADERS) {
      let v = headerValue(headers, h);
      // aws-chunked is the framing of this request, not an encoding of the object (S3 drops it).
      if (h === 'content-encoding' && v !== undefined) v = v.split(',').map((x) => x.trim()).filter((x) => x !== '' && x.toLowerCase() !== 'aws-chunked').join(', ');
      if (v) stored[h] = v;
    }
    const object = await core.objectStore.putObjectAs(principal, bucket, key, body, {
      contentType: headerValue(headers, 'content-type'),
      metadata,
      headers: stored,
      encrypt: sse !== undefined,
      contentMd5: md5?.trim(),
    });
    reply.status(200).header('etag', `"${object.etag}"`);
    if (object.encrypted) reply.header('x-amz-server-side-encryption', 'AES256');
    return reply.send();
  },
};
