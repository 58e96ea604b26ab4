/**
 * ListConfigurationSets. Older SDKs send `GET /v2/email/configuration-sets?NextToken=&PageSize=`;
 * current ones (3.11xx) send `POST /v2/email/list-configuration-sets` with `{Filter, NextToken,
 * PageSize}`, where Filter may hold CONFIGURATION_SET_NAME_CONTAINS. Both routes share one handler.
 */
import { badRequest, type Principal } from '../../../core/index.ts';
import type { V2Context, V2Operation } from '../router.ts';
import { intParam, listRequest, strParam, type Body } from '../validate.ts';

async function list(ctx: V2Context, principal: Principal, args: { nextToken?: string; pageSize?: number; filter?: Body }) {
  const f = args.filter ?? {};
  for (const [k, v] of Object.entries(f)) {
    if (k !== 'CONFIGURATION_SET_NAME_CONTAINS') throw badRequest(`Unknown Filter key ${k}.`);
    if (typeof v !== 'string') throw badRequest(`Filter ${k} must be a string.`);
  }
  const page = await ctx.core.configurationSets.list(principal, { nextToken: args.nextToken, pageSize: args.pageSize, nameContains: (f.CONFIGURATION_SET_NAME_CONTAINS as string | undefined) || undefined });
  return result(page.items.map((s) => s.name), page.nextToken);
}

function result(names: string[], nextToken: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ConfigurationSets: names };
  if (nextToken) out.NextToken = nextToken;
  return out;
}

/** The GET form (query string). */
export const listConfigurationSets: V2Operation = {
  name: 'ListConfigurationSets',
  method: 'GET',
  path: '/v2/email/configuration-sets',
  handler: (ctx) => list(ctx, ctx.principal, { nextToken: strParam(ctx.query, 'NextToken'), pageSize: intParam(ctx.query, 'PageSize') }),
};

/** The POST form (JSON body with an optional Filter). */
export const listConfigurationSetsPost: V2Operation = {
  name: 'ListConfigurationSets',
  method: 'POST',
  path: '/v2/email/list-configuration-sets',
  handler: (ctx) => list(ctx, ctx.principal, listRequest(ctx.body)),
};
