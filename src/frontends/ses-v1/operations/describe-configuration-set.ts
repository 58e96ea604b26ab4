/**
 * DescribeConfigurationSet (v1): `ConfigurationSetName` and `ConfigurationSetAttributeNames.member.N`
 * (eventDestinations, trackingOptions, deliveryOptions, reputationOptions) → `ConfigurationSet{Name}`
 * plus each asked-for part: EventDestinations in v1's shape (see event-destination.ts);
 * TrackingOptions appears only when the set has them, as SES omits unset options.
 */
import { badRequest } from '../../../core/index.ts';
import type { V1Action } from '../handler.ts';
import { XmlDate, type XmlValue } from '../xml.ts';
import { v1TlsPolicy } from './configuration-set-view.ts';
import { v1EventDestinationView } from './event-destination.ts';

/** M1 `ConfigurationSetAttribute`. */
const ATTRIBUTES = ['eventDestinations', 'trackingOptions', 'deliveryOptions', 'reputationOptions'];

/** The action. */
export const describeConfigurationSet: V1Action = {
  action: 'DescribeConfigurationSet',
  async handler({ core, principal, params }) {
    const asked = new Set(params.list('ConfigurationSetAttributeNames'));
    for (const a of asked) if (!ATTRIBUTES.includes(a)) throw badRequest(`Invalid ConfigurationSetAttributeNames value <${a}>: use ${ATTRIBUTES.join(', ')}.`);
    const set = await core.configurationSets.get(principal, params.string('ConfigurationSetName'), 'ses:DescribeConfigurationSet');
    const out: Record<string, XmlValue> = { ConfigurationSet: { Name: set.name } };
    if (asked.has('eventDestinations')) out.EventDestinations = set.eventDestinations.map(v1EventDestinationView);
    if (asked.has('trackingOptions') && set.tracking) out.TrackingOptions = { CustomRedirectDomain: set.tracking.customRedirectDomain };
    if (asked.has('deliveryOptions')) out.DeliveryOptions = { TlsPolicy: v1TlsPolicy(set.delivery.tlsPolicy) };
    if (asked.has('reputationOptions')) {
      out.ReputationOptions = {
        SendingEnabled: set.sending.sendingEnabled,
        ReputationMetricsEnabled: set.reputation.reputationMetricsEnabled,
        LastFreshStart: set.reputation.lastFreshStart === undefined ? undefined : new XmlDate(set.reputation.lastFreshStart),
      };
    }
    return out;
  },
};
