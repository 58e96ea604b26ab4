/**
 * What the v1 tracking-options actions share: `TrackingOptions.CustomRedirectDomain` (v1's
 * TrackingOptions has only the domain; a set's v2 HttpsPolicy is kept by Update) and the v1 errors
 * TrackingOptionsAlreadyExistsException / TrackingOptionsDoesNotExistException.
 */
import { badRequest, notFound, SesError } from '../../../core/index.ts';
import type { QueryParams } from '../query.ts';

/** The required custom redirect domain. */
export function customRedirectDomain(params: QueryParams): string {
  const d = params.string('TrackingOptions.CustomRedirectDomain');
  if (d === undefined || d === '') throw badRequest('TrackingOptions.CustomRedirectDomain is required.', 'InvalidTrackingOptions');
  return d;
}

/** Create on a set that has tracking options. */
export function trackingOptionsExist(set: string): SesError {
  return new SesError('AlreadyExistsException', `Tracking options already exist for configuration set <${set}>; use UpdateConfigurationSetTrackingOptions.`, 'TrackingOptionsAlreadyExistsException');
}

/** Update or Delete on a set that has none. */
export function trackingOptionsMissing(set: string): SesError {
  return notFound(`Configuration set <${set}> has no tracking options; use CreateConfigurationSetTrackingOptions.`, 'TrackingOptionsDoesNotExistException');
}
