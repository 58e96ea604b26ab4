/** DeleteEmailIdentity: `DELETE /v2/email/identities/{EmailIdentity}`. */
import type { V2Operation } from '../router.ts';

/** The operation. */
export const deleteEmailIdentity: V2Operation = {
  name: 'DeleteEmailIdentity',
  method: 'DELETE',
  path: '/v2/email/identities/:EmailIdentity',
  async handler({ core, principal, params }) {
    await core.identities.delete(principal, params.EmailIdentity);
    return {};
  },
};
