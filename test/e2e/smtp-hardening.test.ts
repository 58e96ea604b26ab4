/**
 * The submission port on the open internet (issue #4, done-when 3, and the hardening list): SMTP
 * smuggling probes over a raw TLS socket never yield a second message, and each is answered as
 * Postfix's `smtpd_forbid_bare_newline` answers; the size, recipient, connection, command and idle
 * limits hold; AUTH brute force slows down, then locks the address out for a while, right password
 * or not; shutdown lets a message whose DATA is in flight finish.
 */
import { statSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { createSelfSignedCertificate } from '../../src/lib/self-signed-certificate.ts';
import { deriveSmtpPassword } from '../../src/lib/smtp-password.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { startTestServer, testBackends, type TestServer } from '../helpers/server.ts';
import type { SinkMta } from '../helpers/sink.ts';

/** A hand-driven SMTP client: writes exactly the bytes a test gives, reads whole (multi-line) replies. */
class Probe {
  private buffer = '';
  private readonly replies: string[] = [];
  private waiting: Array<(reply: string) => void> = [];
  private ended = false;
  private closing: Promise<void>;

  private constructor(private socket: Socket | TLSSocket) {
    this.closing = new Promise((resolve) => this.watch(socket, resolve));
  }

  /** Resolves when the connection has closed. */
  get closed(): Promise<void> {
    return this.closing;
  }

  private watch(socket: Socket | TLSSocket, onClose: () => void) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => this.feed(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.ended = true;
      for (const w of this.waiting.splice(0)) w('(connection closed)');
      onClose();
    });
  }

  private feed(d: string) {
    this.buffer += d;
    // A reply ends with a line "NNN text" (a space after the code); "NNN-text" lines continue it.
    for (;;) {
      const m = /^((?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n)/.exec(this.buffer);
      if (!m) return;
      this.buffer = this.buffer.slice(m[1]!.length);
      const reply = m[1]!.trimEnd();
      const w = this.waiting.shift();
      if (w) w(reply);
      else this.replies.push(reply);
    }
  }

  /** Connects and reads the greeting; `tls` is implicit TLS. */
  static async open(port: number, tls: boolean): Promise<{ probe: Probe; greeting: string }> {
    const socket = tls ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }) : tcpConnect({ host: '127.0.0.1', port });
    const probe = new Probe(socket);
    return { probe, greeting: await probe.reply() };
  }

  /** The next reply (or "(connection closed)"). */
  reply(timeoutMs = 10_000): Promise<string> {
    const r = this.replies.shift();
    if (r !== undefined) return Promise.resolve(r);
    if (this.ended) return Promise.resolve('(connection closed)');
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no SMTP reply within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push((reply) => {
        clearTimeout(t);
        resolve(reply);
      });
    });
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.write(data)) resolve();
      else this.socket.once('drain', () => resolve());
    });
  }

  async command(line: string): Promise<string> {
    await this.write(`${line}\r\n`);
    return this.reply();
  }

  /** STARTTLS on a plain connection: the rest of the session runs over TLS. */
  async starttls(): Promise<string> {
    const r = await this.command('STARTTLS');
    if (!r.startsWith('220')) return r;
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.closing = new Promise((resolve) => this.watch(secure, resolve));
    return r;
  }

  /** EHLO and AUTH PLAIN. */
  async login(user: string, pass: string): Promise<string> {
    await this.command('EHLO probe.test');
    return this.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}`);
  }

  close() {
    this.socket.destroy();
  }
}

const smuggled = (first: string) =>
  [
    'From: orders@sender.test',
    'To: ann@dest.test',
    'Subject: first part',
    '',
    `visible body${first}MAIL FROM:<orders@sender.test>`,
    'RCPT TO:<smuggled@dest.test>',
    'DATA',
    'From: orders@sender.test',
    'To: smuggled@dest.test',
    'Subject: smuggled',
    '',
    'smuggled body',
    '.',
    '',
  ].join('\r\n');

describe.each(testBackends())('SMTP smuggling probes (%s)', (backend) => {
  let fixture: SendingFixture;
  let server: TestServer;
  let sink: SinkMta;
  let password: string;

  beforeAll(async () => {
    fixture = await startSendingFixture({ backend });
    ({ server, sink } = fixture);
    password = deriveSmtpPassword(server.secretAccessKey, 'us-east-1');
  });
  afterAll(() => fixture?.close());

  const queued = async () => Object.values(await server.instance.storage.queue.stats()).reduce((a, b) => a + b, 0);

  const probes: Array<[string, string, 'LF' | 'CR']> = [
    ['LF "." LF', '\n.\n', 'LF'],
    ['CR "." CR', '\r.\r', 'CR'],
    ['LF "." CRLF', '\n.\r\n', 'LF'],
    ['CRLF "." LF', '\r\n.\n', 'LF'],
  ];

  it.each(probes)('refuses DATA holding %s with a second transaction after it, and closes the session', async (_name, sequence, which) => {
    const before = await queued();
    const { probe } = await Probe.open(server.smtpsPort, true);
    expect(await probe.login(server.accessKeyId, password)).toBe('235 Authentication successful');
    expect(await probe.command('MAIL FROM:<orders@sender.test>')).toBe('250 Accepted');
    expect(await probe.command('RCPT TO:<ann@dest.test>')).toBe('250 Accepted');
    expect(await probe.command('DATA')).toMatch(/^354 /);
    await probe.write(smuggled(sequence));
    expect(await probe.reply()).toBe(`550 5.5.2 mta.sesame.test Error: bare <${which}> received`);
    await probe.closed; // Postfix disconnects after this reply; so does Sesame
    expect(await queued()).toBe(before);
  });

  it('refuses a smuggling probe after STARTTLS the same way', async () => {
    const before = await queued();
    const { probe } = await Probe.open(server.smtpPort, false);
    expect(await probe.command('EHLO probe.test')).not.toMatch(/AUTH/);
    expect(await probe.starttls()).toMatch(/^220 /);
    expect(await probe.login(server.accessKeyId, password)).toBe('235 Authentication successful');
    await probe.command('MAIL FROM:<orders@sender.test>');
    await probe.command('RCPT TO:<ann@dest.test>');
    expect(await probe.command('DATA')).toMatch(/^354 /);
    await probe.write(smuggled('\n.\n'));
    expect(await probe.reply()).toBe('550 5.5.2 mta.sesame.test Error: bare <LF> received');
    await probe.closed;
    expect(await queued()).toBe(before);
  });

  it('splits pipelined transactions only at CRLF "." CRLF, and no probe left a message behind', async () => {
    const { probe } = await Probe.open(server.smtpsPort, true);
    expect(await probe.login(server.accessKeyId, password)).toBe('235 Authentication successful');
    const message = (subject: string) => ['From: orders@sender.test', 'To: pipelined@dest.test', `Subject: ${subject}`, '', `${subject} body`, '.', ''].join('\r\n');
    await probe.write(`MAIL FROM:<orders@sender.test>\r\nRCPT TO:<pipelined@dest.test>\r\nDATA\r\n`);
    expect([await probe.reply(), await probe.reply(), await probe.reply()]).toEqual(['250 Accepted', '250 Accepted', expect.stringMatching(/^354 /)]);
    await probe.write(`${message('pipelined one')}MAIL FROM:<orders@sender.test>\r\nRCPT TO:<pipelined@dest.test>\r\nDATA\r\n`);
    const replies = [await probe.reply(), await probe.reply(), await probe.reply(), await probe.reply()];
    expect(replies[0]).toMatch(/^250 Ok 0100/);
    expect(replies.slice(1)).toEqual(['250 Accepted', '250 Accepted', expect.stringMatching(/^354 /)]);
    await probe.write(message('pipelined two'));
    expect(await probe.reply()).toMatch(/^250 Ok 0100/);
    expect(await probe.command('QUIT')).toMatch(/^221 /);

    await sink.waitFor(() => sink.to('pipelined@dest.test').length === 2);
    const all = sink.messages.map((m) => m.raw.toString());
    expect(all.filter((m) => m.includes('smuggled'))).toEqual([]);
    expect(all.filter((m) => m.includes('first part'))).toEqual([]);
    expect(sink.to('smuggled@dest.test')).toEqual([]);
    expect(server.logs.filter((l) => l.code === 'SMTP_BARE_NEWLINE')).toHaveLength(probes.length + 1);
  });
});

describe('SMTP limits', () => {
  let fixture: SendingFixture;
  let server: TestServer;
  let password: string;

  beforeAll(async () => {
    fixture = await startSendingFixture({
      env: {
        SESAME_SMTP_MAX_CONNECTIONS_PER_IP: '3',
        SESAME_SMTP_MAX_UNAUTHENTICATED_COMMANDS: '8',
        SESAME_SMTP_MAX_COMMANDS: '100',
        SESAME_SMTP_IDLE_TIMEOUT: '1500ms',
      },
    });
    server = fixture.server;
    password = deriveSmtpPassword(server.secretAccessKey, 'us-east-1');
  });
  afterAll(() => fixture?.close());

  it('refuses the connection over the per-address limit with 421, and admits again once one closes', async () => {
    const open = await Promise.all([0, 1, 2].map((i) => Probe.open(i % 2 ? server.smtpsPort : server.smtpPort, i % 2 === 1)));
    expect(open.map((o) => o.greeting)).toEqual(Array(3).fill('220 mta.sesame.test ESMTP Sesame'));
    const fourth = await Probe.open(server.smtpPort, false);
    expect(fourth.greeting).toBe('421 Too many concurrent SMTP connections');
    // The refusal names the limit that was reached, so that an operator knows which setting to look at.
    expect(server.logs.some((l) => l.code === 'SMTP_CONNECTION_REFUSED' && l.limit === 'per-client' && l.max === 3)).toBe(true);
    await fourth.probe.closed;
    open[0]!.probe.close();
    await open[0]!.probe.closed;
    await new Promise((r) => setTimeout(r, 100)); // the server sees the close
    const again = await Probe.open(server.smtpsPort, true);
    expect(again.greeting).toBe('220 mta.sesame.test ESMTP Sesame');
    for (const p of [again.probe, ...open.map((o) => o.probe)]) p.close();
  });

  it('refuses AUTH and MAIL in the clear, and closes a session that talks too long without AUTH', async () => {
    const { probe } = await Probe.open(server.smtpPort, false);
    expect(await probe.command('EHLO probe.test')).not.toMatch(/AUTH/);
    expect(await probe.command(`AUTH PLAIN ${Buffer.from(`\0${server.accessKeyId}\0${password}`).toString('base64')}`)).toMatch(/^5\d\d /);
    expect(await probe.command('MAIL FROM:<orders@sender.test>')).toBe('530 Authentication required');
    const replies: string[] = [];
    for (let i = 0; i < 10 && !replies.at(-1)?.startsWith('421'); i++) replies.push(await probe.command('NOOP'));
    expect(replies.at(-1)).toBe('421 Error: too many unauthenticated commands');
    await probe.closed;
  });

  it('closes a session after SESAME_SMTP_MAX_COMMANDS commands', async () => {
    const { probe } = await Probe.open(server.smtpsPort, true);
    expect(await probe.login(server.accessKeyId, password)).toBe('235 Authentication successful');
    const replies: string[] = [];
    for (let i = 0; i < 110 && !replies.at(-1)?.startsWith('421'); i++) replies.push(await probe.command('NOOP'));
    expect(replies.filter((r) => r === '250 OK')).toHaveLength(98); // EHLO + AUTH + 98 NOOPs = 100
    expect(replies.at(-1)).toBe('421 Error: too many commands, closing connection');
    await probe.closed;
  });

  it('forgets a message whose client goes away in the middle of DATA', async () => {
    const before = Object.values(await server.instance.storage.queue.stats()).reduce((a, b) => a + b, 0);
    const { probe } = await Probe.open(server.smtpsPort, true);
    expect(await probe.login(server.accessKeyId, password)).toBe('235 Authentication successful');
    await probe.command('MAIL FROM:<orders@sender.test>');
    await probe.command('RCPT TO:<gone@dest.test>');
    expect(await probe.command('DATA')).toMatch(/^354 /);
    await probe.write('From: orders@sender.test\r\nTo: gone@dest.test\r\nSubject: half\r\n\r\nhalf a mess');
    probe.close();
    await probe.closed;
    await new Promise((r) => setTimeout(r, 200));
    expect(Object.values(await server.instance.storage.queue.stats()).reduce((a, b) => a + b, 0)).toBe(before);
    expect(server.logs.filter((l) => l.code === 'SMTP_INTERNAL_ERROR')).toEqual([]);
  });

  it('refuses to start when a submission port is taken, naming the setting', async () => {
    await expect(startTestServer({ env: { SESAME_SMTPS_PORT: String(server.smtpsPort) } })).rejects.toThrow(/SMTP submission cannot listen on 127\.0\.0\.1:\d+ \(SESAME_SMTPS_PORT\)/);
  });

  it('closes an idle session', async () => {
    const { probe } = await Probe.open(server.smtpsPort, true);
    const t0 = Date.now();
    expect(await probe.reply(5000)).toMatch(/^421 /);
    await probe.closed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });

  it('refuses a 51st recipient and a message over 40 MB (552 Message is too long.)', async () => {
    const { probe } = await Probe.open(server.smtpsPort, true);
    expect(await probe.login(server.accessKeyId, password)).toBe('235 Authentication successful');
    expect(await probe.command('MAIL FROM:<orders@sender.test> SIZE=41943041')).toMatch(/^552 /);
    expect(await probe.command('MAIL FROM:<orders@sender.test>')).toBe('250 Accepted');
    for (let i = 0; i < 50; i++) expect(await probe.command(`RCPT TO:<r${i}@dest.test>`)).toBe('250 Accepted');
    expect(await probe.command('RCPT TO:<r50@dest.test>')).toMatch(/^452 /);
    expect(await probe.command('DATA')).toMatch(/^354 /);
    const before = Object.values(await server.instance.storage.queue.stats()).reduce((a, b) => a + b, 0);
    await probe.write('From: orders@sender.test\r\nTo: r0@dest.test\r\nSubject: big\r\n\r\n');
    const line = `${'x'.repeat(998)}\r\n`;
    const block = Buffer.from(line.repeat(1024)); // 1 MiB
    for (let i = 0; i < 41; i++) await probe.write(block);
    await probe.write('.\r\n');
    expect(await probe.reply(30_000)).toBe('552 Message is too long.');
    expect(Object.values(await server.instance.storage.queue.stats()).reduce((a, b) => a + b, 0)).toBe(before);
    // The session goes on.
    expect(await probe.command('NOOP')).toBe('250 OK');
    probe.close();
  });
});

describe('SMTP AUTH brute force', () => {
  let server: TestServer;
  let password: string;

  beforeAll(async () => {
    server = await startTestServer({ env: { SESAME_SMTP_AUTH_MAX_FAILURES: '6', SESAME_SMTP_AUTH_LOCKOUT: '3s', SESAME_SMTP_AUTH_FAILURE_DELAY: '200ms' } });
    password = deriveSmtpPassword(server.secretAccessKey, 'us-east-1');
  });
  afterAll(() => server?.close());

  const auth = (user: string, pass: string) => `AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}`;

  it('slows down failed AUTH, then locks the address out (right password or not), and lets it in after the lockout', async () => {
    const { probe } = await Probe.open(server.smtpsPort, true);
    await probe.command('EHLO probe.test');
    const timings: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t0 = Date.now();
      // Unknown key ids and wrong passwords alike.
      const r = await probe.command(auth(i % 2 ? 'AKIADOESNOTEXIST0000' : server.accessKeyId, 'B'.repeat(44)));
      timings.push(Date.now() - t0);
      expect(r).toBe('535 Authentication Credentials Invalid');
    }
    const lockedAt = Date.now();
    // Failures 4, 5 and 6 wait one, two and three steps of 200 ms.
    expect(timings[3]).toBeGreaterThanOrEqual(190);
    expect(timings[4]).toBeGreaterThanOrEqual(390);
    expect(timings[5]).toBeGreaterThanOrEqual(590);
    expect(timings[5]!).toBeGreaterThan(timings[2]!);

    // Locked out: the right password is refused too, on this connection and on a new one.
    expect(await probe.command(auth(server.accessKeyId, password))).toBe('454 4.7.0 Temporary authentication failure');
    probe.close();
    const other = await Probe.open(server.smtpsPort, true);
    expect(await other.probe.login(server.accessKeyId, password)).toBe('454 4.7.0 Temporary authentication failure');
    other.probe.close();
    expect(server.logs.filter((l) => l.code === 'SMTP_AUTH_LOCKOUT')).toHaveLength(1);
    expect(JSON.stringify(server.logs)).not.toContain(password);

    // After the lockout window the right password works again.
    await new Promise((r) => setTimeout(r, Math.max(0, lockedAt + 3200 - Date.now())));
    const later = await Probe.open(server.smtpsPort, true);
    expect(await later.probe.login(server.accessKeyId, password)).toBe('235 Authentication successful');
    later.probe.close();
  });

  it('reports AUTH results and connections in /metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/sesame_smtp_auth_total\{result="failure"\} 6/);
    expect(text).toMatch(/sesame_smtp_auth_total\{result="locked_out"\} 2/);
    expect(text).toMatch(/sesame_smtp_auth_total\{result="success"\} 1/);
    expect(text).toMatch(/sesame_smtp_connections_total\{listener="tls",result="accepted"\} 3/);
  });
});

describe('SMTP shutdown', () => {
  it('lets DATA in flight finish with 250 after the commit, and tells idle sessions 421', async () => {
    const fixture = await startSendingFixture({});
    try {
      const { server } = fixture;
      const password = deriveSmtpPassword(server.secretAccessKey, 'us-east-1');
      const idle = nodemailer.createTransport({ host: '127.0.0.1', port: server.smtpsPort, secure: true, tls: { rejectUnauthorized: false }, auth: { user: server.accessKeyId, pass: password } });
      const { probe: idleProbe } = await Probe.open(server.smtpsPort, true);
      expect(await idleProbe.login(server.accessKeyId, password)).toBe('235 Authentication successful');
      const { probe } = await Probe.open(server.smtpsPort, true);
      expect(await probe.login(server.accessKeyId, password)).toBe('235 Authentication successful');
      await probe.command('MAIL FROM:<orders@sender.test>');
      await probe.command('RCPT TO:<late@dest.test>');
      expect(await probe.command('DATA')).toMatch(/^354 /);
      await probe.write('From: orders@sender.test\r\nTo: late@dest.test\r\nSubject: in flight\r\n\r\nhalf');
      const closing = server.instance.close();
      expect(await idleProbe.reply()).toBe('421 Server shutting down');
      await probe.write(' and the rest\r\n.\r\n');
      const reply = await probe.reply();
      expect(reply).toMatch(/^250 Ok (0100\S+)$/);
      await closing;
      await probe.closed;
      idle.close();
    } finally {
      await fixture.close();
    }
  });
});

/** The certificate a TLS client is shown on the implicit-TLS port. */
function presentedCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.destroy();
      resolve(raw.toString('base64'));
    });
    socket.on('error', reject);
  });
}

const pemBody = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, '');

describe('SMTP TLS certificate', () => {
  it('creates a self-signed certificate once in the data dir (mode 0600, key sealed) and keeps it across restarts', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sesame-tls-'));
    try {
      const first = await startTestServer({ dataDir });
      const cert = await readFile(join(dataDir, 'tls-cert.pem'), 'utf8');
      for (const f of ['tls-cert.pem', 'tls-key.sealed']) expect(statSync(join(dataDir, f)).mode & 0o777).toBe(0o600);
      const sealed = await readFile(join(dataDir, 'tls-key.sealed'), 'utf8');
      expect(sealed).toMatch(/^v1\./);
      expect(sealed).not.toContain('PRIVATE KEY');
      expect(await presentedCertificate(first.smtpsPort)).toBe(pemBody(cert));
      expect(first.logs.filter((l) => l.code === 'TLS_CERTIFICATE_GENERATED')).toHaveLength(1);
      await first.close();
      const second = await startTestServer({ dataDir, env: { SESAME_ROOT_ACCESS_KEY_ID: first.accessKeyId, SESAME_ROOT_SECRET_ACCESS_KEY: first.secretAccessKey } });
      expect(await presentedCertificate(second.smtpsPort)).toBe(pemBody(cert));
      expect(second.logs.filter((l) => l.code === 'TLS_CERTIFICATE_GENERATED')).toHaveLength(0);
      await second.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('uses SESAME_TLS_CERT and SESAME_TLS_KEY when set, and refuses to start with unreadable ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sesame-tls-own-'));
    try {
      const own = await createSelfSignedCertificate('smtp.operator.test');
      writeFileSync(join(dir, 'cert.pem'), own.cert);
      writeFileSync(join(dir, 'key.pem'), own.key);
      const server = await startTestServer({ env: { SESAME_TLS_CERT: join(dir, 'cert.pem'), SESAME_TLS_KEY: join(dir, 'key.pem') } });
      try {
        expect(await presentedCertificate(server.smtpsPort)).toBe(pemBody(own.cert));
      } finally {
        await server.close();
      }
      await expect(startTestServer({ env: { SESAME_TLS_CERT: join(dir, 'missing.pem'), SESAME_TLS_KEY: join(dir, 'key.pem') } })).rejects.toThrow(/SESAME_TLS_CERT: cannot read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
