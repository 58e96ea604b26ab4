/** GetEmailIdentity: `GET /v2/email/identities/{EmailIdentity}`. */
import type { V2Operation } from '../router.ts';
import { identityDetails } from './identity-view.ts';

/** The operation. */
export const getEmailIdentity: V2Operation = {
  name: 'GetEmailIdentity',
  method: 'GET',
  path: '/v2/email/identities/:EmailIdentity',
  async handler({ core, principal, params }) {
    const identity = await core.identities.get(principal, params.EmailIdentity);
    const tags = await core.tags.listFor(principal.accountId, core.identities.arn(principal.accountId, identity.name));
    return { ...identityDetails(identity), Tags: tags.map((t) => ({ Key: t.key, Value: t.value })) };
  },
};
