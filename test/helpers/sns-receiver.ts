/**
 * An HTTP subscriber for SNS-style deliveries on loopback, written as a real application would
 * write one (SNS Developer Guide, "Subscribe an HTTP/S endpoint" and "Verifying the signatures of
 * Amazon SNS messages"): it checks that `x-amz-sns-message-type` matches the body's `Type`, fetches
 * the certificate at `SigningCertURL` (once per URL) and verifies the signature, and confirms a
 * subscription by visiting `SubscribeURL`. Everything it sees is recorded for assertions; only
 * verified messages count as notifications or get confirmed.
 *
 * Unlike a real subscriber it fetches only from loopback (tests must stay hermetic, and a message
 * must not make the test process reach the network), and it answers with a status the test sets,
 * to play an endpoint that fails. `port` lets a test close it and listen again on the same port to
 * simulate an outage.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySnsMessage } from '../../src/lib/sns-signature.ts';

/** One POST as the receiver recorded it. */
export interface Received {
  /** The body's `Type` ('' if the body was not an SNS message). */
  type: string;
  /** The parsed JSON body ({} if it did not parse). */
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  /** Whether the header, certificate and signature checks all passed. */
  verified: boolean;
  /** Why `verified` is false. */
  error?: string;
  receivedAt: Date;
}

/** A subscription confirmation the receiver made: the GET of `SubscribeURL` and its answer. */
export interface Confirmation {
  url: string;
  status: number;
  body: string;
}

/** A running receiver. */
export interface SnsReceiver {
  /** The endpoint to subscribe, `http://127.0.0.1:PORT/`. */
  url: string;
  port: number;
  /** Every POST, in order of arrival, verified or not. */
  messages: Received[];
  confirmations: Confirmation[];
  /** The parsed JSON `Message` of each verified Notification, in order. */
  notifications(): Array<Record<string, unknown>>;
  /** Resolves once `predicate(messages)` holds (polled every 20 ms); rejects after `timeoutMs` (default 5000) listing what arrived. */
  waitFor(predicate: (msgs: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  /** The HTTP status for later POSTs (200 until set). */
  setStatus(code: number): void;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of `startSnsReceiver`. */
export interface SnsReceiverOptions {
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Visit `SubscribeURL` of verified SubscriptionConfirmations (default true). */
  autoConfirm?: boolean;
}

/** SNS messages are at most 256 KiB; anything far larger is not one. */
const MAX_BODY = 1024 * 1024;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Starts a receiver on 127.0.0.1. */
export async function startSnsReceiver(o: SnsReceiverOptions = {}): Promise<SnsReceiver> {
  const autoConfirm = o.autoConfirm ?? true;
  const messages: Received[] = [];
  const confirmations: Confirmation[] = [];
  const certificates = new Map<string, Promise<string>>();
  let status = 200;

  function certificate(url: string): Promise<string> {
    let pending = certificates.get(url);
    if (!pending) {
      pending = (async () => {
        const res = await fetch(loopbackUrl(url, 'SigningCertURL'), { signal: AbortSignal.timeout(5_000) });
        const text = await res.text();
        if (!res.ok) throw new Error(`SigningCertURL ${url} answered ${res.status}`);
        return text;
      })();
      // A failed fetch is not cached, so that the next message tries again.
      pending.catch(() => certificates.delete(url));
      certificates.set(url, pending);
    }
    return pending;
  }

  async function receive(req: IncomingMessage): Promise<Received> {
    const received: Received = { type: '', body: {}, headers: req.headers, verified: false, receivedAt: new Date() };
    try {
      const raw = await readBody(req);
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('body is not a JSON object');
      received.body = parsed as Record<string, unknown>;
      received.type = typeof received.body.Type === 'string' ? received.body.Type : '';
      const header = req.headers['x-amz-sns-message-type'];
      if (header !== received.type) throw new Error(`x-amz-sns-message-type ${JSON.stringify(header)} does not match Type ${JSON.stringify(received.type)}`);
      const certUrl = received.body.SigningCertURL;
      if (typeof certUrl !== 'string') throw new Error('no SigningCertURL');
      if (!verifySnsMessage(received.body, await certificate(certUrl))) throw new Error('signature does not verify');
      received.verified = true;
    } catch (err) {
      received.error = err instanceof Error ? err.message : String(err);
    }
    return received;
  }

  async function confirm(received: Received): Promise<void> {
    try {
      const url = received.body.SubscribeURL;
      if (typeof url !== 'string') throw new Error('no SubscribeURL');
      const res = await fetch(loopbackUrl(url, 'SubscribeURL'), { signal: AbortSignal.timeout(10_000) });
      confirmations.push({ url, status: res.status, body: await res.text() });
    } catch (err) {
      received.error = `confirmation failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const received = await receive(req);
    messages.push(received);
    // Confirming before answering is what most endpoints do, and it means the confirmation has
    // happened by the time the sender sees the response.
    if (received.verified && received.type === 'SubscriptionConfirmation' && autoConfirm) await confirm(received);
    res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'OK' : 'error');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive connections from the sender would otherwise hold the port until they time out.
      server.closeAllConnections();
    });
    return closed;
  };

  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    messages,
    confirmations,
    notifications() {
      return messages
        .filter((m) => m.verified && m.type === 'Notification')
        .map((m) => {
          try {
            return JSON.parse(String(m.body.Message)) as Record<string, unknown>;
          } catch {
            throw new Error(`Notification ${String(m.body.MessageId)} has a Message that is not JSON: ${String(m.body.Message).slice(0, 200)}`);
          }
        });
    },
    async waitFor(predicate, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(messages)) {
        if (Date.now() >= deadline) throw new Error(`SNS receiver: condition not met within ${timeoutMs} ms; ${describe(messages, confirmations)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    setStatus(code) {
      status = code;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** `url` as a URL if its host is loopback; throws otherwise, before anything is fetched. */
function loopbackUrl(url: string, what: string): URL {
  const u = new URL(url);
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || !LOOPBACK_HOSTS.has(u.hostname)) {
    throw new Error(`refusing ${what} ${url}: the test receiver fetches only from 127.0.0.1, localhost or [::1]`);
  }
  return u;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error(`body larger than ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(messages: Received[], confirmations: Confirmation[]): string {
  if (messages.length === 0) return `nothing arrived (${confirmations.length} confirmations)`;
  const lines = messages.map((m, i) => {
    const message = typeof m.body.Message === 'string' ? m.body.Message.slice(0, 200) : '';
    return `  #${i} ${m.type || '(no Type)'} ${String(m.body.MessageId ?? '')} verified=${m.verified}${m.error ? ` (${m.error})` : ''} ${message}`;
  });
  return `${messages.length} messages arrived:\n${lines.join('\n')}\nconfirmations: ${JSON.stringify(confirmations.map((c) => `${c.status} ${c.url}`))}`;
}
