/** DeleteConfigurationSetTrackingOptions (v1): removes the set's tracking options (links use the default domain again). */
import type { V1Action } from '../handler.ts';
import { trackingOptionsMissing } from './tracking-options.ts';

/** The action. */
export const deleteConfigurationSetTrackingOptions: V1Action = {
  action: 'DeleteConfigurationSetTrackingOptions',
  async handler({ core, principal, params }) {
    const name = params.string('ConfigurationSetName', { required: true });
    await core.configurationSets.putOptions(
      principal,
      name,
      (current) => {
        if (!current.tracking) throw trackingOptionsMissing(name);
        return { tracking: undefined };
      },
      'ses:DeleteConfigurationSetTrackingOptions',
    );
    return undefined;
  },
};
