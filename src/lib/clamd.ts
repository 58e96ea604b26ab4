/**
 * A ClamAV client: scans one message with clamd's `zINSTREAM` command and turns the reply into an
 * SES virus verdict (`PASS`, `FAIL` or `PROCESSING_FAILED`).
 *
 * Protocol (clamd(8), "INSTREAM"): the client sends `zINSTREAM\0`, then the data as chunks, each a
 * 4-byte unsigned big-endian length followed by that many bytes, and ends with a zero-length chunk.
 * clamd answers one NUL-terminated line (the `z` prefix selects NUL termination):
 *   `stream: OK`                              nothing found
 *   `stream: <signature> FOUND`               a signature matched (with ExtendedDetectionInfo:
 *                                             `stream: <signature>(<md5>:<size>) FOUND`)
 *   `INSTREAM size limit exceeded. ERROR`     more than clamd's StreamMaxLength was sent; clamd then
 *                                             closes the connection, possibly while we still write
 *   `<anything> ERROR`                        any other failure
 * clamd decodes MIME itself (ScanMail), so the whole raw message is sent, not its attachments.
 *
 * The message may be a Buffer or an async iterable of chunks (a spool file's read stream), so a
 * large message is never held twice in memory. A scan never throws: an unreachable clamd, a timeout
 * or an error reply is `PROCESSING_FAILED` with a reason, and the message is still processed (SES
 * semantics for a failed scan).
 */
import { connect, type Socket } from 'node:net';

/** An SES virus verdict from clamd. */
export interface VirusVerdict {
  /** `PASS`: clean; `FAIL`: a signature matched; `PROCESSING_FAILED`: no answer or an error. */
  status: 'PASS' | 'FAIL' | 'PROCESSING_FAILED';
  /** The matched signature, e.g. `Win.Test.EICAR_HDB-1` (FAIL only). */
  signature?: string;
  /** Why the scan failed (PROCESSING_FAILED only). */
  reason?: string;
}

/** Options of {@link scanVirus}. */
export interface ScanVirusOptions {
  /** Deadline for the whole scan (connect, send, verdict), in milliseconds. Default 30,000. */
  timeoutMs?: number;
}

/** Default deadline: clamd's own MaxScanTime default is 120 s, but a receiving MTA cannot wait that long. */
export const DEFAULT_CLAMD_TIMEOUT_MS = 30_000;

/** Data per INSTREAM chunk: far below any StreamMaxLength, large enough to keep syscalls few. */
const CHUNK_BYTES = 64 * 1024;

/** A clamd reply line is short; more than this without a NUL is not clamd. */
const MAX_REPLY_BYTES = 4096;

/** Where clamd listens: `tcp://host:port` (port 3310 when omitted) or `unix:/path/to/clamd.ctl`. */
export type ClamdTarget = { host: string; port: number } | { path: string };

/** Parses `SESAME_CLAMD_URL`: `tcp://127.0.0.1:3310`, `tcp://[::1]:3310` or `unix:/run/clamav/clamd.ctl`. */
export function parseClamdUrl(url: string): ClamdTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`"${url}" is not a clamd URL: write tcp://host:port or unix:/path`);
  }
  if (u.protocol === 'unix:') {
    const path = decodeURIComponent(u.pathname);
    if (!path.startsWith('/')) throw new Error(`"${url}": give the socket's absolute path, e.g. unix:/run/clamav/clamd.ctl`);
    return { path };
  }
  if (u.protocol !== 'tcp:' || !u.hostname) throw new Error(`"${url}" is not a clamd URL: write tcp://host:port or unix:/path`);
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port ? Number(u.port) : 3310 };
}

/** An error's message, with its code (`ECONNREFUSED`, …) when the message does not hold it. */
function describeError(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code && !String(message).includes(code) ? `${code}: ${message}` : String(message);
}

/**
 * Parses one clamd INSTREAM reply (without its NUL) into a verdict. Exported for unit tests.
 */
export function parseClamdReply(reply: string): VirusVerdict {
  const line = reply.trim();
  if (/^(?:stream: )?OK$/.test(line)) return { status: 'PASS' };
  const found = /^(?:stream: )?(.+) FOUND$/.exec(line);
  if (found) {
    // ExtendedDetectionInfo appends "(<md5>:<size>)"; the signature name is what SES reports.
    const signature = found[1]!.replace(/\([0-9a-f]{32,64}:\d+\)$/i, '').trim();
    return { status: 'FAIL', signature };
  }
  if (/ERROR$/.test(line)) return { status: 'PROCESSING_FAILED', reason: `clamd: ${line.replace(/\s*ERROR$/, '').replace(/^stream:\s*/, '')}` };
  return { status: 'PROCESSING_FAILED', reason: `clamd sent an unexpected reply: ${JSON.stringify(line.slice(0, 200))}` };
}

/**
 * Scans `message` (the complete raw RFC 5322 message) with the clamd at `url`
 * (`tcp://host:port` or `unix:/path`). Never rejects.
 */
export async function scanVirus(
  url: string,
  message: Buffer | AsyncIterable<Buffer | Uint8Array>,
  o: ScanVirusOptions = {},
): Promise<VirusVerdict> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_CLAMD_TIMEOUT_MS;
  let target: ClamdTarget;
  try {
    target = parseClamdUrl(url);
  } catch (error) {
    return { status: 'PROCESSING_FAILED', reason: (error as Error).message };
  }
  const where = 'path' in target ? target.path : `${target.host}:${target.port}`;

  return new Promise<VirusVerdict>((resolve) => {
    let settled = false;
    const replyParts: Buffer[] = [];
    let replyBytes = 0;
    let socket: Socket;
    try {
      socket = connect(target);
    } catch (error) {
      resolve({ status: 'PROCESSING_FAILED', reason: `clamd at ${where}: ${describeError(error)}` });
      return;
    }
    socket.setNoDelay(true);

    const finish = (verdict: VirusVerdict): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(verdict);
    };
    const failed = (reason: string): void => finish({ status: 'PROCESSING_FAILED', reason });
    /** What clamd said so far, if anything (it may reply and close before we finished sending). */
    const partialReply = (): string | undefined => {
      const text = Buffer.concat(replyParts).toString('utf8').replace(/\0[\s\S]*$/, '');
      return text.trim() ? text : undefined;
    };

    const timer = setTimeout(() => failed(`clamd at ${where} gave no verdict within ${timeoutMs} ms`), timeoutMs);

    socket.on('data', (data: Buffer) => {
      replyParts.push(data);
      replyBytes += data.length;
      const nul = data.indexOf(0);
      if (nul >= 0) finish(parseClamdReply(partialReply() ?? ''));
      else if (replyBytes > MAX_REPLY_BYTES) failed(`clamd at ${where} sent more than ${MAX_REPLY_BYTES} bytes without ending its reply`);
    });
    socket.on('error', (error) => {
      // EPIPE/ECONNRESET after "INSTREAM size limit exceeded. ERROR": the reply is the reason.
      const said = partialReply();
      if (said !== undefined) finish(parseClamdReply(said));
      else failed(`clamd at ${where}: ${describeError(error)}`);
    });
    socket.on('close', () => {
      const said = partialReply();
      if (said !== undefined) finish(parseClamdReply(said));
      else failed(`clamd at ${where} closed the connection without a verdict`);
    });

    socket.once('connect', () => {
      void send().catch((error: unknown) => failed(`reading the message to scan failed: ${(error as Error).message}`));
    });

    /** Writes `buf`, waiting for the socket to drain when its buffer is full (backpressure). */
    const write = async (buf: Uint8Array): Promise<void> => {
      if (socket.write(buf)) return;
      await new Promise<void>((next) => {
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', done);
          next();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    };
    const writeChunk = async (data: Uint8Array): Promise<void> => {
      // A zero-length chunk would end the stream early; an empty read is simply skipped.
      for (let at = 0; at < data.length && !settled; at += CHUNK_BYTES) {
        const piece = data.subarray(at, Math.min(at + CHUNK_BYTES, data.length));
        const header = Buffer.allocUnsafe(4);
        header.writeUInt32BE(piece.length, 0);
        socket.write(header);
        await write(piece);
      }
    };

    const send = async (): Promise<void> => {
      await write(Buffer.from('zINSTREAM\0', 'latin1'));
      if (Buffer.isBuffer(message)) {
        await writeChunk(message);
      } else {
        for await (const chunk of message) {
          if (settled) break; // clamd already answered (size limit) or the deadline passed
          await writeChunk(chunk);
        }
      }
      if (!settled) await write(Buffer.alloc(4)); // the zero-length chunk ends the stream
    };
  });
}
