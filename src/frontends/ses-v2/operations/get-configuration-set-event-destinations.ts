/** GetConfigurationSetEventDestinations: `GET /v2/email/configuration-sets/{ConfigurationSetName}/event-destinations`. */
import type { V2Operation } from '../router.ts';
import { eventDestinationView } from './event-destination-view.ts';

/** The operation. */
export const getConfigurationSetEventDestinations: V2Operation = {
  name: 'GetConfigurationSetEventDestinations',
  method: 'GET',
  path: '/v2/email/configuration-sets/:ConfigurationSetName/event-destinations',
  async handler({ core, principal, params }) {
    const list = await core.configurationSets.getEventDestinations(principal, params.ConfigurationSetName);
    return { EventDestinations: list.map(eventDestinationView) };
  },
};
