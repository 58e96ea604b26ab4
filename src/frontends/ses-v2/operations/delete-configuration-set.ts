/** DeleteConfigurationSet: `DELETE /v2/email/configuration-sets/{ConfigurationSetName}`. */
import type { V2Operation } from '../router.ts';

/** The operation. */
export const deleteConfigurationSet: V2Operation = {
  name: 'DeleteConfigurationSet',
  method: 'DELETE',
  path: '/v2/email/configuration-sets/:ConfigurationSetName',
  async handler({ core, principal, params }) {
    await core.configurationSets.delete(principal, params.ConfigurationSetName);
    return {};
  },
};
