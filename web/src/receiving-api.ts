/** The Receiving page's calls: receipt rule sets, their rules, IP filters (`/console/api/receiving`). */
import { call } from './api.ts';

export interface RuleSetSummary {
  name: string;
  createdAt: string;
  active: boolean;
}

/** One action of a rule: exactly one member is set (SES v1 `ReceiptAction`, camel-cased). */
export interface ReceiptAction {
  s3?: { bucketName: string; objectKeyPrefix?: string; kmsKeyArn?: string; topicArn?: string; iamRoleArn?: string };
  sns?: { topicArn: string; encoding?: string };
  lambda?: { functionArn: string; invocationType?: string; topicArn?: string };
  bounce?: { smtpReplyCode: string; statusCode?: string; message: string; sender: string; topicArn?: string };
  stop?: { scope: string; topicArn?: string };
  addHeader?: { headerName: string; headerValue: string };
  workmail?: { organizationArn: string; topicArn?: string };
}

export interface ReceiptRule {
  name: string;
  enabled: boolean;
  tlsPolicy: 'Optional' | 'Require';
  recipients: string[];
  actions: ReceiptAction[];
  scanEnabled: boolean;
}

export interface RuleSetView extends RuleSetSummary {
  rules: ReceiptRule[];
}

export interface ReceiptFilter {
  name: string;
  policy: 'Allow' | 'Block';
  cidr: string;
}

const path = (...parts: string[]) => `/receiving/${parts.map(encodeURIComponent).join('/')}`;

export const ruleSets = (nextToken?: string) => call<{ active: string | null; ruleSets: RuleSetSummary[]; nextToken?: string }>('GET', `/receiving${nextToken ? `?nextToken=${encodeURIComponent(nextToken)}` : ''}`);
export const createRuleSet = (name: string, cloneFrom?: string) => call<RuleSetView>('POST', '/receiving/rule-sets', { name, ...(cloneFrom ? { cloneFrom } : {}) });
export const ruleSet = (name: string) => call<RuleSetView>('GET', path('rule-sets', name));
export const deleteRuleSet = (name: string) => call<void>('DELETE', path('rule-sets', name));
/** Makes the set active; null: no set is active (Sesame receives no mail for the account). */
export const setActive = (name: string | null) => call<{ active: string | null }>('PUT', '/receiving/active', { name });
export const createRule = (set: string, rule: ReceiptRule, after: string | null) => call<RuleSetView>('POST', path('rule-sets', set, 'rules'), { rule, after });
export const updateRule = (set: string, rule: ReceiptRule) => call<RuleSetView>('PUT', path('rule-sets', set, 'rules', rule.name), { rule });
export const deleteRule = (set: string, name: string) => call<RuleSetView>('DELETE', path('rule-sets', set, 'rules', name));
/** Moves the rule right after `after`, or first when null. */
export const moveRule = (set: string, name: string, after: string | null) => call<RuleSetView>('POST', path('rule-sets', set, 'rules', name, 'position'), { after });
export const filters = () => call<{ items: ReceiptFilter[] }>('GET', '/receiving/filters');
export const createFilter = (f: ReceiptFilter) => call<{ items: ReceiptFilter[] }>('POST', '/receiving/filters', f);
export const deleteFilter = (name: string) => call<void>('DELETE', path('filters', name));
