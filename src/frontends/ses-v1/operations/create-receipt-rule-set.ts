/** CreateReceiptRuleSet (v1): `RuleSetName` → an empty rule set; AlreadyExists when taken, LimitExceeded past 40 sets. */
import type { V1Action } from '../handler.ts';

/** The action. */
export const createReceiptRuleSet: V1Action = {
  action: 'CreateReceiptRuleSet',
  async handler({ core, principal, params }) {
    await core.receiptRules.createRuleSet(principal, params.string('RuleSetName', { required: true }));
    return undefined;
  },
};
