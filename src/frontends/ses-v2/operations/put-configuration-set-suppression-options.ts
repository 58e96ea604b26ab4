/**
 * PutConfigurationSetSuppressionOptions: `PUT /v2/email/configuration-sets/{Name}/suppression-options`
 * with `{SuppressedReasons}`. A list (even an empty one) overrides the account's suppression
 * attributes for sends through the set; a request without SuppressedReasons removes the override
 * (see suppressionOptions in configuration-set-view.ts for why).
 */
import type { V2Operation } from '../router.ts';
import { suppressionOptions } from './configuration-set-view.ts';

/** The operation. */
export const putConfigurationSetSuppressionOptions: V2Operation = {
  name: 'PutConfigurationSetSuppressionOptions',
  method: 'PUT',
  path: '/v2/email/configuration-sets/:ConfigurationSetName/suppression-options',
  async handler({ core, principal, params, body }) {
    // The key is always present: core's putOptions removes the override when its value is undefined.
    await core.configurationSets.putOptions(principal, params.ConfigurationSetName, { suppression: suppressionOptions(body) }, 'ses:PutConfigurationSetSuppressionOptions');
    return {};
  },
};
