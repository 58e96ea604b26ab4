/**
 * The v1 spellings of configuration set options (M1 `DeliveryOptions`, `ReputationOptions`,
 * `TrackingOptions`): v1's TlsPolicy is `Require`/`Optional` where core and v2 use REQUIRE/OPTIONAL.
 */
import { badRequest, type ConfigurationSetOptions } from '../../../core/index.ts';

type TlsPolicy = ConfigurationSetOptions['delivery']['tlsPolicy'];

/** v1 TlsPolicy → core's; absent means Optional (M1: TLS is required only when set to Require). */
export function coreTlsPolicy(v: string | undefined): TlsPolicy {
  if (v === undefined || v === 'Optional') return 'OPTIONAL';
  if (v === 'Require') return 'REQUIRE';
  throw badRequest(`Invalid TlsPolicy <${v}>: use Require or Optional.`, 'InvalidDeliveryOptions');
}

/** Core's TlsPolicy → v1's. */
export function v1TlsPolicy(v: TlsPolicy): 'Require' | 'Optional' {
  return v === 'REQUIRE' ? 'Require' : 'Optional';
}
