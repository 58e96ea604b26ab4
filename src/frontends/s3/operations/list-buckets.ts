/** ListBuckets: `GET /` (with optional `max-buckets`, `continuation-token`, `prefix`, `bucket-region`). */
import { ObjectStoreError } from '../../../core/index.ts';
import type { S3Operation } from '../context.ts';
import { listAllMyBuckets } from '../xml.ts';

export const listBuckets: S3Operation = {
  name: 'ListBuckets',
  async handler({ core, principal, query, region, reply }) {
    const max = query.get('max-buckets');
    if (max !== null && !/^\d{1,5}$/.test(max)) throw new ObjectStoreError('InvalidArgument', 'max-buckets must be an integer between 1 and 10000.', { ArgumentName: 'max-buckets' });
    const prefix = query.get('prefix') ?? undefined;
    const bucketRegion = query.get('bucket-region');
    const page =
      bucketRegion !== null && bucketRegion !== region
        ? { buckets: [] }
        : await core.objectStore.listBuckets(principal, { prefix, continuationToken: query.get('continuation-token') ?? undefined, maxBuckets: max !== null ? Number(max) : undefined });
    return reply.status(200).header('content-type', 'application/xml').send(listAllMyBuckets(principal.accountId, page.buckets, { prefix, continuationToken: page.continuationToken }));
  },
};
