/**
 * Delivery Status Notifications (RFC 3464): a `multipart/report; report-type=delivery-status`
 * message (RFC 6522) with three parts — a human-readable explanation, the machine-readable
 * `message/delivery-status` (per-message fields, then one block of per-recipient fields each), and the
 * original message's header as `text/rfc822-headers`. SES v1 SendBounce and the Bounce receipt action
 * send these. Pure: no clock, no randomness beyond the MIME boundary.
 */
import { randomBytes } from 'node:crypto';

/** RFC 3464 §2.3.3 Action values. */
export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

/** An extension field (`X-…`) added to the per-message or a per-recipient block. */
export interface DsnExtensionField {
  name: string;
  value: string;
}

/** One recipient's per-recipient block. */
export interface DsnRecipient {
  /** The recipient address (the Final-Recipient unless `finalRecipient` is given). */
  address: string;
  /** RFC 3463 enhanced status code, e.g. `5.1.1`. */
  status: string;
  action: DsnAction;
  /** The Diagnostic-Code, typically `smtp; 550 5.1.1 …` (a bare text gets the `smtp; ` type). */
  diagnostic?: string;
  /** Final-Recipient when it differs from `address` (RFC 3464 §2.3.2). */
  finalRecipient?: string;
  /** Remote-MTA (`dns; host`, or a bare host name). */
  remoteMta?: string;
  lastAttemptDate?: Date;
  extensionFields?: DsnExtensionField[];
}

/** What a DSN is built from. */
export interface DsnInput {
  /** The From header (an address, or `Name <address>`). */
  from: string;
  /** The To header: the sender of the original message. */
  to: string;
  /** Reporting-MTA: `dns; host`, or a bare host name (the `dns; ` type is added). */
  reportingMta: string;
  /** The original message's header block (CRLF or LF line ends), shown as text/rfc822-headers. */
  originalHeaders: string;
  recipients: DsnRecipient[];
  /** The human-readable part; generated from the recipients when absent. */
  explanation?: string;
  /** The DSN's own Message-ID, without angle brackets; a bare id gets `@` and the reporting MTA's host. */
  messageId: string;
  /** The DSN's Date. */
  date: Date;
  /** Arrival-Date of the original message (RFC 3464 §2.2.5); left out when absent. */
  arrivalDate?: Date;
  /** Per-message extension fields. */
  extensionFields?: DsnExtensionField[];
  /** Subject; by default SES's "Delivery Status Notification (Failure)" (or "(Delay)" when every recipient is delayed). */
  subject?: string;
}

/** A date as RFC 5322 §3.3 writes it (UTC). */
export function rfc5322Date(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

/** Builds the DSN message, CRLF line ends, ready to sign and send. */
export function buildDsn(o: DsnInput): Buffer {
  if (o.recipients.length === 0) throw new Error('a DSN needs at least one recipient');
  const reportingMta = typed(o.reportingMta, 'dns');
  const host = reportingMta.slice(reportingMta.indexOf(';') + 1).trim() || 'localhost';
  const messageId = o.messageId.includes('@') ? o.messageId : `${o.messageId}@${host}`;
  const allDelayed = o.recipients.every((r) => r.action === 'delayed');
  const subject = o.subject ?? (allDelayed ? 'Delivery Status Notification (Delay)' : 'Delivery Status Notification (Failure)');
  const boundary = `----=_DSN_${randomBytes(12).toString('hex')}`;

  const head = [
    headerLine('From', o.from),
    headerLine('To', o.to),
    headerLine('Subject', encodeWord(subject)),
    headerLine('Date', rfc5322Date(o.date)),
    headerLine('Message-ID', `<${messageId}>`),
    'MIME-Version: 1.0',
    // RFC 3834 §5: automatic responses say so, and mail systems must not answer them again.
    'Auto-Submitted: auto-replied',
    `Content-Type: multipart/report; report-type=delivery-status;\r\n boundary="${boundary}"`,
  ];

  const human = o.explanation ?? defaultExplanation(o.recipients);
  const text = toCrlf(human.endsWith('\n') ? human : `${human}\n`);
  // 7bit when it can be; otherwise base64 keeps any text and any line length intact.
  const sevenBit = isAscii(text) && text.split('\r\n').every((l) => l.length <= 998);
  const textPart = [
    'Content-Type: text/plain; charset=utf-8',
    `Content-Transfer-Encoding: ${sevenBit ? '7bit' : 'base64'}`,
    '',
    sevenBit ? text.replace(/\r\n$/, '') : wrapBase64(Buffer.from(text, 'utf8').toString('base64')),
  ].join('\r\n');

  // RFC 3464 §2.1: per-message fields, then a blank line before each per-recipient block.
  const perMessage = [field('Reporting-MTA', reportingMta)];
  if (o.arrivalDate) perMessage.push(field('Arrival-Date', rfc5322Date(o.arrivalDate)));
  for (const x of o.extensionFields ?? []) perMessage.push(field(x.name, x.value));
  const blocks = [perMessage.join('\r\n')];
  for (const r of o.recipients) {
    const lines = [field('Final-Recipient', typed(r.finalRecipient ?? r.address, 'rfc822'))];
    // RFC 3464 §2.3.1: Original-Recipient only when the final one differs from what was given.
    if (r.finalRecipient && r.finalRecipient !== r.address) lines.push(field('Original-Recipient', typed(r.address, 'rfc822')));
    lines.push(field('Action', r.action), field('Status', r.status));
    if (r.remoteMta) lines.push(field('Remote-MTA', typed(r.remoteMta, 'dns')));
    if (r.diagnostic) lines.push(field('Diagnostic-Code', typed(r.diagnostic, 'smtp')));
    if (r.lastAttemptDate) lines.push(field('Last-Attempt-Date', rfc5322Date(r.lastAttemptDate)));
    for (const x of r.extensionFields ?? []) lines.push(field(x.name, x.value));
    blocks.push(lines.join('\r\n'));
  }
  const statusPart = ['Content-Type: message/delivery-status', '', blocks.join('\r\n\r\n')].join('\r\n');

  const original = toCrlf(o.originalHeaders).replace(/(\r\n)+$/, '');
  const headersPart = ['Content-Type: text/rfc822-headers', ...(isAscii(original) ? [] : ['Content-Transfer-Encoding: 8bit']), '', original].join('\r\n');

  const body = [
    'This is a MIME-formatted message. Portions of it may be unreadable without a MIME-capable mail program.',
    '',
    `--${boundary}`,
    textPart,
    '',
    `--${boundary}`,
    statusPart,
    '',
    `--${boundary}`,
    headersPart,
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`, 'utf8');
}

/** SES's wording for a bounce without an explanation, one line per recipient. */
function defaultExplanation(recipients: DsnRecipient[]): string {
  const failed = recipients.filter((r) => r.action !== 'delayed');
  const delayed = recipients.filter((r) => r.action === 'delayed');
  const lines: string[] = [];
  const list = (rs: DsnRecipient[]) => {
    for (const r of rs) lines.push(`    ${r.address}${r.diagnostic ? `: ${r.diagnostic.replace(/^\s*smtp;\s*/i, '')}` : ''}`);
  };
  if (failed.length > 0) {
    lines.push('An error occurred while trying to deliver the mail to the following recipients:');
    list(failed);
  }
  if (delayed.length > 0) {
    if (lines.length > 0) lines.push('');
    lines.push('Delivery to the following recipients has been delayed; delivery will be retried:');
    list(delayed);
  }
  return lines.join('\n');
}

/** A DSN field value with its type (`rfc822; a@b`, `dns; host`, `smtp; 550 …`); an existing type is kept. */
function typed(value: string, type: string): string {
  const v = oneLine(value);
  return /^[A-Za-z0-9-]+;/.test(v) ? v.replace(/^([A-Za-z0-9-]+);\s*/, '$1; ') : `${type}; ${v}`;
}

/** A header of the DSN message itself (values already on one line, long ones folded). */
function headerLine(name: string, value: string): string {
  return fold(`${name}: ${oneLine(value)}`);
}

/**
 * A field of the delivery-status part: that part is 7-bit text (RFC 3464 §2.1), so other
 * characters become '?', and long fields are folded at spaces (§2.1 allows RFC 822 folding).
 */
function field(name: string, value: string): string {
  // eslint-disable-next-line no-control-regex
  return fold(`${name}: ${oneLine(value).replace(/[^\x20-\x7e]/g, '?')}`);
}

/** CR, LF and other control characters become spaces, so that no value can add a header of its own. */
function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
}

/** Folds a header line at spaces to at most 78 characters where it can (RFC 5322 §2.2.3), and hard-wraps words over 998. */
function fold(line: string): string {
  if (line.length <= 78) return line;
  const out: string[] = [];
  let current = '';
  for (const word of line.split(' ')) {
    const candidate = current === '' ? word : `${current} ${word}`;
    if (candidate.length > 78 && current !== '') {
      out.push(current);
      current = word;
    } else current = candidate;
    while (current.length > 997) {
      out.push(current.slice(0, 997));
      current = current.slice(997);
    }
  }
  if (current) out.push(current);
  return out.join('\r\n ');
}

/** An RFC 2047 encoded word for non-ASCII header text. */
function encodeWord(s: string): string {
  return isAscii(s) ? s : `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;
}

function isAscii(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s);
}

function toCrlf(s: string): string {
  return s.replace(/\r?\n/g, '\r\n');
}

function wrapBase64(b64: string): string {
  return b64.match(/.{1,76}/g)?.join('\r\n') ?? '';
}
