/**
 * An rspamd client: checks one message with rspamd's `POST /checkv2` and turns rspamd's action into
 * an SES spam verdict (`PASS`, `FAIL`, `GRAY` or `PROCESSING_FAILED`).
 *
 * Protocol (rspamd.com/doc/developers/protocol.html): the body is the raw message; the SMTP
 * envelope travels in request headers named by rspamd (src/libserver/protocol_internal.h):
 * `From` (MAIL FROM), one `Rcpt` header per RCPT TO, `IP` (the client's address), `Helo`,
 * `Hostname` (the client's verified PTR name; without it rspamd looks the PTR up itself) and
 * `Queue-Id` (shown in rspamd's log, so a verdict can be found by MessageId). The reply is JSON:
 * `{ "action": "no action", "score": 1.2, "required_score": 15, "symbols": { "NAME": {…} }, … }`.
 *
 * Action to verdict:
 *   reject                                          → FAIL
 *   discard, quarantine (custom actions)            → FAIL  (rspamd wants the message gone)
 *   add header, rewrite subject, greylist, soft reject, any other action → GRAY
 *   no action                                       → PASS
 * A check never throws: an unreachable rspamd, a timeout, an HTTP error or an unreadable reply is
 * `PROCESSING_FAILED` with a reason, and the message is still processed (SES semantics).
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** An SES spam verdict from rspamd. */
export interface SpamVerdict {
  /** `PASS`, `FAIL`, `GRAY` from rspamd's action; `PROCESSING_FAILED` when there was no usable answer. */
  status: 'PASS' | 'FAIL' | 'GRAY' | 'PROCESSING_FAILED';
  /** rspamd's score for the message. */
  score?: number;
  /** The score at which rspamd rejects (`required_score`). */
  required?: number;
  /** rspamd's action, e.g. `no action`, `add header`, `reject`. */
  action?: string;
  /** Names of the symbols that matched, sorted. */
  symbols?: string[];
  /** Why the check failed (PROCESSING_FAILED only). */
  reason?: string;
}

/** The SMTP envelope of the message, and the deadline. */
export interface CheckSpamOptions {
  /** MAIL FROM address; `''` for the null sender `<>`. */
  from?: string;
  /** RCPT TO addresses. */
  rcpt?: string[];
  /** The SMTP client's IP address. */
  ip?: string;
  /** The name the client gave in EHLO/HELO. */
  helo?: string;
  /** The client's verified reverse-DNS name, when the MX already knows it. */
  hostname?: string;
  /** An id for rspamd's log line, e.g. the SES MessageId. */
  queueId?: string;
  /** Deadline for the whole check, in milliseconds. Default 10,000 (rspamd's own task_timeout is 8 s). */
  timeoutMs?: number;
}

/**
 * A message too large to hold in memory: its exact size (sent as Content-Length, which rspamd's
 * HTTP parser wants before the body) and its bytes as a stream (a spool blob read from disk).
 */
export interface StreamedMessage {
  size: number;
  body: AsyncIterable<Buffer | Uint8Array>;
}

/** Default deadline of a check. */
export const DEFAULT_RSPAMD_TIMEOUT_MS = 10_000;

/** A /checkv2 reply is a few KB; a runaway body is cut off here. */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;

/** Maps rspamd's action to an SES verdict status (see the module comment). */
export function verdictForAction(action: string): 'PASS' | 'FAIL' | 'GRAY' {
  switch (action.trim().toLowerCase()) {
    case 'no action':
      return 'PASS';
    case 'reject':
    case 'discard':
    case 'quarantine':
      return 'FAIL';
    default:
      return 'GRAY';
  }
}

/** Printable ASCII without space: what rspamd's envelope parsers accept in a header value. */
const PLAIN_ASCII = /^[\x21-\x7e]+$/;

/**
 * An envelope address as rspamd can parse it, or undefined. rspamd 3.4 refuses UTF-8 in `From`
 * and `Rcpt` ("bad rcpt address") and then adds BROKEN_HEADERS (+6), which alone turns an innocent
 * SMTPUTF8 message GRAY. So an IDN domain is sent as its A-label (RFC 5891) and an address with a
 * UTF-8 local part (RFC 6531), which has no ASCII form, is left out: rspamd then works from the
 * message's own headers, as it does when an MTA sends no envelope.
 */
function envelopeAddress(address: string): string | undefined {
  const at = address.lastIndexOf('@');
  if (at <= 0) return PLAIN_ASCII.test(address) ? address : undefined;
  const domain = domainToASCII(address.slice(at + 1));
  const local = address.slice(0, at);
  return domain && PLAIN_ASCII.test(local) ? `${local}@${domain}` : undefined;
}

/** A HELO name or host name as rspamd can read it (A-labels), or undefined. */
function hostName(name: string): string | undefined {
  if (/^\[.*\]$/.test(name)) return PLAIN_ASCII.test(name) ? name : undefined; // address literal
  const ascii = domainToASCII(name);
  return ascii && PLAIN_ASCII.test(ascii) ? ascii : PLAIN_ASCII.test(name) ? name : undefined;
}

/** An error's message, with its code (`ECONNREFUSED`, …) when the message does not hold it. */
function describeError(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code && !String(message).includes(code) ? `${code}: ${message}` : String(message);
}

/** `::ffff:192.0.2.1` (how Node reports IPv4 clients on a dual-stack socket) → `192.0.2.1`. */
function plainIp(ip: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return m ? m[1]! : ip;
}

/**
 * Checks `message` (the complete raw RFC 5322 message, in memory or streamed with its size) with
 * the rspamd normal worker at `url` (e.g. `http://127.0.0.1:11333`). Never rejects.
 */
export async function checkSpam(url: string, message: Buffer | StreamedMessage, o: CheckSpamOptions = {}): Promise<SpamVerdict> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_RSPAMD_TIMEOUT_MS;
  let endpoint: URL;
  try {
    endpoint = new URL('checkv2', url.endsWith('/') ? url : `${url}/`);
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw new Error('not http');
  } catch {
    return { status: 'PROCESSING_FAILED', reason: `"${url}" is not an rspamd URL: write http://host:11333` };
  }

  const headers: Record<string, string | string[]> = {
    'Content-Type': 'message/rfc822',
    'Content-Length': String(Buffer.isBuffer(message) ? message.length : message.size),
    // rspamd answers and closes; one connection per message keeps pooled sockets from going stale.
    Connection: 'close',
  };
  const from = o.from === '' ? '<>' : o.from === undefined ? undefined : envelopeAddress(o.from);
  if (from) headers.From = from;
  const rcpt = (o.rcpt ?? []).map(envelopeAddress).filter((r): r is string => r !== undefined);
  if (rcpt.length > 0) headers.Rcpt = rcpt; // one header line per recipient: rspamd parses one address each
  const ip = o.ip ? plainIp(o.ip) : undefined;
  if (ip && isIP(ip)) headers.IP = ip;
  const helo = o.helo ? hostName(o.helo) : undefined;
  if (helo) headers.Helo = helo;
  const hostname = o.hostname ? hostName(o.hostname) : undefined;
  if (hostname) headers.Hostname = hostname;
  if (o.queueId && PLAIN_ASCII.test(o.queueId)) headers['Queue-Id'] = o.queueId;

  const send = endpoint.protocol === 'https:' ? httpsRequest : httpRequest;
  let req: ClientRequest;
  try {
    req = send(endpoint, { method: 'POST', headers, agent: false });
  } catch (error) {
    return { status: 'PROCESSING_FAILED', reason: `rspamd at ${endpoint.host}: ${describeError(error)}` };
  }

  return new Promise<SpamVerdict>((resolve) => {
    let settled = false;
    const finish = (verdict: SpamVerdict): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(verdict);
    };
    const failed = (reason: string): void => finish({ status: 'PROCESSING_FAILED', reason });
    const timer = setTimeout(() => failed(`rspamd at ${endpoint.host} gave no verdict within ${timeoutMs} ms`), timeoutMs);

    req.on('error', (error) => failed(`rspamd at ${endpoint.host}: ${describeError(error)}`));
    req.on('response', (res: IncomingMessage) => {
      const parts: Buffer[] = [];
      let bytes = 0;
      res.on('data', (d: Buffer) => {
        bytes += d.length;
        if (bytes > MAX_REPLY_BYTES) failed(`rspamd sent a reply larger than ${MAX_REPLY_BYTES} bytes`);
        else parts.push(d);
      });
      res.on('error', (error) => failed(`rspamd at ${endpoint.host}: ${describeError(error)}`));
      res.on('end', () => finish(parseCheckReply(res.statusCode ?? 0, Buffer.concat(parts).toString('utf8'))));
    });
    if (Buffer.isBuffer(message)) {
      req.end(message);
      return;
    }
    // Streamed: written with backpressure, so only a few chunks are in memory at a time. Once a
    // verdict or a failure settled the check, the rest is not read.
    void (async () => {
      let sent = 0;
      for await (const chunk of message.body) {
        if (settled) return;
        sent += chunk.length;
        if (sent > message.size) return failed(`the message is longer than the ${message.size} bytes announced`);
        if (!req.write(chunk)) {
          await new Promise<void>((next) => {
            const done = (): void => {
              req.off('drain', done);
              req.off('close', done);
              next();
            };
            req.on('drain', done);
            req.on('close', done);
          });
        }
      }
      if (settled) return;
      if (sent !== message.size) return failed(`the message is ${sent} bytes, not the ${message.size} announced`);
      req.end();
    })().catch((error: unknown) => failed(`reading the message to check failed: ${describeError(error)}`));
  });
}

/** Turns a /checkv2 HTTP status and body into a verdict. Exported for unit tests. */
export function parseCheckReply(status: number, body: string): SpamVerdict {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  const obj = json !== null && typeof json === 'object' ? (json as Record<string, unknown>) : undefined;
  if (status !== 200) {
    const why = typeof obj?.error === 'string' ? obj.error : body.slice(0, 200).trim();
    return { status: 'PROCESSING_FAILED', reason: `rspamd answered HTTP ${status}${why ? `: ${why}` : ''}` };
  }
  if (!obj) return { status: 'PROCESSING_FAILED', reason: 'rspamd sent a reply that is not JSON' };
  if (typeof obj.error === 'string') return { status: 'PROCESSING_FAILED', reason: `rspamd: ${obj.error}` };
  if (typeof obj.action !== 'string') return { status: 'PROCESSING_FAILED', reason: 'rspamd sent a reply without an action' };
  const verdict: SpamVerdict = { status: verdictForAction(obj.action), action: obj.action };
  if (typeof obj.score === 'number') verdict.score = obj.score;
  if (typeof obj.required_score === 'number') verdict.required = obj.required_score;
  if (obj.symbols !== null && typeof obj.symbols === 'object') verdict.symbols = Object.keys(obj.symbols).sort();
  return verdict;
}
