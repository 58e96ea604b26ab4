/**
 * The MX's own edge rules, over a raw socket as an attacker or a broken MTA would talk: STARTTLS
 * offered and no AUTH, a command limit per connection, SMTP smuggling refused (a bare LF in DATA),
 * and no relaying even after a recipient was accepted.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** A line-oriented SMTP client over a plain socket. */
async function open(port: number): Promise<{ send(line: string): Promise<string>; raw(data: string): void; reply(): Promise<string>; close(): void; socket: Socket }> {
  const socket = connect(port, '127.0.0.1');
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
