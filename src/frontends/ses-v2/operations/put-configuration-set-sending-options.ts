/**
 * PutConfigurationSetSendingOptions: `PUT /v2/email/configuration-sets/{Name}/sending` with
 * `{SendingEnabled}`; a paused set refuses sends with SendingPausedException. SendingEnabled left
 * out means false, as for PutAccountSendingAttributes.
 */
import type { V2Operation } from '../router.ts';
import { bool } from '../validate.ts';

/** The operation. */
export const putConfigurationSetSendingOptions: V2Operation = {
  name: 'PutConfigurationSetSendingOptions',
  method: 'PUT',
  path: '/v2/email/configuration-sets/:ConfigurationSetName/sending',
  async handler({ core, principal, params, body }) {
    await core.configurationSets.putOptions(principal, params.ConfigurationSetName, { sending: { sendingEnabled: bool(body, 'SendingEnabled') ?? false } }, 'ses:PutConfigurationSetSendingOptions');
    return {};
  },
};
