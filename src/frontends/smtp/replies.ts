/**
 * How core's error catalogue and the submission adapter's own refusals appear on the SMTP wire, in
 * Amazon SES's wording (SES Developer Guide, "SMTP response codes returned by Amazon SES";
 * reference/ses-surface.md §4). SES replies carry no enhanced status codes, so neither do these,
 * except where a reply copies Postfix's text (bare newlines) or the lockout reply names 4.7.0.
 */
import type { ErrorCode, SesError } from '../../core/index.ts';

/** One SMTP reply: the 3-digit code and the text after it. */
export interface SmtpReply {
  code: number;
  text: string;
}

/** Reply code and text per catalogue code; a Record, so a new code without a mapping fails to compile. */
export const SMTP_ERRORS: Record<ErrorCode, { code: number; text: (message: string) => string }> = {
  // "554 Transaction failed: …" is SES's reply to input it cannot use (a bad header, a bad address).
  BadRequestException: { code: 554, text: (m) => `Transaction failed: ${m}` },
  NotFoundException: { code: 554, text: (m) => `Transaction failed: ${m}` },
  AlreadyExistsException: { code: 554, text: (m) => `Transaction failed: ${m}` },
  LimitExceededException: { code: 554, text: (m) => `Transaction failed: ${m}` },
  // A lost optimistic-concurrency race: trying again is safe, so the client is told to.
  ConflictException: { code: 451, text: () => 'Temporary service failure' },
  InvalidNextTokenException: { code: 554, text: (m) => `Transaction failed: ${m}` },
  MessageRejected: { code: 554, text: (m) => `Message rejected: ${m}` },
  MailFromDomainNotVerifiedException: { code: 554, text: (m) => `Message rejected: ${m}` },
  // SES answers a paused account with MessageRejected "Sending paused for this account. …" on its
  // API; over SMTP that is "554 Message rejected: …". Core's message says which pause applies.
  SendingPausedException: { code: 554, text: (m) => `Message rejected: ${m}` },
  AccountSuspendedException: { code: 554, text: (m) => `Message rejected: ${m}` },
  TooManyRequestsException: { code: 454, text: (m) => `Throttling failure: ${m}` },
  AccessDenied: { code: 554, text: (m) => `Access denied: ${m}` },
  MissingAuthenticationToken: { code: 530, text: () => 'Authentication required' },
  // Every credential failure reads the same, so a client cannot tell an unknown key from a wrong password.
  IncompleteSignature: { code: 535, text: () => 'Authentication Credentials Invalid' },
  InvalidClientTokenId: { code: 535, text: () => 'Authentication Credentials Invalid' },
  SignatureDoesNotMatch: { code: 535, text: () => 'Authentication Credentials Invalid' },
  UnknownOperation: { code: 502, text: () => 'Command not implemented' },
  InternalServiceErrorException: { code: 451, text: () => 'Temporary service failure' },
};

/** Replies of the adapter itself (not from core). */
export const REPLIES = {
  authSuccess: { code: 235, text: 'Authentication successful' },
  authRequired: { code: 530, text: 'Authentication required' },
  authInvalid: { code: 535, text: 'Authentication Credentials Invalid' },
  /** A store or database failure while checking credentials (SES: "454 Temporary authentication failure"). */
  authUnavailable: { code: 454, text: 'Temporary authentication failure' },
  /** Every AUTH from a locked-out client address, whatever the password. */
  authLockedOut: { code: 454, text: '4.7.0 Temporary authentication failure' },
  messageTooLong: { code: 552, text: 'Message is too long.' },
  tooManyConnections: { code: 421, text: 'Too many concurrent SMTP connections' },
  tooManyCommands: { code: 421, text: 'Error: too many commands, closing connection' },
  tooManyUnauthenticated: { code: 421, text: 'Error: too many unauthenticated commands' },
  serviceFailure: { code: 451, text: 'Temporary service failure' },
  shuttingDown: { code: 421, text: 'Server shutting down' },
} as const satisfies Record<string, SmtpReply>;

/** `250 Ok <MessageId>`, sent only after the message is committed. */
export function accepted(messageId: string): SmtpReply {
  return { code: 250, text: `Ok ${messageId}` };
}

/** MAIL FROM with an address that is not one (SES: `553 <address> Invalid email address`). */
export function invalidSender(address: string): SmtpReply {
  return { code: 553, text: `<${clean(address, 200)}> Invalid email address` };
}

/** RCPT TO with an address that is not one (SES: `553 <address> address unknown`). */
export function invalidRecipient(address: string): SmtpReply {
  return { code: 553, text: `<${clean(address, 200)}> address unknown` };
}

/**
 * A bare LF or bare CR in DATA (SMTP smuggling, CVE-2023-51764): Postfix's reply with
 * `smtpd_forbid_bare_newline = yes` (default `smtpd_forbid_bare_newline_reject_code` 550, text
 * "5.5.2 <myhostname> Error: bare <LF> received"), after which the connection is closed. Postfix
 * checks only LF; a bare CR gets the same reply naming <CR>.
 */
export function bareNewline(hostname: string, which: 'LF' | 'CR'): SmtpReply {
  return { code: 550, text: `5.5.2 ${hostname} Error: bare <${which}> received` };
}

/** The reply for a refusal from core. */
export function replyForError(err: SesError): SmtpReply {
  const m = SMTP_ERRORS[err.code];
  return { code: m.code, text: m.text(clean(err.message, 400)) };
}

/** Reply class of a code, for metrics: `2xx`, `4xx`, `5xx`. */
export function replyClass(code: number): string {
  return `${String(code)[0]}xx`;
}

/**
 * One line, printable, bounded: control characters (a reply must never be split) become spaces,
 * and long texts end in "..." as SES's do when it cannot list every identity.
 */
function clean(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const one = text.replace(/[\x00-\x1f\x7f]+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 3)}...` : one;
}
