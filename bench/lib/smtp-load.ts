/**
 * The SMTP load generator of BENCHMARKS §3: `connections` reused SMTP sessions to host:port, each
 * opened before the clock starts (EHLO, STARTTLS when asked — the certificate is not verified —
 * and AUTH PLAIN when credentials are given), then `messages` pre-built messages sent over them as
 * fast as the server answers, one transaction at a time per session (MAIL, RCPT, DATA, no RSET
 * between successes; nodemailer does not pipeline). The client is nodemailer's SMTPConnection, the
 * one Sesame's delivery worker uses, so both systems of §3 face the same client.
 *
 * It runs inside the bench process, on the same machine as the server: its CPU time is measured
 * and reported next to the server's. A session the server closes (421, a reset) is reopened in
 * the timed window; the message it was sending counts as a failure (no retries).
 */
import type { LoadFigures } from './load.ts';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

/** The error shape nodemailer's SMTP connection reports. */
interface NodemailerError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

/** What to send and how. */
export interface SmtpLoadOptions {
  host: string;
  port: number;
  /** Sessions, opened before the timed window and reused for every message. */
  connections: number;
  /** Messages in all, spread over the sessions as each becomes free. */
  messages: number;
  /** STARTTLS required (the run fails if the server does not offer it); plaintext otherwise. */
  starttls: boolean;
  /** AUTH PLAIN with these credentials after STARTTLS; no AUTH when absent. */
  auth?: { user: string; pass: string };
  /** EHLO name. */
  name?: string;
  /** MAIL FROM of every message. */
  from: string;
  /** RCPT TO of message i. */
  to: (i: number) => string;
  /** The bytes of message i (built before the timed window). */
  message: (i: number) => Buffer;
}

/** What one SMTP load run measured (the figures per message: MAIL FROM → the reply to DATA's end). */
export interface SmtpLoadResult extends LoadFigures {
  messages: number;
  /** Opening the sessions (untimed): wall seconds for all of them, in parallel. */
  connectSeconds: number;
  /** Sessions opened in the timed window after the server closed one. */
  reconnects: number;
  /** Whether every session ran over TLS (STARTTLS completed). */
  tls: boolean;
  /** The TLS protocol and cipher of the first session, for the report. */
  tlsCipher?: string;
  /** Text of every final 250 (message order), e.g. Sesame's `250 Ok <MessageId>`. */
  replies: string[];
}

/** A message of exactly `bytes` bytes: a few headers, then a body of 72-character lines. */
export function smtpMessage(bytes: number, from: string, to: string, subject: string): Buffer {
  const head = `From: <${from}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n`;
  const line = `${subject} the quick brown fox jumps over the lazy dog 0123456789`.padEnd(70, '.').slice(0, 70);
  let body = '';
  while (head.length + body.length < bytes) body += `${line}\r\n`;
  body = body.slice(0, Math.max(0, bytes - head.length - 2));
  // End on CRLF, never on a lone CR cut in half.
  body = body.replace(/\r$/, '.');
  return Buffer.from(`${head}${body}\r\n`, 'ascii');
}

const connError = (err: unknown) => {
  const e = err as NodemailerError;
  return e?.responseCode ? String(e.responseCode) : (e?.code ?? 'error');
};

/** Opens one session: connect, EHLO, STARTTLS (when asked), AUTH (when given). */
function open(o: SmtpLoadOptions): Promise<SMTPConnection> {
  return new Promise((resolve, reject) => {
    const c = new SMTPConnection({
      host: o.host,
      port: o.port,
      secure: false,
      name: o.name ?? 'bench.client.test',
      ...(o.starttls ? { requireTLS: true } : { ignoreTLS: true }),
      tls: { rejectUnauthorized: false },
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: 120_000,
    });
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      c.close();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    c.once('error', fail);
    c.connect(() => {
      const done = () => {
        if (settled) return;
        settled = true;
        c.removeAllListeners('error');
        c.on('error', () => {}); // later errors surface through send()
        resolve(c);
      };
      if (o.auth) c.login({ user: o.auth.user, pass: o.auth.pass, method: 'PLAIN' }, (err) => (err ? fail(err) : done()));
      else done();
    });
  });
}

/**
 * Opens a session before the timed window, trying again for a few seconds when the server refuses
 * it with 421 (the sessions of a previous run may not be released yet: a per-client limit).
 */
async function openPatiently(o: SmtpLoadOptions): Promise<SMTPConnection> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await open(o);
    } catch (err) {
      if (attempt >= 25 || (err as NodemailerError).responseCode !== 421) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** QUIT, then wait (at most 5 s) until the server has closed the session. */
function quit(c: SMTPConnection): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      c.close();
      resolve();
    }, 5000);
    c.once('end', () => {
      clearTimeout(t);
      resolve();
    });
    c.quit();
  });
}

/** Runs the load; rejects only if the sessions cannot be opened at the start. */
export async function smtpLoad(o: SmtpLoadOptions): Promise<SmtpLoadResult> {
  const bodies = Array.from({ length: o.messages }, (_, i) => o.message(i));
  const rcpts = Array.from({ length: o.messages }, (_, i) => o.to(i));
  const n = Math.min(o.connections, o.messages);
  const c0 = performance.now();
  const opened = await Promise.allSettled(Array.from({ length: n }, () => openPatiently(o)));
  const refused = opened.find((r) => r.status === 'rejected');
  if (refused) {
    await Promise.all(opened.map((r) => (r.status === 'fulfilled' ? quit(r.value) : undefined)));
    throw (refused as PromiseRejectedResult).reason;
  }
  const conns: Array<SMTPConnection | undefined> = opened.map((r) => (r as PromiseFulfilledResult<SMTPConnection>).value);
  const connectSeconds = (performance.now() - c0) / 1000;
  const tls = conns.every((c) => c!.secure);
  const socket = (conns[0] as unknown as { _socket?: { getProtocol?: () => string | null; getCipher?: () => { name: string } } })?._socket;
  const tlsCipher = socket?.getProtocol ? `${socket.getProtocol()} ${socket.getCipher?.().name ?? ''}`.trim() : undefined;

  const latencies = new Float64Array(o.messages).fill(NaN);
  const replies: string[] = new Array<string>(o.messages);
  const failures: Record<string, number> = {};
  let ok = 0;
  let next = 0;
  let reconnects = 0;
  const fail = (key: string) => (failures[key] = (failures[key] ?? 0) + 1);

  const cpu0 = process.cpuUsage();
  const startedAt = performance.now();
  await Promise.all(
    conns.map(async (first, slot) => {
      let c: SMTPConnection | undefined = first;
      while (next < o.messages) {
        if (!c) {
          try {
            c = await open(o);
            reconnects++;
          } catch (err) {
            // The server refuses new sessions: count the message that would have gone and back off.
            fail(`connect ${connError(err)}`);
            next++;
            await new Promise((r) => setTimeout(r, 100));
            continue;
          }
        }
        const i = next++;
        const t = performance.now();
        const r = await new Promise<{ err?: NodemailerError; response?: string }>((resolve) =>
          c!.send({ from: o.from, to: [rcpts[i]!] }, bodies[i]!, (err, info) => resolve(err ? { err } : { response: info?.response })),
        );
        latencies[i] = performance.now() - t;
        if (!r.err) {
          ok++;
          replies[i] = r.response ?? '';
          continue;
        }
        fail(connError(r.err));
        const live = c as unknown as { _destroyed?: boolean };
        if ((r.err.code === 'EENVELOPE' || r.err.code === 'EMESSAGE') && r.err.responseCode !== 421 && !live._destroyed) {
          // A refusal of this message only: reset the transaction and go on with the session.
          const reset = await new Promise<boolean>((resolve) => c!.reset((e) => resolve(!e)));
          if (reset) continue;
        }
        c.close();
        c = undefined;
      }
      conns[slot] = c;
    }),
  );
  const endedAt = performance.now();
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(conns.map((c) => (c ? quit(c) : undefined)));

  const sorted = Array.from(latencies).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  const seconds = (endedAt - startedAt) / 1000;
  return {
    messages: o.messages,
    ok,
    failures,
    seconds,
    rate: ok / seconds,
    p50ms: sorted[Math.floor(sorted.length * 0.5)] ?? NaN,
    p99ms: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? NaN,
    generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
    connectSeconds,
    reconnects,
    tls,
    tlsCipher,
    replies: replies.filter((x) => x !== undefined),
    startedAt,
    endedAt,
  };
}

/** The MessageIds in Sesame's `250 Ok <MessageId>` replies. */
export function messageIdsOf(replies: string[]): string[] {
  const out: string[] = [];
  for (const r of replies) {
    const m = /^250[ -](?:Ok|OK|ok) (\S+)/.exec(r);
    if (m) out.push(m[1]!);
  }
  return out;
}
