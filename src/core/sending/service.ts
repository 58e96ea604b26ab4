/**
 * The one sending pipeline that every way in calls (SES v2 SendEmail, v1 SendEmail/SendRawEmail, and
 * SMTP submission later): validate → authorize (key policy; From must be a verified identity) →
 * sandbox, quota, rate and pause checks → suppression → build or normalise MIME (Message-ID, Date)
 * → DKIM sign once → commit to the queue (group commit) → the MessageId. A refused message leaves
 * nothing behind; the MessageId is returned only after the commit.
 */
import type { ComposeOptions, DkimSignatureSpec, DkimSigner } from '../../lib/dkim-sign.ts';
import { checkEmailAddress } from '../../lib/domain.ts';
import { newMessageId } from '../../lib/ids.ts';
import { field, hasLineBreak, headerBlockEnd, headerValue, headerValues, joinMessage, MimeError, parseAddressList, splitMessage, type HeaderField } from '../../lib/mime.ts';
import type { Logger } from '../../observability/logger.ts';
import type { BlobRange, EventRecord, RecipientRecord, Storage } from '../../storage/ports.ts';
import type { AccountsService, Principal } from '../accounts/service.ts';
import { identityArn } from '../arn.ts';
import type { Clock } from '../clock.ts';
import { badRequest, SesError } from '../errors.ts';
import { bounceEvent, renderingFailureEvent, sendEvent, type MailObject } from '../events/model.ts';
import type { ConfigurationSet, ConfigurationSetsService } from '../configuration-sets/service.ts';
import { parseTemplateData, RenderingError, type TemplateContent, type TemplatesService } from '../templates/service.ts';
import { fromRecord, type Identity } from '../identities/model.ts';
import type { IdentitiesService } from '../identities/service.ts';
import type { CommitBatcher } from '../queue/batcher.ts';
import { effectiveQuota, type AccountSettingsService } from './account-settings.ts';
import { RateLimiter, type SharedBuckets } from './rate-limiter.ts';
import type { TrackingService } from '../events/tracking.ts';
import type { TrackedLink } from '../../lib/html-tracking.ts';
import { rewriteHtmlParts } from '../../lib/mime-html.ts';
import { isSpooled, readAll, sizeOf, SPOOL_FROM_BYTES, streamBody, type MessageBytes } from '../spool.ts';

/** A message attachment as SES v2 describes it. */
export interface AttachmentInput {
  content: Buffer;
  fileName: string;
  contentType?: string;
  disposition?: 'ATTACHMENT' | 'INLINE';
  contentId?: string;
  description?: string;
  transferEncoding?: 'BASE64' | 'QUOTED_PRINTABLE' | 'SEVEN_BIT';
}

/** A header given by name and value (v2 `MessageHeader`). */
export interface HeaderInput {
  name: string;
  value: string;
}

/** Which template a templated send uses: stored (by name or ARN) or inline content. */
export type TemplateRef = { name: string } | { arn: string } | { inline: TemplateContent };

/** Content of a message to send. */
export type SendContent =
  | {
      kind: 'simple';
      subject: string;
      text?: string;
      html?: string;
      headers?: HeaderInput[];
      attachments?: AttachmentInput[];
    }
  /** Raw MIME: in memory, or spooled by the front end (send() then owns the blob: kept with the message or deleted). */
  | { kind: 'raw'; data: MessageBytes }
  | {
      kind: 'template';
      template: TemplateRef;
      /** TemplateData: a JSON object in a string. */
      data?: string;
      headers?: HeaderInput[];
      attachments?: AttachmentInput[];
    };

/** One entry of a bulk send (v2 BulkEmailEntry, v1 BulkEmailDestination). */
export interface BulkEntry {
  to?: string[];
  cc?: string[];
  bcc?: string[];
  /** Replacement tags: override default tags of the same name. */
  tags?: Array<{ name: string; value: string }>;
  /** ReplacementTemplateData; the default data is used when absent or empty. */
  data?: string;
  /** ReplacementHeaders: replace template headers of the same name, others are added. */
  headers?: HeaderInput[];
}

/** A bulk templated send (v2 SendBulkEmail, v1 SendBulkTemplatedEmail). */
export interface BulkCommand extends Omit<SendCommand, 'to' | 'cc' | 'bcc' | 'content' | 'tags'> {
  template: TemplateRef;
  defaultData?: string;
  headers?: HeaderInput[];
  attachments?: AttachmentInput[];
  defaultTags?: Array<{ name: string; value: string }>;
  entries: BulkEntry[];
}

/** Per-entry status of a bulk send, as SES v2 names them (v1 front end maps them to its names). */
export type BulkStatus =
  | 'SUCCESS'
  | 'MESSAGE_REJECTED'
  | 'MAIL_FROM_DOMAIN_NOT_VERIFIED'
  | 'CONFIGURATION_SET_NOT_FOUND'
  | 'TEMPLATE_NOT_FOUND'
  | 'ACCOUNT_SUSPENDED'
  | 'ACCOUNT_THROTTLED'
  | 'ACCOUNT_DAILY_QUOTA_EXCEEDED'
  | 'INVALID_SENDING_POOL_NAME'
  | 'ACCOUNT_SENDING_PAUSED'
  | 'CONFIGURATION_SET_SENDING_PAUSED'
  | 'INVALID_PARAMETER'
  | 'TRANSIENT_FAILURE'
  | 'FAILED';

/** The result of one bulk entry. */
export interface BulkResult {
  status: BulkStatus;
  error?: string;
  messageId?: string;
}

/** The services the pipeline calls. */
export interface SendingServices {
  accounts: AccountsService;
  identities: IdentitiesService;
  templates: TemplatesService;
  configurationSets: ConfigurationSetsService;
  accountSettings: AccountSettingsService;
  /** Makes the DKIM signatures (on worker threads in a server). */
  dkim: DkimSigner;
  /** Open and click tracking for configuration sets that publish those events. */
  tracking?: TrackingService;
}

/** One send, whatever the way in. */
export interface SendCommand {
  /** The IAM action this send is authorized as. */
  action: 'ses:SendEmail' | 'ses:SendRawEmail' | 'ses:SendTemplatedEmail' | 'ses:SendBulkEmail' | 'ses:SendBulkTemplatedEmail';
  /** `FromEmailAddress` / `Source`; for raw content it may be omitted (From header is used). */
  from?: string;
  /** To/Cc/Bcc for built messages; for raw, explicit envelope recipients (else taken from headers). */
  to?: string[];
  cc?: string[];
  bcc?: string[];
  replyTo?: string[];
  content: SendContent;
  tags?: Array<{ name: string; value: string }>;
  configurationSetName?: string;
  /** Largest accepted message in bytes (40 MB for v2 and SMTP, 10 MB for v1). */
  maxBytes: number;
  /** Caller's IP for the `ses:source-ip` tag. */
  sourceIp?: string;
  /** Wire operation name for the `ses:operation` tag (SendEmail, SendRawEmail, …). */
  operation: string;
  /**
   * SMTP only: the envelope sender (MAIL FROM). SES checks it as well as the From identity (its
   * "Source"/Return-Path check), so it must be a verified identity of the account too; it is not
   * used as the delivered Return-Path (that is always Sesame's per-message bounce address).
   */
  envelopeFrom?: string;
}

/** Settings the pipeline needs. */
export interface SendingSettings {
  region: string;
  hostname: string;
  /** The default account (SESAME_ACCOUNT_ID): SESAME_HOSTNAME's own DKIM identity lives there. */
  systemAccountId: string;
  maxDeliverySeconds: number;
}

const MAX_RECIPIENTS = 50;
/** SES: at most 50 entries (destinations) in one bulk send. */
export const MAX_BULK_ENTRIES = 50;
const TAG = /^[A-Za-z0-9_-]{1,256}$/;

/**
 * How long each stage of an accepted send took, in seconds: `checks` (authorization, identities,
 * quota, rendering), `sign` (composing and DKIM signing, on the signing thread in a server) and
 * `store` (the suppression check, a large body written to the blob store, and the durable commit to
 * the queue with its disk flush). For the node's metrics.
 */
export interface SendStages {
  checks: number;
  sign: number;
  store: number;
}

/** Hears about every message the pipeline accepted (not refusals). */
export interface SendObserver {
  accepted(stages: SendStages): void;
}

/** The sending pipeline. */
export class SendingService {
  private readonly rates = new Map<string, RateLimiter>();
  /** The last read of SESAME_HOSTNAME's identity (see hostIdentity). */
  private host: { at: number; identity: Promise<Identity | undefined> } | undefined;

  private readonly accounts: AccountsService;

  constructor(
    private readonly storage: Storage,
    private readonly services: SendingServices,
    private readonly batcher: CommitBatcher,
    private readonly clock: Clock,
    private readonly settings: SendingSettings,
    private readonly logger: Logger,
    /** The installation's shared MaxSendRate buckets (several nodes on PostgreSQL); in memory when absent. */
    private readonly sharedRates?: SharedBuckets,
    private readonly observer?: SendObserver,
  ) {
    this.accounts = services.accounts;
  }

  /**
   * A bulk templated send: each entry runs the whole pipeline as its own message. A refusal of one
   * entry becomes that entry's status (as SES reports it); input errors of the request as a whole
   * (no entries, more than 50, content that is not a template) throw.
   */
  async sendBulk(p: Principal, cmd: BulkCommand): Promise<BulkResult[]> {
    if (cmd.entries.length === 0) throw badRequest('BulkEmailEntries must hold at least one entry.');
    if (cmd.entries.length > MAX_BULK_ENTRIES) throw badRequest(`BulkEmailEntries can hold at most ${MAX_BULK_ENTRIES} entries.`);
    // The entries run side by side, so that their messages share group commits (one disk flush
    // for the lot instead of one per entry); results keep the entries' order.
    return Promise.all(
      cmd.entries.map(async (e): Promise<BulkResult> => {
        const tags = new Map((cmd.defaultTags ?? []).map((t) => [t.name, t.value]));
        for (const t of e.tags ?? []) tags.set(t.name, t.value);
        const headers = new Map((cmd.headers ?? []).map((h) => [h.name.toLowerCase(), h]));
        for (const h of e.headers ?? []) headers.set(h.name.toLowerCase(), h);
        try {
          const messageId = await this.send(p, {
            ...cmd,
            to: e.to,
            cc: e.cc,
            bcc: e.bcc,
            tags: [...tags].map(([name, value]) => ({ name, value })),
            content: { kind: 'template', template: cmd.template, data: e.data === undefined || e.data === '' ? cmd.defaultData : e.data, headers: [...headers.values()], attachments: cmd.attachments },
          });
          return { status: 'SUCCESS', messageId };
        } catch (err) {
          if (err instanceof SesError) return { status: bulkStatus(err), error: err.message };
          // An unexpected failure of one entry (its commit failed, nothing of it is stored) must not
          // hide the MessageIds of the entries that were committed: it is that entry's status.
          this.logger.error({ code: 'SEND_BULK_ENTRY_FAILED', err }, 'a bulk entry failed unexpectedly');
          return { status: 'TRANSIENT_FAILURE', error: 'Internal error; send this entry again.' };
        }
      }),
    );
  }

  /** Runs the pipeline; returns the MessageId after the durable commit. */
  async send(p: Principal, cmd: SendCommand): Promise<string> {
    const spooled = cmd.content.kind === 'raw' && isSpooled(cmd.content.data) ? cmd.content.data : undefined;
    const blobs: { made?: string; kept?: string } = {};
    let committed = false;
    try {
      const messageId = await this.accept(p, cmd, blobs);
      committed = true;
      return messageId;
    } finally {
      // A spool nobody keeps (refused, or copied into memory for tracking) and a blob written for a
      // message whose commit failed are removed; a crash between leaves an unreferenced blob only.
      const drop = [spooled && (!committed || spooled.blobId !== blobs.kept) ? spooled.blobId : undefined, !committed ? blobs.made : undefined];
      for (const id of drop) if (id) await this.storage.blobs.delete(id).catch((err: unknown) => this.logger.warn({ code: 'SPOOL_DELETE_FAILED', err, blobId: id }, 'a spooled message could not be removed'));
    }
  }

  private async accept(p: Principal, cmd: SendCommand, blobs: { made?: string; kept?: string }): Promise<string> {
    const now = this.clock.now();
    const started = performance.now();
    const tags = this.validateTags(cmd.tags ?? []);
    let configurationSet = cmd.configurationSetName !== undefined ? await this.services.configurationSets.load(p.accountId, cmd.configurationSetName) : undefined;
    // A stored template must exist (a synchronous refusal, as SES's); its rendering happens below.
    const template = cmd.content.kind === 'template' ? await this.resolveTemplate(p.accountId, cmd.content.template) : undefined;
    // Parse raw input first: its From and recipients may come from its headers.
    let raw: { headers: HeaderField[]; body: Buffer } | undefined;
    // A spooled message's body stays in its blob: `rawRest` is where it starts there.
    let rawRest: BlobRange | undefined;
    if (cmd.content.kind === 'raw') {
      const data = cmd.content.data;
      const size = sizeOf(data);
      if (size > cmd.maxBytes) throw new SesError('MessageRejected', `Message length is more than ${cmd.maxBytes} bytes long: '${size}'.`);
      try {
        if (isSpooled(data)) {
          const block = headerBlockEnd(data.head);
          if (!block) throw new MimeError(`no empty line ends the header block within its first ${data.head.length} bytes (a message is header fields, an empty line, then the body)`);
          raw = { headers: splitMessage(data.head.subarray(0, block.bodyStart)).headers, body: Buffer.alloc(0) };
          rawRest = { id: data.blobId, offset: block.bodyStart };
        } else raw = splitMessage(data);
      } catch (err) {
        if (err instanceof MimeError) throw new SesError('MessageRejected', `The raw message is not a valid MIME message: ${err.message}.`);
        throw err;
      }
    }
    const fromField = cmd.from ?? (raw ? headerValue(raw.headers, 'From') : undefined);
    if (!fromField) throw new SesError('MessageRejected', 'Missing required header \'From\'.');
    if (hasLineBreak(fromField)) throw badRequest('FromEmailAddress must not contain line breaks.');
    const fromList = parseAddressList(fromField);
    if (fromList.length !== 1) throw badRequest(`Illegal address in From: ${fromField}`);
    const from = this.address(fromList[0]!, 'From');

    const recipients = this.recipients(cmd, raw);
    for (const h of [...(cmd.replyTo ?? []), ...recipients]) if (hasLineBreak(h)) throw badRequest('Addresses must not contain line breaks.');

    // Authorization: the key's policy, on the From identity, with SES's condition keys.
    const fromDomain = from.slice(from.lastIndexOf('@') + 1);
    // One read per identity name for the whole send: the From check, MAIL FROM and DKIM all walk the same chain.
    const ids = identityReader(this.storage, p.accountId);
    const verifying = await this.verifyingIdentity(ids, from);
    this.accounts.authorize(p, {
      action: cmd.action,
      resource: identityArn({ region: this.settings.region, accountId: p.accountId }, verifying?.name ?? from),
      context: { 'ses:FromAddress': from, 'ses:Recipients': recipients, 'ses:FromDisplayName': displayName(fromField) },
    });
    if (!verifying) throw this.notVerified([from]);
    // Without a set named by the send, the identity's default set applies (PutEmailIdentityConfigurationSetAttributes);
    // a default set deleted since is ignored, as the send did not name it.
    if (!configurationSet && verifying.data.configurationSetName) {
      configurationSet = await this.services.configurationSets.load(p.accountId, verifying.data.configurationSetName).catch((err: unknown) => {
        if (err instanceof SesError && err.code === 'NotFoundException') return undefined;
        throw err;
      });
    }
    if (cmd.envelopeFrom !== undefined && cmd.envelopeFrom.toLowerCase() !== from.toLowerCase()) {
      const envelope = this.address(cmd.envelopeFrom, 'MAIL FROM');
      if (!(await this.verifyingIdentity(ids, envelope))) throw this.notVerified([envelope]);
    }

    const account = await this.services.accountSettings.read(p.accountId);
    if (!account.sendingEnabled) throw new SesError('SendingPausedException', 'Sending is paused for this account.', 'AccountSendingPausedException');
    if (configurationSet && !configurationSet.sending.sendingEnabled) {
      throw new SesError('SendingPausedException', `Sending is paused for configuration set <${configurationSet.name}>.`, 'ConfigurationSetSendingPausedException');
    }
    if (!account.productionAccessEnabled) {
      const unverified: string[] = [];
      for (const r of recipients) if (!(await this.verifyingIdentity(ids, r))) unverified.push(r);
      if (unverified.length > 0) throw this.notVerified(unverified);
    }
    const quota = effectiveQuota(account);
    if (quota.max24HourSend >= 0 && (await this.storage.queue.sentSince(p.accountId, now - 86_400_000)) + recipients.length > quota.max24HourSend) {
      throw new SesError('TooManyRequestsException', 'Daily message quota exceeded.', 'Throttling');
    }
    if (quota.maxSendRate > 0 && !(await this.takeRate(p.accountId, quota.maxSendRate, recipients.length, now))) {
      throw new SesError('TooManyRequestsException', 'Maximum sending rate exceeded.', 'Throttling');
    }

    const messageId = newMessageId(now);
    const mailFrom = await this.mailFrom(ids, verifying, fromDomain, messageId);
    const base = { messageId, now, fromField, from, recipients, tags, verifying, configurationSet };
    let content = cmd.content;
    if (content.kind === 'template') {
      try {
        parseTemplateData(content.data);
      } catch (err) {
        if (err instanceof RenderingError) throw badRequest(err.message, 'InvalidRenderingParameter');
        throw err;
      }
      let rendered;
      try {
        rendered = this.services.templates.render(template!, content.data);
      } catch (err) {
        if (!(err instanceof RenderingError)) throw err;
        // As SES: the request succeeds, the message is not sent, and a Rendering Failure event says why.
        return this.renderingFailure(p, cmd, base, mailFrom, template!.name ?? '', err.message);
      }
      content = { kind: 'simple', subject: rendered.subject, text: rendered.text, html: rendered.html, headers: content.headers, attachments: content.attachments };
    }
    // A raw message's header fields are known from its normalisation; a built one is split.
    let built: Buffer;
    let builtHeaders: HeaderField[];
    // Open and click tracking rewrite the HTML before signing: a built message's HTML body, or
    // every inline HTML part of a raw one.
    const links: TrackedLink[] = [];
    const tracking = this.services.tracking;
    const want = configurationSet && tracking ? tracking.wants(configurationSet) : undefined;
    if (want && (want.open || want.click)) {
      const track = (html: string) => {
        const t = tracking!.rewrite(configurationSet!, messageId, html, links.length);
        links.push(...t.links);
        return t.html;
      };
      if (raw) {
        // Rewriting HTML needs the whole message in memory (a large tracked message is read back).
        if (rawRest) {
          raw = splitMessage(await readAll(this.storage.blobs, (cmd.content as Extract<SendContent, { kind: 'raw' }>).data));
          rawRest = undefined;
        }
        const r = rewriteHtmlParts(raw.headers, raw.body, track);
        if (r) raw = r;
      } else if (content.kind === 'simple' && content.html !== undefined) content = { ...content, html: track(content.html) };
    }
    const checked = performance.now();
    // A built message is composed and signed in one trip to the signing thread (see dkim-sign.ts).
    let composed: { specs: DkimSignatureSpec[]; signatures: string; errors: string[] } | undefined;
    if (raw) ({ message: built, headers: builtHeaders } = this.normaliseRaw(raw, messageId, now));
    else {
      const options = this.composeOptions(cmd, content as Extract<SendContent, { kind: 'simple' }>, fromField, messageId, now);
      const specs = await this.signingSpecs(ids, fromDomain);
      const { message, ...result } = await this.services.dkim.composeAndSign(options, specs, new Date(now));
      composed = { specs, ...result };
      built = message;
      builtHeaders = splitMessage(built).headers;
    }
    const builtSize = built.length + (rawRest && cmd.content.kind === 'raw' ? sizeOf(cmd.content.data) - rawRest.offset : 0);
    if (builtSize > cmd.maxBytes) throw new SesError('MessageRejected', `Message length is more than ${cmd.maxBytes} bytes long: '${builtSize}'.`);
    let body = composed ? this.withSignatures(composed.specs, composed, built) : await this.sign(ids, fromDomain, built, now, rawRest);
    const signed = performance.now();
    // The queue row holds a message's head; a large message's rest is in the BlobStore, written
    // and flushed before the row that names it is committed.
    let bodyBlob: BlobRange | null = rawRest ?? null;
    if (rawRest) blobs.kept = rawRest.id;
    else if (body.length > SPOOL_FROM_BYTES) {
      // Built (or rewritten) in memory: the blob takes the signed message, the row its header block.
      const { id } = await this.storage.blobs.put(body);
      blobs.made = id;
      const headEnd = headerBlockEnd(body)?.bodyStart ?? 0;
      bodyBlob = { id, offset: headEnd };
      body = Buffer.from(body.subarray(0, headEnd));
    }

    // The configuration set's suppression options, when it has them, replace the account's.
    const reasons = configurationSet?.suppression?.suppressedReasons ?? account.suppressedReasons;
    const suppressed = new Set(
      (await this.storage.suppression.findMany(p.accountId, recipients.map((r) => r.toLowerCase()))).filter((e) => reasons.includes(e.reason)).map((e) => e.email),
    );
    const mail = this.mailObject(p, cmd, { ...base, headers: builtHeaders });
    const rows: RecipientRecord[] = recipients.map((rcpt) => ({
      messageId,
      rcpt,
      domain: rcpt.slice(rcpt.lastIndexOf('@') + 1).toLowerCase(),
      state: suppressed.has(rcpt.toLowerCase()) ? 'suppressed' : 'queued',
      attempts: 0,
      nextAttemptAt: now,
      leaseOwner: null,
      leaseExpiresAt: null,
      lastResponse: suppressed.has(rcpt.toLowerCase()) ? 'Address is on the account-level suppression list' : null,
      updatedAt: now,
    }));
    const events: EventRecord[] = [{ messageId, accountId: p.accountId, type: 'Send', createdAt: now, payload: sendEvent(mail) }];
    for (const r of rows.filter((x) => x.state === 'suppressed')) {
      events.push({
        messageId,
        accountId: p.accountId,
        type: 'Bounce',
        createdAt: now,
        payload: bounceEvent(mail, {
          bounceType: 'Permanent',
          bounceSubType: 'OnAccountSuppressionList',
          at: now,
          feedbackId: newMessageId(now),
          recipients: [{ emailAddress: r.rcpt, action: 'failed', status: '5.1.1', diagnosticCode: 'Amazon SES did not send the message to this address because it is on the suppression list for your account.' }],
          reportingMTA: `dns; ${this.settings.hostname}`,
        }),
      });
    }
    const maxSeconds = Math.min(this.settings.maxDeliverySeconds, configurationSet?.delivery.maxDeliverySeconds ?? Infinity);
    await this.batcher.enqueue({
      message: {
        messageId,
        accountId: p.accountId,
        mailFrom,
        body,
        bodyBlob,
        configurationSet: configurationSet?.name ?? null,
        requireTls: configurationSet?.delivery.tlsPolicy === 'REQUIRE',
        createdAt: now,
        expiresAt: now + maxSeconds * 1000,
        meta: { mail, suppressOnBounce: reasons.includes('BOUNCE'), ...(links.length > 0 ? { links } : {}) },
      },
      recipients: rows,
      events,
    });
    this.observer?.accepted({ checks: (checked - started) / 1000, sign: (signed - checked) / 1000, store: (performance.now() - signed) / 1000 });
    this.logger.debug({ messageId, accountId: p.accountId, recipients: recipients.length, bytes: body.length + (bodyBlob ? builtSize - built.length : 0) }, 'message accepted');
    return messageId;
  }

  /**
   * Mail Sesame sends on its own behalf (the email-address verification message): from
   * `no-reply@SESAME_HOSTNAME`, signed when the account has a verified identity for the hostname,
   * queued and delivered like any message but without quota checks or events (SES does not publish
   * events for its own mail either).
   */
  async sendSystemMail(accountId: string, m: { to: string; subject: string; text: string }): Promise<string> {
    const now = this.clock.now();
    const messageId = newMessageId(now);
    const from = `no-reply@${this.settings.hostname}`;
    const specs = await this.signingSpecs(identityReader(this.storage, accountId), this.settings.hostname);
    const options: ComposeOptions = {
      from: `"Sesame" <${from}>`,
      to: m.to,
      subject: m.subject,
      text: m.text,
      messageId: `<${messageId}@${this.settings.hostname}>`,
      date: new Date(now),
      headers: { 'Auto-Submitted': 'auto-generated' },
    };
    const { message, ...result } = await this.services.dkim.composeAndSign(options, specs, new Date(now));
    const body = this.withSignatures(specs, result, message);
    const rcpt = this.address(m.to, 'a recipient');
    await this.batcher.enqueue({
      message: { messageId, accountId, mailFrom: `${messageId}@${this.settings.hostname}`, body, configurationSet: null, createdAt: now, expiresAt: now + this.settings.maxDeliverySeconds * 1000, meta: { system: true, suppressOnBounce: false } },
      recipients: [{ messageId, rcpt, domain: rcpt.slice(rcpt.lastIndexOf('@') + 1).toLowerCase(), state: 'queued', attempts: 0, nextAttemptAt: now, leaseOwner: null, leaseExpiresAt: null, lastResponse: null, updatedAt: now }],
      events: [],
      countTowardQuota: false,
    });
    return messageId;
  }

  /** Records a message whose template could not be rendered: no recipients to deliver, one Rendering Failure event. */
  private async renderingFailure(p: Principal, cmd: SendCommand, base: MailBase, mailFrom: string, templateName: string, errorMessage: string): Promise<string> {
    const headers = [field('From', base.fromField), ...(cmd.to?.length ? [field('To', cmd.to.join(', '))] : []), ...(cmd.cc?.length ? [field('Cc', cmd.cc.join(', '))] : [])];
    const mail = this.mailObject(p, cmd, { ...base, headers });
    await this.batcher.enqueue({
      message: {
        messageId: base.messageId,
        accountId: p.accountId,
        mailFrom,
        body: Buffer.alloc(0),
        configurationSet: base.configurationSet?.name ?? null,
        createdAt: base.now,
        expiresAt: base.now,
        meta: { mail },
      },
      recipients: [],
      events: [{ messageId: base.messageId, accountId: p.accountId, type: 'Rendering Failure', createdAt: base.now, payload: renderingFailureEvent(mail, { templateName, errorMessage }) }],
    });
    this.logger.info({ code: 'SEND_RENDERING_FAILURE', messageId: base.messageId, template: templateName, reason: errorMessage }, `template ${templateName} could not be rendered: ${errorMessage}`);
    return base.messageId;
  }

  /** The template a send names: stored (by name, or ARN of this account) or inline. */
  private async resolveTemplate(accountId: string, ref: TemplateRef): Promise<{ accountId?: string; name?: string; content: TemplateContent; updatedAt?: number }> {
    if ('inline' in ref) {
      this.services.templates.checkContent(ref.inline);
      return { content: ref.inline };
    }
    let name: string;
    if ('arn' in ref) {
      const m = /^arn:aws:ses:([a-z0-9-]+):(\d{12}):template\/([A-Za-z0-9_-]{1,64})$/.exec(ref.arn);
      if (!m || m[1] !== this.settings.region || m[2] !== accountId) throw badRequest(`Invalid TemplateArn <${ref.arn}>: give the ARN of a template of this account in ${this.settings.region}.`);
      name = m[3]!;
    } else name = ref.name;
    return this.services.templates.load(accountId, name);
  }

  private validateTags(tags: Array<{ name: string; value: string }>): Array<{ name: string; value: string }> {
    for (const t of tags) {
      if (typeof t.name !== 'string' || !TAG.test(t.name)) throw badRequest(`Invalid message tag name <${String(t.name)}>: use ASCII letters, digits, '_' and '-' (at most 256).`);
      if (typeof t.value !== 'string' || !TAG.test(t.value)) throw badRequest(`Invalid message tag value <${String(t.value)}>: use ASCII letters, digits, '_' and '-' (at most 256).`);
      if (t.name.startsWith('ses:')) throw badRequest('Message tag names cannot start with "ses:".');
    }
    return tags;
  }

  private address(a: string, where: string): string {
    const c = checkEmailAddress(a.trim());
    if (!c.ok) throw new SesError('MessageRejected', `Illegal address in ${where}: <${a}> (${c.reason}).`, 'InvalidParameterValue');
    return c.value;
  }

  private recipients(cmd: SendCommand, raw: { headers: HeaderField[] } | undefined): string[] {
    let list = [...(cmd.to ?? []), ...(cmd.cc ?? []), ...(cmd.bcc ?? [])];
    if (list.length === 0 && raw) {
      list = ['To', 'Cc', 'Bcc'].flatMap((h) => headerValues(raw.headers, h).flatMap(parseAddressList));
    }
    if (list.length === 0) throw new SesError('MessageRejected', 'Missing final destination: give at least one recipient.', 'InvalidParameterValue');
    if (list.length > MAX_RECIPIENTS) throw new SesError('MessageRejected', `Recipient count exceeds ${MAX_RECIPIENTS}.`, 'InvalidParameterValue');
    const seen = new Set<string>();
    const out: string[] = [];
    for (const r of list) {
      const a = this.address(r, 'a recipient');
      if (seen.has(a.toLowerCase())) continue;
      seen.add(a.toLowerCase());
      out.push(a);
    }
    return out;
  }

  /** The verified identity that lets `address` send: the address, its domain, or a parent domain. */
  private async verifyingIdentity(ids: IdentityReader, address: string): Promise<Identity | undefined> {
    const candidates = [address];
    const labels = address.slice(address.lastIndexOf('@') + 1).split('.');
    for (let i = 0; i < labels.length - 1; i++) candidates.push(labels.slice(i).join('.'));
    for (const name of candidates) {
      const i = await ids(name);
      if (i && i.verificationStatus === 'SUCCESS') return i;
    }
    return undefined;
  }

  private notVerified(addresses: string[]): SesError {
    return new SesError('MessageRejected', `Email address is not verified. The following identities failed the check in region ${this.settings.region.toUpperCase()}: ${addresses.join(', ')}`);
  }

  /** The per-message bounce address: on the verified custom MAIL FROM domain, else on SESAME_HOSTNAME. */
  private async mailFrom(ids: IdentityReader, verifying: Identity, fromDomain: string, messageId: string): Promise<string> {
    const domainIdentity = verifying.type === 'DOMAIN' ? verifying : ((await ids(fromDomain)) ?? verifying);
    const mf = domainIdentity.data.mailFrom;
    if (mf && mf.status === 'SUCCESS') return `${messageId}@${mf.domain}`;
    if (mf && mf.behaviorOnMxFailure === 'REJECT_MESSAGE') {
      throw new SesError('MailFromDomainNotVerifiedException', `The custom MAIL FROM domain ${mf.domain} of ${domainIdentity.name} is not verified, and its BehaviorOnMxFailure is REJECT_MESSAGE.`, 'MailFromDomainNotVerifiedException');
    }
    return `${messageId}@${this.settings.hostname}`;
  }

  /** What MailComposer builds a Simple message from; refuses a bad Subject or header (BadRequest). */
  private composeOptions(cmd: SendCommand, c: Extract<SendContent, { kind: 'simple' }>, fromField: string, messageId: string, now: number): ComposeOptions {
    if (hasLineBreak(c.subject)) throw badRequest('Subject must not contain line breaks.');
    const headers: Array<{ key: string; value: string }> = [];
    for (const h of c.headers ?? []) {
      if (!/^[\x21-\x39\x3b-\x7e]{1,126}$/.test(h.name)) throw badRequest(`Invalid header name <${h.name}>.`);
      if (hasLineBreak(h.value) || h.value.length > 995 || h.name.length + h.value.length > 996) throw badRequest(`Invalid value for header ${h.name}.`);
      headers.push({ key: h.name, value: h.value });
    }
    return {
      from: fromField,
      to: cmd.to,
      cc: cmd.cc,
      replyTo: cmd.replyTo,
      subject: c.subject,
      text: c.text,
      html: c.html,
      headers,
      messageId: `<${messageId}@${this.settings.hostname}>`,
      date: new Date(now),
      attachments: (c.attachments ?? []).map((a) => ({
        content: a.content,
        filename: a.fileName,
        contentType: a.contentType,
        contentDisposition: a.disposition === 'INLINE' ? 'inline' : 'attachment',
        cid: a.contentId,
        headers: a.description ? { 'Content-Description': a.description } : undefined,
        contentTransferEncoding: a.transferEncoding === 'QUOTED_PRINTABLE' ? 'quoted-printable' : a.transferEncoding === 'SEVEN_BIT' ? '7bit' : 'base64',
      })),
    };
  }

  /** SES replaces Message-ID and Date, drops Bcc, and strips its own X-SES-* control headers. */
  private normaliseRaw(raw: { headers: HeaderField[]; body: Buffer }, messageId: string, now: number): { message: Buffer; headers: HeaderField[] } {
    const drop = new Set(['message-id', 'date', 'bcc', 'return-path']);
    const kept = raw.headers.filter((h) => !drop.has(h.name.toLowerCase()) && !h.name.toLowerCase().startsWith('x-ses-'));
    const headers = [field('Message-ID', `<${messageId}@${this.settings.hostname}>`), field('Date', new Date(now).toUTCString().replace('GMT', '+0000')), ...kept];
    return { message: joinMessage(headers, raw.body), headers };
  }

  /**
   * Signs once per message: with the From domain's DKIM key (the closest verified domain identity
   * with DKIM enabled), and also with SESAME_HOSTNAME's own key when the operator has verified
   * SESAME_HOSTNAME as a domain identity of the default account — as SES adds its amazonses.com
   * signature, so that a receiver sees a valid signature of the sending service whatever the
   * customer's DNS does. mailauth makes both signatures in one pass over the message.
   */
  private async sign(ids: IdentityReader, fromDomain: string, message: Buffer, now: number, rest?: BlobRange): Promise<Buffer> {
    const specs = await this.signingSpecs(ids, fromDomain);
    if (specs.length === 0) return message;
    if (rest) {
      // A spooled message is hashed as it streams from its blob, behind its new header block.
      const stream = await streamBody(this.storage.blobs, message, rest);
      if (!stream) throw new Error(`spooled message ${rest.id} is missing from the blob store`);
      return this.withSignatures(specs, await this.services.dkim.signStream(stream, specs, new Date(now)), message);
    }
    const { message: signed, ...result } = await this.services.dkim.sign(message, specs, new Date(now));
    return this.withSignatures(specs, result, signed);
  }

  /** The signatures a message gets (see sign): the From domain's first, then SESAME_HOSTNAME's. */
  private async signingSpecs(ids: IdentityReader, fromDomain: string): Promise<DkimSignatureSpec[]> {
    const specs: DkimSignatureSpec[] = [];
    const labels = fromDomain.split('.');
    for (let i = 0; i < labels.length - 1; i++) {
      const spec = this.signingSpec(await ids(labels.slice(i).join('.')));
      if (spec) {
        specs.push(spec);
        break;
      }
    }
    const host = this.settings.hostname.toLowerCase();
    if (specs[0]?.signingDomain.toLowerCase() !== host) {
      const own = this.signingSpec(await this.hostIdentity());
      if (own) specs.push(own);
    }
    return specs;
  }

  /** The signed message: its signatures before it, once every one of `specs` was made (else InternalServiceErrorException). */
  private withSignatures(specs: DkimSignatureSpec[], { signatures, errors }: { signatures: string; errors: string[] }, message: Buffer): Buffer {
    if (specs.length === 0) return message;
    if (errors.length > 0 || signatures.match(/^DKIM-Signature:/gim)?.length !== specs.length) {
      const domains = specs.map((s) => s.signingDomain).join(', ');
      this.logger.error({ code: 'DKIM_SIGN_FAILED', domains, errors }, `DKIM signing failed for ${domains}`);
      throw new SesError('InternalServiceErrorException', 'DKIM signing failed.');
    }
    return Buffer.concat([Buffer.from(signatures), message]);
  }

  /** The signature an identity makes, when its DKIM is verified and enabled. */
  private signingSpec(identity: Identity | undefined): DkimSignatureSpec | undefined {
    const dkim = identity?.data.dkim;
    if (!identity || !dkim || !dkim.signingEnabled || dkim.status !== 'SUCCESS' || dkim.keys.length === 0) return undefined;
    const key = dkim.keys[0]!;
    return {
      signingDomain: identity.name,
      selector: key.selector,
      privateKey: this.services.identities.openDkimKey(identity, key),
      algorithm: 'rsa-sha256',
      canonicalization: 'relaxed/relaxed',
    };
  }

  /** SESAME_HOSTNAME as a domain identity of the default account, if the operator made one (read at most once a second). */
  private async hostIdentity(): Promise<Identity | undefined> {
    const now = this.clock.now();
    if (!this.host || now - this.host.at > 1000) {
      this.host = { at: now, identity: identityReader(this.storage, this.settings.systemAccountId)(this.settings.hostname.toLowerCase()) };
    }
    return this.host.identity;
  }

  private mailObject(
    p: Principal,
    cmd: SendCommand,
    m: MailBase & { headers: HeaderField[] },
  ): MailObject {
    const tags: Record<string, string[]> = {
      'ses:operation': [cmd.operation],
      'ses:configuration-set': m.configurationSet ? [m.configurationSet.name] : [],
      'ses:source-ip': cmd.sourceIp ? [cmd.sourceIp] : [],
      'ses:from-domain': [m.from.slice(m.from.lastIndexOf('@') + 1)],
      'ses:caller-identity': [p.accessKeyId],
    };
    for (const k of Object.keys(tags)) if (tags[k]!.length === 0) delete tags[k];
    for (const t of m.tags) (tags[t.name] ??= []).push(t.value);
    const h = (name: string) => headerValue(m.headers, name);
    const list = (name: string) => headerValues(m.headers, name).flatMap((v) => v.split(',').map((s) => s.trim()).filter(Boolean));
    const common: Record<string, unknown> = { from: list('From'), messageId: m.messageId };
    if (h('To')) common.to = list('To');
    if (h('Cc')) common.cc = list('Cc');
    if (h('Reply-To')) common.replyTo = list('Reply-To');
    if (h('Date')) common.date = h('Date');
    if (h('Subject') !== undefined) common.subject = h('Subject');
    const headers = m.headers.map((x) => ({ name: x.name, value: x.value }));
    let size = 0;
    const kept: Array<{ name: string; value: string }> = [];
    for (const x of headers) {
      size += x.name.length + x.value.length;
      if (size > 10_240) break;
      kept.push(x);
    }
    return {
      timestamp: new Date(m.now).toISOString(),
      source: m.fromField,
      sourceArn: identityArn({ region: this.settings.region, accountId: p.accountId }, m.verifying.name),
      sendingAccountId: p.accountId,
      messageId: m.messageId,
      destination: m.recipients,
      headersTruncated: kept.length < headers.length,
      headers: kept,
      commonHeaders: common,
      tags,
    };
  }

  /**
   * Takes `n` recipients from the account's MaxSendRate: from this node's bucket on one node, from
   * the installation's shared bucket when nodes share PostgreSQL (ADR 0014).
   */
  private async takeRate(accountId: string, perSecond: number, n: number, now: number): Promise<boolean> {
    if (this.sharedRates) return (await this.sharedRates.take(`rate:account:${accountId}`, perSecond, perSecond, n, now)) === 0;
    return this.rate(accountId, perSecond).take(n, now);
  }

  private rate(accountId: string, perSecond: number): RateLimiter {
    let r = this.rates.get(accountId);
    if (!r || r.rate !== perSecond) {
      r = new RateLimiter(perSecond);
      this.rates.set(accountId, r);
    }
    return r;
  }

  /**
   * Enqueues a prebuilt report (an RFC 3464 DSN of v1 SendBounce or the Bounce receipt action) for
   * one recipient, with the null reverse-path (`MAIL FROM:<>`): RFC 5321 §4.5.5 and RFC 3464 §2 —
   * a report that cannot be delivered is dropped, never reported again. DKIM-signed with the key of
   * `from`'s domain (as sendSystemMail signs), no events, not counted toward the account's quota.
   * The caller authorized the send and checked `from`; `raw` already carries From, To, Date and
   * a Message-ID matching `messageId` (one is generated when not given). Returns the MessageId.
   */
  async sendReport(accountId: string, m: { from: string; to: string; raw: Buffer; messageId?: string }): Promise<string> {
    const now = this.clock.now();
    const messageId = m.messageId ?? newMessageId(now);
    const from = this.address(m.from, 'From');
    const rcpt = this.address(m.to, 'a recipient');
    const body = await this.sign(identityReader(this.storage, accountId), from.slice(from.lastIndexOf('@') + 1), m.raw, now);
    await this.batcher.enqueue({
      message: { messageId, accountId, mailFrom: '', body, configurationSet: null, createdAt: now, expiresAt: now + this.settings.maxDeliverySeconds * 1000, meta: { system: true, report: true, suppressOnBounce: false } },
      recipients: [{ messageId, rcpt, domain: rcpt.slice(rcpt.lastIndexOf('@') + 1).toLowerCase(), state: 'queued', attempts: 0, nextAttemptAt: now, leaseOwner: null, leaseExpiresAt: null, lastResponse: null, updatedAt: now }],
      events: [],
      countTowardQuota: false,
    });
    return messageId;
  }
}

/** What the `mail` object of a message is made from. */
interface MailBase {
  messageId: string;
  now: number;
  fromField: string;
  from: string;
  recipients: string[];
  tags: Array<{ name: string; value: string }>;
  verifying: Identity;
  configurationSet: ConfigurationSet | undefined;
}

/** The bulk status of a refusal, from its error code (v1 code where it is more specific). */
function bulkStatus(err: SesError): BulkStatus {
  switch (err.v1Code) {
    case 'ConfigurationSetDoesNotExist':
      return 'CONFIGURATION_SET_NOT_FOUND';
    case 'TemplateDoesNotExist':
      return 'TEMPLATE_NOT_FOUND';
    case 'ConfigurationSetSendingPausedException':
      return 'CONFIGURATION_SET_SENDING_PAUSED';
    case 'AccountSendingPausedException':
      return 'ACCOUNT_SENDING_PAUSED';
  }
  switch (err.code) {
    case 'MessageRejected':
      return 'MESSAGE_REJECTED';
    case 'MailFromDomainNotVerifiedException':
      return 'MAIL_FROM_DOMAIN_NOT_VERIFIED';
    case 'TooManyRequestsException':
      return /daily/i.test(err.message) ? 'ACCOUNT_DAILY_QUOTA_EXCEEDED' : 'ACCOUNT_THROTTLED';
    case 'AccountSuspendedException':
      return 'ACCOUNT_SUSPENDED';
    case 'SendingPausedException':
      return 'ACCOUNT_SENDING_PAUSED';
    case 'BadRequestException':
    case 'NotFoundException':
    case 'AccessDenied':
      return 'INVALID_PARAMETER';
    case 'InternalServiceErrorException':
      return 'TRANSIENT_FAILURE';
    default:
      return 'FAILED';
  }
}

function displayName(fromField: string): string | undefined {
  const m = /^\s*"?([^"<]*?)"?\s*</.exec(fromField);
  return m?.[1] ? m[1] : undefined;
}

/** Reads an account's identities by name, each at most once (for one send). */
type IdentityReader = (name: string) => Promise<Identity | undefined>;

function identityReader(storage: Storage, accountId: string): IdentityReader {
  const seen = new Map<string, Promise<Identity | undefined>>();
  return (name) => {
    let got = seen.get(name);
    if (!got) {
      got = storage.identities.get(accountId, name).then((r) => (r ? fromRecord(r) : undefined));
      seen.set(name, got);
    }
    return got;
  };
}
