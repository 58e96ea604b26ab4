/**
 * Minimal, exact handling of an RFC 5322 message's header block: split header and body at the first
 * empty line, read fields (with folded continuation lines, §2.2.3), and rewrite the block without
 * touching the body bytes. Building new messages is nodemailer's job (src/core/sending); this only
 * normalises messages users give us raw.
 */

/** One header field as it appears: name and the unfolded value, plus the raw lines. */
export interface HeaderField {
  name: string;
  /** Value with folding removed and surrounding whitespace trimmed. */
  value: string;
  /** The raw field including continuation lines, without the final CRLF. */
  raw: string;
}

/** A message split into header fields and the untouched body. */
export interface SplitMessage {
  headers: HeaderField[];
  /** Everything after the blank line that ends the header block. */
  body: Buffer;
}

/** Why a raw message cannot be accepted. */
export class MimeError extends Error {
  override readonly name = 'MimeError';
}

const MAX_LINE = 998; // RFC 5322 §2.1.1, excluding CRLF

/**
 * Where the header block ends: `end` is the offset just after its last line's LF, `bodyStart` the
 * offset after the empty line (LF LF or LF CR LF). Undefined when `raw` holds no empty line.
 */
export function headerBlockEnd(raw: Buffer): { end: number; bodyStart: number } | undefined {
  for (let i = raw.indexOf(0x0a); i !== -1; i = raw.indexOf(0x0a, i + 1)) {
    if (raw[i + 1] === 0x0a) return { end: i + 1, bodyStart: i + 2 };
    if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) return { end: i + 1, bodyStart: i + 3 };
  }
  return undefined;
}

/**
 * Splits a raw message. Accepts CRLF or bare LF line ends in the header block (normalised to
 * CRLF); refuses a message without a header block, with header lines over 998 characters, or with
 * a bare CR in the header block.
 */
export function splitMessage(raw: Buffer): SplitMessage {
  const block = headerBlockEnd(raw);
  const end = block ? block.end : -1;
  const headerText = (end < 0 ? raw : raw.subarray(0, end)).toString('latin1');
  const body = block ? raw.subarray(block.bodyStart) : Buffer.alloc(0);
  const lines = headerText.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  const headers: HeaderField[] = [];
  // Continuation lines are collected and joined once per field: growing the value and trimming it
  // per line would copy the field again for every line (quadratic: a 14 MB folded header took 79 s).
  const parts: Array<{ raw: string[]; value: string[] }> = [];
  for (const line of lines) {
    if (line.length > MAX_LINE) throw new MimeError(`a header line is longer than ${MAX_LINE} characters`);
    // RFC 5322 §2.2: CR only as part of CRLF. A bare CR left in a field would reach the next MTA.
    if (line.includes('\r')) throw new MimeError('a header line holds a bare CR (header lines end in CRLF)');
    if (/^[ \t]/.test(line)) {
      const last = parts[parts.length - 1];
      if (!last) throw new MimeError('the message starts with a continuation line');
      last.raw.push(line);
      const v = line.trim();
      if (v) last.value.push(v);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || !/^[\x21-\x39\x3b-\x7e]+$/.test(line.slice(0, colon))) {
      throw new MimeError(`"${line.slice(0, 40)}" is not a header field (name: value)`);
    }
    headers.push({ name: line.slice(0, colon), value: '', raw: '' });
    const v = line.slice(colon + 1).trim();
    parts.push({ raw: [line], value: v ? [v] : [] });
  }
  headers.forEach((h, i) => {
    h.raw = parts[i]!.raw.join('\r\n');
    h.value = parts[i]!.value.join(' ');
  });
  if (headers.length === 0) throw new MimeError('the message has no header fields');
  return { headers, body };
}

/** The first value of a header (case-insensitive name), or undefined. */
export function headerValue(headers: HeaderField[], name: string): string | undefined {
  const n = name.toLowerCase();
  return headers.find((h) => h.name.toLowerCase() === n)?.value;
}

/** All values of a header. */
export function headerValues(headers: HeaderField[], name: string): string[] {
  const n = name.toLowerCase();
  return headers.filter((h) => h.name.toLowerCase() === n).map((h) => h.value);
}

/** Joins header fields and a body back into a message with CRLF line ends in the header block. */
export function joinMessage(headers: HeaderField[], body: Buffer): Buffer {
  const head = headers.map((h) => h.raw).join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), body]);
}

/** A new header field (value must already be encoded for the wire). */
export function field(name: string, value: string): HeaderField {
  return { name, value, raw: `${name}: ${value}` };
}

/** True when the text holds CR or LF (header injection through API fields). */
export function hasLineBreak(s: string): boolean {
  return /[\r\n]/.test(s);
}

/**
 * Extracts bare addresses from an address-list header value (`"A, B" <a@x>, b@y, Group: c@z;`).
 * Comments and display names are dropped; good enough for envelope and event purposes.
 */
export function parseAddressList(value: string): string[] {
  const out: string[] = [];
  // Remove quoted strings and comments so that commas inside them do not split.
  const cleaned = value.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\((?:[^()\\]|\\.)*\)/g, '');
  for (const part of cleaned.split(/[,;]/)) {
    const angle = /<([^<>]*)>/.exec(part);
    const candidate = (angle ? angle[1]! : part.replace(/^[^:]*:/, '')).trim();
    if (candidate.includes('@')) out.push(candidate);
  }
  return out;
}
