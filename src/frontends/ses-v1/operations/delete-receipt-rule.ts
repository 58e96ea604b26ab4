/** DeleteReceiptRule (v1): `RuleSetName`, `RuleName`; RuleSetDoesNotExist, and no error for a rule that is not there (as SES). */
import type { V1Action } from '../handler.ts';

/** The action. */
export const deleteReceiptRule: V1Action = {
  action: 'DeleteReceiptRule',
  async handler({ core, principal, params }) {
    await core.receiptRules.deleteRule(principal, params.string('RuleSetName', { required: true }), params.string('RuleName', { required: true }));
    return undefined;
  },
};
