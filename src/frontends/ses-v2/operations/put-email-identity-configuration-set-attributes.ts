/**
 * PutEmailIdentityConfigurationSetAttributes: `PUT /v2/email/identities/{EmailIdentity}/configuration-set`
 * with `{ConfigurationSetName}`: the set that sends from the identity use when they name none; no name
 * removes it. The set must exist.
 */
import type { V2Operation } from '../router.ts';
import { str } from '../validate.ts';

/** The operation. */
export const putEmailIdentityConfigurationSetAttributes: V2Operation = {
  name: 'PutEmailIdentityConfigurationSetAttributes',
  method: 'PUT',
  path: '/v2/email/identities/:EmailIdentity/configuration-set',
  async handler({ core, principal, params, body }) {
    await core.identities.putConfigurationSet(principal, params.EmailIdentity, str(body, 'ConfigurationSetName'));
    return {};
  },
};
