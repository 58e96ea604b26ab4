/** PutAccountSendingAttributes: `PUT /v2/email/account/sending` with `{SendingEnabled}` (left out means false). */
import type { V2Operation } from '../router.ts';
import { bool } from '../validate.ts';

/** The operation. */
export const putAccountSendingAttributes: V2Operation = {
  name: 'PutAccountSendingAttributes',
  method: 'PUT',
  path: '/v2/email/account/sending',
  async handler({ core, principal, body }) {
    await core.accountSettings.putSendingEnabled(principal, bool(body, 'SendingEnabled'));
    return {};
  },
};
