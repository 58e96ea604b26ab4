/**
 * The MX listener (SESAME_MX_PORT; port 25 in production): mail from the internet for the
 * recipients Sesame receives for, and the asynchronous bounces and feedback reports of the mail it
 * sent. A translation table to core's receiving (src/core/receiving/inbound.ts):
 * - connect: the connection limits (SESAME_MX_MAX_CONNECTIONS on the node and
 *   SESAME_MX_MAX_CONNECTIONS_PER_IP per client address, separate from submission's: a big sender
 *   opens many sessions at once), then the IP filters (a blocked client gets 554 before the greeting);
 * - RCPT: each recipient accepted only when core says whose it is; everything else 550/554 at RCPT,
 *   so nothing is ever relayed;
 * - DATA: the same edge rules as submission (40 MB, CRLF only: no SMTP smuggling); a message over
 *   1 MiB is spooled into the BlobStore as it arrives (core/spool.ts), never held whole; then core
 *   processes the message (and removes the spool) and the reply follows what it stored.
 * STARTTLS is offered with the server's certificate; there is no AUTH on this port.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Core, RecipientVerdict } from '../../core/index.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { MAX_MESSAGE_BYTES } from './context.ts';
import { readData } from './data.ts';
import { clientKey, ConnectionLimiter } from './limits.ts';
import { bareNewline, REPLIES, type SmtpReply } from './replies.ts';

/** Settings of the MX listener. */
export interface MxSettings {
  hostname: string;
  listenHost: string;
  port: number;
  /** Simultaneous MX connections on this node (SESAME_MX_MAX_CONNECTIONS). */
  maxConnections: number;
  /** Simultaneous MX connections from one client address, an IPv6 /64 (SESAME_MX_MAX_CONNECTIONS_PER_IP). */
  maxConnectionsPerClient: number;
  /** Commands one connection may send before it is closed (SESAME_SMTP_MAX_COMMANDS, as submission). */
  maxCommands: number;
  idleTimeoutMs: number;
  tls: { key: string; cert: string };
}

/** A running MX listener. */
export interface MxListener {
  port: number;
  close(): Promise<void>;
}

/** Recipients per message on the MX (Postfix's smtpd_recipient_limit is 1000; SES does not say). */
const MAX_MX_RECIPIENTS = 100;

function smtpError(code: number, text: string): Error & { responseCode: number } {
  return Object.assign(new Error(text), { responseCode: code });
}

/** Starts the MX listener. */
export async function startMx(deps: { core: Core; logger: Logger; metrics: Metrics; settings: MxSettings }): Promise<MxListener> {
  const { core, logger, settings } = deps;
  const limiter = new ConnectionLimiter({ total: settings.maxConnections, perClient: settings.maxConnectionsPerClient });
  const clients = new Map<string, string>();
  const inData = new Set<string>();
  const commands = new Map<string, number>();
  /** Each session's RCPT verdicts, handed to core with the message (reset by a new MAIL). */
  const verdicts = new Map<string, Map<string, RecipientVerdict>>();
  let closing = false;
  const ip = (session: SMTPServerSession) => session.remoteAddress;

  const server = new SMTPServer({
    name: settings.hostname,
    banner: 'Sesame MX',
    key: settings.tls.key,
    cert: settings.tls.cert,
    size: MAX_MESSAGE_BYTES,
    disabledCommands: ['AUTH'],
    authOptional: true,
    hideSMTPUTF8: true,
    maxRecipients: MAX_MX_RECIPIENTS,
    lenientAddressParsing: true,
    maxCommandLength: 2048,
    socketTimeout: settings.idleTimeoutMs,
    closeTimeout: 30_000,
    disableReverseLookup: true,
    // smtp-server logs every command line at debug with its session id: the one per-command hook it
    // has, used for the command limit (a session of endless NOOPs or RSETs is closed).
    logger: {
      debug: (entry: { tnx?: string; cid?: string }) => {
        if (!entry || entry.tnx !== 'command' || typeof entry.cid !== 'string') return;
        const n = (commands.get(entry.cid) ?? 0) + 1;
        commands.set(entry.cid, n);
        if (n <= settings.maxCommands) return;
        for (const c of server.connections) {
          if (c.id !== entry.cid) continue;
          c.send(REPLIES.tooManyCommands.code, REPLIES.tooManyCommands.text, false);
          c.close();
        }
      },
      trace: () => {},
      info: () => {},
      warn: () => {},
      error: () => {},
      fatal: () => {},
    } as never,

    onConnect(session, cb) {
      if (closing) return cb(smtpError(REPLIES.shuttingDown.code, REPLIES.shuttingDown.text));
      const key = clientKey(ip(session));
      const admitted = limiter.admit(key);
      if (admitted !== 'ok') {
        // Postfix's reply for smtpd_client_connection_count_limit (smtpd.c), 4.7.0: try again later.
        const perClient = admitted === 'per-client';
        const limit = perClient ? settings.maxConnectionsPerClient : settings.maxConnections;
        logger.warn(
          { code: 'MX_TOO_MANY_CONNECTIONS', client: ip(session), limit: perClient ? 'per-client' : 'total', max: limit },
          `MX connection from ${ip(session)} refused: ${perClient ? `${limit} connections from that address` : `${limit} connections on this node`} already open`,
        );
        return cb(smtpError(421, perClient ? `4.7.0 ${settings.hostname} Error: too many connections from ${ip(session)}` : `4.7.0 ${settings.hostname} Error: too many connections, try again later`));
      }
      clients.set(session.id, key);
      core.inbound.admitIp(ip(session)).then(
        (ok) => {
          if (ok) return cb();
          logger.info({ code: 'MX_CONNECTION_BLOCKED', client: ip(session) }, `MX connection from ${ip(session)} refused by an IP filter`);
          cb(smtpError(554, `5.7.1 Access denied: ${ip(session)} is blocked by a receipt filter`));
        },
        (err: unknown) => {
          logger.error({ code: 'MX_INTERNAL_ERROR', err }, 'MX connection check failed');
          cb(smtpError(421, '4.3.0 Temporary service failure, try again later'));
        },
      );
    },

    onMailFrom(address, session, cb) {
      verdicts.set(session.id, new Map());
      // Anyone may send to the MX; the null sender (bounces) too.
      if (address.address !== '' && !/^[^@\s]+@[^@\s]+$/.test(address.address)) return cb(smtpError(553, `5.1.7 <${address.address}>: Sender address rejected: not a valid address`));
      cb();
    },

    onRcptTo(address, session, cb) {
      core.inbound.recipient(address.address, ip(session)).then(
        (v) => {
          if (v.kind !== 'refused') {
            verdicts.get(session.id)?.set(address.address, v);
            return cb();
          }
          logger.info({ code: 'MX_RECIPIENT_REFUSED', client: ip(session), rcpt: address.address, reason: v.reason }, `MX refused ${address.address} from ${ip(session)}: ${v.reason}`);
          if (v.reason === 'relay') return cb(smtpError(554, `5.7.1 <${address.address}>: Relay access denied`));
          if (v.reason === 'blocked') return cb(smtpError(550, `5.7.1 <${address.address}>: Access denied: your address is blocked for this recipient`));
          cb(smtpError(550, `5.1.1 <${address.address}>: Recipient address rejected: no receipt rule accepts mail for this address`));
        },
        (err: unknown) => {
          logger.error({ code: 'MX_INTERNAL_ERROR', err }, 'MX recipient check failed');
          cb(smtpError(451, '4.3.0 Temporary service failure, try again later'));
        },
      );
    },

    onData(stream: SMTPServerDataStream, session, cb) {
      inData.add(session.id);
      void (async () => {
        let reply: SmtpReply;
        try {
          // A big message goes to a spool blob as it arrives; receive() removes the blob when done.
          const result = await readData(stream, MAX_MESSAGE_BYTES, core.spool.spooler());
          if (result.kind === 'aborted') return cb(smtpError(451, '4.3.0 Aborted'));
          if (result.kind === 'too-long') reply = REPLIES.messageTooLong;
          else if (result.kind === 'bare-newline') {
            reply = bareNewline(settings.hostname, result.which);
            logger.warn({ code: 'SMTP_BARE_NEWLINE', listener: 'mx', client: ip(session), which: result.which, offset: result.offset }, `MX refused a message with a bare <${result.which}> from ${ip(session)}`);
          } else {
            const out = await core.inbound.receive({
              mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              rcptTo: session.envelope.rcptTo.map((r) => r.address),
              remoteIp: ip(session),
              helo: session.hostNameAppearsAs ?? '',
              secure: session.secure,
              raw: result.data,
              verdicts: verdicts.get(session.id),
            });
            reply = { code: out.code, text: out.text };
          }
        } catch (err) {
          // Never a 250 for a message whose processing did not finish: the sending MTA retries.
          logger.error({ code: 'MX_INTERNAL_ERROR', err, client: ip(session) }, 'a received message could not be processed');
          reply = { code: 451, text: '4.3.0 Temporary service failure, try again later' };
        }
        inData.delete(session.id);
        deps.metrics.smtpMessages.inc({ result: reply.code === 250 ? 'received' : 'refused', class: `${String(reply.code)[0]}xx`, code: String(reply.code) });
        if (reply.code === 250) cb(null, reply.text);
        else cb(smtpError(reply.code, reply.text));
      })();
    },

    onClose(session) {
      commands.delete(session.id);
      verdicts.delete(session.id);
      const key = clients.get(session.id);
      if (key === undefined) return;
      clients.delete(session.id);
      limiter.release(key);
    },
  });
  server.on('error', (err: Error) => logger.debug({ code: 'SMTP_CONNECTION_ERROR', listener: 'mx', err: err.message }, `MX connection error: ${err.message}`));

  const port = await new Promise<number>((resolve, reject) => {
    const failed = (err: Error) => reject(new Error(`the MX cannot listen on ${settings.listenHost}:${settings.port} (SESAME_MX_PORT): ${err.message}`, { cause: err }));
    server.server.once('error', failed);
    server.listen(settings.port, settings.listenHost, () => {
      server.server.off('error', failed);
      resolve((server.server.address() as AddressInfo).port);
    });
  });
  logger.info({ code: 'MX_LISTENING', host: settings.listenHost, port }, `MX listening on ${settings.listenHost}:${port}`);

  let closed: Promise<void> | undefined;
  return {
    port,
    close() {
      closing = true;
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of [...server.connections]) if (!inData.has(c.id)) c.send(REPLIES.shuttingDown.code, REPLIES.shuttingDown.text, false);
      });
      return closed;
    },
  };
}
