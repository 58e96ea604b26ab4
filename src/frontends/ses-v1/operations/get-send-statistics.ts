/**
 * GetSendStatistics (v1) → `SendDataPoints`: one point per 15-minute interval of the last two weeks
 * with Timestamp (ISO-8601), DeliveryAttempts, Bounces, Complaints and Rejects.
 */
import type { V1Action } from '../handler.ts';
import { XmlDate } from '../xml.ts';

/** The action. */
export const getSendStatistics: V1Action = {
  action: 'GetSendStatistics',
  async handler({ core, principal }) {
    const points = await core.accountSettings.sendStatistics(principal);
    return {
      SendDataPoints: points.map((p) => ({ Timestamp: new XmlDate(p.timestamp), DeliveryAttempts: p.deliveryAttempts, Bounces: p.bounces, Complaints: p.complaints, Rejects: p.rejects })),
    };
  },
};
