/**
 * ListEmailIdentities. Older SDKs send `GET /v2/email/identities?NextToken=&PageSize=`; current ones
 * (3.11xx) send `POST /v2/email/list-identities` with `{Filter, NextToken, PageSize}` in the body.
 * Both routes share one handler.
 */
import { badRequest, verifiedForSending, type Principal } from '../../../core/index.ts';
import type { V2Context, V2Operation } from '../router.ts';
import { intParam, listRequest, strParam, type Body } from '../validate.ts';

const TYPES = ['EMAIL_ADDRESS', 'DOMAIN', 'MANAGED_DOMAIN'];
const STATUSES = ['PENDING', 'SUCCESS', 'FAILED', 'TEMPORARY_FAILURE', 'NOT_STARTED'];

async function list(ctx: V2Context, principal: Principal, args: { nextToken?: string; pageSize?: number; filter?: Body }) {
  const f = args.filter ?? {};
  for (const [k, v] of Object.entries(f)) {
    if (!['IDENTITY_NAME_CONTAINS', 'IDENTITY_TYPE', 'VERIFICATION_STATUS'].includes(k)) throw badRequest(`Unknown Filter key ${k}.`);
    if (typeof v !== 'string') throw badRequest(`Filter ${k} must be a string.`);
  }
  const type = f.IDENTITY_TYPE as string | undefined;
  if (type !== undefined && !TYPES.includes(type)) throw badRequest(`Filter IDENTITY_TYPE must be one of ${TYPES.join(', ')}.`);
  const status = f.VERIFICATION_STATUS as string | undefined;
  if (status !== undefined && !STATUSES.includes(status)) throw badRequest(`Filter VERIFICATION_STATUS must be one of ${STATUSES.join(', ')}.`);
  const page = await ctx.core.identities.list(principal, {
    nextToken: args.nextToken,
    pageSize: args.pageSize,
    // No MANAGED_DOMAIN identities exist here; asking for them matches nothing.
    type: type === 'MANAGED_DOMAIN' ? undefined : (type as 'DOMAIN' | 'EMAIL_ADDRESS' | undefined),
    nameContains: f.IDENTITY_NAME_CONTAINS as string | undefined,
    status,
  });
  const items = type === 'MANAGED_DOMAIN' ? [] : page.items;
  const out: Record<string, unknown> = {
    EmailIdentities: items.map((i) => ({
      IdentityType: i.type,
      IdentityName: i.name,
      SendingEnabled: verifiedForSending(i),
      VerificationStatus: i.verificationStatus,
    })),
  };
  if (page.nextToken && type !== 'MANAGED_DOMAIN') out.NextToken = page.nextToken;
  return out;
}

/** The GET form (query string). */
export const listEmailIdentities: V2Operation = {
  name: 'ListEmailIdentities',
  method: 'GET',
  path: '/v2/email/identities',
  handler: (ctx) => list(ctx, ctx.principal, { nextToken: strParam(ctx.query, 'NextToken'), pageSize: intParam(ctx.query, 'PageSize') }),
};

/** The POST form (JSON body with an optional Filter). */
export const listEmailIdentitiesPost: V2Operation = {
  name: 'ListEmailIdentities',
  method: 'POST',
  path: '/v2/email/list-identities',
  handler: (ctx) => list(ctx, ctx.principal, listRequest(ctx.body)),
};
