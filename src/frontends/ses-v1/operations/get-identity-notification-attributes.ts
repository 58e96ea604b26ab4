/**
 * GetIdentityNotificationAttributes (v1): `Identities.member.N` → `NotificationAttributes`, a map
 * from each known identity to its topics, forwarding and header flags (unknown identities are left
 * out, as SES does).
 */
import type { V1Action } from '../handler.ts';
import { XmlMap } from '../xml.ts';

/** The action. */
export const getIdentityNotificationAttributes: V1Action = {
  action: 'GetIdentityNotificationAttributes',
  async handler({ core, principal, params }) {
    const found = await core.identities.notificationAttributes(principal, params.list('Identities'), 'ses:GetIdentityNotificationAttributes');
    return {
      NotificationAttributes: new XmlMap(
        [...found.entries()].map(([name, a]) => [
          name,
          {
            BounceTopic: a.bounceTopic,
            ComplaintTopic: a.complaintTopic,
            DeliveryTopic: a.deliveryTopic,
            ForwardingEnabled: a.forwardingEnabled,
            HeadersInBounceNotificationsEnabled: a.headersInBounce,
            HeadersInComplaintNotificationsEnabled: a.headersInComplaint,
            HeadersInDeliveryNotificationsEnabled: a.headersInDelivery,
          },
        ]),
      ),
    };
  },
};
