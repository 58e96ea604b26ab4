/** SetReceiptRulePosition (v1): `RuleSetName`, `RuleName`, `After` (absent: the rule goes first); RuleSetDoesNotExist, RuleDoesNotExist. */
import type { V1Action } from '../handler.ts';

/** The action. */
export const setReceiptRulePosition: V1Action = {
  action: 'SetReceiptRulePosition',
  async handler({ core, principal, params }) {
    await core.receiptRules.setRulePosition(principal, params.string('RuleSetName', { required: true }), params.string('RuleName', { required: true }), params.string('After'));
    return undefined;
  },
};
