/**
 * The JSON shapes of SES v2 configuration sets (M2 `DeliveryOptions`, `ReputationOptions`,
 * `SendingOptions`, `SuppressionOptions`, `TrackingOptions`), read for CreateConfigurationSet and the
 * PutConfigurationSet*Options operations and written for GetConfigurationSet. Value rules (enums,
 * MaxDeliverySeconds bounds, reasons) are core's.
 */
import { badRequest, type ConfigurationSet, type ConfigurationSetOptions } from '../../../core/index.ts';
import { bool, epochSeconds, str, type Body } from '../validate.ts';

/** An optional number member. */
function num(body: Body, name: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badRequest(`${name} must be a number.`);
  return v;
}

/** `DeliveryOptions` (or PutConfigurationSetDeliveryOptions' body). SES: TlsPolicy absent means OPTIONAL. */
export function deliveryOptions(d: Body): ConfigurationSetOptions['delivery'] {
  return {
    tlsPolicy: (str(d, 'TlsPolicy') ?? 'OPTIONAL') as ConfigurationSetOptions['delivery']['tlsPolicy'],
    sendingPoolName: str(d, 'SendingPoolName'),
    maxDeliverySeconds: num(d, 'MaxDeliverySeconds'),
  };
}

/** `ReputationOptions`; LastFreshStart is a rest-json timestamp (epoch seconds). */
export function reputationOptions(r: Body): ConfigurationSetOptions['reputation'] {
  const fresh = num(r, 'LastFreshStart');
  return { reputationMetricsEnabled: bool(r, 'ReputationMetricsEnabled') ?? false, lastFreshStart: fresh === undefined ? undefined : Math.round(fresh * 1000) };
}

/**
 * `TrackingOptions` (or PutConfigurationSetTrackingOptions' body): undefined when neither member is
 * given, which removes a set's tracking options; otherwise core requires CustomRedirectDomain.
 */
export function trackingOptions(t: Body): ConfigurationSetOptions['tracking'] {
  const domain = str(t, 'CustomRedirectDomain');
  const policy = str(t, 'HttpsPolicy');
  if (domain === undefined && policy === undefined) return undefined;
  return { customRedirectDomain: domain as string, httpsPolicy: policy as NonNullable<ConfigurationSetOptions['tracking']>['httpsPolicy'] };
}

/**
 * `SuppressionOptions` (or PutConfigurationSetSuppressionOptions' body). M2 marks SuppressedReasons
 * optional and documents no meaning for its absence, so: a list, even an empty one, overrides the
 * account's suppression attributes for sends through the set (`[]` = the set suppresses nothing);
 * no list removes the override, and the account's settings apply again. GetConfigurationSet shows
 * SuppressionOptions only while an override exists.
 */
export function suppressionOptions(s: Body): ConfigurationSetOptions['suppression'] {
  const reasons = s.SuppressedReasons;
  if (reasons === undefined || reasons === null) return undefined;
  // Core checks that the list holds only BOUNCE and COMPLAINT.
  return { suppressedReasons: reasons as NonNullable<ConfigurationSetOptions['suppression']>['suppressedReasons'] };
}

/** GetConfigurationSet's response body. */
export function configurationSetView(set: ConfigurationSet, tags: Array<{ key: string; value: string }>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ConfigurationSetName: set.name,
    DeliveryOptions: { TlsPolicy: set.delivery.tlsPolicy, SendingPoolName: set.delivery.sendingPoolName, MaxDeliverySeconds: set.delivery.maxDeliverySeconds },
    ReputationOptions: { ReputationMetricsEnabled: set.reputation.reputationMetricsEnabled, LastFreshStart: epochSeconds(set.reputation.lastFreshStart) },
    SendingOptions: { SendingEnabled: set.sending.sendingEnabled },
    Tags: tags.map((t) => ({ Key: t.key, Value: t.value })),
  };
  if (set.tracking) out.TrackingOptions = { CustomRedirectDomain: set.tracking.customRedirectDomain, HttpsPolicy: set.tracking.httpsPolicy };
  if (set.suppression) out.SuppressionOptions = { SuppressedReasons: set.suppression.suppressedReasons };
  return out;
}
