/** DeleteConfigurationSet (v1): `ConfigurationSetName`; ConfigurationSetDoesNotExist when there is none (M1 lists it). */
import type { V1Action } from '../handler.ts';

/** The action. */
export const deleteConfigurationSet: V1Action = {
  action: 'DeleteConfigurationSet',
  async handler({ core, principal, params }) {
    await core.configurationSets.delete(principal, params.string('ConfigurationSetName'), 'ses:DeleteConfigurationSet');
    return undefined;
  },
};
