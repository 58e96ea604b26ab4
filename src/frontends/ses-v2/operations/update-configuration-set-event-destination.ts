/**
 * UpdateConfigurationSetEventDestination:
 * `PUT /v2/email/configuration-sets/{ConfigurationSetName}/event-destinations/{EventDestinationName}`
 * with `{EventDestination}`. Members left out keep their values; a target given replaces the old one.
 */
import type { V2Operation } from '../router.ts';
import { eventDestinationDefinition } from './event-destination-view.ts';

/** The operation. */
export const updateConfigurationSetEventDestination: V2Operation = {
  name: 'UpdateConfigurationSetEventDestination',
  method: 'PUT',
  path: '/v2/email/configuration-sets/:ConfigurationSetName/event-destinations/:EventDestinationName',
  async handler({ core, principal, params, body }) {
    await core.configurationSets.updateEventDestination(principal, params.ConfigurationSetName, params.EventDestinationName, eventDestinationDefinition(body));
    return {};
  },
};
