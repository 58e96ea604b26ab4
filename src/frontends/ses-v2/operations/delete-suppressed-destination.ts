/** DeleteSuppressedDestination: `DELETE /v2/email/suppression/addresses/{EmailAddress}`. */
import type { V2Operation } from '../router.ts';

/** The operation. */
export const deleteSuppressedDestination: V2Operation = {
  name: 'DeleteSuppressedDestination',
  method: 'DELETE',
  path: '/v2/email/suppression/addresses/:EmailAddress',
  async handler({ core, principal, params }) {
    await core.suppression.delete(principal, params.EmailAddress);
    return {};
  },
};
