/**
 * CreateConfigurationSetEventDestination: `POST /v2/email/configuration-sets/{ConfigurationSetName}/event-destinations`
 * with `{EventDestinationName, EventDestination}`. At most 10 destinations per set; each names exactly
 * one target (SNS topic, EventBridge bus, CloudWatch dimensions or Firehose stream; no Pinpoint).
 */
import type { V2Operation } from '../router.ts';
import { str } from '../validate.ts';
import { eventDestinationDefinition } from './event-destination-view.ts';

/** The operation. */
export const createConfigurationSetEventDestination: V2Operation = {
  name: 'CreateConfigurationSetEventDestination',
  method: 'POST',
  path: '/v2/email/configuration-sets/:ConfigurationSetName/event-destinations',
  async handler({ core, principal, params, body }) {
    const name = str(body, 'EventDestinationName', { required: true });
    await core.configurationSets.createEventDestination(principal, params.ConfigurationSetName, { ...eventDestinationDefinition(body), name });
    return {};
  },
};
