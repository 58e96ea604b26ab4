/**
 * A sink MTA on loopback for delivery tests: an smtp-server that records every message it accepts
 * and answers as a test scripts it (per recipient: a fixed reply, or a sequence such as 451, 451,
 * 250). STARTTLS is offered with smtp-server's built-in test certificate.
 */
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import type { AddressInfo } from 'node:net';

/** A message as the sink received it. */
export interface SunkMessage {
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
  secure: boolean;
  /** When the sink accepted it (ms): the rate that reaches a destination. */
  at: number;
}

/** A scripted reply: a 3-digit code and text. */
export type Reply = { code: number; message: string };

/** The sink. */
/** The MessageId in a delivered message's Message-ID field (which may be folded onto a second line). */
export const sunkMessageId = (raw: Buffer): string | undefined => /^Message-ID:\s*<([^@>\s]+)@/im.exec(raw.toString('latin1'))?.[1];

export class SinkMta {
  readonly messages: SunkMessage[] = [];
  /** Replies to RCPT TO per lower-case address; sequences are consumed one per attempt. */
  readonly rcptReplies = new Map<string, Reply[] | Reply>();
  /** Connections seen. */
  connections = 0;
  /** Connections open now, and the most that were open at once. */
  open = 0;
  maxOpen = 0;
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  /**
   * Starts a sink on 127.0.0.1, port 0; `starttls: false` makes it a server that does not offer
   * STARTTLS; `dataDelayMs` holds each reply to DATA that long (the message counts as received at once).
   */
  static async start(options: { starttls?: boolean; dataDelayMs?: number } = {}): Promise<SinkMta> {
    let sink: SinkMta | undefined;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: options.starttls === false ? ['AUTH', 'STARTTLS'] : ['AUTH'],
      logger: false,
      size: 60 * 1024 * 1024,
      onConnect(_session, cb) {
        if (sink) {
          sink.connections++;
          sink.open++;
          sink.maxOpen = Math.max(sink.maxOpen, sink.open);
        }
        cb();
      },
      onClose() {
        if (sink) sink.open--;
      },
      onRcptTo(address: SMTPServerAddress, _session, cb) {
        const scripted = sink!.rcptReplies.get(address.address.toLowerCase());
        const reply = Array.isArray(scripted) ? scripted.shift() : scripted;
        if (reply && reply.code >= 400) {
          const err = Object.assign(new Error(reply.message), { responseCode: reply.code });
          return cb(err);
        }
        cb();
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          sink!.messages.push({
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks),
            secure: session.secure,
            at: Date.now(),
          });
          for (const w of sink!.waiters.splice(0)) w();
          // A slow receiving MTA: the reply to DATA comes `dataDelayMs` after the message was taken.
          if (options.dataDelayMs) setTimeout(() => cb(null), options.dataDelayMs);
          else cb(null);
        });
      },
    });
    server.on('error', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    sink = new SinkMta(server, (server.server.address() as AddressInfo).port);
    return sink;
  }

  /** Messages delivered to `rcpt`. */
  to(rcpt: string): SunkMessage[] {
    return this.messages.filter((m) => m.rcptTo.some((r) => r.toLowerCase() === rcpt.toLowerCase()));
  }

  /** Waits until `predicate` holds over the received messages. */
  async waitFor(predicate: (msgs: SunkMessage[]) => boolean, timeoutMs = 15_000, what = 'messages at the sink'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.messages)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} (have ${this.messages.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Stops listening and closes connections. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
