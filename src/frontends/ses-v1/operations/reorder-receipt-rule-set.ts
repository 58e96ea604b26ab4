/**
 * ReorderReceiptRuleSet (v1): `RuleSetName`, `RuleNames.member.N` — every rule of the set, each
 * once, in the new order. RuleSetDoesNotExist, RuleDoesNotExist for a name not in the set,
 * InvalidParameterValue when a rule is left out or named twice.
 */
import type { V1Action } from '../handler.ts';

/** The action. */
export const reorderReceiptRuleSet: V1Action = {
  action: 'ReorderReceiptRuleSet',
  async handler({ core, principal, params }) {
    await core.receiptRules.reorderRuleSet(principal, params.string('RuleSetName', { required: true }), params.list('RuleNames'));
    return undefined;
  },
};
