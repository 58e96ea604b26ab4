/** DescribeActiveReceiptRuleSet (v1): `Metadata` and `Rules` of the active set; an empty result when none is active. */
import type { V1Action } from '../handler.ts';
import { v1RuleSetView } from './receipt-rule-view.ts';

/** The action. */
export const describeActiveReceiptRuleSet: V1Action = {
  action: 'DescribeActiveReceiptRuleSet',
  async handler({ core, principal }) {
    const active = await core.receiptRules.describeActiveRuleSet(principal);
    return active ? v1RuleSetView(active) : undefined;
  },
};
