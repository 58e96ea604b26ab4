/**
 * UpdateConfigurationSetEventDestination (v1): `ConfigurationSetName` and `EventDestination.*`;
 * `EventDestination.Name` names the destination to change (EventDestinationDoesNotExist if none).
 */
import type { V1Action } from '../handler.ts';
import { v1EventDestination } from './event-destination.ts';

/** The action. */
export const updateConfigurationSetEventDestination: V1Action = {
  action: 'UpdateConfigurationSetEventDestination',
  async handler({ core, principal, params }) {
    const set = params.string('ConfigurationSetName', { required: true });
    const def = v1EventDestination(params);
    await core.configurationSets.updateEventDestination(principal, set, def.name, def, 'ses:UpdateConfigurationSetEventDestination');
    return undefined;
  },
};
