/**
 * Receiving's model as SES v1 defines it (ReceiptRuleSet, ReceiptRule, ReceiptAction, ReceiptFilter):
 * the shapes core stores (rule sets in `storage.receiptRuleSets` with data `{ rules }`, filters in
 * `storage.receiptFilters` with data `{ policy, cidr }`) and the rule engine reads. Names are SES's,
 * camel-cased.
 */

/** One action of a rule: exactly one member is set. */
export interface ReceiptAction {
  s3?: { bucketName: string; objectKeyPrefix?: string; kmsKeyArn?: string; topicArn?: string; iamRoleArn?: string };
  sns?: { topicArn: string; encoding: 'UTF-8' | 'Base64' };
  lambda?: { functionArn: string; invocationType: 'Event' | 'RequestResponse'; topicArn?: string };
  bounce?: { smtpReplyCode: string; statusCode?: string; message: string; sender: string; topicArn?: string };
  stop?: { scope: 'RuleSet'; topicArn?: string };
  addHeader?: { headerName: string; headerValue: string };
  workmail?: { organizationArn: string; topicArn?: string };
}

/** A receipt rule. */
export interface ReceiptRule {
  name: string;
  enabled: boolean;
  tlsPolicy: 'Require' | 'Optional';
  /** Addresses or domains (a leading '.' matches subdomains); empty = every verified domain of the account. */
  recipients: string[];
  actions: ReceiptAction[];
  scanEnabled: boolean;
}

/** A rule set as stored (data of a `receiptRuleSets` record). */
export interface ReceiptRuleSetData {
  rules: ReceiptRule[];
}

/** An IP filter (data of a `receiptFilters` record). */
export interface ReceiptFilterData {
  policy: 'Block' | 'Allow';
  cidr: string;
}

/** The name of the account's active rule set lives in the account settings under this key. */
export const ACTIVE_RULE_SET_SETTING = 'activeReceiptRuleSet';

/** A verdict as SES's receipt notification carries it. */
export type VerdictStatus = 'PASS' | 'FAIL' | 'GRAY' | 'PROCESSING_FAILED' | 'DISABLED';
