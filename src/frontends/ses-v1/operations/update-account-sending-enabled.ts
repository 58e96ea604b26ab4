/**
 * UpdateAccountSendingEnabled (v1): `Enabled` (optional in M1; left out means false, as for v2
 * PutAccountSendingAttributes). A paused account's sends are refused with AccountSendingPausedException.
 */
import type { V1Action } from '../handler.ts';

/** The action. */
export const updateAccountSendingEnabled: V1Action = {
  action: 'UpdateAccountSendingEnabled',
  async handler({ core, principal, params }) {
    await core.accountSettings.putSendingEnabled(principal, params.boolean('Enabled'), 'ses:UpdateAccountSendingEnabled');
    return undefined;
  },
};
