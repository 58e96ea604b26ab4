/** DeleteConfigurationSetEventDestination (v1): `ConfigurationSetName`, `EventDestinationName`. */
import type { V1Action } from '../handler.ts';

/** The action. */
export const deleteConfigurationSetEventDestination: V1Action = {
  action: 'DeleteConfigurationSetEventDestination',
  async handler({ core, principal, params }) {
    const set = params.string('ConfigurationSetName', { required: true });
    const name = params.string('EventDestinationName', { required: true });
    await core.configurationSets.deleteEventDestination(principal, set, name, 'ses:DeleteConfigurationSetEventDestination');
    return undefined;
  },
};
