/** DescribeReceiptRuleSet (v1): `RuleSetName` → `Metadata` {Name, CreatedTimestamp} and `Rules` in order; RuleSetDoesNotExist. */
import type { V1Action } from '../handler.ts';
import { v1RuleSetView } from './receipt-rule-view.ts';

/** The action. */
export const describeReceiptRuleSet: V1Action = {
  action: 'DescribeReceiptRuleSet',
  async handler({ core, principal, params }) {
    return v1RuleSetView(await core.receiptRules.describeRuleSet(principal, params.string('RuleSetName', { required: true })));
  },
};
