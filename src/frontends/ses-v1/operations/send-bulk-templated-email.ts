/**
 * SendBulkTemplatedEmail (v1): `Source`, `ReplyToAddresses`, `ConfigurationSetName`, `DefaultTags`,
 * `Template` or `TemplateArn`, `DefaultTemplateData`, and `Destinations.member.N` with
 * `Destination.{To,Cc,Bcc}Addresses`, `ReplacementTags` and `ReplacementTemplateData` →
 * `Status.member.N{Status, Error, MessageId}` (M1 `BulkEmailDestinationStatus`), one per destination
 * in order. Each destination is its own message; its refusal is its Status, not an error of the call.
 */
import { MAX_BULK_ENTRIES, type BulkEntry, type BulkStatus } from '../../../core/index.ts';
import type { V1Action } from '../handler.ts';
import type { QueryParams } from '../query.ts';
import { messageTags } from './message-tags.ts';
import { templateRef } from './template-content.ts';

/** Core's (v2) bulk statuses in v1's spelling (M1 `BulkEmailStatus`). */
const V1_BULK_STATUS: Record<BulkStatus, string> = {
  SUCCESS: 'Success',
  MESSAGE_REJECTED: 'MessageRejected',
  MAIL_FROM_DOMAIN_NOT_VERIFIED: 'MailFromDomainNotVerified',
  CONFIGURATION_SET_NOT_FOUND: 'ConfigurationSetDoesNotExist',
  TEMPLATE_NOT_FOUND: 'TemplateDoesNotExist',
  ACCOUNT_SUSPENDED: 'AccountSuspended',
  ACCOUNT_THROTTLED: 'AccountThrottled',
  ACCOUNT_DAILY_QUOTA_EXCEEDED: 'AccountDailyQuotaExceeded',
  INVALID_SENDING_POOL_NAME: 'InvalidSendingPoolName',
  ACCOUNT_SENDING_PAUSED: 'AccountSendingPaused',
  CONFIGURATION_SET_SENDING_PAUSED: 'ConfigurationSetSendingPaused',
  INVALID_PARAMETER: 'InvalidParameterValue',
  TRANSIENT_FAILURE: 'TransientFailure',
  FAILED: 'Failed',
};

/**
 * The `Destinations` list. A member with no field we read would end a naive scan early and drop the
 * members after it, so every index up to one past the limit is read, and the list ends at the last
 * member that has something; empty members in between are kept (core refuses them as entries with
 * no recipient), and a 51st member makes core refuse the call as SES does.
 */
function destinations(params: QueryParams): BulkEntry[] {
  const found: Array<BulkEntry | undefined> = [];
  for (let i = 1; i <= MAX_BULK_ENTRIES + 1; i++) {
    const p = `Destinations.member.${i}`;
    const e: BulkEntry = {
      to: params.list(`${p}.Destination.ToAddresses`),
      cc: params.list(`${p}.Destination.CcAddresses`),
      bcc: params.list(`${p}.Destination.BccAddresses`),
      tags: messageTags(params, `${p}.ReplacementTags`),
      data: params.string(`${p}.ReplacementTemplateData`),
    };
    const any = e.to!.length + e.cc!.length + e.bcc!.length + e.tags!.length > 0 || e.data !== undefined;
    found.push(any ? e : undefined);
  }
  let last = found.length;
  while (last > 0 && found[last - 1] === undefined) last--;
  return found.slice(0, last).map((e) => e ?? {});
}

/** The action. */
export const sendBulkTemplatedEmail: V1Action = {
  action: 'SendBulkTemplatedEmail',
  async handler({ core, principal, params, sourceIp }) {
    const template = templateRef(params);
    const results = await core.sending.sendBulk(principal, {
      action: 'ses:SendBulkTemplatedEmail',
      operation: 'SendBulkTemplatedEmail',
      from: params.string('Source', { required: true }),
      replyTo: params.list('ReplyToAddresses'),
      template,
      // M1 marks DefaultTemplateData required; an entry without ReplacementTemplateData uses it.
      defaultData: params.string('DefaultTemplateData', { required: true }),
      defaultTags: messageTags(params, 'DefaultTags'),
      entries: destinations(params),
      configurationSetName: params.string('ConfigurationSetName'),
      // SES v1: a message is at most 10 MB (DG/quotas).
      maxBytes: 10 * 1024 * 1024,
      sourceIp,
    });
    return {
      Status: results.map((r) => ({ Status: V1_BULK_STATUS[r.status], Error: r.status === 'SUCCESS' ? undefined : r.error, MessageId: r.messageId })),
    };
  },
};
