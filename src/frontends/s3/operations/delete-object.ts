/** DeleteObject: `DELETE /bucket/key`, 204 whether or not the key existed (as S3). */
import type { S3Operation } from '../context.ts';

export const deleteObject: S3Operation = {
  name: 'DeleteObject',
  async handler({ core, principal, bucket, key, reply }) {
    await core.objectStore.deleteObject(principal, bucket, key);
    return reply.status(204).send();
  },
};
