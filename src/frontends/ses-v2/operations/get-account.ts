/**
 * GetAccount: `GET /v2/email/account`. SendQuota is the quota that applies (the sandbox's while the
 * account has no production access); -1 means unlimited, as SES spells it. Dedicated IPs and
 * warm-up is an AWS-side notion (off); EnforcementStatus is what reputation enforcement decided.
 */
import type { V2Operation } from '../router.ts';

/** The operation. */
export const getAccount: V2Operation = {
  name: 'GetAccount',
  method: 'GET',
  path: '/v2/email/account',
  async handler({ core, principal }) {
    const a = await core.accountSettings.getAccount(principal);
    const out: Record<string, unknown> = {
      DedicatedIpAutoWarmupEnabled: false,
      EnforcementStatus: a.enforcementStatus,
      ProductionAccessEnabled: a.productionAccessEnabled,
      SendQuota: { Max24HourSend: a.quota.max24HourSend, MaxSendRate: a.quota.maxSendRate, SentLast24Hours: a.sentLast24Hours },
      SendingEnabled: a.sendingEnabled,
      SuppressionAttributes: { SuppressedReasons: a.suppressedReasons },
    };
    const d = a.details;
    if (d) {
      out.Details = {
        MailType: d.mailType,
        WebsiteURL: d.websiteURL,
        ContactLanguage: d.contactLanguage,
        UseCaseDescription: d.useCaseDescription,
        AdditionalContactEmailAddresses: d.additionalContactEmailAddresses,
        ReviewDetails: d.review ? { Status: d.review.status, CaseId: d.review.caseId } : undefined,
      };
    }
    return out;
  },
};
