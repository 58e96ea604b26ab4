/**
 * Misbehaving MX hosts for the delivery fault matrix (BENCHMARKS R2), on a loopback address of the
 * test's choosing (127.0.0.2 and up) and the port every MX is reached on (SESAME_OUTBOUND_PORT):
 * - `tarpit` accepts the connection and never says a word;
 * - `break-tls` offers STARTTLS, answers it with 220 and then sends bytes that are not TLS; a
 *   client that does not ask for STARTTLS gets a plain, working SMTP session, whose messages are kept;
 * - `one-per-connection` is a plain, working SMTP server that takes one message per connection and
 *   drops the connection, without a word, when a second MAIL FROM comes on it (as a server whose
 *   idle timeout closed the connection just as the client reused it).
 */
import { createServer, type Socket } from 'node:net';

/** A running fault MX. */
export interface FaultMx {
  connections: number;
  /** Messages accepted in plain sessions (break-tls). */
  messages: Buffer[];
  close(): Promise<void>;
}

/** Starts a fault MX on host:port. */
export async function startFaultMx(host: string, port: number, mode: 'tarpit' | 'break-tls' | 'one-per-connection'): Promise<FaultMx> {
  const sockets = new Set<Socket>();
  const mx: FaultMx = { connections: 0, messages: [], close: async () => {} };
  const server = createServer((socket) => {
    mx.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (mode === 'tarpit') return;
    let buffer = '';
    let data: string[] | undefined;
    let taken = 0;
    const say = (line: string) => socket.write(`${line}\r\n`);
    say('220 fault.test ESMTP');
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let i;
      while ((i = buffer.indexOf('\r\n')) !== -1) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (data) {
          if (line === '.') {
            mx.messages.push(Buffer.from(data.join('\r\n'), 'latin1'));
            taken++;
            data = undefined;
            say('250 2.0.0 Ok: queued');
          } else data.push(line.startsWith('..') ? line.slice(1) : line);
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') {
          say('250-fault.test');
          if (mode === 'break-tls') say('250-STARTTLS');
          say('250 8BITMIME');
        } else if (verb === 'STAR') {
          say('220 2.0.0 Ready to start TLS');
          socket.end('this is not a TLS handshake\r\n');
        } else if (verb === 'MAIL' && mode === 'one-per-connection' && taken > 0) {
          socket.destroy();
          return;
        } else if (verb === 'DATA') {
          data = [];
          say('354 End data with <CR><LF>.<CR><LF>');
        } else if (verb === 'QUIT') {
          say('221 2.0.0 Bye');
          socket.end();
        } else say('250 2.0.0 Ok');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  mx.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return mx;
}
