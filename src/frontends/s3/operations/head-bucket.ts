/** HeadBucket: `HEAD /bucket`, 200 with `x-amz-bucket-region`, or 404 without a body. */
import type { S3Operation } from '../context.ts';

export const headBucket: S3Operation = {
  name: 'HeadBucket',
  async handler({ core, principal, bucket, reply }) {
    const b = await core.objectStore.headBucket(principal, bucket);
    return reply.status(200).header('x-amz-bucket-region', b.region).send();
  },
};
