/**
 * CreateReceiptRule (v1): `RuleSetName`, `After` (absent: the rule goes first, as SES), `Rule.*`
 * (see receipt-rule-view.ts). AlreadyExists, LimitExceeded, RuleSetDoesNotExist, RuleDoesNotExist
 * (After), InvalidSnsTopic, InvalidS3Configuration, InvalidLambdaFunction, ValidationError.
 */
import type { V1Action } from '../handler.ts';
import { v1Rule } from './receipt-rule-view.ts';

/** The action. */
export const createReceiptRule: V1Action = {
  action: 'CreateReceiptRule',
  async handler({ core, principal, params }) {
    await core.receiptRules.createRule(principal, params.string('RuleSetName', { required: true }), v1Rule(params), params.string('After'));
    return undefined;
  },
};
