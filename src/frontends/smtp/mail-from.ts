/** MAIL FROM: only after AUTH (no relay without it, ever), and the address must be an address. */
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { checkEmailAddress } from '../../lib/domain.ts';
import { invalidSender, REPLIES, type SmtpReply } from './replies.ts';

/** The refusal of a MAIL FROM, or undefined to accept it. The null sender `<>` is accepted. */
export function checkMailFrom(session: SMTPServerSession, address: SMTPServerAddress): SmtpReply | undefined {
  // smtp-server answers MAIL without AUTH itself once AUTH is on offer; before STARTTLS, where AUTH
  // is not offered, this check is the one that refuses.
  if (!session.user) return REPLIES.authRequired;
  if (address.address === '') return undefined;
  if (!checkEmailAddress(address.address).ok) return invalidSender(address.address);
  return undefined;
}
