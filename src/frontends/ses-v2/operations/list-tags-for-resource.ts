/** ListTagsForResource: `GET /v2/email/tags?ResourceArn=`. */
import type { V2Operation } from '../router.ts';
import { strParam } from '../validate.ts';

/** The operation. */
export const listTagsForResource: V2Operation = {
  name: 'ListTagsForResource',
  method: 'GET',
  path: '/v2/email/tags',
  async handler({ core, principal, query }) {
    const tags = await core.tags.list(principal, strParam(query, 'ResourceArn'));
    return { Tags: tags.map((t) => ({ Key: t.key, Value: t.value })) };
  },
};
