/**
 * PutEmailIdentityFeedbackAttributes: `PUT /v2/email/identities/{EmailIdentity}/feedback` with
 * `{EmailForwardingEnabled}` (absent = false). Forwarding can be turned off only while the identity
 * has SNS topics for both bounces and complaints (set with v1 SetIdentityNotificationTopic).
 */
import type { V2Operation } from '../router.ts';
import { bool } from '../validate.ts';

/** The operation. */
export const putEmailIdentityFeedbackAttributes: V2Operation = {
  name: 'PutEmailIdentityFeedbackAttributes',
  method: 'PUT',
  path: '/v2/email/identities/:EmailIdentity/feedback',
  async handler({ core, principal, params, body }) {
    await core.identities.setFeedbackForwarding(principal, params.EmailIdentity, bool(body, 'EmailForwardingEnabled') ?? false);
    return {};
  },
};
