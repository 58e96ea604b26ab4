/**
 * GetSendQuota (v1) → `Max24HourSend`, `MaxSendRate`, `SentLast24Hours` (doubles in M1). The quota is
 * the one that applies (the sandbox's without production access); -1 means no limit, SES's spelling
 * of "unlimited".
 */
import type { V1Action } from '../handler.ts';

/** The action. */
export const getSendQuota: V1Action = {
  action: 'GetSendQuota',
  async handler({ core, principal }) {
    const q = await core.accountSettings.sendQuota(principal);
    return { Max24HourSend: q.max24HourSend, MaxSendRate: q.maxSendRate, SentLast24Hours: q.sentLast24Hours };
  },
};
