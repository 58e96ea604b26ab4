/**
 * PutConfigurationSetTrackingOptions: `PUT /v2/email/configuration-sets/{Name}/tracking-options`
 * with `{CustomRedirectDomain, HttpsPolicy}`. A request with neither removes the set's tracking
 * options (open and click links use the default domain again).
 */
import type { V2Operation } from '../router.ts';
import { trackingOptions } from './configuration-set-view.ts';

/** The operation. */
export const putConfigurationSetTrackingOptions: V2Operation = {
  name: 'PutConfigurationSetTrackingOptions',
  method: 'PUT',
  path: '/v2/email/configuration-sets/:ConfigurationSetName/tracking-options',
  async handler({ core, principal, params, body }) {
    await core.configurationSets.putOptions(principal, params.ConfigurationSetName, { tracking: trackingOptions(body) }, 'ses:PutConfigurationSetTrackingOptions');
    return {};
  },
};
