/**
 * Abuse feedback reports (ARF, RFC 5965) inside `multipart/report; report-type=feedback-report`,
 * as mailbox providers' feedback loops send them: a human-readable part, the machine-readable
 * `message/feedback-report` part (§3), and the reported message or its headers (§2). Read
 * leniently and with the same bounds as DSNs (dsn-parse.ts): legacy field names (`Received-Date`,
 * `Removal-Recipient`) are accepted, and the reported message may be transfer-encoded.
 */
import { parseAddressList } from './mime.ts';
import { address, decodedText, findReport, headerOf, headersOf, readFields, type OriginalMessage } from './dsn-parse.ts';

/** A parsed feedback report. */
export interface ParsedArf {
  /** Feedback-Type, lower-case: abuse, fraud, virus, other, not-spam, auth-failure (or what the report said). */
  feedbackType: string;
  userAgent?: string;
  version?: string;
  /** Original-Mail-From's address (angle brackets stripped): the reported message's envelope sender. */
  originalMailFrom?: string;
  /** Original-Rcpt-To addresses (the field may repeat), and legacy Removal-Recipient ones. */
  originalRcptTo: string[];
  /** Arrival-Date (or the older Received-Date), as written. */
  arrivalDate?: string;
  reportedDomains: string[];
  sourceIp?: string;
  reportingMta?: string;
  originalEnvelopeId?: string;
  /** The report's own Date header. */
  date?: string;
  /** The report's From address (who sent the report). */
  from?: string;
  /** The reported message's headers, when the report carries them. */
  original?: OriginalMessage & {
    /** Addresses of its To header. */
    to: string[];
    /** Its Return-Path (the envelope sender as delivered), angle brackets stripped. */
    returnPath?: string;
  };
}

/** The feedback types RFC 5965 §7.3 and RFC 6591 register. */
export const FEEDBACK_TYPES = ['abuse', 'fraud', 'virus', 'other', 'not-spam', 'auth-failure'] as const;

const MAX_REPORT_BYTES = 256 * 1024;

/** Reads a feedback report; undefined when the message is not one. */
export function parseArf(raw: Buffer): ParsedArf | undefined {
  const report = findReport(raw, 'feedback-report', ['message/feedback-report']);
  if (!report) return undefined;
  // The report part is one block of fields (§3.1); blank lines inside it are tolerated.
  const fields = readFields(decodedText(report.status, MAX_REPORT_BYTES));
  const one = (name: string) => headerOf(fields, name);
  const type = one('feedback-type');
  const arf: ParsedArf = {
    // A report without Feedback-Type breaks §3.1; it is still a report about the message.
    feedbackType: (type ? (/^\s*([A-Za-z0-9-]+)/.exec(type)?.[1] ?? type) : 'other').toLowerCase(),
    originalRcptTo: [...headersOf(fields, 'original-rcpt-to'), ...headersOf(fields, 'removal-recipient')].map(address).filter((a) => a.includes('@')),
    reportedDomains: headersOf(fields, 'reported-domain').map((d) => d.trim().toLowerCase()).filter(Boolean),
  };
  const set = (key: 'userAgent' | 'version' | 'arrivalDate' | 'sourceIp' | 'reportingMta' | 'originalEnvelopeId', v: string | undefined) => {
    if (v) arf[key] = v;
  };
  set('userAgent', one('user-agent'));
  set('version', one('version'));
  set('arrivalDate', one('arrival-date') ?? one('received-date'));
  set('sourceIp', one('source-ip'));
  set('reportingMta', one('reporting-mta')?.replace(/^[A-Za-z0-9-]+\s*;\s*/, ''));
  set('originalEnvelopeId', one('original-envelope-id'));
  const mailFrom = one('original-mail-from');
  if (mailFrom !== undefined) {
    const a = address(mailFrom);
    if (a) arf.originalMailFrom = a;
  }
  const date = headerOf(report.top, 'date');
  if (date) arf.date = date;
  const from = headerOf(report.top, 'from');
  if (from) arf.from = address(from);
  if (report.original) {
    const h = report.original.headers;
    const returnPath = headerOf(h, 'return-path');
    arf.original = {
      ...report.original,
      to: headersOf(h, 'to').flatMap(parseAddressList),
      ...(returnPath && address(returnPath) ? { returnPath: address(returnPath) } : {}),
    };
  }
  return arf;
}
