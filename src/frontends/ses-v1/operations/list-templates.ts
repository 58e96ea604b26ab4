/** ListTemplates (v1): `NextToken`, `MaxItems` → `TemplatesMetadata` (Name, CreatedTimestamp) and `NextToken`. */
import type { V1Action } from '../handler.ts';
import { XmlDate } from '../xml.ts';

/** MaxItems is an int32 in M1, which also says: "If more than 100 items are requested, the page size will automatically set to 100." */
const MAX_PAGE = 100;

/** The action. */
export const listTemplates: V1Action = {
  action: 'ListTemplates',
  async handler({ core, principal, params }) {
    const asked = params.integer('MaxItems', 1, 2_147_483_647);
    const page = await core.templates.list(principal, {
      nextToken: params.string('NextToken'),
      pageSize: asked === undefined ? undefined : Math.min(asked, MAX_PAGE),
      action: 'ses:ListTemplates',
    });
    return { TemplatesMetadata: page.items.map((t) => ({ Name: t.name, CreatedTimestamp: new XmlDate(t.createdAt) })), NextToken: page.nextToken };
  },
};
