/** ListReceiptRuleSets (v1): `NextToken` → `RuleSets` (Name, CreatedTimestamp), up to 100 a page, and `NextToken`. */
import type { V1Action } from '../handler.ts';
import { XmlDate } from '../xml.ts';

/** The action. */
export const listReceiptRuleSets: V1Action = {
  action: 'ListReceiptRuleSets',
  async handler({ core, principal, params }) {
    const page = await core.receiptRules.listRuleSets(principal, params.string('NextToken'));
    return { RuleSets: page.items.map((s) => ({ Name: s.name, CreatedTimestamp: new XmlDate(s.createdAt) })), NextToken: page.nextToken };
  },
};
