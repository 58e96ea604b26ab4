/**
 * UpdateConfigurationSetReputationMetricsEnabled (v1): `ConfigurationSetName`, `Enabled` (both
 * required in M1). Only the flag changes; the set's LastFreshStart is kept.
 */
import type { V1Action } from '../handler.ts';

/** The action. */
export const updateConfigurationSetReputationMetricsEnabled: V1Action = {
  action: 'UpdateConfigurationSetReputationMetricsEnabled',
  async handler({ core, principal, params }) {
    const name = params.string('ConfigurationSetName', { required: true });
    const enabled = params.boolean('Enabled', { required: true })!;
    await core.configurationSets.putOptions(principal, name, { reputation: { reputationMetricsEnabled: enabled } }, 'ses:UpdateConfigurationSetReputationMetricsEnabled');
    return undefined;
  },
};
