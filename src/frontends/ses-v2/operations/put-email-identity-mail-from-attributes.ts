/** PutEmailIdentityMailFromAttributes: `PUT /v2/email/identities/{EmailIdentity}/mail-from`. */
import type { V2Operation } from '../router.ts';
import { str } from '../validate.ts';

/** The operation. */
export const putEmailIdentityMailFromAttributes: V2Operation = {
  name: 'PutEmailIdentityMailFromAttributes',
  method: 'PUT',
  path: '/v2/email/identities/:EmailIdentity/mail-from',
  async handler({ core, principal, params, body }) {
    await core.identities.putMailFrom(principal, params.EmailIdentity, str(body, 'MailFromDomain'), str(body, 'BehaviorOnMxFailure'));
    return {};
  },
};
