/**
 * What front ends may import from core: the services, their input and output types, and the error
 * catalogue. Core is assembled by `createCore` from ports (storage, clock, DNS) chosen in src/main.
 */
import type { SecretBox } from '../lib/secretbox.ts';
import type { Logger } from '../observability/logger.ts';
import type { Storage } from '../storage/ports.ts';
import { AccountsService } from './accounts/service.ts';
import type { Clock, DnsResolver } from './clock.ts';
import { IdentitiesService, type IdentitySettings, type VerificationMailer } from './identities/service.ts';
import { VerificationWorker } from './identities/verification.ts';
import { TagsService } from './tags/service.ts';
import { CommitBatcher } from './queue/batcher.ts';
import { QueueAdmin } from './queue/admin.ts';
import { SendingService } from './sending/service.ts';
import { createDkimSigner, type DkimSigner } from '../lib/dkim-sign.ts';
import { TemplatesService } from './templates/service.ts';
import { ConfigurationSetsService } from './configuration-sets/service.ts';
import { AccountSettingsService } from './sending/account-settings.ts';
import { SuppressionService } from './suppression/service.ts';
import { DeliveryWorker, type DeliveryObserver, type DeliverySettings } from './delivery/worker.ts';

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
} from './sending/service.ts';
export { TemplatesService, RenderingError, type TemplateContent, type EmailTemplate, type RenderedContent } from './templates/service.ts';
export { ConfigurationSetsService, MAX_DELIVERY_SECONDS, type ConfigurationSet, type ConfigurationSetOptions, type SuppressionReason } from './configuration-sets/service.ts';
export { AccountSettingsService, SANDBOX_QUOTA, effectiveQuota, type AccountSendingSettings, type AccountDetails, type SendDataPoint, type OperatorChange } from './sending/account-settings.ts';
export { SuppressionService } from './suppression/service.ts';
export { DeliveryWorker } from './delivery/worker.ts';
export { CommitBatcher } from './queue/batcher.ts';
export { QueueAdmin, PURGED_RESPONSE, type QueueMessageView, type QueueRecipientView, type QueueEventView, type MessageInspection, type QueueStats } from './queue/admin.ts';
export type { MailObject } from './events/model.ts';
export { AccountsService, type Principal, type AccessKeyInfo, type NewAccessKey, type BootstrapResult } from './accounts/service.ts';
export { parsePolicy, type PolicyDocument } from './accounts/policy.ts';
export { IdentitiesService, type CreateIdentityInput, type DnsRecord } from './identities/service.ts';
export { dkimView, verifiedForSending, type Identity, type DkimAttributesView } from './identities/model.ts';
export { VerificationWorker } from './identities/verification.ts';
export { TagsService } from './tags/service.ts';
export { SesError, ERROR_CODES, badRequest, notFound, type ErrorCode } from './errors.ts';
export { systemClock, type Clock, type DnsResolver, type MxRecord } from './clock.ts';

/** Everything core needs from the outside. */
export interface CoreDeps {
  storage: Storage;
  box: SecretBox;
  clock: Clock;
  resolver: DnsResolver;
  logger: Logger;
  settings: IdentitySettings;
  /** Sending and delivery settings. */
  sending: { maxDeliverySeconds: number } & Omit<DeliverySettings, 'hostname'>;
  deliveryObserver?: DeliveryObserver;
  /** This node's stable id (lease owner). */
  nodeId?: string;
  /** Sends the email-address verification mail (logs the link until sending exists). */
  sendVerificationMail?: VerificationMailer;
  onVerificationCheck?: (result: 'success' | 'pending' | 'temporary_failure' | 'failed') => void;
  /** Makes DKIM signatures; signs in the calling thread when not given. */
  dkim?: DkimSigner;
}

/** The assembled core. */
export interface Core {
  accounts: AccountsService;
  identities: IdentitiesService;
  tags: TagsService;
  verification: VerificationWorker;
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
  const verification = new VerificationWorker(deps.storage, deps.resolver, deps.clock, deps.settings, deps.logger, deps.onVerificationCheck);
  const templates = new TemplatesService(deps.storage, accounts, deps.clock, deps.settings.region);
  const configurationSets = new ConfigurationSetsService(deps.storage, accounts, tags, deps.clock, deps.settings.region);
  tags.registerResourceType('configuration-set', async (accountId, _type, name) => (await deps.storage.configurationSets.get(accountId, name)) !== undefined);
  const accountSettings = new AccountSettingsService(deps.storage, accounts, deps.clock);
  const suppression = new SuppressionService(deps.storage, accounts, deps.clock);
  const batcher = new CommitBatcher(deps.storage.queue);
  sending = new SendingService(
    deps.storage,
    { accounts, identities, templates, configurationSets, accountSettings, dkim: deps.dkim ?? createDkimSigner(0) },
    batcher,
    deps.clock,
    { region: deps.settings.region, hostname: deps.settings.hostname, systemAccountId: deps.settings.accountId, maxDeliverySeconds: deps.sending.maxDeliverySeconds },
    deps.logger,
  );
  const delivery = new DeliveryWorker(deps.storage, deps.resolver, deps.clock, { ...deps.sending, hostname: deps.settings.hostname }, deps.logger, deps.deliveryObserver, deps.nodeId);
  batcher.onCommit(() => delivery.wake());
  const queueAdmin = new QueueAdmin(deps.storage, deps.clock, { hostname: deps.settings.hostname }, deps.logger);
  return { accounts, identities, tags, verification, sending, templates, configurationSets, accountSettings, suppression, batcher, delivery, queueAdmin, settings: deps.settings };
}
