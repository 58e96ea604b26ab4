/**
 * DATA as the edge reads it (ARCHITECTURE rule 2): the whole message into one buffer, with the size
 * limit and the line rules enforced here, so core gets a complete message or nothing.
 *
 * Line rules: every line of the message ends in CRLF. A bare LF or a bare CR anywhere refuses the
 * message, as Postfix's `smtpd_forbid_bare_newline`: that is what defeats SMTP smuggling
 * (CVE-2023-51764/-51765/-51766). smtp-server ends DATA only at CRLF "." CRLF, so a non-standard
 * end such as LF "." LF, CR "." CR or LF "." CRLF stays inside the message — and, holding a bare
 * LF or CR, makes the whole message (with whatever "second message" was smuggled after it) refused.
 */
import type { Readable } from 'node:stream';

/** What reading DATA gave. */
export type DataResult =
  | { kind: 'message'; data: Buffer }
  /** Over the size limit; the rest was read and dropped. */
  | { kind: 'too-long'; bytes: number }
  /** A line break that is not CRLF; the rest was read and dropped. */
  | { kind: 'bare-newline'; which: 'LF' | 'CR'; offset: number }
  /** The client went away before the end of DATA; there is nobody to answer. */
  | { kind: 'aborted' };

const CR = 0x0d;
const LF = 0x0a;

/**
 * Reads the DATA stream to its end. Stops keeping bytes once the message is refused (too long, bare
 * newline) but drains the stream, since the SMTP reply can only follow the end of DATA.
 */
export function readData(stream: Readable, maxBytes: number): Promise<DataResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let last = -1; // last byte of the previous chunk
    let refused: DataResult | undefined;
    stream.on('data', (chunk: Buffer) => {
      const at = bytes;
      bytes += chunk.length;
      if (refused) return;
      if (bytes > maxBytes) {
        refused = { kind: 'too-long', bytes };
        chunks.length = 0;
        return;
      }
      const bad = findBareNewline(chunk, last);
      if (bad) {
        refused = { kind: 'bare-newline', which: bad.which, offset: at + bad.index };
        chunks.length = 0;
        return;
      }
      last = chunk[chunk.length - 1]!;
      chunks.push(chunk);
    });
    let ended = false;
    // smtp-server destroys the stream (with or without an error) when the connection closes mid-DATA.
    stream.on('error', (err: Error & { code?: string }) => (err.code === 'ECONNECTION' ? resolve({ kind: 'aborted' }) : reject(err)));
    stream.on('close', () => {
      if (!ended) resolve({ kind: 'aborted' });
    });
    stream.on('end', () => {
      ended = true;
      if (refused?.kind === 'too-long') return resolve({ kind: 'too-long', bytes });
      if (refused) return resolve(refused);
      // smtp-server passes the CRLF before the final "." as content, so a last CR cannot be bare.
      if (last === CR) return resolve({ kind: 'bare-newline', which: 'CR', offset: bytes - 1 });
      resolve({ kind: 'message', data: Buffer.concat(chunks, bytes) });
    });
  });
}

/**
 * The first LF not preceded by CR, or CR not followed by LF, in `chunk`; `previous` is the last
 * byte before it (-1 at the start). A CR at the very end is judged with the next chunk.
 */
export function findBareNewline(chunk: Buffer, previous: number): { which: 'LF' | 'CR'; index: number } | undefined {
  if (previous === CR && chunk.length > 0 && chunk[0] !== LF) return { which: 'CR', index: 0 };
  let bad: { which: 'LF' | 'CR'; index: number } | undefined;
  for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
    if ((i === 0 ? previous : chunk[i - 1]) !== CR) {
      bad = { which: 'LF', index: i };
      break;
    }
  }
  for (let i = chunk.indexOf(CR); i !== -1 && i < chunk.length - 1 && (!bad || i < bad.index); i = chunk.indexOf(CR, i + 1)) {
    if (chunk[i + 1] !== LF) return { which: 'CR', index: i };
  }
  return bad;
}
