/**
 * CloneReceiptRuleSet (v1): `RuleSetName`, `OriginalRuleSetName` → a new set holding independent
 * copies of the original's rules; RuleSetDoesNotExist, AlreadyExists, LimitExceeded.
 */
import type { V1Action } from '../handler.ts';

/** The action. */
export const cloneReceiptRuleSet: V1Action = {
  action: 'CloneReceiptRuleSet',
  async handler({ core, principal, params }) {
    await core.receiptRules.cloneRuleSet(principal, params.string('RuleSetName', { required: true }), params.string('OriginalRuleSetName', { required: true }));
    return undefined;
  },
};
