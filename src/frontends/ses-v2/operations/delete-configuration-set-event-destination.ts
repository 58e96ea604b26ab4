/** DeleteConfigurationSetEventDestination: `DELETE /v2/email/configuration-sets/{ConfigurationSetName}/event-destinations/{EventDestinationName}`. */
import type { V2Operation } from '../router.ts';

/** The operation. */
export const deleteConfigurationSetEventDestination: V2Operation = {
  name: 'DeleteConfigurationSetEventDestination',
  method: 'DELETE',
  path: '/v2/email/configuration-sets/:ConfigurationSetName/event-destinations/:EventDestinationName',
  async handler({ core, principal, params }) {
    await core.configurationSets.deleteEventDestination(principal, params.ConfigurationSetName, params.EventDestinationName);
    return {};
  },
};
