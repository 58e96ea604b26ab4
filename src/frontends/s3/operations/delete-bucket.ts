/** DeleteBucket: `DELETE /bucket`, 204; only an empty bucket. */
import type { S3Operation } from '../context.ts';

export const deleteBucket: S3Operation = {
  name: 'DeleteBucket',
  async handler({ core, principal, bucket, reply }) {
    await core.objectStore.deleteBucket(principal, bucket);
    return reply.status(204).send();
  },
};
