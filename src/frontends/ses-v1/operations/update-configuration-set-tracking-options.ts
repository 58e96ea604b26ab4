/** UpdateConfigurationSetTrackingOptions (v1): changes the custom redirect domain, keeping a v2 HttpsPolicy. */
import type { V1Action } from '../handler.ts';
import { customRedirectDomain, trackingOptionsMissing } from './tracking-options.ts';

/** The action. */
export const updateConfigurationSetTrackingOptions: V1Action = {
  action: 'UpdateConfigurationSetTrackingOptions',
  async handler({ core, principal, params }) {
    const name = params.string('ConfigurationSetName', { required: true });
    const domain = customRedirectDomain(params);
    await core.configurationSets.putOptions(
      principal,
      name,
      (current) => {
        if (!current.tracking) throw trackingOptionsMissing(name);
        return { tracking: { ...current.tracking, customRedirectDomain: domain } };
      },
      'ses:UpdateConfigurationSetTrackingOptions',
    );
    return undefined;
  },
};
