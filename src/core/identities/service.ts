/**
 * Email identities: domains with Easy DKIM or BYODKIM, email addresses, custom MAIL FROM domains,
 * v1 domain verification tokens, and the DNS records a user must publish. Every operation that a
 * front end exposes takes the caller's Principal and authorizes the SES action it stands for.
 */
import { checkDomain, checkEmailAddress, isEmailAddress, isSameOrSubdomain } from '../../lib/domain.ts';
import { dkimTxtValue, generateRsaKeyPair, parseRsaPrivateKey, type DkimKeyPair } from '../../lib/dkim-keys.ts';
import { newToken } from '../../lib/ids.ts';
import type { SecretBox } from '../../lib/secretbox.ts';
import { StorageConflictError, type IdentityType, type Storage } from '../../storage/ports.ts';
import type { AccountsService, Principal } from '../accounts/service.ts';
import { identityArn, parseSesArn, type ArnScope } from '../arn.ts';
import type { Clock } from '../clock.ts';
import { badRequest, notFound, SesError } from '../errors.ts';
import { filteredPage, pageSize } from '../paging.ts';
import type { TagsService } from '../tags/service.ts';
import {
  EMAIL_LINK_TTL_MS,
  fromRecord,
  toRecord,
  type DkimKey,
  type DkimState,
  type Identity,
  type IdentityData,
  type MailFromState,
} from './model.ts';

/** The kinds of v1 identity notification (SES `NotificationType`). */
export type NotificationType = 'Bounce' | 'Complaint' | 'Delivery';

/** One identity's entry of v1 GetIdentityNotificationAttributes. */
export interface NotificationAttributes {
  bounceTopic?: string;
  complaintTopic?: string;
  deliveryTopic?: string;
  forwardingEnabled: boolean;
  headersInBounce: boolean;
  headersInComplaint: boolean;
  headersInDelivery: boolean;
}

/** The v1 actions that refuse an unknown identity with MessageRejected rather than NotFound. */
const V1_NOTIFICATION_ACTIONS = new Set(['ses:SetIdentityNotificationTopic', 'ses:SetIdentityHeadersInNotificationsEnabled', 'ses:SetIdentityFeedbackForwardingEnabled']);
const TOPIC_KEY = { Bounce: 'bounceTopic', Complaint: 'complaintTopic', Delivery: 'deliveryTopic' } as const;
const HEADERS_KEY = { Bounce: 'headersInBounce', Complaint: 'headersInComplaint', Delivery: 'headersInDelivery' } as const;

function checkNotificationType(v: unknown): NotificationType {
  if (v !== 'Bounce' && v !== 'Complaint' && v !== 'Delivery') throw badRequest(`Invalid notification type: ${String(v)}. Valid values are: Bounce, Complaint, Delivery.`);
  return v;
}

/** Key length names as SES v2 spells them. */
export type KeyLength = 'RSA_1024_BIT' | 'RSA_2048_BIT';

/** Input of CreateEmailIdentity (already decoded from the wire). */
export interface CreateIdentityInput {
  EmailIdentity: string;
  Tags?: Array<{ Key: string; Value: string }>;
  DkimSigningAttributes?: { DomainSigningSelector?: string; DomainSigningPrivateKey?: string; NextSigningKeyLength?: string; DomainSigningAttributesOrigin?: string };
  ConfigurationSetName?: string;
}

/** A DNS record a user must publish. */
export interface DnsRecord {
  type: 'TXT' | 'MX' | 'CNAME';
  name: string;
  value: string;
  /** Why the record is needed. */
  purpose: string;
}

/** Settings identities need from configuration. */
export interface IdentitySettings extends ArnScope {
  hostname: string;
  publicUrl: string;
  verifyIntervalMs: number;
}

/** Something that will send the verification mail once sending exists; until then it may only log the link. */
export type VerificationMailer = (to: string, link: string, accountId: string) => Promise<void>;

// DKIM private keys are bound to their identity and selector as associated data.
const keyAad = (accountId: string, name: string, selector: string) => `dkim:${accountId}:${name}:${selector}`;

const SELECTOR = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** Identities and their verification. */
export class IdentitiesService {
  constructor(
    private readonly storage: Storage,
    private readonly accounts: AccountsService,
    private readonly tags: TagsService,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly settings: IdentitySettings,
    private readonly sendVerificationMail: VerificationMailer,
  ) {}

  /** ARN of an identity of an account. */
  arn(accountId: string, name: string): string {
    return identityArn({ region: this.settings.region, accountId }, name);
  }

  /** Checks and normalises an identity name (domain or email address); BadRequest when invalid. */
  normalise(name: unknown, field = 'EmailIdentity'): { name: string; type: IdentityType } {
    if (typeof name !== 'string' || name.length === 0) throw badRequest(`${field} is required`);
    if (isEmailAddress(name)) {
      const c = checkEmailAddress(name);
      if (!c.ok) throw badRequest(`Invalid email address <${name}>: ${c.reason}.`);
      return { name: c.value, type: 'EMAIL_ADDRESS' };
    }
    const c = checkDomain(name);
    if (!c.ok) throw badRequest(`Invalid domain name <${name.length > 80 ? `${name.slice(0, 80)}…` : name}>: ${c.reason}.`);
    return { name: c.value, type: 'DOMAIN' };
  }

  /** SES v2 CreateEmailIdentity. */
  async create(p: Principal, input: CreateIdentityInput): Promise<Identity> {
    const { name, type } = this.normalise(input.EmailIdentity);
    this.accounts.authorize(p, { action: 'ses:CreateEmailIdentity', resource: this.arn(p.accountId, name) });
    const tags = this.tags.validate(input.Tags);
    const configurationSetName = await this.checkConfigurationSet(p.accountId, input.ConfigurationSetName);
    if (type === 'EMAIL_ADDRESS' && input.DkimSigningAttributes) {
      throw badRequest('DkimSigningAttributes can only be given for a domain identity.');
    }
    if (await this.storage.identities.get(p.accountId, name)) throw this.alreadyExists(name);
    const now = this.clock.now();
    const data: IdentityData = { verificationStartedAt: now, verificationInfo: {}, feedbackForwarding: true };
    if (configurationSetName) data.configurationSetName = configurationSetName;
    if (type === 'DOMAIN') {
      data.dkim = await this.newDkimState(p.accountId, name, input.DkimSigningAttributes, now);
    } else {
      data.emailToken = newToken(40);
      data.emailTokenExpiresAt = now + EMAIL_LINK_TTL_MS;
    }
    const identity: Identity = {
      accountId: p.accountId,
      name,
      type,
      verificationStatus: 'PENDING',
      // Domains are checked right away, then every SESAME_VERIFY_INTERVAL; addresses wait for the link.
      nextCheckAt: type === 'DOMAIN' ? now : null,
      createdAt: now,
      updatedAt: now,
      data,
    };
    try {
      await this.storage.identities.create(toRecord(identity));
    } catch (err) {
      if (err instanceof StorageConflictError) throw this.alreadyExists(name);
      throw err;
    }
    if (tags.length > 0) await this.tags.putValidated(p.accountId, this.arn(p.accountId, name), tags);
    if (type === 'EMAIL_ADDRESS') await this.sendVerificationMail(name, this.verificationLink(identity), p.accountId);
    return identity;
  }

  /** SES v2 GetEmailIdentity (also the read behind the v1 Get* operations). */
  async get(p: Principal, rawName: unknown, action = 'ses:GetEmailIdentity'): Promise<Identity> {
    const { name } = this.normalise(rawName);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, name) });
    return this.require(p.accountId, name);
  }

  /** Reads identities without failing on missing ones (v1 Get*Attributes take lists of names). */
  async getMany(p: Principal, rawNames: unknown[], action: string): Promise<Map<string, Identity>> {
    if (rawNames.length > 100) throw badRequest('You can request attributes of at most 100 identities at a time.');
    const out = new Map<string, Identity>();
    for (const raw of rawNames) {
      if (typeof raw !== 'string') throw badRequest('Identities must be strings');
      let name: string;
      try {
        name = this.normalise(raw).name;
      } catch {
        this.accounts.authorize(p, { action, resource: this.arn(p.accountId, raw) });
        continue; // SES leaves invalid or unknown identities out of the map
      }
      this.accounts.authorize(p, { action, resource: this.arn(p.accountId, name) });
      const r = await this.storage.identities.get(p.accountId, name);
      if (r) out.set(raw, fromRecord(r));
    }
    return out;
  }

  /**
   * Lists identities in name order; `nextToken` is opaque (the last name, base64url). The filters
   * are those of the SES v2 ListEmailIdentities `Filter` map (name substring, type, status).
   */
  async list(
    p: Principal,
    options: { nextToken?: string; pageSize?: number; type?: IdentityType; nameContains?: string; status?: string; action?: string },
  ): Promise<{ items: Identity[]; nextToken?: string }> {
    this.accounts.authorize(p, { action: options.action ?? 'ses:ListEmailIdentities', resource: '*' });
    const size = pageSize(options.pageSize, 100, 1000);
    const needle = options.nameContains?.toLowerCase();
    const keep = (i: Identity) => (!needle || i.name.toLowerCase().includes(needle)) && (!options.status || i.verificationStatus === options.status);
    return filteredPage(async (after, limit) => (await this.storage.identities.list(p.accountId, { after, limit, type: options.type, nameContains: needle })).map(fromRecord), options.nextToken, size, keep);
  }

  /** SES v2 DeleteEmailIdentity (NotFound when missing) and v1 DeleteIdentity (`ifExists`: no error). */
  async delete(p: Principal, rawName: unknown, options: { action?: string; ifExists?: boolean } = {}): Promise<void> {
    const { name } = this.normalise(rawName);
    this.accounts.authorize(p, { action: options.action ?? 'ses:DeleteEmailIdentity', resource: this.arn(p.accountId, name) });
    const deleted = await this.storage.identities.delete(p.accountId, name);
    if (!deleted && !options.ifExists) throw this.notFoundError(name);
    if (deleted) await this.tags.removeAllFor(p.accountId, this.arn(p.accountId, name));
  }

  /** SES v2 PutEmailIdentityDkimAttributes / v1 SetIdentityDkimEnabled: turns DKIM signing on or off. */
  async setDkimSigning(p: Principal, rawName: unknown, enabled: unknown, action = 'ses:PutEmailIdentityDkimAttributes'): Promise<void> {
    if (enabled !== undefined && typeof enabled !== 'boolean') throw badRequest('SigningEnabled must be a boolean.');
    const { name } = this.normalise(rawName);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, name) });
    await this.mutate(p.accountId, name, async (i) => {
      if (!i.data.dkim) {
        if (enabled === true) throw badRequest(`DKIM is not set up for identity <${name}>; ${i.type === 'DOMAIN' ? 'call VerifyDomainDkim or PutEmailIdentityDkimSigningAttributes first' : 'email address identities are signed with their domain identity'}.`);
        return;
      }
      i.data.dkim.signingEnabled = enabled === true;
    });
  }

  /** SES v2 PutEmailIdentityDkimSigningAttributes: switch between Easy DKIM and BYODKIM, or change key length. */
  async putDkimSigningAttributes(
    p: Principal,
    rawName: unknown,
    origin: unknown,
    attrs: CreateIdentityInput['DkimSigningAttributes'],
  ): Promise<Identity> {
    const { name, type } = this.normalise(rawName);
    this.accounts.authorize(p, { action: 'ses:PutEmailIdentityDkimSigningAttributes', resource: this.arn(p.accountId, name) });
    if (origin !== 'AWS_SES' && origin !== 'EXTERNAL') throw badRequest('SigningAttributesOrigin must be AWS_SES or EXTERNAL.');
    if (type !== 'DOMAIN') throw badRequest('DKIM signing attributes can only be set on a domain identity.');
    if (origin === 'EXTERNAL' && (!attrs?.DomainSigningPrivateKey || !attrs.DomainSigningSelector)) {
      throw badRequest('SigningAttributes with DomainSigningSelector and DomainSigningPrivateKey are required when SigningAttributesOrigin is EXTERNAL.');
    }
    const existing = await this.require(p.accountId, name);
    const now = this.clock.now();
    let dkim: DkimState;
    if (origin === 'AWS_SES' && existing.data.dkim?.origin === 'AWS_SES' && !attrs?.NextSigningKeyLength) {
      dkim = existing.data.dkim; // nothing to change
    } else {
      dkim = await this.newDkimState(p.accountId, name, origin === 'EXTERNAL' ? attrs : { NextSigningKeyLength: attrs?.NextSigningKeyLength }, now);
      if (existing.data.dkim) dkim.signingEnabled = existing.data.dkim.signingEnabled;
    }
    return this.mutate(p.accountId, name, async (i) => {
      i.data.dkim = dkim;
      if (dkim.status === 'PENDING') i.nextCheckAt = now;
      if (i.verificationStatus === 'FAILED') {
        // New keys give a failed domain a new 72-hour window.
        i.verificationStatus = 'PENDING';
        i.data.verificationStartedAt = now;
      }
    });
  }

  /** SES v2 PutEmailIdentityMailFromAttributes / v1 SetIdentityMailFromDomain. */
  async putMailFrom(p: Principal, rawName: unknown, mailFromDomain: unknown, behavior: unknown, action = 'ses:PutEmailIdentityMailFromAttributes'): Promise<void> {
    const { name, type } = this.normalise(rawName);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, name) });
    if (behavior !== undefined && behavior !== 'USE_DEFAULT_VALUE' && behavior !== 'REJECT_MESSAGE') {
      throw badRequest('BehaviorOnMxFailure must be USE_DEFAULT_VALUE or REJECT_MESSAGE.');
    }
    let domain: string | undefined;
    if (mailFromDomain !== undefined && mailFromDomain !== null && mailFromDomain !== '') {
      if (typeof mailFromDomain !== 'string') throw badRequest('MailFromDomain must be a string.');
      const c = checkDomain(mailFromDomain);
      if (!c.ok) throw badRequest(`Invalid MAIL FROM domain <${mailFromDomain}>: ${c.reason}.`);
      domain = c.value;
      const parent = type === 'DOMAIN' ? name : name.slice(name.lastIndexOf('@') + 1);
      if (domain === parent || !isSameOrSubdomain(domain, parent)) {
        throw badRequest(`MAIL FROM domain <${domain}> must be a subdomain of the verified identity <${parent}>.`);
      }
    }
    const now = this.clock.now();
    await this.mutate(p.accountId, name, async (i) => {
      if (!domain) {
        delete i.data.mailFrom;
        return;
      }
      const b = (behavior as MailFromState['behaviorOnMxFailure'] | undefined) ?? i.data.mailFrom?.behaviorOnMxFailure ?? 'USE_DEFAULT_VALUE';
      if (i.data.mailFrom?.domain === domain) {
        i.data.mailFrom.behaviorOnMxFailure = b;
        return;
      }
      i.data.mailFrom = { domain, status: 'PENDING', behaviorOnMxFailure: b, startedAt: now };
      i.nextCheckAt = now;
    });
  }

  /**
   * SES v1 SetIdentityNotificationTopic: the SNS topic (of this account and region) that Bounce,
   * Complaint or Delivery notifications of mail from the identity go to; no topic clears it. While
   * feedback forwarding is off, the Bounce and Complaint topics cannot be cleared (SES: "Unless
   * feedback forwarding is enabled, you must specify Amazon SNS topics for bounce and complaint
   * notifications").
   */
  async setNotificationTopic(p: Principal, rawName: unknown, notificationType: unknown, snsTopic: unknown, action = 'ses:SetIdentityNotificationTopic'): Promise<void> {
    const type = checkNotificationType(notificationType);
    const name = this.identityName(p.accountId, rawName, 'Identity');
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, name) });
    let topic: string | undefined;
    if (snsTopic !== undefined && snsTopic !== null && snsTopic !== '') {
      if (typeof snsTopic !== 'string') throw badRequest('SnsTopic must be a string.');
      topic = snsTopic;
    }
    await this.mutateNotifications(p.accountId, name, action, async (i) => {
      const n = { ...i.data.notifications };
      const key = TOPIC_KEY[type];
      if (topic !== undefined) {
        await this.requireTopic(p.accountId, topic);
        n[key] = topic;
      } else {
        if (type !== 'Delivery' && !i.data.feedbackForwarding) {
          throw badRequest(
            `Feedback forwarding is disabled for identity ${name}, so it needs an Amazon SNS topic for ${type} notifications; enable feedback forwarding (SetIdentityFeedbackForwardingEnabled) before removing the topic.`,
          );
        }
        delete n[key];
      }
      i.data.notifications = n;
    });
  }

  /** SES v1 SetIdentityHeadersInNotificationsEnabled: whether notifications of one type carry the original headers. */
  async setHeadersInNotifications(p: Principal, rawName: unknown, notificationType: unknown, enabled: unknown, action = 'ses:SetIdentityHeadersInNotificationsEnabled'): Promise<void> {
    const type = checkNotificationType(notificationType);
    if (typeof enabled !== 'boolean') throw badRequest('Enabled must be true or false.');
    const name = this.identityName(p.accountId, rawName, 'Identity');
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, name) });
    await this.mutateNotifications(p.accountId, name, action, async (i) => {
      i.data.notifications = { ...i.data.notifications, [HEADERS_KEY[type]]: enabled };
    });
  }

  /**
   * SES v2 PutEmailIdentityFeedbackAttributes (an absent EmailForwardingEnabled is false) and v1
   * SetIdentityFeedbackForwardingEnabled. SES: "Feedback forwarding can only be disabled when Amazon
   * SNS topics are specified for both bounces and complaints."
   */
  async setFeedbackForwarding(p: Principal, rawName: unknown, enabled: unknown, action = 'ses:PutEmailIdentityFeedbackAttributes'): Promise<void> {
    if (enabled !== undefined && enabled !== null && typeof enabled !== 'boolean') throw badRequest('EmailForwardingEnabled must be a boolean.');
    const on = enabled === true;
    const name = this.identityName(p.accountId, rawName, V1_NOTIFICATION_ACTIONS.has(action) ? 'Identity' : 'EmailIdentity');
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, name) });
    await this.mutateNotifications(p.accountId, name, action, async (i) => {
      if (!on && (!i.data.notifications?.bounceTopic || !i.data.notifications.complaintTopic)) {
        const both = !i.data.notifications?.bounceTopic && !i.data.notifications?.complaintTopic;
        const lacking = both ? 'neither a Bounce nor a Complaint topic. Set them' : `no ${i.data.notifications?.bounceTopic ? 'Complaint' : 'Bounce'} topic. Set it`;
        throw badRequest(
          `Feedback forwarding can only be disabled when Amazon SNS topics are set for both Bounce and Complaint notifications; identity ${name} has ${lacking} with SetIdentityNotificationTopic first.`,
        );
      }
      i.data.feedbackForwarding = on;
    });
  }

  /** SES v1 GetIdentityNotificationAttributes: the notification settings of each known identity (unknown ones are left out, as SES does). */
  async notificationAttributes(p: Principal, rawNames: unknown[], action = 'ses:GetIdentityNotificationAttributes'): Promise<Map<string, NotificationAttributes>> {
    const found = await this.getMany(p, rawNames, action);
    const out = new Map<string, NotificationAttributes>();
    for (const [raw, i] of found) {
      const n = i.data.notifications ?? {};
      out.set(raw, {
        bounceTopic: n.bounceTopic,
        complaintTopic: n.complaintTopic,
        deliveryTopic: n.deliveryTopic,
        forwardingEnabled: i.data.feedbackForwarding,
        headersInBounce: n.headersInBounce ?? false,
        headersInComplaint: n.headersInComplaint ?? false,
        headersInDelivery: n.headersInDelivery ?? false,
      });
    }
    return out;
  }

  /** SES v2 PutEmailIdentityConfigurationSetAttributes: the default configuration set of the identity's sends; none clears it. */
  async putConfigurationSet(p: Principal, rawName: unknown, configurationSetName: unknown, action = 'ses:PutEmailIdentityConfigurationSetAttributes'): Promise<void> {
    const { name } = this.normalise(rawName);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, name) });
    await this.require(p.accountId, name);
    const setName = await this.checkConfigurationSet(p.accountId, configurationSetName);
    await this.mutate(p.accountId, name, async (i) => {
      if (setName) i.data.configurationSetName = setName;
      else delete i.data.configurationSetName;
    });
  }

  /** SES v1 VerifyDomainIdentity: returns the token to publish at `_amazonses.<domain>` (creating the identity if needed). */
  async verifyDomainIdentity(p: Principal, rawDomain: unknown): Promise<string> {
    const { name, type } = this.normalise(rawDomain, 'Domain');
    if (type !== 'DOMAIN') throw badRequest(`Invalid domain name <${String(rawDomain)}>.`);
    this.accounts.authorize(p, { action: 'ses:VerifyDomainIdentity', resource: this.arn(p.accountId, name) });
    const now = this.clock.now();
    const existing = await this.storage.identities.get(p.accountId, name);
    if (!existing) {
      const token = Buffer.from(newToken(32)).toString('base64').slice(0, 44);
      const identity: Identity = {
        accountId: p.accountId,
        name,
        type: 'DOMAIN',
        verificationStatus: 'PENDING',
        nextCheckAt: now,
        createdAt: now,
        updatedAt: now,
        data: { verificationToken: token, verificationStartedAt: now, verificationInfo: {}, feedbackForwarding: true },
      };
      try {
        await this.storage.identities.create(toRecord(identity));
        return token;
      } catch (err) {
        if (!(err instanceof StorageConflictError)) throw err;
      }
    }
    const updated = await this.mutate(p.accountId, name, async (i) => {
      // Asking again after FAILED starts a new 72-hour window, as SES does.
      if (i.data.verificationToken && i.verificationStatus !== 'FAILED') return;
      i.data.verificationToken ??= Buffer.from(newToken(32)).toString('base64').slice(0, 44);
      if (i.verificationStatus !== 'SUCCESS') {
        i.verificationStatus = 'PENDING';
        i.data.verificationStartedAt = now;
        i.nextCheckAt = now;
      }
    });
    return updated.data.verificationToken!;
  }

  /** SES v1 VerifyDomainDkim: Easy DKIM tokens for a domain (generating keys if it has none). */
  async verifyDomainDkim(p: Principal, rawDomain: unknown): Promise<string[]> {
    const { name, type } = this.normalise(rawDomain, 'Domain');
    if (type !== 'DOMAIN') throw badRequest(`Invalid domain name <${String(rawDomain)}>.`);
    this.accounts.authorize(p, { action: 'ses:VerifyDomainDkim', resource: this.arn(p.accountId, name) });
    const now = this.clock.now();
    let identity = await this.storage.identities.get(p.accountId, name);
    if (!identity) {
      await this.verifyDomainIdentity(p, name);
      identity = await this.storage.identities.get(p.accountId, name);
    }
    if (identity && (identity.data as unknown as IdentityData).dkim?.origin === 'AWS_SES') {
      return (identity.data as unknown as IdentityData).dkim!.keys.map((k) => k.selector);
    }
    const dkim = await this.newDkimState(p.accountId, name, undefined, now);
    const updated = await this.mutate(p.accountId, name, async (i) => {
      if (i.data.dkim?.origin === 'AWS_SES') return;
      i.data.dkim = dkim;
      i.nextCheckAt = now;
    });
    return updated.data.dkim!.keys.map((k) => k.selector);
  }

  /** SES v1 VerifyEmailIdentity / VerifyEmailAddress: creates the address identity or re-sends its link. */
  async verifyEmailIdentity(p: Principal, rawAddress: unknown, action = 'ses:VerifyEmailIdentity'): Promise<void> {
    const { name, type } = this.normalise(rawAddress, 'EmailAddress');
    if (type !== 'EMAIL_ADDRESS') throw badRequest(`Invalid email address <${String(rawAddress)}>.`);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, name) });
    const existing = await this.storage.identities.get(p.accountId, name);
    if (!existing) {
      try {
        await this.create({ ...p, policy: { Statement: [{ Effect: 'Allow', Action: ['*'], Resource: ['*'] }] } }, { EmailIdentity: name });
        return;
      } catch (err) {
        if (!(err instanceof SesError && err.code === 'AlreadyExistsException')) throw err;
      }
    }
    const now = this.clock.now();
    const updated = await this.mutate(p.accountId, name, async (i) => {
      if (i.verificationStatus === 'SUCCESS') return;
      i.data.emailToken = newToken(40);
      i.data.emailTokenExpiresAt = now + EMAIL_LINK_TTL_MS;
      i.verificationStatus = 'PENDING';
    });
    if (updated.verificationStatus !== 'SUCCESS') await this.sendVerificationMail(name, this.verificationLink(updated), p.accountId);
  }

  /** The link that verifies an email-address identity. */
  verificationLink(i: Identity): string {
    const u = new URL('/verify-email', this.settings.publicUrl);
    u.searchParams.set('account', i.accountId);
    u.searchParams.set('identity', i.name);
    u.searchParams.set('token', i.data.emailToken ?? '');
    return u.toString();
  }

  /**
   * Follows a verification link. Returns 'verified', 'already-verified', 'expired' or 'invalid'
   * (unknown identity and wrong token look the same to the visitor).
   */
  async confirmEmail(accountId: string, rawName: string, token: string): Promise<'verified' | 'already-verified' | 'expired' | 'invalid'> {
    if (!/^\d{12}$/.test(accountId) || !/^[a-z2-7]{1,64}$/.test(token)) return 'invalid';
    let name: string;
    try {
      name = this.normalise(rawName).name;
    } catch {
      return 'invalid';
    }
    const r = await this.storage.identities.get(accountId, name);
    if (!r || r.type !== 'EMAIL_ADDRESS') return 'invalid';
    const i = fromRecord(r);
    if (i.verificationStatus === 'SUCCESS') return 'already-verified';
    const expected = i.data.emailToken ?? '';
    if (!expected || expected.length !== token.length || !timingSafeStringEqual(expected, token)) return 'invalid';
    const now = this.clock.now();
    if ((i.data.emailTokenExpiresAt ?? 0) < now) {
      await this.mutate(accountId, name, async (x) => {
        x.verificationStatus = 'FAILED';
      });
      return 'expired';
    }
    await this.mutate(accountId, name, async (x) => {
      x.verificationStatus = 'SUCCESS';
      x.data.verificationInfo.lastSuccessTimestamp = now;
      delete x.data.emailToken;
      delete x.data.emailTokenExpiresAt;
    });
    return 'verified';
  }

  /** Every record to publish for a domain identity (for `sesame dns` and the console). */
  async dnsRecords(accountId: string, rawDomain: string): Promise<DnsRecord[]> {
    const c = checkDomain(rawDomain);
    if (!c.ok) throw badRequest(`Invalid domain name <${rawDomain}>: ${c.reason}.`);
    const r = await this.storage.identities.get(accountId, c.value);
    if (!r) throw this.notFoundError(c.value);
    const i = fromRecord(r);
    const out: DnsRecord[] = [];
    for (const k of i.data.dkim?.keys ?? []) {
      out.push({ type: 'TXT', name: `${k.selector}._domainkey.${i.name}`, value: dkimTxtValue(k.publicKey), purpose: 'DKIM public key' });
    }
    if (i.data.verificationToken) {
      out.push({ type: 'TXT', name: `_amazonses.${i.name}`, value: i.data.verificationToken, purpose: 'domain verification token (SES v1 VerifyDomainIdentity)' });
    }
    if (i.data.mailFrom) {
      out.push({ type: 'MX', name: i.data.mailFrom.domain, value: `10 ${this.settings.hostname}`, purpose: 'custom MAIL FROM: bounces and complaints come back to Sesame' });
      out.push({ type: 'TXT', name: i.data.mailFrom.domain, value: `v=spf1 a:${this.settings.hostname} ~all`, purpose: 'custom MAIL FROM: SPF for the bounce domain' });
    }
    out.push({ type: 'MX', name: i.name, value: `10 ${this.settings.hostname}`, purpose: 'receiving: publish only once Sesame receives mail for this domain (receipt rules); until then keep your current MX' });
    out.push({ type: 'TXT', name: `_dmarc.${i.name}`, value: `v=DMARC1; p=none; rua=mailto:dmarc-reports@${i.name}`, purpose: 'DMARC (suggestion: start with p=none, move to quarantine or reject once reports are clean)' });
    return out;
  }

  /** Loads an identity or throws NotFound. */
  async require(accountId: string, name: string): Promise<Identity> {
    const r = await this.storage.identities.get(accountId, name);
    if (!r) throw this.notFoundError(name);
    return fromRecord(r);
  }

  /**
   * Read-modify-write with optimistic concurrency: retries when the verification worker (or another
   * node) changed the identity in between, so neither overwrites the other.
   */
  async mutate(accountId: string, name: string, change: (i: Identity) => Promise<void>): Promise<Identity> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await this.require(accountId, name);
      const next: Identity = structuredClone(current);
      await change(next);
      next.updatedAt = Math.max(this.clock.now(), current.updatedAt + 1);
      if (await this.storage.identities.update(toRecord(next), current.updatedAt)) return next;
    }
    throw new SesError('ConflictException', `Identity <${name}> is being changed concurrently; try again.`);
  }

  /** An identity named by name or, as v1 notification actions allow, by its ARN in this account and region. */
  private identityName(accountId: string, raw: unknown, field: string): string {
    if (typeof raw === 'string' && raw.startsWith('arn:')) {
      const a = parseSesArn(raw);
      if (!a || a.resourceType !== 'identity' || a.region !== this.settings.region || a.accountId !== accountId) {
        throw badRequest(`Invalid identity ARN <${raw}>: use ${this.arn(accountId, '<identity>')}.`);
      }
      return this.normalise(a.resourceName, field).name;
    }
    return this.normalise(raw, field).name;
  }

  /** `mutate`, with SES v1's refusal of an unknown identity for the v1 notification actions. */
  private async mutateNotifications(accountId: string, name: string, action: string, change: (i: Identity) => Promise<void>): Promise<Identity> {
    try {
      return await this.mutate(accountId, name, change);
    } catch (err) {
      if (err instanceof SesError && err.code === 'NotFoundException' && !err.v1Code && V1_NOTIFICATION_ACTIONS.has(action)) {
        // SES v1 answers MessageRejected "Identity x is not verified or does not exist."
        throw notFound(`Identity ${name} is not verified or does not exist.`, 'MessageRejected');
      }
      throw err;
    }
  }

  /** Refuses an SNS topic ARN that is not a topic of this account and region. */
  private async requireTopic(accountId: string, arn: string): Promise<void> {
    const m = /^arn:aws:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256}(?:\.fifo)?)$/.exec(arn);
    if (!m) throw badRequest(`Invalid SNS topic ARN <${arn}>: use arn:aws:sns:${this.settings.region}:${accountId}:<topic name>.`);
    if (m[1] !== this.settings.region || m[2] !== accountId || !(await this.storage.topics.get(accountId, m[3]!))) throw badRequest(`SNS topic <${arn}> not found.`);
  }

  /** A configuration set name that must exist in the account; undefined when none is given. */
  private async checkConfigurationSet(accountId: string, raw: unknown): Promise<string | undefined> {
    if (raw === undefined || raw === null || raw === '') return undefined;
    if (typeof raw !== 'string') throw badRequest('ConfigurationSetName must be a string.');
    if (!(await this.storage.configurationSets.get(accountId, raw))) throw notFound(`Configuration set <${raw}> does not exist.`, 'ConfigurationSetDoesNotExist');
    return raw;
  }

  private async newDkimState(accountId: string, name: string, attrs: CreateIdentityInput['DkimSigningAttributes'], now: number): Promise<DkimState> {
    if (attrs?.DomainSigningPrivateKey !== undefined || attrs?.DomainSigningSelector !== undefined) {
      const selector = attrs.DomainSigningSelector;
      if (typeof selector !== 'string' || !SELECTOR.test(selector)) throw badRequest('DomainSigningSelector must be a DNS label of 1 to 63 letters, digits or hyphens.');
      if (typeof attrs.DomainSigningPrivateKey !== 'string' || attrs.DomainSigningPrivateKey.length > 20480) {
        throw badRequest('DomainSigningPrivateKey must be the base64-encoded RSA private key (at most 20,480 characters).');
      }
      let pair: DkimKeyPair;
      try {
        pair = parseRsaPrivateKey(attrs.DomainSigningPrivateKey);
      } catch (err) {
        throw badRequest((err as Error).message);
      }
      return {
        signingEnabled: true,
        origin: 'EXTERNAL',
        status: 'PENDING',
        keys: [this.sealKey(accountId, name, selector, pair)],
        startedAt: now,
      };
    }
    const length = (attrs?.NextSigningKeyLength ?? 'RSA_2048_BIT') as KeyLength;
    if (length !== 'RSA_1024_BIT' && length !== 'RSA_2048_BIT') throw badRequest('NextSigningKeyLength must be RSA_1024_BIT or RSA_2048_BIT.');
    const bits = length === 'RSA_1024_BIT' ? 1024 : 2048;
    // Three selectors, as Easy DKIM publishes three records; each has its own key so keys can rotate.
    const pairs = await Promise.all([0, 1, 2].map(() => generateRsaKeyPair(bits)));
    return {
      signingEnabled: true,
      origin: 'AWS_SES',
      status: 'PENDING',
      keys: pairs.map((pair) => this.sealKey(accountId, name, newToken(32), pair)),
      currentKeyLength: length,
      nextKeyLength: length,
      lastKeyGenerationTimestamp: now,
      startedAt: now,
    };
  }

  private sealKey(accountId: string, name: string, selector: string, pair: DkimKeyPair): DkimKey {
    return { selector, publicKey: pair.publicKeyBase64, privateKeySealed: this.box.seal(pair.privateKeyPem, keyAad(accountId, name, selector)), bits: pair.bits };
  }

  /** The private key (PEM) of one of an identity's DKIM selectors, for signing. */
  openDkimKey(i: Identity, key: DkimKey): string {
    return this.box.open(key.privateKeySealed, keyAad(i.accountId, i.name, key.selector));
  }

  private alreadyExists(name: string): SesError {
    return new SesError('AlreadyExistsException', `Email identity ${name} already exist.`, 'AlreadyExists');
  }

  private notFoundError(name: string): SesError {
    return notFound(`Email identity ${name} does not exist.`);
  }
}

function timingSafeStringEqual(a: string, b: string): boolean {
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
