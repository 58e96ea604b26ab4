/**
 * The state of an email identity that core keeps in IdentityRecord.data, and the views SES returns.
 * Statuses use SES v2's enum names; the v1 front end converts them to v1's CamelCase.
 */
import type { IdentityRecord, IdentityType, VerificationStatus } from '../../storage/ports.ts';
import type { IdentityNotifications } from '../events/destinations.ts';

/** One DKIM key of an identity. The private key is sealed with the master key. */
export interface DkimKey {
  selector: string;
  publicKey: string;
  privateKeySealed: string;
  bits: number;
}

/** Easy DKIM or BYODKIM state of a domain identity. */
export interface DkimState {
  signingEnabled: boolean;
  origin: 'AWS_SES' | 'EXTERNAL';
  status: VerificationStatus;
  keys: DkimKey[];
  currentKeyLength?: 'RSA_1024_BIT' | 'RSA_2048_BIT';
  nextKeyLength?: 'RSA_1024_BIT' | 'RSA_2048_BIT';
  lastKeyGenerationTimestamp?: number;
  /** When the current records started being checked (the 72-hour window starts here). */
  startedAt: number;
}

/** Custom MAIL FROM state. */
export interface MailFromState {
  domain: string;
  status: 'PENDING' | 'SUCCESS' | 'FAILED' | 'TEMPORARY_FAILURE';
  behaviorOnMxFailure: 'USE_DEFAULT_VALUE' | 'REJECT_MESSAGE';
  startedAt: number;
}

/** Details of the last DNS check, as SES's VerificationInfo. */
export interface VerificationInfo {
  lastCheckedTimestamp?: number;
  lastSuccessTimestamp?: number;
  errorType?: 'SERVICE_ERROR' | 'DNS_SERVER_ERROR' | 'HOST_NOT_FOUND' | 'TYPE_NOT_FOUND' | 'INVALID_VALUE';
}

/** Everything in IdentityRecord.data. */
export interface IdentityData {
  /** v1 VerifyDomainIdentity token, verified through TXT `_amazonses.<domain>`. */
  verificationToken?: string;
  /** Email-address identities: the secret in the verification link and when it expires. */
  emailToken?: string;
  emailTokenExpiresAt?: number;
  /** When verification started (the 72-hour window for domains). */
  verificationStartedAt: number;
  verificationInfo: VerificationInfo;
  dkim?: DkimState;
  mailFrom?: MailFromState;
  /** v1 SetIdentityFeedbackForwardingEnabled / v2 PutEmailIdentityFeedbackAttributes (default true). */
  feedbackForwarding: boolean;
  /** The default configuration set of sends from this identity (v2 PutEmailIdentityConfigurationSetAttributes). */
  configurationSetName?: string;
  /** SNS topics and header flags of the v1 identity notifications (absent: none set). */
  notifications?: IdentityNotifications;
}

/** An identity as core hands it around: the stored record with typed data. */
export interface Identity extends Omit<IdentityRecord, 'data'> {
  data: IdentityData;
}

/** Converts a stored record into an Identity. */
export function fromRecord(r: IdentityRecord): Identity {
  return { ...r, data: r.data as unknown as IdentityData };
}

/** Converts an Identity into a record for storage. */
export function toRecord(i: Identity): IdentityRecord {
  return { ...i, data: i.data as unknown as Record<string, unknown> };
}

/** Domains and MAIL FROM domains stay pending this long before they fail (SES: 72 hours). */
export const VERIFICATION_WINDOW_MS = 72 * 3600 * 1000;

/** Email verification links are valid this long (SES: 24 hours). */
export const EMAIL_LINK_TTL_MS = 24 * 3600 * 1000;

/** SES v2 GetEmailIdentity's DkimAttributes. */
export interface DkimAttributesView {
  SigningEnabled: boolean;
  Status: VerificationStatus;
  Tokens?: string[];
  SigningAttributesOrigin: 'AWS_SES' | 'EXTERNAL';
  NextSigningKeyLength?: string;
  CurrentSigningKeyLength?: string;
  LastKeyGenerationTimestamp?: number;
}

/** DKIM attributes in SES v2's shape (timestamps in epoch seconds, as rest-json sends them). */
export function dkimView(i: Identity): DkimAttributesView {
  const d = i.data.dkim;
  if (!d) return { SigningEnabled: false, Status: 'NOT_STARTED', SigningAttributesOrigin: 'AWS_SES' };
  const view: DkimAttributesView = {
    SigningEnabled: d.signingEnabled,
    Status: d.status,
    SigningAttributesOrigin: d.origin,
  };
  if (d.origin === 'AWS_SES') view.Tokens = d.keys.map((k) => k.selector);
  if (d.nextKeyLength) view.NextSigningKeyLength = d.nextKeyLength;
  if (d.currentKeyLength) view.CurrentSigningKeyLength = d.currentKeyLength;
  if (d.lastKeyGenerationTimestamp !== undefined) view.LastKeyGenerationTimestamp = d.lastKeyGenerationTimestamp / 1000;
  return view;
}

/** Whether the identity may be used to send (SES's VerifiedForSendingStatus). */
export function verifiedForSending(i: Identity): boolean {
  return i.verificationStatus === 'SUCCESS';
}

/** The identity's type. */
export type { IdentityType, VerificationStatus };
