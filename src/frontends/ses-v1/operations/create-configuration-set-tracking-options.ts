/** CreateConfigurationSetTrackingOptions (v1): `ConfigurationSetName`, `TrackingOptions.CustomRedirectDomain`. */
import type { V1Action } from '../handler.ts';
import { customRedirectDomain, trackingOptionsExist } from './tracking-options.ts';

/** The action. */
export const createConfigurationSetTrackingOptions: V1Action = {
  action: 'CreateConfigurationSetTrackingOptions',
  async handler({ core, principal, params }) {
    const name = params.string('ConfigurationSetName', { required: true });
    const domain = customRedirectDomain(params);
    await core.configurationSets.putOptions(
      principal,
      name,
      (current) => {
        if (current.tracking) throw trackingOptionsExist(name);
        return { tracking: { customRedirectDomain: domain } };
      },
      'ses:CreateConfigurationSetTrackingOptions',
    );
    return undefined;
  },
};
