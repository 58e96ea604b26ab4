/** ListConfigurationSets (v1): `NextToken`, `MaxItems` → `ConfigurationSets` (Name) and `NextToken`. */
import type { V1Action } from '../handler.ts';

/** M1: "This operation will return up to 1,000 configuration sets each time it is run." */
const MAX_PAGE = 1000;

/** The action. */
export const listConfigurationSets: V1Action = {
  action: 'ListConfigurationSets',
  async handler({ core, principal, params }) {
    const page = await core.configurationSets.list(principal, {
      nextToken: params.string('NextToken'),
      pageSize: params.integer('MaxItems', 1, MAX_PAGE),
      maxPage: MAX_PAGE,
      action: 'ses:ListConfigurationSets',
    });
    return { ConfigurationSets: page.items.map((s) => ({ Name: s.name })), NextToken: page.nextToken };
  },
};
