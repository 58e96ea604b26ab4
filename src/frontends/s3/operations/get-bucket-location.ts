/** GetBucketLocation: `GET /bucket?location` (an empty LocationConstraint means us-east-1, as S3). */
import type { S3Operation } from '../context.ts';
import { locationConstraint } from '../xml.ts';

export const getBucketLocation: S3Operation = {
  name: 'GetBucketLocation',
  async handler({ core, principal, bucket, reply }) {
    const region = await core.objectStore.bucketLocation(principal, bucket);
    return reply.status(200).header('content-type', 'application/xml').send(locationConstraint(region));
  },
};
