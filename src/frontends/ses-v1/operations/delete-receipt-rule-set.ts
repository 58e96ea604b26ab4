/**
 * DeleteReceiptRuleSet (v1): `RuleSetName`; the set and its rules go. CannotDelete for the active
 * set; a set that does not exist is no error (as SES: M1 declares only CannotDelete).
 */
import type { V1Action } from '../handler.ts';

/** The action. */
export const deleteReceiptRuleSet: V1Action = {
  action: 'DeleteReceiptRuleSet',
  async handler({ core, principal, params }) {
    await core.receiptRules.deleteRuleSet(principal, params.string('RuleSetName', { required: true }));
    return undefined;
  },
};
