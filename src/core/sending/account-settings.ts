/**
 * Sending settings of an account, stored in AccountRecord.settings, and the operations on them
 * (SES v2 GetAccount, PutAccountSendingAttributes, PutAccountDetails, PutAccountSuppressionAttributes;
 * v1 GetSendQuota, GetSendStatistics, Get/UpdateAccountSendingEnabled). Defaults suit a self-hosted
 * install whose operator owns the machine: production access on, no daily quota (-1, as SES spells
 * "unlimited") and no rate cap. The operator is the reviewer of production-access requests:
 * PutAccountDetails records one, `sesame account set --production-access on` grants it.
 */
import type { AccountRecord, Storage } from '../../storage/ports.ts';
import type { AccountsService, Principal } from '../accounts/service.ts';
import type { Clock } from '../clock.ts';
import { checkReasons, type SuppressionReason } from '../configuration-sets/service.ts';
import { badRequest, SesError } from '../errors.ts';
import { newToken } from '../../lib/ids.ts';

/** Details given with PutAccountDetails. */
export interface AccountDetails {
  mailType: 'MARKETING' | 'TRANSACTIONAL';
  websiteURL: string;
  contactLanguage?: 'EN' | 'JA';
  useCaseDescription?: string;
  additionalContactEmailAddresses?: string[];
  review?: { caseId: string; status: 'PENDING' | 'GRANTED' | 'DENIED' | 'FAILED' };
}

/** The settings the sending pipeline reads. */
export interface AccountSendingSettings {
  sendingEnabled: boolean;
  productionAccessEnabled: boolean;
  /** Recipients per rolling 24 hours; -1 for unlimited. */
  max24HourSend: number;
  /** Recipients per second; -1 for unlimited. */
  maxSendRate: number;
  /** Which reasons put and keep addresses on the account suppression list. */
  suppressedReasons: SuppressionReason[];
  details?: AccountDetails;
  /**
   * SES's GetAccount.EnforcementStatus, kept by reputation enforcement: PROBATION once a rate passes
   * the review threshold, SHUTDOWN when it passed the pause threshold and sending was paused.
   */
  enforcementStatus: EnforcementStatus;
  /** Reputation rates count events from this time on (ms): set when the operator resumes a shut-down account. */
  reputationSince?: number;
}

/** SES v2 EnforcementStatus values. */
export type EnforcementStatus = 'HEALTHY' | 'PROBATION' | 'SHUTDOWN';

/** SES's sandbox quotas: 200 recipients per 24 hours, 1 per second. */
export const SANDBOX_QUOTA = { max24HourSend: 200, maxSendRate: 1 } as const;

/** Reads an account's settings with defaults filled in. */
export function accountSettings(account: AccountRecord | undefined): AccountSendingSettings {
  const s = (account?.settings ?? {}) as Partial<AccountSendingSettings>;
  return {
    sendingEnabled: s.sendingEnabled ?? true,
    productionAccessEnabled: s.productionAccessEnabled ?? true,
    max24HourSend: s.max24HourSend ?? -1,
    maxSendRate: s.maxSendRate ?? -1,
    suppressedReasons: s.suppressedReasons ?? ['BOUNCE', 'COMPLAINT'],
    ...(s.details ? { details: s.details } : {}),
    enforcementStatus: s.enforcementStatus ?? 'HEALTHY',
    ...(s.reputationSince !== undefined ? { reputationSince: s.reputationSince } : {}),
  };
}

/** One 15-minute data point of v1 GetSendStatistics. */
export interface SendDataPoint {
  timestamp: number;
  deliveryAttempts: number;
  bounces: number;
  complaints: number;
  rejects: number;
}

/** What an operator may change with `sesame account set`. */
export type OperatorChange = Partial<Pick<AccountSendingSettings, 'sendingEnabled' | 'productionAccessEnabled' | 'max24HourSend' | 'maxSendRate'>>;

const FIFTEEN_MINUTES = 15 * 60_000;
const TWO_WEEKS = 14 * 86_400_000;

/** Account-level settings service. */
export class AccountSettingsService {
  constructor(
    private readonly storage: Storage,
    private readonly accounts: AccountsService,
    private readonly clock: Clock,
  ) {}

  /** The settings of an account (no authorization: for core and the operator CLI). */
  async read(accountId: string): Promise<AccountSendingSettings> {
    return accountSettings(await this.storage.accounts.get(accountId));
  }

  /** GetAccount's data: settings plus recipients sent in the last 24 hours. */
  async getAccount(p: Principal, action = 'ses:GetAccount'): Promise<AccountSendingSettings & { sentLast24Hours: number; quota: { max24HourSend: number; maxSendRate: number } }> {
    this.accounts.authorize(p, { action, resource: '*' });
    const s = await this.read(p.accountId);
    return { ...s, sentLast24Hours: await this.storage.queue.sentSince(p.accountId, this.clock.now() - 86_400_000), quota: effectiveQuota(s) };
  }

  /** PutAccountSendingAttributes / v1 UpdateAccountSendingEnabled. */
  async putSendingEnabled(p: Principal, enabled: unknown, action = 'ses:PutAccountSendingAttributes'): Promise<void> {
    this.accounts.authorize(p, { action, resource: '*' });
    if (enabled !== undefined && typeof enabled !== 'boolean') throw badRequest('SendingEnabled must be true or false.');
    if (enabled === true && (await this.read(p.accountId)).enforcementStatus === 'SHUTDOWN') {
      // As on SES, an account paused for its reputation is not resumed by the account itself.
      throw new SesError('ConflictException', 'Sending was paused because the bounce or complaint rate passed the pause threshold; the operator resumes it with `sesame account set --sending on`.');
    }
    await this.change(p.accountId, { sendingEnabled: enabled ?? false });
  }

  /** PutAccountSuppressionAttributes. */
  async putSuppressedReasons(p: Principal, reasons: unknown): Promise<void> {
    this.accounts.authorize(p, { action: 'ses:PutAccountSuppressionAttributes', resource: '*' });
    const list = reasons ?? [];
    checkReasons(list);
    await this.change(p.accountId, { suppressedReasons: [...new Set(list)] });
  }

  /**
   * PutAccountDetails: records the account's use case. Asking for production access opens a review
   * (PENDING) that the operator grants with `sesame account set --production-access on`; an account
   * that already has production access keeps it.
   */
  async putDetails(p: Principal, d: Omit<AccountDetails, 'review'> & { productionAccessEnabled?: boolean }): Promise<void> {
    this.accounts.authorize(p, { action: 'ses:PutAccountDetails', resource: '*' });
    if (d.mailType !== 'MARKETING' && d.mailType !== 'TRANSACTIONAL') throw badRequest('MailType must be MARKETING or TRANSACTIONAL.');
    if (typeof d.websiteURL !== 'string' || !/^https?:\/\/\S+$/i.test(d.websiteURL) || d.websiteURL.length > 1000) throw badRequest('WebsiteURL must be an http or https URL of at most 1000 characters.');
    if (d.contactLanguage !== undefined && d.contactLanguage !== 'EN' && d.contactLanguage !== 'JA') throw badRequest('ContactLanguage must be EN or JA.');
    if (d.useCaseDescription !== undefined && (typeof d.useCaseDescription !== 'string' || d.useCaseDescription.length > 5000)) throw badRequest('UseCaseDescription must be at most 5000 characters.');
    const extra = d.additionalContactEmailAddresses;
    if (extra !== undefined && (!Array.isArray(extra) || extra.length > 4 || !extra.every((e) => typeof e === 'string' && /^[^@\s]+@[^@\s]+$/.test(e)))) {
      throw badRequest('AdditionalContactEmailAddresses must be a list of at most 4 email addresses.');
    }
    const s = await this.read(p.accountId);
    if (s.details?.review?.status === 'PENDING' && d.productionAccessEnabled) throw new SesError('ConflictException', 'A review of this account\'s production access request is already in progress.');
    const review: AccountDetails['review'] = s.productionAccessEnabled
      ? { caseId: s.details?.review?.caseId ?? newToken(16), status: 'GRANTED' }
      : d.productionAccessEnabled
        ? { caseId: newToken(16), status: 'PENDING' }
        : s.details?.review;
    const details: AccountDetails = { mailType: d.mailType, websiteURL: d.websiteURL };
    if (d.contactLanguage) details.contactLanguage = d.contactLanguage;
    if (d.useCaseDescription) details.useCaseDescription = d.useCaseDescription;
    if (extra) details.additionalContactEmailAddresses = extra;
    if (review) details.review = review;
    await this.change(p.accountId, { details });
  }

  /** The operator's changes (`sesame account set`); granting production access closes a pending review. */
  async operatorSet(accountId: string, change: OperatorChange): Promise<AccountSendingSettings> {
    const s = await this.read(accountId);
    const patch: Partial<AccountSendingSettings> = { ...change };
    // The operator resuming a shut-down account starts its reputation afresh (else the old rates
    // would pause it again at once).
    if (change.sendingEnabled === true && s.enforcementStatus !== 'HEALTHY') Object.assign(patch, { enforcementStatus: 'HEALTHY', reputationSince: this.clock.now() });
    if (change.productionAccessEnabled === true && s.details?.review) patch.details = { ...s.details, review: { ...s.details.review, status: 'GRANTED' } };
    if (change.productionAccessEnabled === false && s.details?.review?.status === 'GRANTED') patch.details = { ...s.details, review: { ...s.details.review, status: 'DENIED' } };
    await this.change(accountId, patch);
    return this.read(accountId);
  }

  /** v1 GetSendQuota. */
  async sendQuota(p: Principal): Promise<{ max24HourSend: number; maxSendRate: number; sentLast24Hours: number }> {
    const a = await this.getAccount(p, 'ses:GetSendQuota');
    return { ...a.quota, sentLast24Hours: a.sentLast24Hours };
  }

  /** v1 GetSendStatistics: 15-minute data points of the last two weeks, oldest first. */
  async sendStatistics(p: Principal): Promise<SendDataPoint[]> {
    this.accounts.authorize(p, { action: 'ses:GetSendStatistics', resource: '*' });
    const since = this.clock.now() - TWO_WEEKS;
    const points = new Map<number, SendDataPoint>();
    const at = (t: number) => {
      let d = points.get(t);
      if (!d) points.set(t, (d = { timestamp: t, deliveryAttempts: 0, bounces: 0, complaints: 0, rejects: 0 }));
      return d;
    };
    for (const c of await this.storage.queue.sendCounts(p.accountId, since)) at(c.bucketStart).deliveryAttempts += c.recipients;
    for (const c of await this.storage.queue.eventCounts(p.accountId, since, FIFTEEN_MINUTES, ['Bounce', 'Complaint', 'Reject'])) {
      const d = at(c.bucketStart);
      if (c.type === 'Bounce') d.bounces += c.count;
      else if (c.type === 'Complaint') d.complaints += c.count;
      else d.rejects += c.count;
    }
    return [...points.values()].sort((a, b) => a.timestamp - b.timestamp);
  }

  /**
   * The console's activity chart: events of the last `hours` hours by type (Send, Delivery, Bounce,
   * Complaint, Reject, Open, Click), in one-hour buckets, oldest first; hours without events are zeros.
   */
  async activity(p: Principal, hours: number): Promise<{ bucketMs: number; buckets: number[]; series: Record<string, number[]> }> {
    this.accounts.authorize(p, { action: 'ses:GetSendStatistics', resource: '*' });
    const HOUR = 3_600_000;
    const first = Math.floor(this.clock.now() / HOUR) * HOUR - (hours - 1) * HOUR;
    const buckets = Array.from({ length: hours }, (_, k) => first + k * HOUR);
    const types = ['Send', 'Delivery', 'Bounce', 'Complaint', 'Reject', 'Open', 'Click'];
    const series: Record<string, number[]> = Object.fromEntries(types.map((t) => [t, buckets.map(() => 0)]));
    for (const c of await this.storage.queue.eventCounts(p.accountId, first, HOUR, types)) {
      const k = Math.floor((c.bucketStart - first) / HOUR);
      if (k >= 0 && k < hours) series[c.type]![k]! += c.count;
    }
    return { bucketMs: HOUR, buckets, series };
  }

  /**
   * Reputation enforcement's verdict: records the status and, with `pause`, pauses sending in the
   * same change. Returns whether anything changed.
   */
  async enforce(accountId: string, status: EnforcementStatus, pause: boolean): Promise<boolean> {
    const s = await this.read(accountId);
    if (s.enforcementStatus === status && (!pause || !s.sendingEnabled)) return false;
    await this.change(accountId, pause ? { enforcementStatus: status, sendingEnabled: false } : { enforcementStatus: status });
    return true;
  }

  private async change(accountId: string, patch: Partial<AccountSendingSettings>): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const account = await this.storage.accounts.get(accountId);
      if (!account) throw new SesError('InternalServiceErrorException', `Account ${accountId} does not exist.`);
      if (await this.storage.accounts.swapSettings(accountId, account.settings, { ...account.settings, ...patch })) return;
    }
    throw new SesError('ConflictException', 'The account settings are being changed concurrently; try again.');
  }
}

/** The quota that applies: the sandbox's while the account has no production access. */
export function effectiveQuota(s: AccountSendingSettings): { max24HourSend: number; maxSendRate: number } {
  if (s.productionAccessEnabled) return { max24HourSend: s.max24HourSend, maxSendRate: s.maxSendRate };
  const cap = (v: number, sandbox: number) => (v < 0 ? sandbox : Math.min(v, sandbox));
  return { max24HourSend: cap(s.max24HourSend, SANDBOX_QUOTA.max24HourSend), maxSendRate: cap(s.maxSendRate, SANDBOX_QUOTA.maxSendRate) };
}
