/**
 * ListConfigurationSets. Older SDKs send `GET /v2/email/configuration-sets?NextToken=&PageSize=`;
 * current ones (3.11xx) send `POST /v2/email/list-configuration-sets` with `{Filter, NextToken,
 * PageSize}`, where Filter may hold CONFIGURATION_SET_NAME_CONTAINS. Both routes share one handler.
 */
import { badRequest, type Principal } from '../../../core/index.ts';
import type { V2Context, V2Operation } from '../router.ts';
import { intParam, obj, strParam, type Body } from '../validate.ts';

async function list(ctx: V2Context, principal: Principal, args: { nextToken?: string; pageSize?: number; filter?: Body }) {
  const f = args.filter ?? {};
  for (const [k, v] of Object.entries(f)) {
    if (k !== 'CONFIGURATION_SET_NAME_CONTAINS') throw badRequest(`Unknown Filter key ${k}.`);
    if (typeof v !== 'string') throw badRequest(`Filter ${k} must be a string.`);
  }
  const contains = f.CONFIGURATION_SET_NAME_CONTAINS as string | undefined;
  if (contains === undefined || contains === '') {
    const page = await ctx.core.configurationSets.list(principal, { nextToken: args.nextToken, pageSize: args.pageSize });
    return result(page.items.map((s) => s.name), page.nextToken);
  }
  // Core lists in name order without a name filter. Reading core pages of exactly the number of
  // names still wanted keeps every core NextToken on a boundary: the names scanned and skipped do
  // not match, so resuming after the last one scanned loses nothing.
  const first = await ctx.core.configurationSets.list(principal, { nextToken: args.nextToken, pageSize: args.pageSize });
  // Without PageSize core used its default, and a first page followed by more is a full one.
  const want = args.pageSize ?? first.items.length;
  const names = first.items.map((s) => s.name).filter((n) => n.includes(contains));
  let token = first.nextToken;
  while (token && names.length < want) {
    const page = await ctx.core.configurationSets.list(principal, { nextToken: token, pageSize: want - names.length });
    names.push(...page.items.map((s) => s.name).filter((n) => n.includes(contains)));
    token = page.nextToken;
  }
  return result(names, token);
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
  handler(ctx) {
    const { body } = ctx;
    const nextToken = body.NextToken;
    if (nextToken !== undefined && nextToken !== null && typeof nextToken !== 'string') throw badRequest('NextToken must be a string.');
    const pageSize = body.PageSize;
    if (pageSize !== undefined && pageSize !== null && typeof pageSize !== 'number') throw badRequest('PageSize must be a number.');
    return list(ctx, ctx.principal, { nextToken: (nextToken as string | null) ?? undefined, pageSize: (pageSize as number | null) ?? undefined, filter: obj(body, 'Filter') });
  },
};
