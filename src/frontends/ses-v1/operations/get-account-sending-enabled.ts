/** GetAccountSendingEnabled (v1) → `Enabled`: whether the account may send in this region. */
import type { V1Action } from '../handler.ts';

/** The action. */
export const getAccountSendingEnabled: V1Action = {
  action: 'GetAccountSendingEnabled',
  async handler({ core, principal }) {
    const a = await core.accountSettings.getAccount(principal, 'ses:GetAccountSendingEnabled');
    return { Enabled: a.sendingEnabled };
  },
};
