/**
 * RCPT TO: only after AUTH, and the address must be an address. Whether the recipient may get the
 * message (sandbox, suppression) is core's decision at the end of DATA, as SES decides it then too.
 */
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { checkEmailAddress } from '../../lib/domain.ts';
import { invalidRecipient, REPLIES, type SmtpReply } from './replies.ts';

/** The refusal of a RCPT TO, or undefined to accept it. */
export function checkRcptTo(session: SMTPServerSession, address: SMTPServerAddress): SmtpReply | undefined {
  if (!session.user) return REPLIES.authRequired;
  if (!checkEmailAddress(address.address).ok) return invalidRecipient(address.address);
  return undefined;
}
