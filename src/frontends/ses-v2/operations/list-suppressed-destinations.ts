/**
 * ListSuppressedDestinations: `GET /v2/email/suppression/addresses?Reason=&Reason=&StartDate=&EndDate=
 * &NextToken=&PageSize=`. Reason may repeat; StartDate and EndDate are query-string timestamps,
 * which rest-json writes as ISO-8601 date-times (ses-surface §1.1).
 */
import { badRequest } from '../../../core/index.ts';
import type { V2Operation } from '../router.ts';
import { epochSeconds, intParam, strParam } from '../validate.ts';

/** RFC 3339 date-time, as the AWS SDKs serialise query-string timestamps (fraction and offset optional forms included). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** A query-string timestamp in epoch milliseconds; BadRequest when it is not an ISO-8601 date-time. */
function dateParam(query: Record<string, unknown>, name: string): number | undefined {
  const v = strParam(query, name);
  if (v === undefined) return undefined;
  const ms = DATE_TIME.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(ms)) throw badRequest(`${name} must be an ISO-8601 date-time such as 2024-01-31T12:00:00Z.`);
  return ms;
}

/** The operation. */
export const listSuppressedDestinations: V2Operation = {
  name: 'ListSuppressedDestinations',
  method: 'GET',
  path: '/v2/email/suppression/addresses',
  async handler({ core, principal, query }) {
    const reason = query.Reason;
    const page = await core.suppression.list(principal, {
      // Core checks each value is BOUNCE or COMPLAINT.
      reasons: reason === undefined ? undefined : Array.isArray(reason) ? reason : [reason],
      start: dateParam(query, 'StartDate'),
      end: dateParam(query, 'EndDate'),
      nextToken: strParam(query, 'NextToken'),
      pageSize: intParam(query, 'PageSize'),
    });
    const out: Record<string, unknown> = {
      SuppressedDestinationSummaries: page.items.map((r) => ({ EmailAddress: r.email, Reason: r.reason, LastUpdateTime: epochSeconds(r.lastUpdateTime) })),
    };
    if (page.nextToken) out.NextToken = page.nextToken;
    return out;
  },
};
