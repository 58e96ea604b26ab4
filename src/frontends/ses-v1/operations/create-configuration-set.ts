/** CreateConfigurationSet (v1): `ConfigurationSet.Name`; ConfigurationSetAlreadyExists when taken, InvalidConfigurationSet for a bad name. */
import type { V1Action } from '../handler.ts';

/** The action. */
export const createConfigurationSet: V1Action = {
  action: 'CreateConfigurationSet',
  async handler({ core, principal, params }) {
    // v1 creates a set with default options (TLS optional, sending enabled, no reputation metrics).
    await core.configurationSets.create(principal, params.string('ConfigurationSet.Name'), {}, undefined, 'ses:CreateConfigurationSet');
    return undefined;
  },
};
