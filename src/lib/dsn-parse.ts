/**
 * Delivery status notifications (RFC 3464) inside `multipart/report; report-type=delivery-status`
 * (RFC 6522), read leniently, as real MTAs write them: Postfix, Exim, Exchange and Gmail differ in
 * spacing (`rfc822;a@b` / `rfc822; a@b`), folding, letter case, the order and grouping of fields,
 * and whether the report part or the returned message is transfer-encoded. Also SES's bounce
 * classification (developer guide "notification-contents", bounce types) of a recipient's Status
 * and Diagnostic-Code.
 *
 * Parsing is synchronous and bounded: header blocks are read from at most 256 KiB, the report part
 * from at most 1 MiB, with caps on parts, fields, recipients and nesting, and every scan is linear
 * (Buffer.indexOf, simple anchored expressions), so a hostile message costs little. The small MIME
 * reader here is shared with the ARF parser (arf-parse.ts).
 */

/** A header field, unfolded (RFC 5322 §2.2.3) and trimmed. */
export interface ReportField {
  name: string;
  value: string;
}

/** One MIME entity: its header fields and its body, still transfer-encoded. */
export interface MimeEntity {
  headers: ReportField[];
  body: Buffer;
}

/** The headers of the returned original message (third part of a report), as far as they were readable. */
export interface OriginalMessage {
  headers: ReportField[];
  /** Message-ID without angle brackets. */
  messageId?: string;
}

/** One per-recipient block of a DSN (RFC 3464 §2.3). */
export interface DsnRecipient {
  /** Final-Recipient's address (the `rfc822;` type removed, angle brackets stripped). */
  finalRecipient?: string;
  /** Original-Recipient's address, when given. */
  originalRecipient?: string;
  /**
   * Lower-case: failed, delayed, delivered, relayed, expanded (other words are kept as given);
   * when the field is missing, from the Status class (5 failed, 4 delayed, 2 delivered), else ''.
   */
  action: string;
  /** Enhanced status code (RFC 3463) `x.y.z`, when one was found. */
  status?: string;
  /** Diagnostic-Code as given, type included (`smtp; 550 5.1.1 …`). */
  diagnosticCode?: string;
  /** Remote-MTA's name (the `dns;` type removed). */
  remoteMta?: string;
  /** An IP address named in Remote-MTA (a literal, or Gmail's `(192.0.2.1, the server for …)`). */
  remoteMtaIp?: string;
  lastAttemptDate?: string;
}

/** A parsed DSN. */
export interface ParsedDsn {
  /** Reporting-MTA's name (the `dns;` type removed). */
  reportingMta?: string;
  arrivalDate?: string;
  originalEnvelopeId?: string;
  recipients: DsnRecipient[];
  /** The report's own Date header. */
  date?: string;
  /** The returned message's headers (message/rfc822 or text/rfc822-headers), when present. */
  original?: OriginalMessage;
}

/** SES's bounce classes (developer guide "notification-contents", table of bounce types). */
export type BounceClass =
  | { bounceType: 'Permanent'; bounceSubType: 'General' }
  | { bounceType: 'Transient'; bounceSubType: 'General' | 'MailboxFull' | 'MessageTooLarge' | 'ContentRejected' | 'AttachmentRejected' }
  | { bounceType: 'Undetermined'; bounceSubType: 'Undetermined' };

const ACTION_OF_CLASS: Record<string, string> = { '5': 'failed', '4': 'delayed', '2': 'delivered' };

/** Largest header block read (bytes); a longer one is cut there (or, at the top level, refused). */
export const MAX_HEADER_BYTES = 256 * 1024;
/** Largest decoded report part read (bytes). */
const MAX_REPORT_BYTES = 1024 * 1024;
const MAX_FIELDS = 1000;
const MAX_PARTS = 64;
const MAX_DEPTH = 3;
const MAX_RECIPIENTS = 1000;

/** Reads a DSN; undefined when the message is not a delivery-status report. */
export function parseDsn(raw: Buffer): ParsedDsn | undefined {
  const report = findReport(raw, 'delivery-status', ['message/delivery-status', 'message/global-delivery-status']);
  if (!report) return undefined;
  const text = decodedText(report.status, MAX_REPORT_BYTES);
  const groups = fieldGroups(text);
  const dsn: ParsedDsn = { recipients: [] };
  let current: DsnRecipient | undefined;
  const perRecipient = new Set(['final-recipient', 'original-recipient', 'action', 'status', 'diagnostic-code', 'remote-mta', 'last-attempt-date', 'will-retry-until', 'final-log-id']);
  for (const group of groups) {
    // Each blank-line separated group after the first is one recipient (§2.1); some MTAs leave out
    // the blank lines, so a group may also hold the per-message fields, or several recipients,
    // each starting at its Final- or Original-Recipient.
    current = undefined;
    for (const f of group) {
      const name = f.name.toLowerCase();
      if (!perRecipient.has(name)) {
        if (name === 'reporting-mta') dsn.reportingMta ??= typedValue(f.value);
        else if (name === 'arrival-date') dsn.arrivalDate ??= f.value;
        else if (name === 'original-envelope-id') dsn.originalEnvelopeId ??= f.value;
        continue;
      }
      const startsRecipient = name === 'final-recipient' || name === 'original-recipient';
      if (!current || (startsRecipient && (name === 'final-recipient' ? current.finalRecipient : current.originalRecipient) !== undefined)) {
        if (dsn.recipients.length >= MAX_RECIPIENTS) break;
        current = { action: '' };
        dsn.recipients.push(current);
      }
      switch (name) {
        case 'final-recipient':
          current.finalRecipient = address(f.value);
          break;
        case 'original-recipient':
          current.originalRecipient = address(f.value);
          break;
        case 'action':
          current.action = (/^\s*([A-Za-z-]+)/.exec(f.value)?.[1] ?? f.value).toLowerCase();
          break;
        case 'status':
          current.status = enhancedCode(f.value);
          break;
        case 'diagnostic-code':
          current.diagnosticCode = f.value;
          break;
        case 'remote-mta': {
          current.remoteMta = typedValue(f.value).replace(/\s*[([].*$/, '');
          const ip = ipIn(f.value);
          if (ip) current.remoteMtaIp = ip;
          break;
        }
        case 'last-attempt-date':
          current.lastAttemptDate = f.value;
          break;
      }
    }
  }
  // A block without any recipient field (a stray group of extension fields) is no recipient.
  dsn.recipients = dsn.recipients.filter((r) => r.finalRecipient !== undefined || r.originalRecipient !== undefined);
  // Action is required (§2.3.3); a block that leaves it out is read by its Status class.
  for (const r of dsn.recipients) if (r.action === '' && r.status) r.action = ACTION_OF_CLASS[r.status[0]!] ?? '';
  const date = headerOf(report.top, 'date');
  if (date) dsn.date = date;
  if (report.original) dsn.original = report.original;
  return dsn;
}

/**
 * SES's bounce type and subtype for one failed recipient, from its Status and Diagnostic-Code.
 * SES's table (developer guide "notification-contents"): Permanent General; Transient General,
 * MailboxFull, MessageTooLarge, ContentRejected, AttachmentRejected; Undetermined when the bounce
 * says too little. SES's own examples (the mailbox simulator's `550 5.1.1 user unknown`, the
 * event-publishing Bounce example) publish an unknown user as Permanent/General, so 5.1.x is
 * General here too; NoEmail is not produced from a DSN.
 */
export function classifyBounce(status: string | undefined, diagnostic: string | undefined): BounceClass {
  const diag = diagnostic ?? '';
  let code = status ? enhancedCode(status) : undefined;
  const inDiag = enhancedCode(diag);
  // A generic status (Postfix and Gmail write 5.0.0) says less than the reply it came from.
  if (inDiag && (!code || (code.endsWith('.0.0') && inDiag[0] === code[0]))) code = inDiag;
  const reply = /^\s*(?:[A-Za-z-]+\s*;)?\s*([245])\d\d(?!\d)/.exec(diag)?.[1];
  const cls = code?.[0] ?? reply;
  if (cls !== '4' && cls !== '5') return { bounceType: 'Undetermined', bounceSubType: 'Undetermined' };
  const detail = code ? code.slice(code.indexOf('.') + 1) : '';
  const text = diag.toLowerCase();
  // x.2.2 mailbox full (RFC 3463); many MTAs only say so in words.
  if (detail === '2.2' || /mailbox (is |was )?full|over ?quota|quota (exceeded|full)|exceeded (the |his |her |its )?(storage|quota)|mailbox size limit|insufficient (system )?storage/.test(text)) {
    return { bounceType: 'Transient', bounceSubType: 'MailboxFull' };
  }
  // x.3.4 message too big for system, x.2.3 message length exceeds administrative limit.
  if (detail === '3.4' || detail === '2.3' || /message (is )?too (big|large)|size (limit )?exceed|exceeds? (the )?(maximum |max )?(message )?size|message length exceeds/.test(text)) {
    return { bounceType: 'Transient', bounceSubType: 'MessageTooLarge' };
  }
  const policy = detail.startsWith('7.') || detail.startsWith('6.');
  if (policy && /attachment|file ?(type|name|extension)|banned file|executable/.test(text)) return { bounceType: 'Transient', bounceSubType: 'AttachmentRejected' };
  // x.6.x is a media (content) error; x.7.x is any policy, so only its content refusals count.
  if (detail.startsWith('6.') || (policy && /\b(spam|spammy|content|virus|malware|phishing|unsolicited|infected)\b/.test(text))) {
    return { bounceType: 'Transient', bounceSubType: 'ContentRejected' };
  }
  return cls === '5' ? { bounceType: 'Permanent', bounceSubType: 'General' } : { bounceType: 'Transient', bounceSubType: 'General' };
}

// ---------------------------------------------------------------------------------------------
// A small, lenient MIME reader for reports (shared with arf-parse.ts).

/** The parts of a `multipart/report` that report parsers need. */
export interface ReportParts {
  /** Header fields of the message itself. */
  top: ReportField[];
  /** The machine-readable part (message/delivery-status, message/feedback-report). */
  status: MimeEntity;
  /** The returned message's headers, when a third part holds them. */
  original?: OriginalMessage;
}

/**
 * Finds a `multipart/report` of `reportType` (at the top, or nested in other multiparts up to a
 * small depth, as some gateways wrap it) and its machine-readable part, a child of one of
 * `statusTypes`. A report whose `report-type` parameter is missing is accepted when that part is
 * there. Undefined when there is no such report.
 */
export function findReport(raw: Buffer, reportType: string, statusTypes: string[]): ReportParts | undefined {
  const top = readEntity(raw, true);
  if (!top) return undefined;
  const found = searchReport(top, reportType, statusTypes, 0);
  if (!found) return undefined;
  return { top: top.headers, ...found };
}

function searchReport(entity: MimeEntity, reportType: string, statusTypes: string[], depth: number): Omit<ReportParts, 'top'> | undefined {
  const ct = contentType(entity.headers);
  if (!ct.type.startsWith('multipart/') || !ct.params.boundary) return undefined;
  const children = splitMultipart(entity.body, ct.params.boundary)
    .map((b) => readEntity(b, false))
    .filter((e): e is MimeEntity => e !== undefined);
  if (ct.type === 'multipart/report') {
    const declared = ct.params['report-type']?.toLowerCase();
    if (declared === undefined || declared === reportType) {
      const idx = children.findIndex((c) => statusTypes.includes(contentType(c.headers).type));
      if (idx >= 0) {
        const status = children[idx]!;
        const rest = children.slice(idx + 1);
        const originalPart = rest.find((c) => ORIGINAL_TYPES.has(contentType(c.headers).type));
        return { status, ...(originalPart ? { original: readOriginal(originalPart) } : {}) };
      }
    }
    if (declared !== undefined) return undefined;
  }
  if (depth >= MAX_DEPTH) return undefined;
  for (const c of children) {
    const found = searchReport(c, reportType, statusTypes, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Media types that carry the returned message or its headers (RFC 6522 §3, RFC 6533 for message/global). */
const ORIGINAL_TYPES = new Set(['message/rfc822', 'text/rfc822-headers', 'message/rfc822-headers', 'message/global', 'message/global-headers', 'text/rfc822']);

/** The header fields of a returned message (a whole message or only its header block). */
function readOriginal(part: MimeEntity): OriginalMessage {
  const inner = readEntity(decoded(part, MAX_HEADER_BYTES + 4), false);
  const headers = inner?.headers ?? [];
  const id = headerOf(headers, 'message-id');
  const messageId = id ? (/<([^<>]*)>/.exec(id)?.[1] ?? id).trim() : undefined;
  return { headers, ...(messageId ? { messageId } : {}) };
}

/**
 * Reads a MIME entity: its header block (up to the first empty line, read from at most
 * MAX_HEADER_BYTES) and its body. Lines that are not fields are skipped. `strict` (the top level)
 * refuses a header block that does not end within the limit or holds no field at all.
 */
export function readEntity(raw: Buffer, strict: boolean): MimeEntity | undefined {
  const window = raw.subarray(0, MAX_HEADER_BYTES);
  let end = -1;
  let bodyAt = raw.length;
  if (window[0] === 0x0a) {
    end = 0;
    bodyAt = 1;
  } else if (window[0] === 0x0d && window[1] === 0x0a) {
    end = 0;
    bodyAt = 2;
  } else {
    const lf = window.indexOf('\n\n');
    const crlf = window.indexOf('\n\r\n');
    if (lf >= 0 && (crlf < 0 || lf < crlf)) {
      end = lf + 1;
      bodyAt = lf + 2;
    } else if (crlf >= 0) {
      end = crlf + 1;
      bodyAt = crlf + 3;
    }
  }
  if (end < 0) {
    if (strict && raw.length > MAX_HEADER_BYTES) return undefined;
    end = window.length;
    bodyAt = raw.length;
  }
  const headers = readFields(window.subarray(0, end).toString('utf8'));
  if (strict && headers.length === 0) return undefined;
  return { headers, body: raw.subarray(Math.min(bodyAt, raw.length)) };
}

/** Reads header fields from text: unfolds continuation lines, skips lines that are not fields. */
export function readFields(text: string): ReportField[] {
  const out: Array<{ name: string; value: string[] }> = [];
  let last: { name: string; value: string[] } | undefined;
  let start = 0;
  while (start < text.length && out.length < MAX_FIELDS) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = text.length;
    let line = text.slice(start, nl);
    start = nl + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') continue;
    if (line[0] === ' ' || line[0] === '\t') {
      const v = line.trim();
      if (last && v) last.value.push(v);
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trimEnd() : '';
    if (!name || !/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
      last = undefined; // not a field: its continuation lines are not anyone's
      continue;
    }
    last = { name, value: [] };
    const v = line.slice(colon + 1).trim();
    if (v) last.value.push(v);
    out.push(last);
  }
  return out.map((f) => ({ name: f.name, value: f.value.join(' ') }));
}

/** Groups of fields separated by empty (or blank) lines, as in a message/delivery-status body. */
export function fieldGroups(text: string): ReportField[][] {
  return text
    .split(/\r?\n[ \t]*\r?\n/)
    .map((g) => readFields(g))
    .filter((g) => g.length > 0);
}

/** The media type (lower-case) and parameters (names lower-case) of an entity; text/plain by default (RFC 2045 §5.2). */
export function contentType(headers: ReportField[]): { type: string; params: Record<string, string> } {
  const v = headerOf(headers, 'content-type');
  if (!v) return { type: 'text/plain', params: Object.create(null) as Record<string, string> };
  const semi = v.indexOf(';');
  const type = (semi < 0 ? v : v.slice(0, semi)).trim().toLowerCase();
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  if (semi >= 0) parseParams(v, semi + 1, params);
  return { type, params };
}

/**
 * Parameters `name=token` or `name="quoted string"` separated by ';' (RFC 2045 §5.1), read from
 * `at`; lenient about spaces and about parameters without a value (skipped). Names lower-case; the
 * first of a repeated name wins.
 */
function parseParams(v: string, at: number, params: Record<string, string>): void {
  let i = at;
  while (i < v.length) {
    while (i < v.length && (v[i] === ' ' || v[i] === '\t' || v[i] === ';')) i++;
    const nameStart = i;
    while (i < v.length && v[i] !== '=' && v[i] !== ';') i++;
    const name = v.slice(nameStart, i).trim().toLowerCase();
    if (v[i] !== '=') continue; // no value: skip to the next parameter
    i++;
    while (i < v.length && (v[i] === ' ' || v[i] === '\t')) i++;
    let value = '';
    if (v[i] === '"') {
      i++;
      while (i < v.length && v[i] !== '"') {
        if (v[i] === '\\' && i + 1 < v.length) i++;
        value += v[i];
        i++;
      }
      i++; // closing quote
      while (i < v.length && v[i] !== ';') i++;
    } else {
      const end = v.indexOf(';', i);
      value = v.slice(i, end < 0 ? v.length : end).trim();
      i = end < 0 ? v.length : end;
    }
    if (name && !Object.hasOwn(params, name)) params[name] = value;
  }
}

/** The first value of a header (case-insensitive). */
export function headerOf(headers: ReportField[], name: string): string | undefined {
  const n = name.toLowerCase();
  return headers.find((h) => h.name.toLowerCase() === n)?.value;
}

/** All values of a header (case-insensitive). */
export function headersOf(headers: ReportField[], name: string): string[] {
  const n = name.toLowerCase();
  return headers.filter((h) => h.name.toLowerCase() === n).map((h) => h.value);
}

/**
 * The bodies of a multipart entity's parts (RFC 2046 §5.1.1): delimiter lines are `--boundary` at
 * the start of a line, possibly followed by transport padding; the preamble and epilogue are
 * dropped. A missing close delimiter is tolerated (the last part runs to the end).
 */
export function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  if (boundary === '' || boundary.length > 200) return [];
  const delim = Buffer.from(`--${boundary}`, 'utf8');
  const starts: Array<{ at: number; after: number; close: boolean }> = [];
  let from = 0;
  while (starts.length <= MAX_PARTS) {
    const i = body.indexOf(delim, from);
    if (i < 0) break;
    from = i + delim.length;
    if (i > 0 && body[i - 1] !== 0x0a) continue; // not at the start of a line
    const close = body[from] === 0x2d && body[from + 1] === 0x2d;
    // Only padding may follow a delimiter: `--abcdef` is not a delimiter of boundary `abc`.
    const next = body[from];
    if (!close && next !== undefined && next !== 0x0d && next !== 0x0a && next !== 0x20 && next !== 0x09) continue;
    let eol = body.indexOf(0x0a, from);
    if (eol < 0) eol = body.length - 1;
    starts.push({ at: i, after: eol + 1, close });
    if (close) break;
  }
  const parts: Buffer[] = [];
  for (let k = 0; k < starts.length; k++) {
    const s = starts[k]!;
    if (s.close) break;
    const next = starts[k + 1];
    // The CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    let end = next ? next.at : body.length;
    if (next) {
      if (body[end - 1] === 0x0a) end--;
      if (body[end - 1] === 0x0d) end--;
    }
    parts.push(body.subarray(Math.min(s.after, end), end));
    if (parts.length >= MAX_PARTS) break;
  }
  return parts;
}

/** An entity's body with its Content-Transfer-Encoding undone (base64, quoted-printable), cut to `max` bytes. */
export function decoded(entity: MimeEntity, max: number): Buffer {
  const cte = (headerOf(entity.headers, 'content-transfer-encoding') ?? '').trim().toLowerCase();
  if (cte === 'base64') {
    // 4 base64 characters hold 3 bytes; twice `max` covers them with their line breaks.
    const src = entity.body.subarray(0, max * 2).toString('latin1');
    return Buffer.from(src, 'base64').subarray(0, max);
  }
  if (cte === 'quoted-printable') return quotedPrintable(entity.body.subarray(0, max * 3)).subarray(0, max);
  return entity.body.subarray(0, max);
}

/** A body decoded as UTF-8 text. */
export function decodedText(entity: MimeEntity, max: number): string {
  return decoded(entity, max).toString('utf8');
}

/** Decodes quoted-printable (RFC 2045 §6.7): soft line breaks and `=XX` octets. */
function quotedPrintable(src: Buffer): Buffer {
  const out = Buffer.alloc(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c !== 0x3d) {
      out[n++] = c;
      continue;
    }
    if (src[i + 1] === 0x0a) {
      i += 1;
      continue;
    }
    if (src[i + 1] === 0x0d && src[i + 2] === 0x0a) {
      i += 2;
      continue;
    }
    const hex = src.toString('latin1', i + 1, i + 3);
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      out[n++] = parseInt(hex, 16);
      i += 2;
    } else out[n++] = c;
  }
  return out.subarray(0, n);
}

/** The value after a `type;` prefix (`dns; mx.example.com` → `mx.example.com`). */
export function typedValue(v: string): string {
  const semi = v.indexOf(';');
  return (semi >= 0 && /^[A-Za-z0-9-]+$/.test(v.slice(0, semi).trim()) ? v.slice(semi + 1) : v).trim();
}

/** An address field's address: `rfc822; <a@b>` → `a@b`. */
export function address(v: string): string {
  const t = typedValue(v);
  return (/<([^<>]*)>/.exec(t)?.[1] ?? t).trim();
}

/** The first RFC 3463 enhanced status code in a text. */
function enhancedCode(v: string): string | undefined {
  return /(?:^|[^\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.]*\d)/.exec(v)?.[1];
}

/** An IPv4 or bracketed/parenthesised IPv6 address named in a field. */
function ipIn(v: string): string | undefined {
  const v4 = /(?:^|[^\d.])((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})(?![\d.]*\d)/.exec(v)?.[1];
  if (v4) return v4;
  return /[[(](?:IPv6:)?([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})[\]),]/.exec(v)?.[1];
}
