/**
 * What front ends may import from core: the services, their input and output types, and the error
 * catalogue. Core is assembled by `createCore` from ports (storage, clock, DNS) chosen in src/main.
 */
import { randomBytes } from 'node:crypto';
import { buildDsn } from '../lib/dsn.ts';
import type { SecretBox } from '../lib/secretbox.ts';
import type { Logger } from '../observability/logger.ts';
import type { Storage, StrikeSettings } from '../storage/ports.ts';
import { AccountsService } from './accounts/service.ts';
import { AccessKeysAdmin } from './accounts/keys-admin.ts';
import type { Clock, DnsResolver } from './clock.ts';
import { IdentitiesService, type IdentitySettings, type VerificationMailer } from './identities/service.ts';
import { VerificationWorker } from './identities/verification.ts';
import { JobLease, VERIFICATION_JOB } from './cluster/job-lease.ts';
import { NodeRegistry } from './cluster/nodes.ts';
import { TagsService } from './tags/service.ts';
import { CommitBatcher, commitDepth } from './queue/batcher.ts';
import { ConsoleSessions } from './console/sessions.ts';
import { ConsoleUsersService } from './console/users.ts';
import type { SignInThrottleSettings } from './console/throttle.ts';
import { RecordChecker } from './identities/record-check.ts';
import { AccountMessages } from './queue/account-messages.ts';
import { QueueAdmin } from './queue/admin.ts';
import { SendingService, type SendObserver } from './sending/service.ts';
import { SharedBuckets } from './sending/rate-limiter.ts';
import { createDkimSigner, type DkimSigner } from '../lib/dkim-sign.ts';
import { TemplatesService } from './templates/service.ts';
import { ConfigurationSetsService } from './configuration-sets/service.ts';
import { AccountSettingsService } from './sending/account-settings.ts';
import { SuppressionService } from './suppression/service.ts';
import { DeliveryWorker, type DeliveryObserver, type DeliverySettings } from './delivery/worker.ts';
import { TopicsService, type SnsSigner } from './events/topics.ts';
import { EventDispatcher, type EventCounter, type StreamSink } from './events/dispatcher.ts';
import { WebhookWorker, type WebhookObserver, type WebhookSettings } from './events/webhook-worker.ts';
import { ReputationService, type RatesObserver, type ReputationSettings } from './events/reputation.ts';
import { TrackingService, PIXEL_GIF } from './events/tracking.ts';
import { EventBusesService } from './events/event-buses.ts';
import { ObjectStoreService } from './receiving/object-store.ts';
import { SpoolService } from './spool.ts';
import { ReceiptRulesService } from './receiving/rules.ts';
import { FunctionsService } from './receiving/functions.ts';
import { ExternalBucketsService } from './receiving/external-buckets.ts';
import { InboundService, type ScanInput, type ScanVerdict } from './receiving/inbound.ts';
import { FeedbackService } from './receiving/feedback.ts';

export {
  SendingService,
  MAX_BULK_ENTRIES,
  type SendCommand,
  type SendContent,
  type AttachmentInput,
  type HeaderInput,
  type TemplateRef,
  type BulkCommand,
  type BulkEntry,
  type BulkResult,
  type BulkStatus,
  type SendObserver,
  type SendStages,
} from './sending/service.ts';
export { TemplatesService, RenderingError, type TemplateContent, type EmailTemplate, type RenderedContent } from './templates/service.ts';
export { ConfigurationSetsService, MAX_DELIVERY_SECONDS, MAX_EVENT_DESTINATIONS, type ConfigurationSet, type ConfigurationSetOptions, type SuppressionReason, type EventDestinationDefinition } from './configuration-sets/service.ts';
export { AccountSettingsService, SANDBOX_QUOTA, effectiveQuota, type AccountSendingSettings, type AccountDetails, type SendDataPoint, type OperatorChange } from './sending/account-settings.ts';
export { SuppressionService } from './suppression/service.ts';
export { DeliveryWorker } from './delivery/worker.ts';
export { CommitBatcher } from './queue/batcher.ts';
export { ConsoleSessions, CONSOLE_SESSION_TTL_MS, sameText, type ConsoleSession } from './console/sessions.ts';
export { ConsoleUsersService, PASSWORD_MIN_LENGTH, type ConsoleUserInfo } from './console/users.ts';
export { SignInThrottled, SIGN_IN_THROTTLE_DEFAULTS, type SignInThrottleSettings } from './console/throttle.ts';
export { generatePassword } from './console/passwords.ts';
export { QueueAdmin, PURGED_RESPONSE, MAX_DESTINATIONS, destinationDomain, type DestinationView, type QueueOverview, type QueueMessageView, type QueueRecipientView, type QueueEventView, type MessageInspection, type QueueStats } from './queue/admin.ts';
export type { MailObject } from './events/model.ts';
export { TopicsService, type SnsSigner, type TopicsSettings } from './events/topics.ts';
export { EventDispatcher, type EventCounter, type StreamSink } from './events/dispatcher.ts';
export { WebhookWorker } from './events/webhook-worker.ts';
export { ReputationService, type ReputationSettings, type ReputationRates } from './events/reputation.ts';
export { TrackingService, PIXEL_GIF };
export { EventBusesService, type EventBus } from './events/event-buses.ts';
export { ObjectStoreService, ObjectStoreError, S3_ERROR_CODES, STORED_HEADERS, validBucketName, s3Arn, resolveRange, type S3ErrorCode, type BucketInfo, type StoredObject, type StoredHeader, type PutObjectOptions, type ReadConditions, type ObjectContent, type ListObjectsOptions, type ObjectListing } from './receiving/object-store.ts';
export { ReceiptRulesService, RECEIPT_LIMITS, type ReceiptRuleInput, type ReceiptActionInput, type ReceiptFilterInput, type ReceiptRuleSetView, type BouncedRecipientInput, type SendBounceInput, type ExtensionFieldInput } from './receiving/rules.ts';
export { FunctionsService, type FunctionInfo } from './receiving/functions.ts';
export { ExternalBucketsService, type ExternalBucket, type ExternalBucketInput } from './receiving/external-buckets.ts';
export { InboundService, type InboundMessage, type InboundReply, type RecipientVerdict, type ScanInput, type ScanVerdict } from './receiving/inbound.ts';
export { FeedbackService, bounceAddressId, type FeedbackInput, type FeedbackOutcome } from './receiving/feedback.ts';
export { SpoolService, Spooler, isSpooled, sizeOf, SPOOL_FROM_BYTES, type MessageBytes, type SpooledMessage } from './spool.ts';
export * from './events/destinations.ts';
export { AccountsService, type Principal, type AccessKeyInfo, type NewAccessKey, type BootstrapResult } from './accounts/service.ts';
export { parsePolicy, type PolicyDocument } from './accounts/policy.ts';
export { AccessKeysAdmin, IamError, IAM_STATUS, type IamErrorCode, type CreatedAccessKey } from './accounts/keys-admin.ts';
export { IdentitiesService, type CreateIdentityInput, type DnsRecord, type NotificationAttributes, type NotificationType } from './identities/service.ts';
export { dkimView, verifiedForSending, type Identity, type DkimAttributesView } from './identities/model.ts';
export { VerificationWorker } from './identities/verification.ts';
export { RecordChecker, type RecordCheck } from './identities/record-check.ts';
export { AccountMessages } from './queue/account-messages.ts';
export { NodeRegistry, nodeState, MISSED_HEARTBEATS_DOWN, type NodeView, type NodeState, type NodeInfo } from './cluster/nodes.ts';
export { JobLease, VERIFICATION_JOB } from './cluster/job-lease.ts';
export { TagsService } from './tags/service.ts';
export { SesError, ERROR_CODES, badRequest, notFound, type ErrorCode } from './errors.ts';
export { systemClock, type Clock, type DnsResolver, type MxRecord } from './clock.ts';

/** Everything core needs from the outside. */
export interface CoreDeps {
  storage: Storage;
  /** The console's sign-in brake (defaults: 5 failures per name, 20 per client address, 15 minutes). */
  consoleSignIn?: SignInThrottleSettings;
  box: SecretBox;
  clock: Clock;
  resolver: DnsResolver;
  logger: Logger;
  settings: IdentitySettings;
  /** Sending and delivery settings. */
  sending: { maxDeliverySeconds: number } & Omit<DeliverySettings, 'hostname'>;
  deliveryObserver?: DeliveryObserver;
  /** Hears how long the stages of each accepted send took (the node's metrics). */
  sendObserver?: SendObserver;
  /** This node's stable id (lease owner). */
  nodeId?: string;
  /** The node registry's heartbeat interval (ms); installation-wide job leases last three of them. */
  cluster?: { heartbeatMs?: number };
  /** Sends the email-address verification mail (logs the link until sending exists). */
  sendVerificationMail?: VerificationMailer;
  onVerificationCheck?: (result: 'success' | 'pending' | 'temporary_failure' | 'failed') => void;
  /** Makes DKIM signatures; signs in the calling thread when not given. */
  dkim?: DkimSigner;
  /** Signs SNS deliveries (main loads the key and certificate); without it topics cannot deliver. */
  sns?: { signer: SnsSigner };
  /** Event publishing: webhook retries, reputation, tracking key, and where streams and counters go. */
  events?: {
    webhooks?: Partial<WebhookSettings> & { retryWindowMs?: number };
    webhookObserver?: WebhookObserver;
    reputation?: Partial<ReputationSettings>;
    ratesObserver?: RatesObserver;
    streams?: StreamSink;
    counter?: EventCounter;
    /** Key of the tracking links' HMAC (derived from the master key in main). */
    trackingKey?: Buffer;
  };
  /** Spam and virus scanners for received mail (main builds them from SESAME_RSPAMD_URL and SESAME_CLAMD_URL). */
  scanners?: {
    spam?(message: ScanInput, ctx: { from: string; rcpt: string[]; ip: string; helo: string }): Promise<ScanVerdict>;
    virus?(message: ScanInput): Promise<ScanVerdict>;
  };
}

/**
 * Failures counted for the whole installation (SMTP AUTH lockouts) when nodes share PostgreSQL
 * (ADR 0014). Keys are the front end's client keys.
 */
export interface SharedFailureCounter {
  /** Records a failure; the count it reached and until when the key is locked out (0: never). */
  strike(key: string, now: number, settings: StrikeSettings): Promise<{ failures: number; lockedUntil: number }>;
  /** Until when the key is locked out (ms); 0 when it never was. */
  lockedUntil(key: string): Promise<number>;
}

/** Reputation defaults: SES's thresholds (developer guide "faqs-enforcement"). */
const REPUTATION_DEFAULTS: ReputationSettings = { windowMs: 7 * 86_400_000, minSends: 100, bounceReview: 0.05, bouncePause: 0.1, complaintReview: 0.001, complaintPause: 0.005, autoPause: true };

/** The assembled core. */
export interface Core {
  accounts: AccountsService;
  /** A signed-in principal's management of its account's access keys (IAM actions; the console's Access keys page). */
  accessKeys: AccessKeysAdmin;
  /** Web console sign-ins (sessions opened with an access key pair). */
  consoleSessions: ConsoleSessions;
  /** Web console users (name and password), for operators. */
  consoleUsers: ConsoleUsersService;
  /** Live lookups of an identity's DNS records (the console's per-record check). */
  recordChecker: RecordChecker;
  /** An account's own messages for a signed-in user (the console): search, inspect, retry, cancel. */
  accountMessages: AccountMessages;
  identities: IdentitiesService;
  tags: TagsService;
  verification: VerificationWorker;
  /** The installation's nodes: this node's registration and heartbeat, and the list `sesame nodes` shows. */
  nodes: NodeRegistry;
  sending: SendingService;
  templates: TemplatesService;
  configurationSets: ConfigurationSetsService;
  /** Account-level settings: GetAccount, quotas, statistics, production access, suppression reasons. */
  accountSettings: AccountSettingsService;
  suppression: SuppressionService;
  batcher: CommitBatcher;
  delivery: DeliveryWorker;
  /** Operator view of the queue: inspect, list, retry, purge. */
  queueAdmin: QueueAdmin;
  /** SNS-compatible topics and subscriptions. */
  topics: TopicsService;
  /** Fans the events outbox out to destinations. */
  dispatcher: EventDispatcher;
  /** Delivers webhook rows (SNS, event buses) with retries. */
  webhooks: WebhookWorker;
  reputation: ReputationService;
  tracking: TrackingService;
  /** Operator-registered webhooks for EventBridge destinations. */
  eventBuses: EventBusesService;
  /** The built-in object store (S3-compatible) that receipt rules' S3 action writes to. */
  objectStore: ObjectStoreService;
  /** Where front ends spool large messages while they arrive. */
  spool: SpoolService;
  /** Receipt rule sets, rules and IP filters (SES v1 receiving), and v1 SendBounce. */
  receiptRules: ReceiptRulesService;
  /** Operator-registered HTTP functions for Lambda receipt actions. */
  functions: FunctionsService;
  /** Buckets on S3-compatible endpoints that the S3 receipt action writes to (operator-linked). */
  externalBuckets: ExternalBucketsService;
  /** Receiving: what the MX asks at connect, RCPT and the end of DATA. */
  inbound: InboundService;
  /** Asynchronous bounces (DSNs) and complaints (ARF) that arrive at bounce addresses. */
  feedback: FeedbackService;
  /** SMTP AUTH failures counted across nodes; absent on a single node (the front end counts in memory). */
  authFailures?: SharedFailureCounter;
  settings: IdentitySettings;
}

/** Subject of the email-address verification message (SES's wording). */
function verificationSubject(region: string): string {
  return `Email Address Verification Request in region ${regionName(region)}`;
}

/** Body of the email-address verification message. */
function verificationText(address: string, link: string, region: string): string {
  return [
    'Dear Sesame customer,',
    '',
    `We have received a request to authorize this email address (${address}) for use with Sesame in region ${regionName(region)}.`,
    'If you requested this verification, go to the following URL to confirm that you are authorized to use this email address:',
    '',
    link,
    '',
    'Your request will not be processed unless you confirm the address using this URL. This link expires 24 hours after your original verification request.',
    '',
    'If you did not request to verify this email address, do not click on the link.',
    '',
  ].join('\r\n');
}

function regionName(region: string): string {
  return region.toUpperCase();
}

/** Wires the core services together. */
export function createCore(deps: CoreDeps): Core {
  const accounts = new AccountsService(deps.storage, deps.box, deps.clock, deps.settings.accountId);
  const shared = deps.storage.kind === 'postgres';
  const tags = new TagsService(deps.storage, accounts, deps.settings.region);
  // The verification mail goes out through the sending pipeline (created below); the link is also
  // logged so that an operator whose outbound mail does not work yet can still verify by hand.
  let sending: SendingService | undefined;
  const mailer: VerificationMailer =
    deps.sendVerificationMail ??
    (async (to, link, accountId) => {
      deps.logger.info({ code: 'IDENTITY_VERIFICATION_LINK', identity: to, accountId, link }, `verification link for ${to}: ${link}`);
      await sending?.sendSystemMail(accountId, { to, subject: verificationSubject(deps.settings.region), text: verificationText(to, link, deps.settings.region) });
    });
  const identities = new IdentitiesService(deps.storage, accounts, tags, deps.box, deps.clock, deps.settings, mailer);
  tags.registerResourceType('identity', async (accountId, _type, name) => (await deps.storage.identities.get(accountId, name)) !== undefined);
  const nodeId = deps.nodeId ?? 'local';
  const heartbeatMs = deps.cluster?.heartbeatMs ?? 5000;
  const nodes = new NodeRegistry(deps.storage, deps.clock, deps.logger, { nodeId, heartbeatMs });
  // DNS verification runs once per installation: on the node holding its lease (three heartbeats long).
  const verificationLease = new JobLease(deps.storage.jobLeases, deps.clock, deps.logger, VERIFICATION_JOB, nodeId, 3 * heartbeatMs);
  const verification = new VerificationWorker(deps.storage, deps.resolver, deps.clock, deps.settings, deps.logger, deps.onVerificationCheck, verificationLease);
  const templates = new TemplatesService(deps.storage, accounts, deps.clock, deps.settings.region);
  const configurationSets = new ConfigurationSetsService(deps.storage, accounts, tags, deps.clock, deps.settings.region);
  tags.registerResourceType('configuration-set', async (accountId, _type, name) => (await deps.storage.configurationSets.get(accountId, name)) !== undefined);
  const accountSettings = new AccountSettingsService(deps.storage, accounts, deps.clock);
  const suppression = new SuppressionService(deps.storage, accounts, deps.clock);
  const batcher = new CommitBatcher(deps.storage.queue, undefined, commitDepth(deps.storage));
  const objectStore = new ObjectStoreService(deps.storage, accounts, deps.box, deps.clock, { region: deps.settings.region });
  const functions = new FunctionsService(deps.storage, deps.clock, deps.settings.region);
  const externalBuckets = new ExternalBucketsService(deps.storage, deps.box, deps.clock);
  const ev = deps.events ?? {};
  const retryWindowMs = ev.webhooks?.retryWindowMs ?? 86_400_000;
  const publicUrl = () => deps.settings.publicUrl;
  const topics = new TopicsService(deps.storage, accounts, deps.clock, deps.sns?.signer ?? missingSigner, { region: deps.settings.region, publicUrl, retryWindowMs });
  const tracking = new TrackingService(deps.storage, ev.trackingKey ?? randomBytes(32), deps.clock, { publicUrl });
  const reputation = new ReputationService(deps.storage, accountSettings, deps.clock, deps.logger, { ...REPUTATION_DEFAULTS, ...ev.reputation }, ev.ratesObserver);
  const webhooks = new WebhookWorker(
    deps.storage,
    deps.clock,
    { retryScheduleMs: ev.webhooks?.retryScheduleMs ?? [1000, 5000, 15_000, 30_000, 60_000, 120_000, 300_000], timeoutMs: ev.webhooks?.timeoutMs ?? 15_000, perEndpoint: ev.webhooks?.perEndpoint ?? 8 },
    deps.logger,
    nodeId,
    ev.webhookObserver,
  );
  const dispatcher = new EventDispatcher(deps.storage, topics, deps.box, deps.clock, deps.logger, { region: deps.settings.region, retryWindowMs }, {
    streams: ev.streams,
    counter: ev.counter,
    reputation: (changed) => reputation.evaluate(changed),
    forward: async (accountId, to, notification) => {
      const address = /<([^>]+)>\s*$/.exec(to)?.[1] ?? to.trim();
      const type = String(notification.notificationType);
      await sending?.sendSystemMail(accountId, {
        to: address,
        subject: type === 'Bounce' ? 'Delivery Status Notification (Failure)' : 'Complaint about a message you sent',
        text: feedbackText(notification),
      });
    },
  });
  const feedback = new FeedbackService(deps.storage, { accountSettings, configurationSets }, deps.clock, deps.logger);
  feedback.onEvent = () => dispatcher.wake();
  const inbound = new InboundService(
    {
      storage: deps.storage,
      resolver: deps.resolver,
      clock: deps.clock,
      logger: deps.logger,
      topics,
      functions,
      // A bucket the operator linked to an S3-compatible endpoint takes the object there; any other is the built-in store's.
      putObject: async (accountId, bucket, key, body, o) =>
        (await externalBuckets.get(accountId, bucket))
          ? externalBuckets.put(accountId, bucket, key, Buffer.isBuffer(body) ? [body] : body, { contentType: o.contentType ?? 'application/octet-stream', ...(o.kmsKeyArn ? { kmsKeyArn: o.kmsKeyArn } : {}) })
          : objectStore.putObject(accountId, bucket, key, body, o),
      feedback: (input) => feedback.handle(input),
      sendReport: (accountId, m) => sending!.sendReport(accountId, m),
      buildDsn,
      scanSpam: deps.scanners?.spam,
      scanVirus: deps.scanners?.virus,
      onDeliveries: () => webhooks.wake(),
    },
    { hostname: deps.settings.hostname, region: deps.settings.region, accountId: deps.settings.accountId, lambdaTimeoutMs: 30_000, retryWindowMs },
  );
  dispatcher.onDeliveries = () => webhooks.wake();
  topics.onDeliveries = () => webhooks.wake();
  tracking.onEvent = () => dispatcher.wake();
  sending = new SendingService(
    deps.storage,
    { accounts, identities, templates, configurationSets, accountSettings, dkim: deps.dkim ?? createDkimSigner(0), tracking },
    batcher,
    deps.clock,
    { region: deps.settings.region, hostname: deps.settings.hostname, systemAccountId: deps.settings.accountId, maxDeliverySeconds: deps.sending.maxDeliverySeconds },
    deps.logger,
    // Limits hold across nodes that share PostgreSQL (ADR 0014); one node keeps them in memory.
    shared ? new SharedBuckets(deps.storage.limits) : undefined,
    deps.sendObserver,
  );
  const delivery = new DeliveryWorker(deps.storage, deps.resolver, deps.clock, { ...deps.sending, hostname: deps.settings.hostname }, deps.logger, deps.deliveryObserver, deps.nodeId);
  delivery.onEvents = () => dispatcher.wake();
  batcher.onCommit(() => {
    delivery.wake();
    dispatcher.wake();
  });
  const authFailures: SharedFailureCounter | undefined = shared
    ? { strike: (key, now, s) => deps.storage.limits.strike(`auth:smtp:${key}`, now, s), lockedUntil: (key) => deps.storage.limits.lockedUntil(`auth:smtp:${key}`) }
    : undefined;
  const queueAdmin = new QueueAdmin(deps.storage, deps.clock, { hostname: deps.settings.hostname }, deps.logger);
  const receiptRules = new ReceiptRulesService(deps.storage, accounts, sending, deps.clock, { region: deps.settings.region, accountId: deps.settings.accountId, hostname: deps.settings.hostname });
  return { accounts, accessKeys: new AccessKeysAdmin(deps.storage, accounts, deps.settings.region), consoleSessions: new ConsoleSessions(deps.storage, accounts, deps.clock, deps.consoleSignIn), consoleUsers: new ConsoleUsersService(deps.storage, deps.clock, deps.settings.accountId), recordChecker: new RecordChecker(deps.resolver), accountMessages: new AccountMessages(queueAdmin, accounts, deps.storage), identities, tags, verification, nodes, sending, templates, configurationSets, accountSettings, suppression, batcher, delivery, queueAdmin, topics, dispatcher, webhooks, reputation, tracking, eventBuses: new EventBusesService(deps.storage, deps.box, deps.clock, deps.settings.region), functions, externalBuckets, inbound, feedback, receiptRules, objectStore, spool: new SpoolService(deps.storage.blobs), authFailures, settings: deps.settings };
}

/** Used when main gave no SNS signing key (CLI commands that never deliver). */
const missingSigner: SnsSigner = {
  certUrl: () => '',
  sign: () => {
    throw new Error('the SNS signing key is not loaded in this process');
  },
};

/** The text of a forwarded bounce or complaint notification (SES's feedback forwarding by email). */
function feedbackText(n: Record<string, unknown>): string {
  const mail = n.mail as { messageId?: string; destination?: string[]; timestamp?: string };
  const lines =
    n.notificationType === 'Bounce'
      ? ['A message you sent could not be delivered to one or more of its recipients.', '']
      : ['A recipient of a message you sent reported it as unwanted.', ''];
  const detail = (n.bounce ?? n.complaint) as Record<string, unknown>;
  const recipients = ((detail?.bouncedRecipients ?? detail?.complainedRecipients) as Array<{ emailAddress: string; diagnosticCode?: string }> | undefined) ?? [];
  for (const r of recipients) lines.push(`  ${r.emailAddress}${r.diagnosticCode ? `: ${r.diagnosticCode}` : ''}`);
  lines.push('', `Message ID: ${mail?.messageId ?? ''}`, `Sent: ${mail?.timestamp ?? ''}`, '', 'The notification, as SES publishes it:', '', JSON.stringify(n, null, 2), '');
  return lines.join('\r\n');
}
