/**
 * UpdateReceiptRule (v1): `RuleSetName`, `Rule.*` — replaces the rule named `Rule.Name` as a whole
 * (members left out take their defaults) and keeps its position. Errors as CreateReceiptRule.
 */
import type { V1Action } from '../handler.ts';
import { v1Rule } from './receipt-rule-view.ts';

/** The action. */
export const updateReceiptRule: V1Action = {
  action: 'UpdateReceiptRule',
  async handler({ core, principal, params }) {
    await core.receiptRules.updateRule(principal, params.string('RuleSetName', { required: true }), v1Rule(params));
    return undefined;
  },
};
