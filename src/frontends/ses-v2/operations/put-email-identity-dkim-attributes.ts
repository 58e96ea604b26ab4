/** PutEmailIdentityDkimAttributes: `PUT /v2/email/identities/{EmailIdentity}/dkim`. */
import type { V2Operation } from '../router.ts';
import { bool } from '../validate.ts';

/** The operation. */
export const putEmailIdentityDkimAttributes: V2Operation = {
  name: 'PutEmailIdentityDkimAttributes',
  method: 'PUT',
  path: '/v2/email/identities/:EmailIdentity/dkim',
  async handler({ core, principal, params, body }) {
    await core.identities.setDkimSigning(principal, params.EmailIdentity, bool(body, 'SigningEnabled') ?? false);
    return {};
  },
};
