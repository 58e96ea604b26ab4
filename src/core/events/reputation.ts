/**
 * Reputation enforcement, as SES describes it (developer guide "faqs-enforcement"): the hard-bounce
 * rate and the complaint rate of an account over a window of its recent sending. A rate at the
 * review threshold puts the account on PROBATION (SES: "under review"); at the pause threshold the
 * account is SHUTDOWN and its sending paused, when auto-pause is on. Only the operator resumes a
 * shut-down account (`sesame account set --sending on`), which also starts its rates afresh.
 * Per-configuration-set rates are computed for sets with ReputationMetricsEnabled and exported as
 * metrics; as on SES, pausing a set on them is the user's decision (PutConfigurationSetSendingOptions).
 */
import type { Logger } from '../../observability/logger.ts';
import type { Principal } from '../accounts/service.ts';
import type { Storage } from '../../storage/ports.ts';
import type { Clock } from '../clock.ts';
import type { AccountSettingsService, EnforcementStatus } from '../sending/account-settings.ts';

/** Thresholds and window (configuration). */
export interface ReputationSettings {
  windowMs: number;
  /** Fewer sends than this in the window are not a representative volume: no verdict. */
  minSends: number;
  bounceReview: number;
  bouncePause: number;
  complaintReview: number;
  complaintPause: number;
  autoPause: boolean;
}

/** Rates of an account or configuration set. */
export interface ReputationRates {
  sends: number;
  bounceRate: number;
  complaintRate: number;
}

/** An account's reputation as its owner sees it (the console's overview): rates against the thresholds. */
export interface ReputationOverview extends ReputationRates {
  enforcementStatus: EnforcementStatus;
  /** The window the rates cover (ms) and the volume below which no verdict is given. */
  windowMs: number;
  minSends: number;
  thresholds: { bounceReview: number; bouncePause: number; complaintReview: number; complaintPause: number };
  /** Whether reaching a pause threshold pauses sending by itself. */
  autoPause: boolean;
}

/** Receives the rates computed (Prometheus gauges in main). */
export type RatesObserver = (accountId: string, configurationSet: string, rates: ReputationRates) => void;

/** The reputation service. */
export class ReputationService {
  constructor(
    private readonly storage: Storage,
    private readonly accountSettings: AccountSettingsService,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly settings: ReputationSettings,
    private readonly observe: RatesObserver = () => {},
  ) {}

  /** Rates of an account ('' set) or of one of its configuration sets, over the window. */
  async rates(accountId: string, configurationSet = '', since?: number): Promise<ReputationRates> {
    const from = Math.max(this.clock.now() - this.settings.windowMs, since ?? 0);
    const t = await this.storage.reputation.totals(accountId, configurationSet, from);
    return { sends: t.sends, bounceRate: t.sends > 0 ? t.hardBounces / t.sends : 0, complaintRate: t.sends > 0 ? t.complaints / t.sends : 0 };
  }

  /** The caller's account: its rates over the window (since its last resume) and the thresholds they are judged by; needs `ses:GetAccount`. */
  async overview(p: Principal): Promise<ReputationOverview> {
    const account = await this.accountSettings.getAccount(p);
    const r = await this.rates(p.accountId, '', account.reputationSince);
    const s = this.settings;
    return {
      ...r,
      enforcementStatus: account.enforcementStatus,
      windowMs: s.windowMs,
      minSends: s.minSends,
      thresholds: { bounceReview: s.bounceReview, bouncePause: s.bouncePause, complaintReview: s.complaintReview, complaintPause: s.complaintPause },
      autoPause: s.autoPause,
    };
  }

  /** Re-evaluates the accounts (and configuration sets) whose counters changed. */
  async evaluate(changed: Map<string, Set<string>>): Promise<void> {
    for (const [accountId, sets] of changed) {
      const account = await this.accountSettings.read(accountId);
      const r = await this.rates(accountId, '', account.reputationSince);
      this.observe(accountId, '', r);
      for (const set of sets) {
        if (set === '') continue;
        const rec = await this.storage.configurationSets.get(accountId, set);
        if ((rec?.data as { reputation?: { reputationMetricsEnabled?: boolean } } | undefined)?.reputation?.reputationMetricsEnabled) this.observe(accountId, set, await this.rates(accountId, set));
      }
      if (r.sends < this.settings.minSends || account.enforcementStatus === 'SHUTDOWN') continue;
      const s = this.settings;
      const overPause = r.bounceRate >= s.bouncePause || r.complaintRate >= s.complaintPause;
      const overReview = r.bounceRate >= s.bounceReview || r.complaintRate >= s.complaintReview;
      const status: EnforcementStatus = overPause && s.autoPause ? 'SHUTDOWN' : overPause || overReview ? 'PROBATION' : 'HEALTHY';
      if (status === account.enforcementStatus) continue;
      await this.accountSettings.enforce(accountId, status, status === 'SHUTDOWN');
      const figures = `bounce rate ${(r.bounceRate * 100).toFixed(2)} %, complaint rate ${(r.complaintRate * 100).toFixed(3)} % over ${r.sends} recipients`;
      if (status === 'SHUTDOWN') {
        this.logger.warn({ code: 'REPUTATION_SENDING_PAUSED', accountId, ...r }, `sending paused for account ${accountId}: ${figures} passed the pause threshold; resume with sesame account set --sending on`);
      } else if (status === 'PROBATION') {
        this.logger.warn({ code: 'REPUTATION_UNDER_REVIEW', accountId, ...r }, `account ${accountId} is under review: ${figures} passed the review threshold`);
      } else {
        this.logger.info({ code: 'REPUTATION_HEALTHY', accountId, ...r }, `account ${accountId} is healthy again: ${figures}`);
      }
    }
  }
}
