/**
 * DATA as the edge reads it (ARCHITECTURE rule 2): the whole message, with the size limit and the
 * line rules enforced here, so core gets a complete message or nothing. A message up to 1 MiB is
 * one Buffer; a larger one is spooled into the BlobStore as it arrives (core/spool.ts), flushed
 * before the reply, so a 40 MB message never sits in memory whole.
 *
 * Line rules: every line of the message ends in CRLF. A bare LF or a bare CR anywhere refuses the
 * message, as Postfix's `smtpd_forbid_bare_newline`: that is what defeats SMTP smuggling
 * (CVE-2023-51764/-51765/-51766). smtp-server ends DATA only at CRLF "." CRLF, so a non-standard
 * end such as LF "." LF, CR "." CR or LF "." CRLF stays inside the message — and, holding a bare
 * LF or CR, makes the whole message (with whatever "second message" was smuggled after it) refused.
 */
import type { Readable } from 'node:stream';
import { Spooler, type MessageBytes } from '../../core/index.ts';

/** What reading DATA gave. */
export type DataResult =
  | { kind: 'message'; data: MessageBytes }
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
export function readData(stream: Readable, maxBytes: number, spool: Spooler = new Spooler(undefined)): Promise<DataResult> {
  const result = new Promise<DataResult>((resolve, reject) => {
    let bytes = 0;
    let last = -1; // last byte of the previous chunk
    let refused: DataResult | undefined;
    // A chunk being written to the spool: the stream waits for it (and the end waits too).
    let writing: Promise<void> | undefined;
    let failed: Error | undefined;
    const refuse = (r: DataResult) => {
      refused = r;
      void spool.abort().catch(() => {});
    };
    stream.on('data', (chunk: Buffer) => {
      const at = bytes;
      bytes += chunk.length;
      if (refused || failed) return;
      if (bytes > maxBytes) return refuse({ kind: 'too-long', bytes });
      const bad = findBareNewline(chunk, last);
      if (bad) return refuse({ kind: 'bare-newline', which: bad.which, offset: at + bad.index });
      last = chunk[chunk.length - 1]!;
      const w = spool.write(chunk);
      if (w) {
        stream.pause();
        writing = w.then(
          () => {
            writing = undefined;
            stream.resume();
          },
          (err: Error) => {
            failed = err;
            writing = undefined;
            stream.resume();
          },
        );
      }
    });
    let ended = false;
    // smtp-server destroys the stream (with or without an error) when the connection closes mid-DATA.
    stream.on('error', (err: Error & { code?: string }) => (err.code === 'ECONNECTION' ? resolve({ kind: 'aborted' }) : reject(err)));
    stream.on('close', () => {
      if (!ended) resolve({ kind: 'aborted' });
    });
    stream.on('end', () => {
      ended = true;
      void (async () => {
        await writing;
        if (failed) throw failed;
        if (refused?.kind === 'too-long') return resolve({ kind: 'too-long', bytes });
        if (refused) return resolve(refused);
        // smtp-server passes the CRLF before the final "." as content, so a last CR cannot be bare.
        if (last === CR) {
          await spool.abort();
          return resolve({ kind: 'bare-newline', which: 'CR', offset: bytes - 1 });
        }
        resolve({ kind: 'message', data: await spool.finish() });
      })().catch(reject);
    });
  });
  // Whatever did not become a message leaves no spool behind.
  return result.then(
    async (r) => {
      if (r.kind !== 'message') await spool.abort().catch(() => {});
      return r;
    },
    async (err: unknown) => {
      await spool.abort().catch(() => {});
      throw err;
    },
  );
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
