/**
 * Receipt rule sets, receipt rules and IP filters — the 16 management operations of SES v1
 * receiving — and SendBounce. Rule sets live in `storage.receiptRuleSets` (data `{ rules }`, in
 * evaluation order), filters in `storage.receiptFilters`, and the active set's name in the account
 * settings under ACTIVE_RULE_SET_SETTING; the MX engine reads them through `activeRuleSet` and
 * `filters`.
 *
 * Validation follows SES as probed against the live service (floci-io/floci's SES receipt work,
 * moto's SES backend) where it is known, and the documented model elsewhere: a malformed shape is
 * one `ValidationError` listing every violation (Smithy's wording and member paths); names then get
 * SES's service-level "Not a valid ruleName: x"; an action's target must exist in Sesame (an SNS
 * topic of the account, a bucket of the built-in store, a registered function).
 */
import { isIP } from 'node:net';
import { buildDsn, type DsnExtensionField, type DsnRecipient } from '../../lib/dsn.ts';
import { checkDomain, checkEmailAddress } from '../../lib/domain.ts';
import { newMessageId } from '../../lib/ids.ts';
import { hasLineBreak, parseAddressList } from '../../lib/mime.ts';
import { StorageConflictError, type NamedRecord, type Storage } from '../../storage/ports.ts';
import type { AccountsService, Principal } from '../accounts/service.ts';
import { identityArn, type ArnScope } from '../arn.ts';
import type { Clock } from '../clock.ts';
import { badRequest, notFound, SesError } from '../errors.ts';
import { fromRecord, type Identity } from '../identities/model.ts';
import { page } from '../paging.ts';
import { accountSettings } from '../sending/account-settings.ts';
import type { SendingService } from '../sending/service.ts';
import { ACTIVE_RULE_SET_SETTING, type ReceiptAction, type ReceiptFilterData, type ReceiptRule, type ReceiptRuleSetData } from './model.ts';

/** A receipt rule as a request gives it (v1 `ReceiptRule`); absent members are undefined. */
export interface ReceiptRuleInput {
  name?: string;
  enabled?: boolean;
  tlsPolicy?: string;
  recipients?: string[];
  actions?: ReceiptActionInput[];
  scanEnabled?: boolean;
}

/** One action as a request gives it (v1 `ReceiptAction`): SES requires exactly one member. */
export interface ReceiptActionInput {
  s3?: { bucketName?: string; objectKeyPrefix?: string; kmsKeyArn?: string; topicArn?: string; iamRoleArn?: string };
  sns?: { topicArn?: string; encoding?: string };
  lambda?: { functionArn?: string; invocationType?: string; topicArn?: string };
  bounce?: { smtpReplyCode?: string; statusCode?: string; message?: string; sender?: string; topicArn?: string };
  stop?: { scope?: string; topicArn?: string };
  addHeader?: { headerName?: string; headerValue?: string };
  workmail?: { organizationArn?: string; topicArn?: string };
  connect?: { instanceArn?: string; iamRoleArn?: string };
}

/** An IP filter as a request gives it (v1 `ReceiptFilter`). */
export interface ReceiptFilterInput {
  name?: string;
  ipFilter?: { policy?: string; cidr?: string };
}

/** A DSN extension field as a request gives it. */
export interface ExtensionFieldInput {
  name?: string;
  value?: string;
}

/** One recipient of SendBounce (v1 `BouncedRecipientInfo`). */
export interface BouncedRecipientInput {
  recipient?: string;
  recipientArn?: string;
  bounceType?: string;
  dsnFields?: {
    finalRecipient?: string;
    action?: string;
    remoteMta?: string;
    status?: string;
    diagnosticCode?: string;
    lastAttemptDate?: Date;
    extensionFields?: ExtensionFieldInput[];
  };
}

/** v1 SendBounce's request. */
export interface SendBounceInput {
  originalMessageId: string;
  bounceSender: string;
  bounceSenderArn?: string;
  explanation?: string;
  messageDsn?: { reportingMta?: string; arrivalDate?: Date; extensionFields?: ExtensionFieldInput[] };
  recipients: BouncedRecipientInput[];
}

/** A rule set with its metadata. */
export interface ReceiptRuleSetView {
  name: string;
  createdAt: number;
  rules: ReceiptRule[];
}

/** Settings the service needs: where ARNs point, and the reporting MTA's host name. */
export interface ReceiptRulesSettings extends ArnScope {
  hostname: string;
}

/** SES's quotas for receiving (developer guide "quotas"). */
export const RECEIPT_LIMITS = { ruleSets: 40, rulesPerSet: 200, recipientsPerRule: 100, actionsPerRule: 10, filters: 100 } as const;

/** SendBounce applies to mail received in the last 24 hours (SES API reference, SendBounce). */
const BOUNCE_WINDOW_MS = 24 * 3600 * 1000;

/** SES's pattern for rule set, rule and filter names (the Smithy layer, as live SES reports it). */
const NAME_PATTERN = '^[a-zA-Z0-9_.-]+$';
const NAME_CHARS = /^[A-Za-z0-9_.-]+$/;
const ALNUM_ENDS = /^[A-Za-z0-9](?:.*[A-Za-z0-9])?$/s;

const SNS_ARN = /^arn:aws:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256})$/;
const LAMBDA_ARN = /^arn:aws:lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]{1,64})(?::[A-Za-z0-9$_-]{1,128})?$/;
const KMS_ARN = /^arn:aws:kms:[a-z0-9-]+:\d{12}:(?:key|alias)\/[A-Za-z0-9/_+=.@-]+$/;
const ROLE_ARN = /^arn:aws:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/;
const HEADER_NAME = /^[A-Za-z0-9-]{1,50}$/;
const SMTP_REPLY = /^[45]\d\d$/;
const ENHANCED_STATUS = /^[245]\.\d{1,3}\.\d{1,3}$/;

/** SendBounce's BounceType → the DSN status, action and diagnostic SES writes (console presets of the Bounce action). */
const BOUNCE_TYPES: Record<string, { status: string; action: 'failed' | 'delayed'; diagnostic: string }> = {
  DoesNotExist: { status: '5.1.1', action: 'failed', diagnostic: 'smtp; 550 5.1.1 Mailbox does not exist' },
  MessageTooLarge: { status: '5.3.4', action: 'failed', diagnostic: 'smtp; 552 5.3.4 Message too large' },
  ExceededQuota: { status: '5.2.2', action: 'failed', diagnostic: 'smtp; 552 5.2.2 Mailbox full' },
  ContentRejected: { status: '5.6.1', action: 'failed', diagnostic: 'smtp; 500 5.6.1 Message content rejected' },
  Undefined: { status: '5.0.0', action: 'failed', diagnostic: 'smtp; 554 5.0.0 Delivery failed' },
  TemporaryFailure: { status: '4.0.0', action: 'delayed', diagnostic: 'smtp; 450 4.0.0 Temporary failure' },
};
const DSN_ACTIONS = ['failed', 'delayed', 'delivered', 'relayed', 'expanded'];

/** Receipt rules service. */
export class ReceiptRulesService {
  constructor(
    private readonly storage: Storage,
    private readonly accounts: AccountsService,
    private readonly sending: SendingService,
    private readonly clock: Clock,
    private readonly settings: ReceiptRulesSettings,
  ) {}

  // ---- rule sets -------------------------------------------------------------------------------

  /** CreateReceiptRuleSet: an empty set; AlreadyExists when taken, LimitExceeded past 40. */
  async createRuleSet(p: Principal, name: string): Promise<void> {
    checkName(name, 'ruleSetName');
    this.authorize(p, 'ses:CreateReceiptRuleSet', this.ruleSetArn(p.accountId, name));
    await this.insertRuleSet(p.accountId, name, []);
  }

  /** CloneReceiptRuleSet: a new set with copies of the original's rules. */
  async cloneRuleSet(p: Principal, name: string, original: string): Promise<void> {
    checkName(name, 'ruleSetName');
    checkName(original, 'originalRuleSetName');
    this.authorize(p, 'ses:CloneReceiptRuleSet', this.ruleSetArn(p.accountId, name));
    const from = await this.loadRuleSet(p.accountId, original);
    if (await this.storage.receiptRuleSets.get(p.accountId, name)) throw ruleSetExists(name);
    await this.insertRuleSet(p.accountId, name, structuredClone(from.rules));
  }

  /** DeleteReceiptRuleSet: the set and its rules; CannotDelete for the active set; no error when absent (as SES). */
  async deleteRuleSet(p: Principal, name: string): Promise<void> {
    checkName(name, 'ruleSetName');
    this.authorize(p, 'ses:DeleteReceiptRuleSet', this.ruleSetArn(p.accountId, name));
    if ((await this.activeName(p.accountId)) === name) throw new SesError('ConflictException', `Cannot delete active rule set: ${name}`, 'CannotDelete');
    await this.storage.receiptRuleSets.delete(p.accountId, name);
  }

  /** DescribeReceiptRuleSet: metadata and rules in order. */
  async describeRuleSet(p: Principal, name: string): Promise<ReceiptRuleSetView> {
    checkName(name, 'ruleSetName');
    this.authorize(p, 'ses:DescribeReceiptRuleSet', this.ruleSetArn(p.accountId, name));
    return this.loadRuleSet(p.accountId, name);
  }

  /** ListReceiptRuleSets: names and creation times in name order, up to 100 per page. */
  async listRuleSets(p: Principal, nextToken?: string): Promise<{ items: Array<{ name: string; createdAt: number }>; nextToken?: string }> {
    this.authorize(p, 'ses:ListReceiptRuleSets', '*');
    const r = await page((after, limit) => this.storage.receiptRuleSets.list(p.accountId, { after, limit }), nextToken, 100);
    return { items: r.items.map((x) => ({ name: x.name, createdAt: x.createdAt })), nextToken: r.nextToken };
  }

  /** SetActiveReceiptRuleSet: makes the set active; without a name, no set is (receiving is off). */
  async setActiveRuleSet(p: Principal, name: string | undefined): Promise<void> {
    if (name === undefined || name === '') {
      this.authorize(p, 'ses:SetActiveReceiptRuleSet', '*');
      await this.changeActive(p.accountId, undefined);
      return;
    }
    checkName(name, 'ruleSetName');
    this.authorize(p, 'ses:SetActiveReceiptRuleSet', this.ruleSetArn(p.accountId, name));
    await this.loadRuleSet(p.accountId, name);
    await this.changeActive(p.accountId, name);
  }

  /** DescribeActiveReceiptRuleSet: the active set, or undefined when there is none. */
  async describeActiveRuleSet(p: Principal): Promise<ReceiptRuleSetView | undefined> {
    this.authorize(p, 'ses:DescribeActiveReceiptRuleSet', '*');
    const name = await this.activeName(p.accountId);
    if (name === undefined) return undefined;
    const r = await this.storage.receiptRuleSets.get(p.accountId, name);
    return r ? view(r) : undefined;
  }

  /** ReorderReceiptRuleSet: `ruleNames` must name every rule of the set exactly once. */
  async reorderRuleSet(p: Principal, name: string, ruleNames: string[]): Promise<void> {
    checkName(name, 'ruleSetName');
    this.authorize(p, 'ses:ReorderReceiptRuleSet', this.ruleSetArn(p.accountId, name));
    await this.mutate(p.accountId, name, (rules) => {
      const byName = new Map(rules.map((r) => [r.name, r]));
      const seen = new Set<string>();
      for (const n of ruleNames) {
        if (!byName.has(n)) throw ruleMissing(n);
        if (seen.has(n)) throw badRequest(`RuleNames lists ${n} more than once.`);
        seen.add(n);
      }
      const left = rules.filter((r) => !seen.has(r.name)).map((r) => r.name);
      if (left.length > 0) throw badRequest(`RuleNames must list every rule of rule set ${name}; missing: ${left.join(', ')}.`);
      return ruleNames.map((n) => byName.get(n)!);
    });
  }

  // ---- rules -----------------------------------------------------------------------------------

  /** CreateReceiptRule: inserted after `after`, or first when `after` is absent (as SES). */
  async createRule(p: Principal, ruleSetName: string, input: ReceiptRuleInput | undefined, after?: string): Promise<void> {
    checkName(ruleSetName, 'ruleSetName');
    const v = new Violations();
    if (after !== undefined) v.name(after, 'after');
    ruleShape(input, v);
    v.throwIfAny();
    const rule = input!;
    serviceName(rule.name!, 'ruleName');
    this.authorize(p, 'ses:CreateReceiptRule', this.ruleArn(p.accountId, ruleSetName, rule.name!));
    await this.mutate(p.accountId, ruleSetName, async (rules) => {
      if (rules.some((r) => r.name === rule.name)) throw new SesError('AlreadyExistsException', `Rule already exists: ${rule.name}`, 'AlreadyExists');
      if (rules.length >= RECEIPT_LIMITS.rulesPerSet) throw new SesError('LimitExceededException', 'Too many rules', 'LimitExceeded');
      const at = after === undefined ? 0 : indexOf(rules, after) + 1;
      const checked = await this.checkRule(p.accountId, rule);
      return [...rules.slice(0, at), checked, ...rules.slice(at)];
    });
  }

  /** UpdateReceiptRule: replaces the whole rule (absent members take their defaults) in its place. */
  async updateRule(p: Principal, ruleSetName: string, input: ReceiptRuleInput | undefined): Promise<void> {
    checkName(ruleSetName, 'ruleSetName');
    const v = new Violations();
    ruleShape(input, v);
    v.throwIfAny();
    const rule = input!;
    serviceName(rule.name!, 'ruleName');
    this.authorize(p, 'ses:UpdateReceiptRule', this.ruleArn(p.accountId, ruleSetName, rule.name!));
    await this.mutate(p.accountId, ruleSetName, async (rules) => {
      const i = indexOf(rules, rule.name!);
      const checked = await this.checkRule(p.accountId, rule);
      return rules.map((r, j) => (j === i ? checked : r));
    });
  }

  /** DeleteReceiptRule: the rule set must exist; a rule that is not there is no error (as SES). */
  async deleteRule(p: Principal, ruleSetName: string, ruleName: string): Promise<void> {
    checkName(ruleSetName, 'ruleSetName');
    checkName(ruleName, 'ruleName');
    this.authorize(p, 'ses:DeleteReceiptRule', this.ruleArn(p.accountId, ruleSetName, ruleName));
    await this.mutate(p.accountId, ruleSetName, (rules) => (rules.some((r) => r.name === ruleName) ? rules.filter((r) => r.name !== ruleName) : undefined));
  }

  /** DescribeReceiptRule. */
  async describeRule(p: Principal, ruleSetName: string, ruleName: string): Promise<ReceiptRule> {
    checkName(ruleSetName, 'ruleSetName');
    checkName(ruleName, 'ruleName');
    this.authorize(p, 'ses:DescribeReceiptRule', this.ruleArn(p.accountId, ruleSetName, ruleName));
    const set = await this.loadRuleSet(p.accountId, ruleSetName);
    return set.rules[indexOf(set.rules, ruleName)]!;
  }

  /** SetReceiptRulePosition: moves the rule after `after`, or first; after itself changes nothing (as SES). */
  async setRulePosition(p: Principal, ruleSetName: string, ruleName: string, after?: string): Promise<void> {
    checkName(ruleSetName, 'ruleSetName');
    const v = new Violations();
    v.name(ruleName, 'ruleName');
    if (after !== undefined) v.name(after, 'after');
    v.throwIfAny();
    serviceName(ruleName, 'ruleName');
    this.authorize(p, 'ses:SetReceiptRulePosition', this.ruleArn(p.accountId, ruleSetName, ruleName));
    await this.mutate(p.accountId, ruleSetName, (rules) => {
      const i = indexOf(rules, ruleName);
      if (after === ruleName) return undefined;
      if (after !== undefined) indexOf(rules, after);
      const rest = rules.filter((_, j) => j !== i);
      const at = after === undefined ? 0 : indexOf(rest, after) + 1;
      return [...rest.slice(0, at), rules[i]!, ...rest.slice(at)];
    });
  }

  // ---- IP filters ------------------------------------------------------------------------------

  /** CreateReceiptFilter: AlreadyExists when the name is taken, LimitExceeded past 100. */
  async createFilter(p: Principal, input: ReceiptFilterInput | undefined): Promise<void> {
    const v = new Violations();
    if (!input) v.missing('filter');
    else {
      if (input.name === undefined) v.missing('filter.name');
      if (!input.ipFilter) v.missing('filter.ipFilter');
      else {
        if (input.ipFilter.policy === undefined) v.missing('filter.ipFilter.policy');
        else v.enumeration(input.ipFilter.policy, 'filter.ipFilter.policy', ['Allow', 'Block']);
        if (input.ipFilter.cidr === undefined) v.missing('filter.ipFilter.cidr');
      }
    }
    v.throwIfAny();
    const name = input!.name!;
    // Filter names have no Smithy pattern on SES: every malformed name gets one service-level message.
    if (name === '') throw badRequest('filterName must not be empty');
    if (!NAME_CHARS.test(name) || name.length > 64 || !ALNUM_ENDS.test(name)) throw badRequest(`Not a valid filterName: ${name}`);
    this.authorize(p, 'ses:CreateReceiptFilter', this.filterArn(p.accountId, name));
    const cidr = input!.ipFilter!.cidr!;
    if (!validCidr(cidr)) throw badRequest(`Invalid CIDR block: ${cidr}`);
    if ((await this.storage.receiptFilters.count(p.accountId)) >= RECEIPT_LIMITS.filters) throw new SesError('LimitExceededException', 'Too many filters', 'LimitExceeded');
    const now = this.clock.now();
    const data: ReceiptFilterData = { policy: input!.ipFilter!.policy as ReceiptFilterData['policy'], cidr };
    try {
      await this.storage.receiptFilters.create({ accountId: p.accountId, name, data: { ...data }, createdAt: now, updatedAt: now });
    } catch (err) {
      if (err instanceof StorageConflictError) throw new SesError('AlreadyExistsException', `Filter already exists: ${name}`, 'AlreadyExists');
      throw err;
    }
  }

  /** DeleteReceiptFilter: no error when absent (as SES). */
  async deleteFilter(p: Principal, name: string): Promise<void> {
    this.authorize(p, 'ses:DeleteReceiptFilter', this.filterArn(p.accountId, name));
    await this.storage.receiptFilters.delete(p.accountId, name);
  }

  /** ListReceiptFilters: every filter (at most 100), in name order. */
  async listFilters(p: Principal): Promise<Array<{ name: string } & ReceiptFilterData>> {
    this.authorize(p, 'ses:ListReceiptFilters', '*');
    return this.filters(p.accountId);
  }

  // ---- for the MX engine -----------------------------------------------------------------------

  /** The account's active rule set with its rules in order, or undefined when receiving is off (no authorization). */
  async activeRuleSet(accountId: string): Promise<{ name: string; rules: ReceiptRule[] } | undefined> {
    const name = await this.activeName(accountId);
    if (name === undefined) return undefined;
    const r = await this.storage.receiptRuleSets.get(accountId, name);
    return r ? { name, rules: (r.data as unknown as ReceiptRuleSetData).rules } : undefined;
  }

  /** The account's IP filters in name order (no authorization). */
  async filters(accountId: string): Promise<Array<{ name: string } & ReceiptFilterData>> {
    const rows = await this.storage.receiptFilters.list(accountId, { limit: 1000 });
    return rows.map((r) => ({ name: r.name, ...(r.data as unknown as ReceiptFilterData) }));
  }

  // ---- SendBounce ------------------------------------------------------------------------------

  /**
   * SendBounce: an RFC 3464 DSN from BounceSender (a verified identity) to the sender of a message
   * Sesame received in the last 24 hours, through the outbound pipeline. Returns its MessageId.
   */
  async sendBounce(p: Principal, input: SendBounceInput): Promise<string> {
    const now = this.clock.now();
    const v = new Violations();
    if (input.messageDsn && input.messageDsn.reportingMta === undefined) v.missing('messageDsn.reportingMta');
    extensionShape(input.messageDsn?.extensionFields, 'messageDsn.extensionFields', v);
    input.recipients.forEach((r, n) => {
      const path = `bouncedRecipientInfoList.${n + 1}.member`;
      if (r.recipient === undefined) v.missing(`${path}.recipient`);
      if (r.bounceType !== undefined) v.enumeration(r.bounceType, `${path}.bounceType`, Object.keys(BOUNCE_TYPES));
      if (r.dsnFields) {
        if (r.dsnFields.action === undefined) v.missing(`${path}.recipientDsnFields.action`);
        else v.enumeration(r.dsnFields.action, `${path}.recipientDsnFields.action`, DSN_ACTIONS);
        if (r.dsnFields.status === undefined) v.missing(`${path}.recipientDsnFields.status`);
        extensionShape(r.dsnFields.extensionFields, `${path}.recipientDsnFields.extensionFields`, v);
      }
    });
    v.throwIfAny();
    if (input.recipients.length === 0) throw badRequest('BouncedRecipientInfoList must hold at least one BouncedRecipientInfo.');

    const senderList = hasLineBreak(input.bounceSender) ? [] : parseAddressList(input.bounceSender);
    const checkedSender = senderList.length === 1 ? checkEmailAddress(senderList[0]!) : undefined;
    if (!checkedSender?.ok) throw badRequest(`Illegal address in BounceSender: <${input.bounceSender}>.`);
    const sender = checkedSender.value;
    const identity = await this.verifyingIdentity(p.accountId, sender);
    const scope = { region: this.settings.region, accountId: p.accountId };
    if (input.bounceSenderArn !== undefined && input.bounceSenderArn !== identityArn(scope, identity?.name ?? sender)) {
      throw badRequest(`Invalid BounceSenderArn <${input.bounceSenderArn}>: give the ARN of the verified identity of ${sender} in this account, or leave it out.`);
    }
    this.accounts.authorize(p, { action: 'ses:SendBounce', resource: identityArn(scope, identity?.name ?? sender), context: { 'ses:FromAddress': sender } });
    if (!identity) {
      throw new SesError('MessageRejected', `Email address is not verified. The following identities failed the check in region ${this.settings.region.toUpperCase()}: ${sender}`);
    }

    const recipients: DsnRecipient[] = [];
    for (const r of input.recipients) recipients.push(dsnRecipient(r));
    const explanation = input.explanation;
    if (explanation !== undefined && explanation.length > 10_000) throw badRequest('Explanation must be at most 10000 characters.');

    const original = await this.storage.queue.messageMeta(input.originalMessageId);
    const mail = original?.meta.mail as OriginalMail | undefined;
    if (!original || original.accountId !== p.accountId || !mail || now - original.createdAt > BOUNCE_WINDOW_MS) {
      throw new SesError('MessageRejected', `Message ${input.originalMessageId} was not found: SendBounce bounces mail received in the last 24 hours.`);
    }
    const returnPath = typeof mail.source === 'string' ? parseAddressList(mail.source)[0] : undefined;
    if (!returnPath) throw new SesError('MessageRejected', `Message ${input.originalMessageId} has no sender to bounce to (it came with the null reverse-path).`);
    // RFC 3464 §2.3.2: the bounced recipients are recipients of the original message.
    const known = originalRecipients(original.meta, mail);
    if (known.size > 0) {
      for (const r of input.recipients) {
        const candidates = [r.recipient!, r.dsnFields?.finalRecipient].filter((x): x is string => x !== undefined).map((x) => x.toLowerCase());
        if (!candidates.some((c) => known.has(c))) throw new SesError('MessageRejected', `${r.recipient} is not a recipient of message ${input.originalMessageId}.`);
      }
    }
    if (!accountSettings(await this.storage.accounts.get(p.accountId)).sendingEnabled) {
      throw new SesError('SendingPausedException', 'Sending is paused for this account.', 'AccountSendingPausedException');
    }

    const messageId = newMessageId(now);
    const raw = buildDsn({
      from: input.bounceSender.trim(),
      to: returnPath,
      reportingMta: input.messageDsn?.reportingMta ?? `dns; ${this.settings.hostname}`,
      arrivalDate: input.messageDsn?.arrivalDate ?? new Date(original.createdAt),
      extensionFields: extensionFields(input.messageDsn?.extensionFields),
      originalHeaders: (mail.headers ?? []).map((h) => `${h.name}: ${h.value}`).join('\r\n'),
      recipients,
      explanation,
      messageId: `${messageId}@${this.settings.hostname}`,
      date: new Date(now),
    });
    return this.sending.sendReport(p.accountId, { messageId, from: sender, to: returnPath, raw });
  }

  // ---- internals -------------------------------------------------------------------------------

  private authorize(p: Principal, action: string, resource: string): void {
    this.accounts.authorize(p, { action, resource });
  }

  /** `arn:aws:ses:<region>:<account>:receipt-rule-set/<name>`, as IAM names the resource. */
  private ruleSetArn(accountId: string, name: string): string {
    return `arn:aws:ses:${this.settings.region}:${accountId}:receipt-rule-set/${name}`;
  }

  private ruleArn(accountId: string, set: string, rule: string): string {
    return `${this.ruleSetArn(accountId, set)}:receipt-rule/${rule}`;
  }

  private filterArn(accountId: string, name: string): string {
    return `arn:aws:ses:${this.settings.region}:${accountId}:receipt-filter/${name}`;
  }

  private async insertRuleSet(accountId: string, name: string, rules: ReceiptRule[]): Promise<void> {
    if ((await this.storage.receiptRuleSets.count(accountId)) >= RECEIPT_LIMITS.ruleSets) throw new SesError('LimitExceededException', 'Too many rule sets', 'LimitExceeded');
    const now = this.clock.now();
    const data: ReceiptRuleSetData = { rules };
    try {
      await this.storage.receiptRuleSets.create({ accountId, name, data: { ...data }, createdAt: now, updatedAt: now });
    } catch (err) {
      if (err instanceof StorageConflictError) throw ruleSetExists(name);
      throw err;
    }
  }

  private async loadRuleSet(accountId: string, name: string): Promise<ReceiptRuleSetView> {
    const r = await this.storage.receiptRuleSets.get(accountId, name);
    if (!r) throw ruleSetMissing(name);
    return view(r);
  }

  /**
   * Read-modify-write of a rule set's rules by compare-and-swap on `updatedAt`, so that two
   * concurrent changes (two requests, two nodes) never lose one. `change` returns the new rules, or
   * undefined to change nothing.
   */
  private async mutate(accountId: string, name: string, change: (rules: ReceiptRule[]) => ReceiptRule[] | undefined | Promise<ReceiptRule[] | undefined>): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const r = await this.storage.receiptRuleSets.get(accountId, name);
      if (!r) throw ruleSetMissing(name);
      const rules = await change(structuredClone((r.data as unknown as ReceiptRuleSetData).rules));
      if (!rules) return;
      const data: ReceiptRuleSetData = { rules };
      const next: NamedRecord = { ...r, data: { ...data }, updatedAt: Math.max(this.clock.now(), r.updatedAt + 1) };
      if (await this.storage.receiptRuleSets.swap(next, r.updatedAt)) return;
    }
    throw new SesError('ConflictException', `Rule set ${name} is being changed concurrently; try again.`);
  }

  private async activeName(accountId: string): Promise<string | undefined> {
    const v = (await this.storage.accounts.get(accountId))?.settings[ACTIVE_RULE_SET_SETTING];
    return typeof v === 'string' && v !== '' ? v : undefined;
  }

  /** Sets or clears the active rule set's name in the account settings (compare-and-swap, as account-settings.ts). */
  private async changeActive(accountId: string, name: string | undefined): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const account = await this.storage.accounts.get(accountId);
      if (!account) throw new SesError('InternalServiceErrorException', `Account ${accountId} does not exist.`);
      const next: Record<string, unknown> = { ...account.settings };
      if (name === undefined) delete next[ACTIVE_RULE_SET_SETTING];
      else next[ACTIVE_RULE_SET_SETTING] = name;
      if (await this.storage.accounts.swapSettings(accountId, account.settings, next)) return;
    }
    throw new SesError('ConflictException', 'The account settings are being changed concurrently; try again.');
  }

  /**
   * The service-level checks of a rule whose shape passed: limits, recipients, one member per action,
   * each action's own values, and that every target exists. Returns the rule as stored, defaults filled in.
   */
  private async checkRule(accountId: string, input: ReceiptRuleInput): Promise<ReceiptRule> {
    const recipientsIn = input.recipients ?? [];
    const actionsIn = input.actions ?? [];
    if (recipientsIn.length > RECEIPT_LIMITS.recipientsPerRule) throw new SesError('LimitExceededException', 'Too many recipients', 'LimitExceeded');
    if (actionsIn.length > RECEIPT_LIMITS.actionsPerRule) throw new SesError('LimitExceededException', 'Too many actions', 'LimitExceeded');
    const recipients = recipientsIn.map(checkRecipient);
    const actions: ReceiptAction[] = [];
    for (const a of actionsIn) actions.push(await this.checkAction(accountId, a));
    return {
      name: input.name!,
      enabled: input.enabled ?? false,
      tlsPolicy: (input.tlsPolicy as ReceiptRule['tlsPolicy'] | undefined) ?? 'Optional',
      recipients,
      actions,
      scanEnabled: input.scanEnabled ?? false,
    };
  }

  private async checkAction(accountId: string, a: ReceiptActionInput): Promise<ReceiptAction> {
    const given = (Object.keys(a) as Array<keyof ReceiptActionInput>).filter((k) => a[k] !== undefined);
    if (given.length !== 1) {
      throw badRequest('Each receipt action must have exactly one of S3Action, SNSAction, LambdaAction, BounceAction, StopAction, AddHeaderAction, WorkmailAction.');
    }
    if (a.workmail) throw badRequest('WorkmailAction is not supported: Sesame has no Amazon WorkMail. Deliver with an S3Action, SNSAction or LambdaAction.');
    if (a.connect) throw badRequest('ConnectAction is not supported: Sesame has no Amazon Connect. Deliver with an S3Action, SNSAction or LambdaAction.');
    if (a.s3) {
      const s = a.s3;
      if (s.bucketName === '') throw badRequest('Bucket name must not be empty');
      if (!(await this.storage.buckets.get(accountId, s.bucketName!)) && !(await this.storage.externalBuckets.get(accountId, s.bucketName!))) throw new SesError('BadRequestException', `Could not write to bucket: ${s.bucketName}`, 'InvalidS3Configuration');
      if (s.kmsKeyArn !== undefined && !KMS_ARN.test(s.kmsKeyArn)) throw new SesError('BadRequestException', `Unable to use AWS KMS key: ${s.kmsKeyArn}`, 'InvalidS3Configuration');
      if (s.iamRoleArn !== undefined && !ROLE_ARN.test(s.iamRoleArn)) throw badRequest('Could not assume the provided IAM role');
      if (s.objectKeyPrefix !== undefined && (s.objectKeyPrefix.length > 1024 || hasLineBreak(s.objectKeyPrefix))) throw badRequest(`Invalid ObjectKeyPrefix: ${s.objectKeyPrefix}`);
      await this.checkTopic(accountId, s.topicArn);
      return { s3: compact({ bucketName: s.bucketName!, objectKeyPrefix: s.objectKeyPrefix, kmsKeyArn: s.kmsKeyArn, topicArn: s.topicArn, iamRoleArn: s.iamRoleArn }) };
    }
    if (a.sns) {
      await this.checkTopic(accountId, a.sns.topicArn);
      // SES stores the default encoding: Describe returns UTF-8 though it was never sent.
      return { sns: { topicArn: a.sns.topicArn!, encoding: (a.sns.encoding as 'UTF-8' | 'Base64' | undefined) ?? 'UTF-8' } };
    }
    if (a.lambda) {
      const arn = a.lambda.functionArn!;
      if (arn === '') throw badRequest('Lambda function ARN must not be empty');
      const m = LAMBDA_ARN.exec(arn);
      if (!m) throw new SesError('BadRequestException', `Invalid Lambda function: ${arn}`, 'InvalidLambdaFunction');
      if (m[1] !== this.settings.region || m[2] !== accountId || !(await this.storage.functions.get(accountId, m[3]!))) {
        throw new SesError('BadRequestException', `Could not invoke Lambda function: ${arn}`, 'InvalidLambdaFunction');
      }
      await this.checkTopic(accountId, a.lambda.topicArn);
      return { lambda: compact({ functionArn: arn, invocationType: (a.lambda.invocationType as 'Event' | 'RequestResponse' | undefined) ?? 'Event', topicArn: a.lambda.topicArn }) };
    }
    if (a.bounce) {
      const b = a.bounce;
      // A bounce refuses the message (RFC 5321 §4.2.1): a 4xx or 5xx reply, and an enhanced status (RFC 3463) of the same class.
      if (!SMTP_REPLY.test(b.smtpReplyCode!)) throw badRequest(`Invalid SMTP reply code: ${b.smtpReplyCode}`);
      if (b.statusCode !== undefined && (!ENHANCED_STATUS.test(b.statusCode) || b.statusCode[0] !== b.smtpReplyCode![0])) throw badRequest(`Invalid SMTP status code: ${b.statusCode}`);
      if (b.message === '' || hasLineBreak(b.message!) || b.message!.length > 1000) throw badRequest(`Invalid SMTP response message: ${b.message}`);
      const sender = checkEmailAddress(b.sender!);
      if (!sender.ok) throw badRequest(`Invalid email address: ${b.sender}`);
      if (!(await this.verifyingIdentity(accountId, sender.value))) throw badRequest(`Identity is not verified: ${b.sender}`);
      await this.checkTopic(accountId, b.topicArn);
      return { bounce: compact({ smtpReplyCode: b.smtpReplyCode!, statusCode: b.statusCode, message: b.message!, sender: b.sender!, topicArn: b.topicArn }) };
    }
    if (a.stop) {
      await this.checkTopic(accountId, a.stop.topicArn);
      return { stop: compact({ scope: 'RuleSet' as const, topicArn: a.stop.topicArn }) };
    }
    const h = a.addHeader!;
    if (!HEADER_NAME.test(h.headerName!)) throw badRequest(`Invalid header name: ${h.headerName}`);
    if (h.headerValue!.length > 2048 || hasLineBreak(h.headerValue!)) throw badRequest(`Invalid header value for ${h.headerName}: at most 2048 characters, without line breaks.`);
    return { addHeader: { headerName: h.headerName!, headerValue: h.headerValue! } };
  }

  /** A TopicArn, when given, must be a topic of this account and region (SES: InvalidSnsTopic). */
  private async checkTopic(accountId: string, arn: string | undefined): Promise<void> {
    if (arn === undefined) return;
    const m = SNS_ARN.exec(arn);
    if (!m) throw new SesError('BadRequestException', `Invalid SNS topic: ${arn}`, 'InvalidSnsTopic');
    if (m[1] !== this.settings.region || m[2] !== accountId || !(await this.storage.topics.get(accountId, m[3]!))) {
      throw new SesError('BadRequestException', `Could not publish to SNS topic: ${arn}`, 'InvalidSnsTopic');
    }
  }

  /** The verified identity that lets `address` send: the address, its domain, or a parent domain. */
  private async verifyingIdentity(accountId: string, address: string): Promise<Identity | undefined> {
    const candidates = [address];
    const labels = address.slice(address.lastIndexOf('@') + 1).split('.');
    for (let i = 0; i < labels.length - 1; i++) candidates.push(labels.slice(i).join('.'));
    for (const name of candidates) {
      const r = await this.storage.identities.get(accountId, name);
      if (r && r.verificationStatus === 'SUCCESS') return fromRecord(r);
    }
    return undefined;
  }
}

/** What SendBounce reads of the original message's SES `mail` object (stored in the message's meta). */
interface OriginalMail {
  source?: string;
  destination?: string[];
  headers?: Array<{ name: string; value: string }>;
}

/** Every known recipient of the original (header destinations and envelope recipients), lower-cased. */
function originalRecipients(meta: Record<string, unknown>, mail: OriginalMail): Set<string> {
  const out = new Set<string>();
  const add = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const x of list) if (typeof x === 'string') for (const a of parseAddressList(x)) out.add(a.toLowerCase());
  };
  add(mail.destination);
  add((meta.receipt as { recipients?: unknown } | undefined)?.recipients);
  add(meta.recipients);
  return out;
}

/** A SendBounce recipient as a DSN block: from BounceType's preset, or the given RecipientDsnFields. */
function dsnRecipient(r: BouncedRecipientInput): DsnRecipient {
  const address = r.recipient!;
  const checked = checkEmailAddress(address);
  if (!checked.ok) throw badRequest(`Illegal address in BouncedRecipientInfo: <${address}> (${checked.reason}).`);
  if (r.dsnFields) {
    const f = r.dsnFields;
    if (!ENHANCED_STATUS.test(f.status!)) throw badRequest(`Invalid status code: ${f.status}. Use an RFC 3463 enhanced status code such as 5.1.1.`);
    for (const [label, value] of [['FinalRecipient', f.finalRecipient], ['RemoteMta', f.remoteMta], ['DiagnosticCode', f.diagnosticCode]] as const) {
      if (value !== undefined && (hasLineBreak(value) || value.length > 2048)) throw badRequest(`Invalid ${label}: at most 2048 characters, without line breaks.`);
    }
    return {
      address,
      action: f.action as DsnRecipient['action'],
      status: f.status!,
      ...(f.finalRecipient ? { finalRecipient: f.finalRecipient } : {}),
      ...(f.remoteMta ? { remoteMta: f.remoteMta } : {}),
      ...(f.diagnosticCode ? { diagnostic: f.diagnosticCode } : {}),
      ...(f.lastAttemptDate ? { lastAttemptDate: f.lastAttemptDate } : {}),
      ...(f.extensionFields?.length ? { extensionFields: extensionFields(f.extensionFields) } : {}),
    };
  }
  if (r.bounceType === undefined) throw badRequest(`BouncedRecipientInfo of ${address} needs a BounceType or RecipientDsnFields.`);
  const preset = BOUNCE_TYPES[r.bounceType]!;
  return { address, action: preset.action, status: preset.status, diagnostic: preset.diagnostic };
}

/** Extension fields checked as SES's ExtensionField describes them: name 1–50 letters, digits, dashes; value ≤ 2048 on one line. */
function extensionFields(list: ExtensionFieldInput[] | undefined): DsnExtensionField[] | undefined {
  if (!list || list.length === 0) return undefined;
  return list.map((x) => {
    if (!HEADER_NAME.test(x.name!)) throw badRequest(`Invalid extension field name: ${x.name}`);
    if (x.value!.length > 2048 || hasLineBreak(x.value!)) throw badRequest(`Invalid value of extension field ${x.name}: at most 2048 characters, without line breaks.`);
    return { name: x.name!, value: x.value! };
  });
}

function extensionShape(list: ExtensionFieldInput[] | undefined, path: string, v: Violations): void {
  (list ?? []).forEach((x, n) => {
    if (x.name === undefined) v.missing(`${path}.${n + 1}.member.name`);
    if (x.value === undefined) v.missing(`${path}.${n + 1}.member.value`);
  });
}

/**
 * A rule's shape as SES's model constrains it (Smithy: not-null members, the name pattern, enums),
 * with SES's member paths: `rule.actions.<n>.member.sNSAction.topicArn`.
 */
function ruleShape(rule: ReceiptRuleInput | undefined, v: Violations): void {
  if (!rule) {
    v.missing('rule');
    return;
  }
  if (rule.name === undefined) v.missing('rule.name');
  else v.name(rule.name, 'rule.name');
  if (rule.tlsPolicy !== undefined) v.enumeration(rule.tlsPolicy, 'rule.tlsPolicy', ['Optional', 'Require']);
  (rule.actions ?? []).forEach((a, n) => {
    const at = (member: string) => `rule.actions.${n + 1}.member.${member}`;
    const req = (value: unknown, member: string) => {
      if (value === undefined) v.missing(at(member));
    };
    if (a.s3) req(a.s3.bucketName, 's3Action.bucketName');
    if (a.sns) {
      if (a.sns.encoding !== undefined) v.enumeration(a.sns.encoding, at('sNSAction.encoding'), ['Base64', 'UTF-8']);
      req(a.sns.topicArn, 'sNSAction.topicArn');
    }
    if (a.lambda) {
      req(a.lambda.functionArn, 'lambdaAction.functionArn');
      if (a.lambda.invocationType !== undefined) v.enumeration(a.lambda.invocationType, at('lambdaAction.invocationType'), ['RequestResponse', 'Event']);
    }
    if (a.bounce) {
      req(a.bounce.smtpReplyCode, 'bounceAction.smtpReplyCode');
      req(a.bounce.sender, 'bounceAction.sender');
      req(a.bounce.message, 'bounceAction.message');
    }
    if (a.stop) {
      if (a.stop.scope === undefined) v.missing(at('stopAction.scope'));
      else v.enumeration(a.stop.scope, at('stopAction.scope'), ['RuleSet']);
    }
    if (a.addHeader) {
      req(a.addHeader.headerName, 'addHeaderAction.headerName');
      req(a.addHeader.headerValue, 'addHeaderAction.headerValue');
    }
    if (a.workmail) req(a.workmail.organizationArn, 'workmailAction.organizationArn');
    if (a.connect) {
      req(a.connect.instanceArn, 'connectAction.instanceARN');
      req(a.connect.iamRoleArn, 'connectAction.iAMRoleARN');
    }
  });
}

/** Smithy-style violations collected into one `ValidationError`, worded as AWS words them. */
class Violations {
  private readonly list: string[] = [];

  missing(path: string): void {
    this.list.push(`Value null at '${path}' failed to satisfy constraint: Member must not be null`);
  }

  enumeration(value: string, path: string, allowed: string[]): void {
    if (!allowed.includes(value)) this.list.push(`Value '${value}' at '${path}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`);
  }

  /** The name pattern (and, for an empty name, the length constraint). */
  name(value: string, path: string): void {
    if (value === '') this.list.push(`Value '' at '${path}' failed to satisfy constraint: Member must have length greater than or equal to 1`);
    if (!NAME_CHARS.test(value)) this.list.push(`Value '${value}' at '${path}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${NAME_PATTERN}`);
  }

  throwIfAny(): void {
    const n = this.list.length;
    if (n === 0) return;
    throw new SesError('BadRequestException', `${n} validation error${n === 1 ? '' : 's'} detected: ${this.list.join('; ')}`, 'ValidationError');
  }
}

/** A rule set or rule name: SES's pattern (ValidationError), then its length and alphanumeric ends (InvalidParameterValue). */
function checkName(value: string, path: string): void {
  const v = new Violations();
  v.name(value, path);
  v.throwIfAny();
  serviceName(value, path);
}

/** SES's service-level name check, after the pattern passed: "Not a valid ruleSetName: x". */
function serviceName(value: string, path: string): void {
  if (value.length > 64 || !ALNUM_ENDS.test(value)) throw badRequest(`Not a valid ${path}: ${value}`);
}

/**
 * A rule recipient: an address, a domain, or a domain with a leading '.' (its subdomains). Stored
 * normalised (domain parts lower-case, IDNs in Punycode) so that the MX engine matches them as given.
 */
function checkRecipient(r: string): string {
  if (r.includes('@')) {
    const c = checkEmailAddress(r);
    if (!c.ok) throw badRequest(`Invalid recipient: ${r} (${c.reason}).`);
    return c.value;
  }
  const sub = r.startsWith('.');
  const c = checkDomain(sub ? r.slice(1) : r);
  if (!c.ok) throw badRequest(`Invalid recipient: ${r} (${c.reason}).`);
  return sub ? `.${c.value}` : c.value;
}

/** A single IPv4 or IPv6 address or a CIDR block with an in-range prefix (zone ids and embedded IPv4 in IPv6 refused, as SES). */
export function validCidr(s: string): boolean {
  const slash = s.indexOf('/');
  const address = slash < 0 ? s : s.slice(0, slash);
  const version = isIP(address);
  if (version === 0 || address.includes('%')) return false;
  if (version === 6 && address.includes('.')) return false;
  if (slash < 0) return true;
  const prefix = s.slice(slash + 1);
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

function indexOf(rules: ReceiptRule[], name: string): number {
  const i = rules.findIndex((r) => r.name === name);
  if (i < 0) throw ruleMissing(name);
  return i;
}

function view(r: NamedRecord): ReceiptRuleSetView {
  return { name: r.name, createdAt: r.createdAt, rules: (r.data as unknown as ReceiptRuleSetData).rules };
}

function ruleSetMissing(name: string): SesError {
  return notFound(`Rule set does not exist: ${name}`, 'RuleSetDoesNotExist');
}

function ruleMissing(name: string): SesError {
  return notFound(`Rule does not exist: ${name}`, 'RuleDoesNotExist');
}

function ruleSetExists(name: string): SesError {
  return new SesError('AlreadyExistsException', `Rule set already exists: ${name}`, 'AlreadyExists');
}

/** The object without its undefined members (stored documents stay minimal). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
