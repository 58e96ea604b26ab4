/** The JSON shapes SES v2 returns for identities (GetEmailIdentity, CreateEmailIdentity, lists). */
import { dkimView, verifiedForSending, type Identity } from '../../../core/index.ts';
import { epochSeconds } from '../validate.ts';

/** GetEmailIdentity's response body (without Tags, which the handler adds). */
export function identityDetails(i: Identity): Record<string, unknown> {
  const out: Record<string, unknown> = {
    IdentityType: i.type,
    FeedbackForwardingStatus: i.data.feedbackForwarding,
    VerifiedForSendingStatus: verifiedForSending(i),
    DkimAttributes: dkimView(i),
    Policies: {},
    VerificationStatus: i.verificationStatus,
  };
  if (i.data.mailFrom) {
    out.MailFromAttributes = {
      MailFromDomain: i.data.mailFrom.domain,
      MailFromDomainStatus: i.data.mailFrom.status,
      BehaviorOnMxFailure: i.data.mailFrom.behaviorOnMxFailure,
    };
  }
  if (i.data.configurationSetName) out.ConfigurationSetName = i.data.configurationSetName;
  const vi = i.data.verificationInfo;
  const info: Record<string, unknown> = {};
  if (vi.lastCheckedTimestamp !== undefined) info.LastCheckedTimestamp = epochSeconds(vi.lastCheckedTimestamp);
  if (vi.lastSuccessTimestamp !== undefined) info.LastSuccessTimestamp = epochSeconds(vi.lastSuccessTimestamp);
  if (vi.errorType) info.ErrorType = vi.errorType;
  if (Object.keys(info).length > 0) out.VerificationInfo = info;
  return out;
}
