/**
 * SetActiveReceiptRuleSet (v1): `RuleSetName` becomes the active set; without it no set is active
 * and Sesame receives no mail for the account (as SES). RuleSetDoesNotExist.
 */
import type { V1Action } from '../handler.ts';

/** The action. */
export const setActiveReceiptRuleSet: V1Action = {
  action: 'SetActiveReceiptRuleSet',
  async handler({ core, principal, params }) {
    await core.receiptRules.setActiveRuleSet(principal, params.string('RuleSetName'));
    return undefined;
  },
};
