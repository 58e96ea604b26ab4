/**
 * SendBulkEmail: `POST /v2/email/outbound-bulk-emails` (M2; ses-surface §1.5). One templated message
 * per entry; each entry's refusal is its `Status` in the response rather than an error of the call.
 * Only template content is allowed, as in SES.
 */
import { badRequest, type BulkEntry } from '../../../core/index.ts';
import type { V2Operation } from '../router.ts';
import { obj, str, type Body } from '../validate.ts';
import { headers, messageTags, strings, template } from './content.ts';

function entries(v: unknown): BulkEntry[] {
  // Missing or empty lists and lists longer than 50 are core's refusals (MAX_BULK_ENTRIES).
  if (v === undefined || v === null) throw badRequest('BulkEmailEntries is required.');
  if (!Array.isArray(v)) throw badRequest('BulkEmailEntries must be a list.');
  return v.map((x, i): BulkEntry => {
    if (!x || typeof x !== 'object' || Array.isArray(x)) throw badRequest(`BulkEmailEntries[${i}] must be an object.`);
    const e = x as Body;
    const dest = obj(e, 'Destination');
    if (!dest) throw badRequest(`BulkEmailEntries[${i}].Destination is required.`);
    const replacement = obj(e, 'ReplacementEmailContent');
    const rt = replacement ? obj(replacement, 'ReplacementTemplate') : undefined;
    return {
      to: strings(dest.ToAddresses, `BulkEmailEntries[${i}].Destination.ToAddresses`),
      cc: strings(dest.CcAddresses, `BulkEmailEntries[${i}].Destination.CcAddresses`),
      bcc: strings(dest.BccAddresses, `BulkEmailEntries[${i}].Destination.BccAddresses`),
      tags: messageTags(e.ReplacementTags, `BulkEmailEntries[${i}].ReplacementTags`),
      data: rt ? str(rt, 'ReplacementTemplateData') : undefined,
      headers: headers(e.ReplacementHeaders, `BulkEmailEntries[${i}].ReplacementHeaders`),
    };
  });
}

/** The operation. */
export const sendBulkEmail: V2Operation = {
  name: 'SendBulkEmail',
  method: 'POST',
  path: '/v2/email/outbound-bulk-emails',
  async handler({ core, principal, body, sourceIp }) {
    const dc = obj(body, 'DefaultContent');
    if (!dc) throw badRequest('DefaultContent is required.');
    const t = obj(dc, 'Template');
    if (!t) throw badRequest('DefaultContent must hold a Template: SendBulkEmail sends only templated content.');
    const parsed = template(t, 'DefaultContent.Template');
    const results = await core.sending.sendBulk(principal, {
      action: 'ses:SendBulkEmail',
      operation: 'SendBulkEmail',
      from: str(body, 'FromEmailAddress'),
      replyTo: strings(body.ReplyToAddresses, 'ReplyToAddresses'),
      template: parsed.template,
      defaultData: parsed.data,
      headers: parsed.headers,
      attachments: parsed.attachments,
      defaultTags: messageTags(body.DefaultEmailTags, 'DefaultEmailTags'),
      entries: entries(body.BulkEmailEntries),
      configurationSetName: str(body, 'ConfigurationSetName'),
      // SES v2: a message is at most 40 MB (DG/quotas).
      maxBytes: 40 * 1024 * 1024,
      sourceIp,
    });
    return {
      BulkEmailEntryResults: results.map((r) => {
        const out: Record<string, unknown> = { Status: r.status };
        if (r.error !== undefined) out.Error = r.error;
        if (r.messageId !== undefined) out.MessageId = r.messageId;
        return out;
      }),
    };
  },
};
