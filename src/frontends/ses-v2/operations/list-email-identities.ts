/** ListEmailIdentities: `GET /v2/email/identities?NextToken=&PageSize=`. */
import type { V2Operation } from '../router.ts';
import { verifiedForSending } from '../../../core/index.ts';
import { intParam, strParam } from '../validate.ts';

/** The operation. */
export const listEmailIdentities: V2Operation = {
  name: 'ListEmailIdentities',
  method: 'GET',
  path: '/v2/email/identities',
  async handler({ core, principal, query }) {
    const page = await core.identities.list(principal, { nextToken: strParam(query, 'NextToken'), pageSize: intParam(query, 'PageSize') });
    const out: Record<string, unknown> = {
      EmailIdentities: page.items.map((i) => ({
        IdentityType: i.type,
        IdentityName: i.name,
        SendingEnabled: verifiedForSending(i),
        VerificationStatus: i.verificationStatus,
      })),
    };
    if (page.nextToken) out.NextToken = page.nextToken;
    return out;
  },
};
