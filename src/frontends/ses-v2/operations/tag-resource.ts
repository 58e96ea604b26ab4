/** TagResource: `POST /v2/email/tags`. */
import type { V2Operation } from '../router.ts';
import { str } from '../validate.ts';

/** The operation. */
export const tagResource: V2Operation = {
  name: 'TagResource',
  method: 'POST',
  path: '/v2/email/tags',
  async handler({ core, principal, body }) {
    await core.tags.tag(principal, str(body, 'ResourceArn', { required: true }), body.Tags);
    return {};
  },
};
