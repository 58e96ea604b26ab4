/**
 * The end of DATA: one complete message goes through core's one sending pipeline as a raw send
 * (`ses:SendRawEmail`, operation `SendSmtpEmail`), so every rule of the API holds for SMTP too.
 *
 * Envelope and headers, as SES treats them:
 * - the RCPT TO addresses are the recipients (so Bcc recipients, absent from the headers, get it);
 * - the From header is the sender that must be a verified identity, is authorized against the
 *   key's policy and picks the DKIM key; when the message has no From header, the MAIL FROM
 *   address stands in for it;
 * - the MAIL FROM address must be a verified identity as well (SES checks the "Source" /
 *   Return-Path identity besides From: "The following identities failed the check …" names it);
 *   the null sender `<>` has nothing to check. The delivered Return-Path is always Sesame's
 *   per-message bounce address, never the client's MAIL FROM;
 * - X-SES-CONFIGURATION-SET and X-SES-MESSAGE-TAGS are honoured (ses-headers.ts).
 */
import type { SMTPServerSession } from 'smtp-server';
import { SesError, type MessageBytes, type Principal } from '../../core/index.ts';
import type { SubmissionContext } from './context.ts';
import { MAX_MESSAGE_BYTES } from './context.ts';
import { accepted, replyForError, type SmtpReply } from './replies.ts';
import { readSesHeaders } from './ses-headers.ts';

/** What became of a message. */
export type SubmitResult = { reply: SmtpReply; messageId: string } | { reply: SmtpReply; error: SesError };

/**
 * Sends `data` as the session's authenticated principal; resolves with the reply to give. Other
 * errors throw. A spooled message is handed to core, which keeps or removes its blob.
 */
export async function submitMessage(ctx: SubmissionContext, session: SMTPServerSession, data: MessageBytes): Promise<SubmitResult> {
  const principal = session.user as Principal;
  const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
  let headers;
  try {
    headers = readSesHeaders(Buffer.isBuffer(data) ? data : data.head);
  } catch (err) {
    await ctx.core.spool.discard(data);
    if (err instanceof SesError) return { reply: replyForError(err), error: err };
    throw err;
  }
  try {
    const messageId = await ctx.core.sending.send(principal, {
      action: 'ses:SendRawEmail',
      operation: 'SendSmtpEmail',
      content: { kind: 'raw', data },
      ...(!headers.hasFrom && mailFrom ? { from: mailFrom } : {}),
      to: session.envelope.rcptTo.map((r) => r.address),
      ...(mailFrom ? { envelopeFrom: mailFrom } : {}),
      tags: headers.tags,
      ...(headers.configurationSetName ? { configurationSetName: headers.configurationSetName } : {}),
      maxBytes: MAX_MESSAGE_BYTES,
      sourceIp: session.remoteAddress,
    });
    return { reply: accepted(messageId), messageId };
  } catch (err) {
    if (err instanceof SesError) return { reply: replyForError(err), error: err };
    throw err;
  }
}
