/** PutSuppressedDestination: `PUT /v2/email/suppression/addresses` with `{EmailAddress, Reason}`. */
import type { V2Operation } from '../router.ts';
import { str } from '../validate.ts';

/** The operation. */
export const putSuppressedDestination: V2Operation = {
  name: 'PutSuppressedDestination',
  method: 'PUT',
  path: '/v2/email/suppression/addresses',
  async handler({ core, principal, body }) {
    // Core checks the address and that Reason is BOUNCE or COMPLAINT.
    await core.suppression.put(principal, str(body, 'EmailAddress', { required: true }), str(body, 'Reason', { required: true }));
    return {};
  },
};
