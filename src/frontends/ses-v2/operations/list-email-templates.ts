/** ListEmailTemplates: `GET /v2/email/templates?NextToken=&PageSize=`. */
import type { V2Operation } from '../router.ts';
import { epochSeconds, intParam, strParam } from '../validate.ts';

/** The operation. */
export const listEmailTemplates: V2Operation = {
  name: 'ListEmailTemplates',
  method: 'GET',
  path: '/v2/email/templates',
  async handler({ core, principal, query }) {
    const page = await core.templates.list(principal, { nextToken: strParam(query, 'NextToken'), pageSize: intParam(query, 'PageSize') });
    const out: Record<string, unknown> = { TemplatesMetadata: page.items.map((t) => ({ TemplateName: t.name, CreatedTimestamp: epochSeconds(t.createdAt) })) };
    if (page.nextToken) out.NextToken = page.nextToken;
    return out;
  },
};
