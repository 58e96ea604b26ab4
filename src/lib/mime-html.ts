/**
 * Rewrites the HTML bodies of a raw MIME message in place, leaving every other byte as it was: the
 * open and click tracking of messages that arrive already built (SendRawEmail, SMTP submission), as
 * SES tracks them too. Multipart bodies are walked by their boundaries (RFC 2046 §5.1.1); a
 * `text/html` part that is not an attachment is decoded (quoted-printable or base64, RFC 2045 §6),
 * rewritten, and encoded again — base64 stays base64, anything else becomes quoted-printable, so
 * that longer links can never push a line past 998 characters. Parts inside an attached message
 * (`message/rfc822`) are not touched. A part that cannot be understood is left unchanged.
 */
import * as base64 from 'nodemailer/lib/base64';
import { parseHeaderValue } from 'nodemailer/lib/mime-funcs';
import * as qp from 'nodemailer/lib/qp';
import { field, headerValue, splitMessage, type HeaderField } from './mime.ts';

const MAX_DEPTH = 20;

/** The result: the new header fields and body of the entity, or undefined when no HTML part changed. */
export interface RewrittenEntity {
  headers: HeaderField[];
  body: Buffer;
}

/** Applies `rewrite` to every inline text/html part of the entity whose header fields and body are given. */
export function rewriteHtmlParts(headers: HeaderField[], body: Buffer, rewrite: (html: string) => string, depth = 0): RewrittenEntity | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const ct = parseHeaderValue(headerValue(headers, 'Content-Type') ?? 'text/plain');
  const type = String(ct.value).toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = ct.params.boundary;
    if (!boundary) return undefined;
    const body2 = rewriteMultipart(body, boundary, rewrite, depth);
    return body2 ? { headers, body: body2 } : undefined;
  }
  if (type !== 'text/html') return undefined;
  if (/^\s*attachment/i.test(headerValue(headers, 'Content-Disposition') ?? '')) return undefined;
  const cte = (headerValue(headers, 'Content-Transfer-Encoding') ?? '7bit').trim().toLowerCase();
  const charset = String(ct.params.charset ?? 'us-ascii').toLowerCase();
  let raw: Buffer;
  if (cte === 'base64') raw = Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  else if (cte === 'quoted-printable') raw = decodeQuotedPrintable(body);
  else if (cte === '7bit' || cte === '8bit' || cte === 'binary') raw = body;
  else return undefined;
  let html: string;
  try {
    html = new TextDecoder(charset === 'us-ascii' ? 'utf-8' : charset, { fatal: true }).decode(raw);
  } catch {
    return undefined; // an unknown charset or bytes that are not in it: leave the part as it is
  }
  const out = rewrite(html);
  if (out === html) return undefined;
  // Links and the pixel are ASCII; a part in a charset other than UTF-8 or ASCII is re-encoded as
  // UTF-8 (Node encodes no other charset) and its Content-Type says so.
  const keepCharset = charset === 'utf-8' || charset === 'utf8' || charset === 'us-ascii' || charset === 'iso-8859-1' || charset === 'latin1';
  const bytes = charset === 'iso-8859-1' || charset === 'latin1' ? Buffer.from(out, 'latin1') : Buffer.from(out, 'utf8');
  const encoded = cte === 'base64' ? `${base64.wrap(base64.encode(bytes), 76)}\r\n` : `${qp.wrap(qp.encode(bytes), 76)}\r\n`;
  const next = headers.filter((h) => {
    const n = h.name.toLowerCase();
    return n !== 'content-transfer-encoding' && !(n === 'content-type' && !keepCharset);
  });
  if (!keepCharset) next.push(field('Content-Type', 'text/html; charset=utf-8'));
  next.push(field('Content-Transfer-Encoding', cte === 'base64' ? 'base64' : 'quoted-printable'));
  return { headers: next, body: Buffer.from(encoded.replace(/\r?\n/g, '\r\n'), 'latin1') };
}

/** Rewrites the parts of a multipart body; undefined when none changed. */
function rewriteMultipart(body: Buffer, boundary: string, rewrite: (html: string) => string, depth: number): Buffer | undefined {
  const text = body.toString('latin1');
  const delimiter = `--${boundary}`;
  // Delimiter lines start at the beginning of the body or after CRLF (or LF, from lenient senders).
  const starts: number[] = [];
  let from = 0;
  for (;;) {
    const i = text.indexOf(delimiter, from);
    if (i < 0) break;
    if (i === 0 || text[i - 1] === '\n') starts.push(i);
    from = i + delimiter.length;
  }
  if (starts.length < 2) return undefined;
  const pieces: Buffer[] = [];
  let changed = false;
  let cursor = 0;
  for (let k = 0; k < starts.length - 1; k++) {
    const lineEnd = text.indexOf('\n', starts[k]!);
    if (lineEnd < 0) return undefined;
    if (text.startsWith(`${delimiter}--`, starts[k]!)) break; // the close delimiter: the rest is epilogue
    const partStart = lineEnd + 1;
    // The CRLF before the next delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    let partEnd = starts[k + 1]!;
    if (text[partEnd - 1] === '\n') partEnd -= text[partEnd - 2] === '\r' ? 2 : 1;
    if (partEnd < partStart) continue;
    const part = body.subarray(partStart, partEnd);
    const r = rewritePart(part, rewrite, depth + 1);
    if (!r) continue;
    pieces.push(body.subarray(cursor, partStart), r);
    cursor = partEnd;
    changed = true;
  }
  if (!changed) return undefined;
  pieces.push(body.subarray(cursor));
  return Buffer.concat(pieces);
}

/** One body part: its header block (possibly empty) and body, rewritten; undefined when unchanged. */
function rewritePart(part: Buffer, rewrite: (html: string) => string, depth: number): Buffer | undefined {
  // A part without header fields starts with its blank line and is text/plain (RFC 2046 §5.1.1).
  if (part[0] === 0x0d || part[0] === 0x0a) return undefined;
  let split;
  try {
    split = splitMessage(part);
  } catch {
    return undefined;
  }
  const r = rewriteHtmlParts(split.headers, split.body, rewrite, depth);
  if (!r) return undefined;
  return Buffer.concat([Buffer.from(`${r.headers.map((h) => h.raw).join('\r\n')}\r\n\r\n`, 'latin1'), r.body]);
}

/** Decodes quoted-printable (RFC 2045 §6.7): trailing blanks and soft line breaks removed, `=XX` to its byte. One pass, no backtracking. */
export function decodeQuotedPrintable(body: Buffer): Buffer {
  const lines = body.toString('latin1').split('\n');
  // LF-only input gains a CR per line.
  const out = Buffer.alloc(body.length + lines.length);
  let n = 0;
  const hex = (c: number) => (c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1);
  lines.forEach((raw, li) => {
    let end = raw.length;
    if (end > 0 && raw.charCodeAt(end - 1) === 0x0d) end--;
    while (end > 0 && (raw.charCodeAt(end - 1) === 0x20 || raw.charCodeAt(end - 1) === 0x09)) end--;
    const soft = end > 0 && raw.charCodeAt(end - 1) === 0x3d;
    if (soft) end--;
    for (let i = 0; i < end; i++) {
      const c = raw.charCodeAt(i);
      if (c === 0x3d && i + 2 < end && hex(raw.charCodeAt(i + 1)) >= 0 && hex(raw.charCodeAt(i + 2)) >= 0) {
        out[n++] = hex(raw.charCodeAt(i + 1)) * 16 + hex(raw.charCodeAt(i + 2));
        i += 2;
      } else out[n++] = c;
    }
    if (!soft && li < lines.length - 1) {
      out[n++] = 0x0d;
      out[n++] = 0x0a;
    }
  });
  return out.subarray(0, n);
}
