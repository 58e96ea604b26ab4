/** GetConfigurationSet: `GET /v2/email/configuration-sets/{ConfigurationSetName}`. */
import type { V2Operation } from '../router.ts';
import { configurationSetView } from './configuration-set-view.ts';

/** The operation. */
export const getConfigurationSet: V2Operation = {
  name: 'GetConfigurationSet',
  method: 'GET',
  path: '/v2/email/configuration-sets/:ConfigurationSetName',
  async handler({ core, principal, params }) {
    const set = await core.configurationSets.get(principal, params.ConfigurationSetName);
    return configurationSetView(set, set.tags);
  },
};
