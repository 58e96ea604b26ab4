/** ListReceiptFilters (v1): `Filters` — every IP filter (Name, IpFilter {Policy, Cidr}) in name order; SES does not page it. */
import type { V1Action } from '../handler.ts';

/** The action. */
export const listReceiptFilters: V1Action = {
  action: 'ListReceiptFilters',
  async handler({ core, principal }) {
    const filters = await core.receiptRules.listFilters(principal);
    return { Filters: filters.map((f) => ({ Name: f.name, IpFilter: { Policy: f.policy, Cidr: f.cidr } })) };
  },
};
