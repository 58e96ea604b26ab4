/**
 * CreateConfigurationSetEventDestination (v1): `ConfigurationSetName` and `EventDestination.*`
 * (see event-destination.ts). Duplicate names are EventDestinationAlreadyExists, a topic that is not
 * one of the account's InvalidSNSDestination, bad Firehose or CloudWatch members
 * InvalidFirehoseDestination / InvalidCloudWatchDestination.
 */
import type { V1Action } from '../handler.ts';
import { v1EventDestination } from './event-destination.ts';

/** The action. */
export const createConfigurationSetEventDestination: V1Action = {
  action: 'CreateConfigurationSetEventDestination',
  async handler({ core, principal, params }) {
    const set = params.string('ConfigurationSetName', { required: true });
    await core.configurationSets.createEventDestination(principal, set, v1EventDestination(params), 'ses:CreateConfigurationSetEventDestination');
    return undefined;
  },
};
