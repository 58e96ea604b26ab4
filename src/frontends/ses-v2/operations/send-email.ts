/** SendEmail: `POST /v2/email/outbound-emails` (Simple, Raw and Template content). */
import { badRequest, type MessageBytes, type SendCommand, type SendContent } from '../../../core/index.ts';
import type { V2Operation } from '../router.ts';
import { StreamedData } from '../stream-body.ts';
import { obj, str, type Body } from '../validate.ts';
import { attachments, base64, headers, messageTags, strings, template } from './content.ts';

/**
 * `Content.Raw.Data`: streamed and decoded while the request arrived (the router's streamed body),
 * or a base64 string. Bad base64 is refused with `base64`'s own error either way.
 */
function rawData(v: unknown): MessageBytes {
  if (v instanceof StreamedData) return v.bytes ?? base64(undefined, 'Content.Raw.Data');
  return base64(v, 'Content.Raw.Data');
}

function content(body: Body): { content: SendContent; action: 'ses:SendEmail' | 'ses:SendRawEmail'; operation: string; streamed?: StreamedData } {
  const c = obj(body, 'Content');
  if (!c) throw badRequest('Content is required.');
  const kinds = ['Simple', 'Raw', 'Template'].filter((k) => c[k] !== undefined && c[k] !== null);
  if (kinds.length !== 1) throw badRequest('Content must hold exactly one of Simple, Raw or Template.');
  if (kinds[0] === 'Raw') {
    const raw = obj(c, 'Raw')!;
    const streamed = raw.Data instanceof StreamedData ? raw.Data : undefined;
    return { content: { kind: 'raw', data: rawData(raw.Data) }, action: 'ses:SendRawEmail', operation: 'SendEmail', streamed };
  }
  if (kinds[0] === 'Template') {
    // SES authorizes a templated v2 send as ses:SendEmail (v1 has its own ses:SendTemplatedEmail).
    const t = template(obj(c, 'Template')!, 'Content.Template');
    return { content: { kind: 'template', ...t }, action: 'ses:SendEmail', operation: 'SendEmail' };
  }
  const simple = obj(c, 'Simple')!;
  const subject = obj(simple, 'Subject');
  if (!subject) throw badRequest('Content.Simple.Subject is required.');
  const b = obj(simple, 'Body');
  if (!b) throw badRequest('Content.Simple.Body is required.');
  const text = obj(b, 'Text');
  const html = obj(b, 'Html');
  return {
    action: 'ses:SendEmail',
    operation: 'SendEmail',
    content: {
      kind: 'simple',
      subject: str(subject, 'Data', { required: true }),
      text: text ? str(text, 'Data', { required: true }) : undefined,
      html: html ? str(html, 'Data', { required: true }) : undefined,
      headers: headers(simple.Headers, 'Content.Simple.Headers'),
      attachments: attachments(simple.Attachments, 'Content.Simple.Attachments'),
    },
  };
}

/** The operation. */
export const sendEmail: V2Operation = {
  name: 'SendEmail',
  method: 'POST',
  path: '/v2/email/outbound-emails',
  streamBody: true,
  async handler({ core, principal, body, sourceIp }) {
    const dest = obj(body, 'Destination');
    const { content: c, action, operation, streamed } = content(body);
    const cmd: SendCommand = {
      action,
      operation,
      from: str(body, 'FromEmailAddress'),
      to: dest ? strings(dest.ToAddresses, 'Destination.ToAddresses') : undefined,
      cc: dest ? strings(dest.CcAddresses, 'Destination.CcAddresses') : undefined,
      bcc: dest ? strings(dest.BccAddresses, 'Destination.BccAddresses') : undefined,
      replyTo: strings(body.ReplyToAddresses, 'ReplyToAddresses'),
      content: c,
      tags: messageTags(body.EmailTags, 'EmailTags'),
      configurationSetName: str(body, 'ConfigurationSetName'),
      // SES v2: a message is at most 40 MB (DG/quotas).
      maxBytes: 40 * 1024 * 1024,
      sourceIp,
    };
    // From here core owns a spooled message (it keeps it with the message or deletes it).
    if (streamed) streamed.handedOver = true;
    const messageId = await core.sending.send(principal, cmd);
    return { MessageId: messageId };
  },
};
