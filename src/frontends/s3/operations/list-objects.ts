/**
 * ListObjectsV2 (`GET /bucket?list-type=2`) and the original ListObjects (`GET /bucket`), one listing
 * underneath: v1's `marker` is v2's `start-after`, and v1 pages on with NextMarker (or the last key).
 */
import { ObjectStoreError } from '../../../core/index.ts';
import type { S3Context, S3Operation } from '../context.ts';
import { listBucketResultV1, listBucketResultV2 } from '../xml.ts';

function maxKeys(query: URLSearchParams): number | undefined {
  const v = query.get('max-keys');
  if (v === null) return undefined;
  if (!/^\d{1,10}$/.test(v) || Number(v) > 2147483647) throw new ObjectStoreError('InvalidArgument', 'Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys', ArgumentValue: v });
  return Number(v);
}

function encodingType(query: URLSearchParams): 'url' | undefined {
  const v = query.get('encoding-type');
  if (v === null || v === '') return undefined;
  if (v.toLowerCase() !== 'url') throw new ObjectStoreError('InvalidArgument', 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type', ArgumentValue: v });
  return 'url';
}

export const listObjectsV2: S3Operation = {
  name: 'ListObjectsV2',
  async handler({ core, principal, bucket, query, reply }: S3Context) {
    const token = query.get('continuation-token');
    if (token === '') throw new ObjectStoreError('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? undefined;
    const startAfter = query.get('start-after') ?? undefined;
    const enc = encodingType(query);
    const listing = await core.objectStore.listObjectsV2(principal, bucket, { prefix, delimiter, maxKeys: maxKeys(query), continuationToken: token ?? undefined, startAfter });
    const xml = listBucketResultV2(principal.accountId, { bucket, prefix, delimiter, encodingType: enc, continuationToken: token ?? undefined, startAfter, fetchOwner: query.get('fetch-owner') === 'true' }, listing);
    return reply.status(200).header('content-type', 'application/xml').send(xml);
  },
};

export const listObjects: S3Operation = {
  name: 'ListObjects',
  async handler({ core, principal, bucket, query, reply }: S3Context) {
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? undefined;
    const marker = query.get('marker') ?? undefined;
    const enc = encodingType(query);
    const listing = await core.objectStore.listObjectsV2(principal, bucket, { prefix, delimiter, maxKeys: maxKeys(query), startAfter: marker });
    return reply.status(200).header('content-type', 'application/xml').send(listBucketResultV1(principal.accountId, { bucket, prefix, delimiter, encodingType: enc, marker }, listing));
  },
};
