/**
 * PutConfigurationSetReputationOptions: `PUT /v2/email/configuration-sets/{Name}/reputation-options`
 * with `{ReputationMetricsEnabled}` (left out means false).
 */
import type { V2Operation } from '../router.ts';
import { bool } from '../validate.ts';

/** The operation. */
export const putConfigurationSetReputationOptions: V2Operation = {
  name: 'PutConfigurationSetReputationOptions',
  method: 'PUT',
  path: '/v2/email/configuration-sets/:ConfigurationSetName/reputation-options',
  async handler({ core, principal, params, body }) {
    await core.configurationSets.putOptions(
      principal,
      params.ConfigurationSetName,
      { reputation: { reputationMetricsEnabled: bool(body, 'ReputationMetricsEnabled') ?? false } },
      'ses:PutConfigurationSetReputationOptions',
    );
    return {};
  },
};
