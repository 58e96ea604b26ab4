/**
 * UpdateConfigurationSetSendingEnabled (v1): `ConfigurationSetName`, `Enabled` (both required in M1).
 * A paused set refuses sends with ConfigurationSetSendingPausedException.
 */
import type { V1Action } from '../handler.ts';

/** The action. */
export const updateConfigurationSetSendingEnabled: V1Action = {
  action: 'UpdateConfigurationSetSendingEnabled',
  async handler({ core, principal, params }) {
    const name = params.string('ConfigurationSetName', { required: true });
    const enabled = params.boolean('Enabled', { required: true })!;
    await core.configurationSets.putOptions(principal, name, { sending: { sendingEnabled: enabled } }, 'ses:UpdateConfigurationSetSendingEnabled');
    return undefined;
  },
};
