/**
 * PutAccountSuppressionAttributes: `PUT /v2/email/account/suppression` with `{SuppressedReasons}`.
 * The list replaces the account's reasons; an empty or absent list turns automatic suppression off.
 */
import type { V2Operation } from '../router.ts';

/** The operation. */
export const putAccountSuppressionAttributes: V2Operation = {
  name: 'PutAccountSuppressionAttributes',
  method: 'PUT',
  path: '/v2/email/account/suppression',
  async handler({ core, principal, body }) {
    await core.accountSettings.putSuppressedReasons(principal, body.SuppressedReasons);
    return {};
  },
};
