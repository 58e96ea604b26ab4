/** SendEmail: `POST /v2/email/outbound-emails` (Simple and Raw content). */
import { badRequest, type AttachmentInput, type SendContent } from '../../../core/index.ts';
import type { V2Operation } from '../router.ts';
import { obj, str, type Body } from '../validate.ts';

function strings(v: unknown, name: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw badRequest(`${name} must be a list of strings.`);
  return v as string[];
}

function base64(v: unknown, name: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(v)) throw badRequest(`${name} must be base64-encoded.`);
  return Buffer.from(v, 'base64');
}

function content(body: Body): { content: SendContent; action: 'ses:SendEmail' | 'ses:SendRawEmail'; operation: string } {
  const c = obj(body, 'Content');
  if (!c) throw badRequest('Content is required.');
  const kinds = ['Simple', 'Raw', 'Template'].filter((k) => c[k] !== undefined && c[k] !== null);
  if (kinds.length !== 1) throw badRequest('Content must hold exactly one of Simple, Raw or Template.');
  if (kinds[0] === 'Raw') {
    const raw = obj(c, 'Raw')!;
    return { content: { kind: 'raw', data: base64(raw.Data, 'Content.Raw.Data') }, action: 'ses:SendRawEmail', operation: 'SendEmail' };
  }
  if (kinds[0] === 'Template') throw badRequest('Content.Template is not supported by this Sesame version yet; send Simple or Raw content.');
  const simple = obj(c, 'Simple')!;
  const subject = obj(simple, 'Subject');
  if (!subject) throw badRequest('Content.Simple.Subject is required.');
  const b = obj(simple, 'Body');
  if (!b) throw badRequest('Content.Simple.Body is required.');
  const text = obj(b, 'Text');
  const html = obj(b, 'Html');
  const headers = simple.Headers;
  if (headers !== undefined && (!Array.isArray(headers) || headers.length > 15)) throw badRequest('Content.Simple.Headers must be a list of at most 15 headers.');
  const attachments = simple.Attachments;
  if (attachments !== undefined && !Array.isArray(attachments)) throw badRequest('Content.Simple.Attachments must be a list.');
  return {
    action: 'ses:SendEmail',
    operation: 'SendEmail',
    content: {
      kind: 'simple',
      subject: str(subject, 'Data', { required: true }),
      text: text ? str(text, 'Data', { required: true }) : undefined,
      html: html ? str(html, 'Data', { required: true }) : undefined,
      headers: ((headers as unknown[] | undefined) ?? []).map((h) => {
        const x = (h ?? {}) as Body;
        return { name: str(x, 'Name', { required: true }), value: str(x, 'Value', { required: true }) };
      }),
      attachments: ((attachments as unknown[] | undefined) ?? []).map((a): AttachmentInput => {
        const x = (a ?? {}) as Body;
        const disposition = str(x, 'ContentDisposition');
        if (disposition !== undefined && disposition !== 'ATTACHMENT' && disposition !== 'INLINE') throw badRequest('ContentDisposition must be ATTACHMENT or INLINE.');
        const enc = str(x, 'ContentTransferEncoding');
        if (enc !== undefined && !['BASE64', 'QUOTED_PRINTABLE', 'SEVEN_BIT'].includes(enc)) throw badRequest('ContentTransferEncoding must be BASE64, QUOTED_PRINTABLE or SEVEN_BIT.');
        return {
          content: base64(x.RawContent, 'Attachments.RawContent'),
          fileName: str(x, 'FileName', { required: true, max: 255 }),
          contentType: str(x, 'ContentType', { max: 78 }),
          disposition: disposition as AttachmentInput['disposition'],
          contentId: str(x, 'ContentId', { max: 78 }),
          description: str(x, 'ContentDescription', { max: 1000 }),
          transferEncoding: enc as AttachmentInput['transferEncoding'],
        };
      }),
    },
  };
}

/** The operation. */
export const sendEmail: V2Operation = {
  name: 'SendEmail',
  method: 'POST',
  path: '/v2/email/outbound-emails',
  async handler({ core, principal, body, sourceIp }) {
    const dest = obj(body, 'Destination');
    const { content: c, action, operation } = content(body);
    const tags = body.EmailTags;
    if (tags !== undefined && tags !== null && !Array.isArray(tags)) throw badRequest('EmailTags must be a list of {Name, Value}.');
    const messageId = await core.sending.send(principal, {
      action,
      operation,
      from: str(body, 'FromEmailAddress'),
      to: dest ? strings(dest.ToAddresses, 'Destination.ToAddresses') : undefined,
      cc: dest ? strings(dest.CcAddresses, 'Destination.CcAddresses') : undefined,
      bcc: dest ? strings(dest.BccAddresses, 'Destination.BccAddresses') : undefined,
      replyTo: strings(body.ReplyToAddresses, 'ReplyToAddresses'),
      content: c,
      tags: ((tags as unknown[] | undefined) ?? []).map((t) => {
        const x = (t ?? {}) as Body;
        return { name: str(x, 'Name', { required: true }), value: str(x, 'Value', { required: true }) };
      }),
      configurationSetName: str(body, 'ConfigurationSetName'),
      maxBytes: 40 * 1024 * 1024,
      sourceIp,
    });
    return { MessageId: messageId };
  },
};
