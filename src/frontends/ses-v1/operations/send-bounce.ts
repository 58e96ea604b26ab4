/**
 * SendBounce (v1): `OriginalMessageId`, `BounceSender` (a verified identity; `Name <address>` is
 * allowed), `BounceSenderArn`, `Explanation`, `MessageDsn.{ReportingMta, ArrivalDate,
 * ExtensionFields.member.N.{Name, Value}}`, and `BouncedRecipientInfoList.member.N.{Recipient,
 * RecipientArn, BounceType, RecipientDsnFields.{FinalRecipient, Action, RemoteMta, Status,
 * DiagnosticCode, LastAttemptDate, ExtensionFields…}}` → `MessageId` of the DSN sent to the original
 * message's sender. MessageRejected when the message is unknown, older than 24 hours or the sender
 * is not verified.
 */
import { badRequest, type BouncedRecipientInput, type ExtensionFieldInput } from '../../../core/index.ts';
import type { V1Action } from '../handler.ts';
import type { QueryParams } from '../query.ts';

/** The action. */
export const sendBounce: V1Action = {
  action: 'SendBounce',
  async handler({ core, principal, params }) {
    const reportingMta = params.string('MessageDsn.ReportingMta');
    const arrivalDate = date(params, 'MessageDsn.ArrivalDate');
    const dsnExtensions = extensions(params, 'MessageDsn.ExtensionFields');
    const recipients: BouncedRecipientInput[] = [];
    for (let i = 1; ; i++) {
      const base = `BouncedRecipientInfoList.member.${i}`;
      const f = `${base}.RecipientDsnFields`;
      const dsn = {
        finalRecipient: params.string(`${f}.FinalRecipient`),
        action: params.string(`${f}.Action`),
        remoteMta: params.string(`${f}.RemoteMta`),
        status: params.string(`${f}.Status`),
        diagnosticCode: params.string(`${f}.DiagnosticCode`),
        lastAttemptDate: date(params, `${f}.LastAttemptDate`),
        extensionFields: extensions(params, `${f}.ExtensionFields`),
      };
      const hasDsn = Object.values(dsn).some((v) => (Array.isArray(v) ? v.length > 0 : v !== undefined));
      const r: BouncedRecipientInput = { recipient: params.string(`${base}.Recipient`), recipientArn: params.string(`${base}.RecipientArn`), bounceType: params.string(`${base}.BounceType`) };
      if (!hasDsn && r.recipient === undefined && r.recipientArn === undefined && r.bounceType === undefined) break;
      if (hasDsn) r.dsnFields = dsn;
      recipients.push(r);
    }
    const messageId = await core.receiptRules.sendBounce(principal, {
      originalMessageId: params.string('OriginalMessageId', { required: true }),
      bounceSender: params.string('BounceSender', { required: true }),
      bounceSenderArn: params.string('BounceSenderArn'),
      explanation: params.string('Explanation'),
      messageDsn: reportingMta !== undefined || arrivalDate !== undefined || dsnExtensions.length > 0 ? { reportingMta, arrivalDate, extensionFields: dsnExtensions } : undefined,
      recipients,
    });
    return { MessageId: messageId };
  },
};

/** A timestamp parameter (the SDKs send ISO 8601). */
function date(params: QueryParams, name: string): Date | undefined {
  const v = params.string(name);
  if (v === undefined) return undefined;
  const ms = /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : Date.parse(v);
  if (!Number.isFinite(ms)) throw badRequest(`Invalid ${name}: ${v} is not a timestamp.`);
  return new Date(ms);
}

function extensions(params: QueryParams, name: string): ExtensionFieldInput[] {
  return params.structList(name, ['Name', 'Value']).map((x) => ({ name: x.Name, value: x.Value }));
}
