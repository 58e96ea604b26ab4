/**
 * CreateBucket: `PUT /bucket`, with an optional `CreateBucketConfiguration` whose LocationConstraint
 * must name Sesame's region. Answers 200 with `Location: /bucket`.
 */
import { ObjectStoreError } from '../../../core/index.ts';
import { headerValue, type S3Operation } from '../context.ts';
import { collect } from '../payload.ts';

/** A CreateBucketConfiguration is a few hundred bytes. */
const MAX_CONFIGURATION = 64 * 1024;

export const createBucket: S3Operation = {
  name: 'CreateBucket',
  async handler({ core, principal, bucket, body, headers, reply }) {
    if (headerValue(headers, 'x-amz-bucket-object-lock-enabled')?.toLowerCase() === 'true') {
      throw new ObjectStoreError('NotImplemented', 'Object Lock is not supported by Sesame.', { Header: 'x-amz-bucket-object-lock-enabled' });
    }
    const xml = (await collect(body, MAX_CONFIGURATION)).toString('utf8').trim();
    let locationConstraint: string | undefined;
    if (xml !== '') {
      if (!/<CreateBucketConfiguration[\s>][\s\S]*<\/CreateBucketConfiguration>\s*$/.test(xml) && !/<CreateBucketConfiguration[^>]*\/>\s*$/.test(xml)) {
        throw new ObjectStoreError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
      }
      locationConstraint = /<LocationConstraint>\s*([^<]*?)\s*<\/LocationConstraint>/.exec(xml)?.[1];
    }
    await core.objectStore.createBucket(principal, bucket, { locationConstraint });
    return reply.status(200).header('location', `/${bucket}`).send();
  },
};
