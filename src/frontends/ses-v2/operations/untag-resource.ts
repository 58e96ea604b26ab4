/** UntagResource: `DELETE /v2/email/tags?ResourceArn=&TagKeys=&TagKeys=`. */
import type { V2Operation } from '../router.ts';
import { strParam } from '../validate.ts';

/** The operation. */
export const untagResource: V2Operation = {
  name: 'UntagResource',
  method: 'DELETE',
  path: '/v2/email/tags',
  async handler({ core, principal, query }) {
    const keys = query.TagKeys;
    await core.tags.untag(principal, strParam(query, 'ResourceArn'), typeof keys === 'string' ? [keys] : keys);
    return {};
  },
};
