/**
 * The MX's own edge rules, over a raw socket as an attacker or a broken MTA would talk: STARTTLS
 * offered and no AUTH, a command limit per connection, SMTP smuggling refused (a bare LF in DATA),
 * and no relaying even after a recipient was accepted; its own connection limits, per client address
 * and in total, apart from the submission port's.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from '../helpers/server.ts';

/** A line-oriented SMTP client over a plain socket (from `localAddress`, default 127.0.0.1). */
async function open(port: number, localAddress?: string): Promise<{ send(line: string): Promise<string>; raw(data: string): void; reply(): Promise<string>; close(): void; socket: Socket }> {
  const socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
  let buffer = '';
  const waiting: Array<() => void> = [];
  socket.on('data', (d: Buffer) => {
    buffer += d.toString('latin1');
    for (const w of waiting.splice(0)) w();
  });
  socket.on('close', () => {
    for (const w of waiting.splice(0)) w();
  });
  const reply = async (): Promise<string> => {
    for (;;) {
      // A complete reply ends with a line "NNN text" (no dash after the code).
      const m = /(^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(buffer);
      if (m) {
        const end = m.index + m[0].length;
        const out = buffer.slice(0, end);
        buffer = buffer.slice(end);
        return out;
      }
      if (socket.destroyed || socket.readyState === 'closed') return buffer;
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return {
    socket,
    reply,
    raw: (data) => socket.write(data),
    async send(line) {
      socket.write(`${line}\r\n`);
      return reply();
    },
    close: () => socket.destroy(),
  };
}

const BOUNCE_ADDRESS = '0100018f00000000-00000000-0000-0000-0000-000000000000-000000@mta.sesame.test';

describe('MX hardening', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { SESAME_SMTP_MAX_COMMANDS: '20' } });
  });
  afterAll(() => server?.close());

  it('offers STARTTLS and 8BITMIME, never AUTH', async () => {
    const c = await open(server.mxPort);
    expect(await c.reply()).toMatch(/^220 /);
    const ehlo = await c.send('EHLO client.test');
    expect(ehlo).toContain('STARTTLS');
    expect(ehlo).not.toMatch(/AUTH/);
    expect(await c.send('AUTH PLAIN AGFhAGI=')).toMatch(/^5\d\d /);
    c.close();
  });

  it('closes a connection after SESAME_SMTP_MAX_COMMANDS commands', async () => {
    const c = await open(server.mxPort);
    await c.reply();
    const replies: string[] = [];
    for (let i = 0; i < 25 && !c.socket.destroyed; i++) replies.push(await c.send('NOOP'));
    const cut = replies.findIndex((r) => /^421 .*too many commands/.test(r));
    // The 21st command gets 421 and the connection is closed: nothing is answered after it.
    expect(cut).toBe(20);
    expect(replies.slice(cut + 1).every((r) => r === '')).toBe(true);
    expect(replies.slice(0, cut).every((r) => r.startsWith('250'))).toBe(true);
    c.close();
  });

  it('refuses a message with a bare LF (SMTP smuggling), and relays nothing after an accepted recipient', async () => {
    const c = await open(server.mxPort);
    await c.reply();
    await c.send('EHLO client.test');
    expect(await c.send('MAIL FROM:<a@outside.test>')).toMatch(/^250/);
    expect(await c.send(`RCPT TO:<${BOUNCE_ADDRESS}>`)).toMatch(/^250/);
    expect(await c.send('RCPT TO:<victim@gmail.com>')).toMatch(/^554 5\.7\.1 .*Relay access denied/);
    expect(await c.send('DATA')).toMatch(/^354/);
    c.raw('Subject: x\r\n\r\nfirst\n.\nMAIL FROM:<evil@outside.test>\r\n.\r\n');
    expect(await c.reply()).toMatch(/^550 5\.5\.2 .*bare <LF>/);
    c.close();
  });
});

describe('MX connection limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    // The submission limit is lower than the MX's: the MX must not share it.
    server = await startTestServer({ env: { SESAME_SMTP_MAX_CONNECTIONS_PER_IP: '1', SESAME_MX_MAX_CONNECTIONS_PER_IP: '3', SESAME_MX_MAX_CONNECTIONS: '4' } });
  });
  afterAll(() => server?.close());

  it('refuses the connection over SESAME_MX_MAX_CONNECTIONS_PER_IP, and over SESAME_MX_MAX_CONNECTIONS, with Postfix\'s 421 4.7.0; a closed one frees its place', async () => {
    const open3 = [await open(server.mxPort), await open(server.mxPort), await open(server.mxPort)];
    for (const c of open3) expect(await c.reply()).toMatch(/^220 /);

    // The fourth from the same address: refused before the greeting, and the connection closed.
    const fourth = await open(server.mxPort);
    expect(await fourth.reply()).toMatch(/^421 4\.7\.0 mta\.sesame\.test Error: too many connections from (::ffff:)?127\.0\.0\.1\r\n$/);
    expect(await fourth.reply()).toBe('');
    fourth.close();
    expect(server.logs.some((l) => l.code === 'MX_TOO_MANY_CONNECTIONS' && l.limit === 'per-client' && l.max === 3)).toBe(true);

    // Another address still gets in up to the node's total (4), then the total refuses.
    const other = await open(server.mxPort, '127.0.0.2');
    expect(await other.reply()).toMatch(/^220 /);
    const fifth = await open(server.mxPort, '127.0.0.3');
    expect(await fifth.reply()).toMatch(/^421 4\.7\.0 mta\.sesame\.test Error: too many connections/);
    fifth.close();
    expect(server.logs.some((l) => l.code === 'MX_TOO_MANY_CONNECTIONS' && l.limit === 'total' && l.max === 4)).toBe(true);

    // Closing one (QUIT) lets the next connection from that address in.
    expect(await open3[0]!.send('QUIT')).toMatch(/^221 /);
    open3[0]!.close();
    await eventually(async () => {
      const c = await open(server.mxPort);
      const greeting = await c.reply();
      c.close();
      return greeting.startsWith('220 ');
    }, 5000, 'a place to free up');
    for (const c of [...open3.slice(1), other]) c.close();
  });
});
