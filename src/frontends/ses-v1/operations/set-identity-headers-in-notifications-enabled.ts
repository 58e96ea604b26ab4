/** SetIdentityHeadersInNotificationsEnabled (v1): `Identity`, `NotificationType`, `Enabled`. */
import type { V1Action } from '../handler.ts';

/** The action. */
export const setIdentityHeadersInNotificationsEnabled: V1Action = {
  action: 'SetIdentityHeadersInNotificationsEnabled',
  async handler({ core, principal, params }) {
    await core.identities.setHeadersInNotifications(
      principal,
      params.string('Identity', { required: true }),
      params.string('NotificationType', { required: true }),
      params.boolean('Enabled', { required: true }),
      'ses:SetIdentityHeadersInNotificationsEnabled',
    );
    return undefined;
  },
};
