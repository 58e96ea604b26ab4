/** DescribeReceiptRule (v1): `RuleSetName`, `RuleName` → `Rule`; RuleSetDoesNotExist, RuleDoesNotExist. */
import type { V1Action } from '../handler.ts';
import { v1RuleView } from './receipt-rule-view.ts';

/** The action. */
export const describeReceiptRule: V1Action = {
  action: 'DescribeReceiptRule',
  async handler({ core, principal, params }) {
    const rule = await core.receiptRules.describeRule(principal, params.string('RuleSetName', { required: true }), params.string('RuleName', { required: true }));
    return { Rule: v1RuleView(rule) };
  },
};
