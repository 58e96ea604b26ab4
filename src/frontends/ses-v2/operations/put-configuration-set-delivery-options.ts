/**
 * PutConfigurationSetDeliveryOptions: `PUT /v2/email/configuration-sets/{Name}/delivery-options`
 * with `{TlsPolicy, SendingPoolName, MaxDeliverySeconds}`. The call replaces the set's delivery
 * options: a member left out returns to its default (TlsPolicy OPTIONAL, no MaxDeliverySeconds).
 */
import type { V2Operation } from '../router.ts';
import { deliveryOptions } from './configuration-set-view.ts';

/** The operation. */
export const putConfigurationSetDeliveryOptions: V2Operation = {
  name: 'PutConfigurationSetDeliveryOptions',
  method: 'PUT',
  path: '/v2/email/configuration-sets/:ConfigurationSetName/delivery-options',
  async handler({ core, principal, params, body }) {
    await core.configurationSets.putOptions(principal, params.ConfigurationSetName, { delivery: deliveryOptions(body) }, 'ses:PutConfigurationSetDeliveryOptions');
    return {};
  },
};
