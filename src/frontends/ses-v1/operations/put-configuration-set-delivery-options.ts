/**
 * PutConfigurationSetDeliveryOptions (v1): `ConfigurationSetName`, `DeliveryOptions.TlsPolicy`
 * (Require|Optional; absent means Optional). v1's DeliveryOptions has only TlsPolicy, so the set's
 * v2-only delivery options (MaxDeliverySeconds) are kept rather than reset by a client that cannot
 * see them.
 */
import type { V1Action } from '../handler.ts';
import { coreTlsPolicy } from './configuration-set-view.ts';

const ACTION = 'ses:PutConfigurationSetDeliveryOptions';

/** The action. */
export const putConfigurationSetDeliveryOptions: V1Action = {
  action: 'PutConfigurationSetDeliveryOptions',
  async handler({ core, principal, params }) {
    const name = params.string('ConfigurationSetName');
    const tlsPolicy = coreTlsPolicy(params.string('DeliveryOptions.TlsPolicy'));
    await core.configurationSets.putOptions(principal, name, (current) => ({ delivery: { ...current.delivery, tlsPolicy } }), ACTION);
    return undefined;
  },
};
