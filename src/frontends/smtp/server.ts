/**
 * The SMTP submission listeners (SES's SMTP interface, ses-surface §4): SESAME_SMTP_PORT speaks
 * STARTTLS, SESAME_SMTPS_PORT implicit TLS (RFC 8314). Both are smtp-server instances sharing one
 * set of handlers, limits and brakes; this file wires smtp-server's hooks to them and owns the
 * connection bookkeeping.
 *
 * Hardening, and where each piece lives:
 * - AUTH only over TLS (RFC 3207 §6, RFC 4954 §4): before STARTTLS the session has AUTH disabled,
 *   so EHLO does not list it; MAIL without AUTH gets `530 Authentication required` (mail-from.ts),
 *   so nothing is ever relayed without AUTH.
 * - Connections per client address and in total (limits.ts), commands per connection and before
 *   AUTH (counted here from smtp-server's per-command log hook), command line length
 *   (smtp-server's maxCommandLength), idle timeout (socketTimeout), 50 recipients (maxRecipients).
 * - DATA size and bare CR/LF (data.ts); AUTH brute-force brake (auth.ts, limits.ts).
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { sizeOf, type Core } from '../../core/index.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { authenticate } from './auth.ts';
import { MAX_MESSAGE_BYTES, MAX_RECIPIENTS, type SubmissionContext, type SubmissionSettings } from './context.ts';
import { readData } from './data.ts';
import { AuthThrottle, clientKey, ConnectionLimiter } from './limits.ts';
import { checkMailFrom } from './mail-from.ts';
import { checkRcptTo } from './rcpt-to.ts';
import { bareNewline, REPLIES, replyClass, type SmtpReply } from './replies.ts';
import { submitMessage } from './submit.ts';

/** The two listeners. */
export type Listener = 'starttls' | 'tls';

/** Running submission listeners. */
export interface SmtpSubmission {
  /** Bound STARTTLS port (the real one when configured as 0). */
  port: number;
  /** Bound implicit-TLS port. */
  tlsPort: number;
  /**
   * Stops accepting connections, closes idle sessions with `421 Server shutting down`, lets a
   * message whose DATA is in flight finish (its reply follows its commit), and resolves once every
   * session is gone (at most SHUTDOWN_GRACE_MS).
   */
  close(): Promise<void>;
}

/** Dependencies of the listeners. */
export interface SubmissionDeps {
  core: Core;
  logger: Logger;
  metrics: Metrics;
  settings: SubmissionSettings;
}

/** How long shutdown waits for sessions with DATA in flight before closing them anyway. */
export const SHUTDOWN_GRACE_MS = 30_000;
/** Longest command line: RFC 5321 §4.5.3.1.4 says 512; AUTH lines carry a little more (RFC 4954 §4). */
const MAX_COMMAND_LENGTH = 2048;

/** Bookkeeping of one admitted connection. */
interface Connection {
  listener: Listener;
  client: string;
  session: SMTPServerSession;
  commands: number;
  unauthenticated: number;
  inData: boolean;
  /** A limit closed it; handlers still running for it refuse. */
  closed: boolean;
}

/** An error whose responseCode smtp-server sends as the reply. */
function smtpError(reply: SmtpReply): Error & { responseCode: number } {
  return Object.assign(new Error(reply.text), { responseCode: reply.code });
}

/** Starts both listeners on SESAME_LISTEN_HOST; rejects (with nothing left open) if either cannot bind. */
export async function startSmtpSubmission(deps: SubmissionDeps): Promise<SmtpSubmission> {
  const { logger, metrics, settings } = deps;
  // AUTH failures count for the whole installation when core shares them (nodes on PostgreSQL).
  const ctx: SubmissionContext = { ...deps, throttle: new AuthThrottle(settings.auth, Date.now, deps.core.authFailures) };
  const limiter = new ConnectionLimiter({ total: settings.maxConnections, perClient: settings.maxConnectionsPerClient });
  const connections = new Map<string, Connection>();
  const servers = new Map<Listener, SMTPServer>();
  let closing = false;

  /** Sends `reply` (if any) and closes one session, on whichever listener holds it. */
  const closeSession = (id: string, reply?: SmtpReply) => {
    for (const server of servers.values()) {
      for (const c of server.connections) {
        if (c.id !== id) continue;
        if (reply) c.send(reply.code, reply.text, false);
        c.close();
        return;
      }
    }
  };

  /** Counts one command line of a session (from smtp-server's debug log of every command). */
  const countCommand = (id: string) => {
    const c = connections.get(id);
    if (!c || c.closed) return;
    c.commands++;
    if (!c.session.user) c.unauthenticated++;
    let reply: SmtpReply | undefined;
    if (c.commands > settings.maxCommands) reply = REPLIES.tooManyCommands;
    else if (!c.session.user && c.unauthenticated > settings.maxUnauthenticatedCommands) reply = REPLIES.tooManyUnauthenticated;
    if (!reply) return;
    c.closed = true;
    logger.info({ code: 'SMTP_COMMAND_LIMIT', client: c.session.remoteAddress, commands: c.commands, authenticated: Boolean(c.session.user) }, `closing SMTP session of ${c.session.remoteAddress}: ${reply.text}`);
    closeSession(id, reply);
  };

  const refused = (reply: SmtpReply, extra: Record<string, unknown>, session: SMTPServerSession) => {
    metrics.smtpMessages.inc({ result: 'refused', class: replyClass(reply.code), code: String(reply.code) });
    logger.info(
      { code: 'SMTP_MESSAGE_REFUSED', reply: `${reply.code} ${reply.text}`, client: session.remoteAddress, user: (session.user as { accessKeyId?: string } | undefined)?.accessKeyId, ...extra },
      `SMTP message refused: ${reply.code} ${reply.text}`,
    );
  };

  const create = (listener: Listener): SMTPServer => {
    const server = new SMTPServer({
      name: settings.hostname,
      banner: 'Sesame',
      secure: listener === 'tls',
      key: settings.tls.key,
      cert: settings.tls.cert,
      minVersion: 'TLSv1.2', // SES requires TLS 1.2 or later
      size: MAX_MESSAGE_BYTES,
      authMethods: ['PLAIN', 'LOGIN'],
      authRequiredMessage: REPLIES.authRequired.text,
      disabledCommands: listener === 'tls' ? ['STARTTLS'] : [],
      // Local parts must be 7-bit ASCII (as SES's), so SMTPUTF8 is not offered.
      hideSMTPUTF8: true,
      maxRecipients: MAX_RECIPIENTS,
      // smtp-server checks only the shape (<local@domain>, one "@"); the address rules are ours
      // (mail-from.ts, rcpt-to.ts), so that a bad address gets SES's 553 rather than a 501.
      lenientAddressParsing: true,
      maxCommandLength: MAX_COMMAND_LENGTH,
      maxAllowedUnauthenticatedCommands: settings.maxUnauthenticatedCommands,
      socketTimeout: settings.idleTimeoutMs,
      closeTimeout: SHUTDOWN_GRACE_MS,
      disableReverseLookup: true,
      logger: {
        // smtp-server logs every command line at debug with its session id: the one per-command
        // hook it has, used for the command limits. Nothing else of its logging is kept.
        debug: (entry: { tnx?: string; cid?: string }) => {
          if (entry && entry.tnx === 'command' && typeof entry.cid === 'string') countCommand(entry.cid);
        },
        trace: () => {},
        info: () => {},
        warn: () => {},
        error: () => {},
        fatal: () => {},
      } as never,

      onConnect(session, cb) {
        if (closing) return cb(smtpError(REPLIES.shuttingDown));
        const client = clientKey(session.remoteAddress);
        const verdict = limiter.admit(client);
        if (verdict !== 'ok') {
          metrics.smtpConnections.inc({ listener, result: verdict === 'total' ? 'refused_total' : 'refused_per_ip' });
          const max = verdict === 'total' ? settings.maxConnections : settings.maxConnectionsPerClient;
          logger.info(
            { code: 'SMTP_CONNECTION_REFUSED', listener, client: session.remoteAddress, limit: verdict, max },
            `SMTP connection from ${session.remoteAddress} refused: ${verdict} limit of ${max} connections reached`,
          );
          return cb(smtpError(REPLIES.tooManyConnections));
        }
        connections.set(session.id, { listener, client, session, commands: 0, unauthenticated: 0, inData: false, closed: false });
        metrics.smtpConnections.inc({ listener, result: 'accepted' });
        metrics.smtpOpenConnections.set(limiter.size);
        // RFC 3207 §6 / RFC 4954 §4: no AUTH in the clear. The per-session list hides AUTH from EHLO
        // until STARTTLS has completed (onSecure lifts it).
        if (!session.secure) session.disabledCommands = ['AUTH'];
        cb();
      },

      onSecure(_socket, session, cb) {
        session.disabledCommands = undefined;
        cb();
      },

      onAuth(auth, session, cb) {
        authenticate(ctx, auth, session).then(
          (response) => cb(null, response),
          (err: unknown) => {
            logger.error({ code: 'SMTP_AUTH_ERROR', err }, 'SMTP AUTH failed unexpectedly');
            cb(smtpError(REPLIES.authUnavailable));
          },
        );
      },

      onMailFrom(address, session, cb) {
        if (connections.get(session.id)?.closed !== false) return cb(smtpError(REPLIES.shuttingDown));
        const reply = checkMailFrom(session, address);
        cb(reply ? smtpError(reply) : null);
      },

      onRcptTo(address, session, cb) {
        if (connections.get(session.id)?.closed !== false) return cb(smtpError(REPLIES.shuttingDown));
        const reply = checkRcptTo(session, address);
        cb(reply ? smtpError(reply) : null);
      },

      onData(stream: SMTPServerDataStream, session, cb) {
        const c = connections.get(session.id);
        if (c) c.inData = true;
        void (async () => {
          let reply: SmtpReply;
          let closeAfter = false;
          try {
            const result = await readData(stream, MAX_MESSAGE_BYTES, ctx.core.spool.spooler());
            if (result.kind === 'aborted') {
              if (c) c.inData = false;
              logger.debug({ code: 'SMTP_DATA_ABORTED', client: session.remoteAddress }, 'the client closed the connection during DATA');
              return cb(smtpError(REPLIES.serviceFailure));
            }
            if (c?.closed || !session.user) {
              if (result.kind === 'message') await ctx.core.spool.discard(result.data);
              reply = c?.closed ? REPLIES.shuttingDown : REPLIES.authRequired;
              refused(reply, {}, session);
            } else if (result.kind === 'too-long') {
              reply = REPLIES.messageTooLong;
              refused(reply, { bytes: result.bytes }, session);
            } else if (result.kind === 'bare-newline') {
              reply = bareNewline(settings.hostname, result.which);
              closeAfter = true;
              refused(reply, { bareNewline: result.which, offset: result.offset }, session);
              logger.warn(
                { code: 'SMTP_BARE_NEWLINE', client: session.remoteAddress, which: result.which, offset: result.offset },
                `refused a message with a bare <${result.which}> from ${session.remoteAddress} (possible SMTP smuggling); closing the session`,
              );
            } else {
              const out = await submitMessage(ctx, session, result.data);
              reply = out.reply;
              if ('messageId' in out) {
                metrics.smtpMessages.inc({ result: 'accepted', class: '2xx', code: '250' });
                logger.info(
                  { code: 'SMTP_MESSAGE_ACCEPTED', messageId: out.messageId, client: session.remoteAddress, user: (session.user as { accessKeyId: string }).accessKeyId, recipients: session.envelope.rcptTo.length, bytes: sizeOf(result.data) },
                  `SMTP message ${out.messageId} accepted`,
                );
              } else {
                refused(reply, { error: out.error.code, reason: out.error.message }, session);
              }
            }
          } catch (err) {
            // Never a 250 for a message that is not committed: the client keeps it and retries.
            reply = REPLIES.serviceFailure;
            refused(reply, {}, session);
            logger.error({ code: 'SMTP_INTERNAL_ERROR', err, client: session.remoteAddress }, 'an SMTP message could not be processed');
          }
          if (c) c.inData = false;
          if (reply.code === 250) cb(null, reply.text);
          else cb(smtpError(reply));
          if (closeAfter || closing) setImmediate(() => closeSession(session.id));
        })();
      },

      onClose(session) {
        const c = connections.get(session.id);
        if (!c) return;
        connections.delete(session.id);
        limiter.release(c.client);
        metrics.smtpOpenConnections.set(limiter.size);
      },
    });
    // Socket-level failures (resets, TLS handshakes of scanners) are the clients' business.
    server.on('error', (err: Error) => logger.debug({ code: 'SMTP_CONNECTION_ERROR', listener, err: err.message }, `SMTP ${listener} connection error: ${err.message}`));
    return server;
  };

  const listen = (server: SMTPServer, port: number, variable: string) =>
    new Promise<number>((resolve, reject) => {
      const failed = (err: Error) => reject(new Error(`SMTP submission cannot listen on ${settings.listenHost}:${port} (${variable}): ${err.message}`, { cause: err }));
      server.server.once('error', failed);
      server.listen(port, settings.listenHost, () => {
        server.server.off('error', failed);
        resolve((server.server.address() as AddressInfo).port);
      });
    });

  const closeAll = async () => {
    closing = true;
    await Promise.all(
      [...servers.values()].map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            for (const c of [...server.connections]) {
              if (!connections.get(c.id)?.inData) c.send(REPLIES.shuttingDown.code, REPLIES.shuttingDown.text, false);
            }
          }),
      ),
    );
  };

  const ports: Record<Listener, number> = { starttls: 0, tls: 0 };
  try {
    for (const [listener, port] of [
      ['starttls', settings.port],
      ['tls', settings.tlsPort],
    ] as const) {
      const server = create(listener);
      servers.set(listener, server);
      ports[listener] = await listen(server, port, listener === 'starttls' ? 'SESAME_SMTP_PORT' : 'SESAME_SMTPS_PORT');
      const label = listener === 'starttls' ? 'STARTTLS' : 'implicit TLS';
      logger.info({ code: 'SMTP_LISTENING', listener, host: settings.listenHost, port: ports[listener] }, `SMTP submission (${label}) listening on ${settings.listenHost}:${ports[listener]}`);
    }
  } catch (err) {
    await closeAll();
    throw err;
  }

  let closed: Promise<void> | undefined;
  return {
    port: ports.starttls,
    tlsPort: ports.tls,
    close() {
      closed ??= closeAll();
      return closed;
    },
  };
}
