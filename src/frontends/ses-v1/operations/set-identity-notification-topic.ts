/**
 * SetIdentityNotificationTopic (v1): `Identity` (name or ARN), `NotificationType`
 * (Bounce|Complaint|Delivery), `SnsTopic` (a topic of this account; absent clears it).
 */
import type { V1Action } from '../handler.ts';

/** The action. */
export const setIdentityNotificationTopic: V1Action = {
  action: 'SetIdentityNotificationTopic',
  async handler({ core, principal, params }) {
    await core.identities.setNotificationTopic(
      principal,
      params.string('Identity', { required: true }),
      params.string('NotificationType', { required: true }),
      params.string('SnsTopic'),
      'ses:SetIdentityNotificationTopic',
    );
    return undefined;
  },
};
