/**
 * SMTP submission as SES's SMTP interface (issue #4, done-when 1, 2 and 4): nodemailer, given the
 * host, a port, the access key id and the password `sesame keys smtp-password` prints, sends over
 * STARTTLS and over implicit TLS; the message reaches the sink DKIM-signed with the MessageId of
 * `250 Ok <MessageId>` in its Message-ID, and `sesame events` shows it. swaks, a real client run as
 * a process, goes through the refusal cases. 200 parallel connections each sending 10 messages all
 * get 250 with the default limits (issue #12), and every one is delivered.
 */
import { execFile, execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateConfigurationSetCommand } from '@aws-sdk/client-sesv2';
import nodemailer from 'nodemailer';
import { simpleParser } from 'mailparser';
import { deriveSmtpPassword } from '../../src/lib/smtp-password.ts';
import { runCli } from '../helpers/cli.ts';
import { dkimVerify, HAVE_DKIMPY } from '../helpers/dkim.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends, type TestServer } from '../helpers/server.ts';
import type { SinkMta } from '../helpers/sink.ts';

/** swaks (Debian package, installed by .ci/run). Outside CI a machine without it skips those cases. */
const HAVE_SWAKS = (() => {
  try {
    execFileSync('swaks', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!HAVE_SWAKS && process.env.CI) throw new Error('CI needs swaks (apt-get install swaks): the SMTP refusal cases must not be skipped');

/** Runs swaks without blocking the event loop (the server under test runs in this process). */
function swaks(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('swaks', ['--hide-informational', ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

const unfold = (s: string) => s.replace(/\r\n[ \t]+/g, ' ');
const MESSAGE_ID = /^250 Ok (0100[0-9a-f]{12}-[0-9a-f-]{36}-000000)$/;

describe.each(testBackends())('SMTP submission (%s)', (backend) => {
  let fixture: SendingFixture;
  let server: TestServer;
  let sink: SinkMta;
  let password: string;

  beforeAll(async () => {
    fixture = await startSendingFixture({
      backend,
      // Wrong passwords are part of these tests; the brute-force brake has its own test (smtp-hardening).
      // The connection limits are the defaults: they take the 200-connection load below whole.
      env: { SESAME_SMTP_AUTH_MAX_FAILURES: '10000', SESAME_SMTP_AUTH_FAILURE_DELAY: '0ms' },
    });
    ({ server, sink } = fixture);
    // The password as an operator gets it: from the real CLI.
    const r = await runCli(['keys', 'smtp-password', server.accessKeyId], fixture.cliEnv);
    expect(r.code, r.stderr).toBe(0);
    password = r.stdout.trim();
    expect(password).toBe(deriveSmtpPassword(server.secretAccessKey, 'us-east-1'));
  });
  afterAll(() => fixture?.close());

  const transport = (options: Record<string, unknown>) =>
    nodemailer.createTransport({ host: '127.0.0.1', tls: { rejectUnauthorized: false }, auth: { user: server.accessKeyId, pass: password }, ...options });
  const queued = async () => Object.values(await server.instance.storage.queue.stats()).reduce((a, b) => a + b, 0);

  /** Checks one delivered message end to end: Message-ID, DKIM (dkimpy), Send and Delivery events in `sesame events`. */
  async function checkDelivered(messageId: string, rcpt: string) {
    await sink.waitFor(() => sink.to(rcpt).some((m) => m.raw.toString().includes(messageId)), 15_000, `${messageId} at the sink`);
    const got = sink.to(rcpt).find((m) => m.raw.toString().includes(messageId))!;
    const text = unfold(got.raw.toString());
    expect(text).toContain(`Message-ID: <${messageId}@mta.sesame.test>`);
    expect(text).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=sender.test;/);
    expect(text).not.toMatch(/^X-SES-/im);
    expect(got.mailFrom).toBe(`${messageId}@mta.sesame.test`);
    if (HAVE_DKIMPY) {
      const out = await dkimVerify(server, 'sender.test', got.raw);
      expect(out).toContain('pass');
    }
    await eventually(async () => (await server.instance.storage.queue.events(messageId)).some((e) => e.type === 'Delivery'), 10_000, 'Delivery event');
    const events = await runCli(['events', messageId], fixture.cliEnv);
    expect(events.code, events.stderr).toBe(0);
    expect(events.stdout).toContain(`Message    ${messageId}`);
    expect(events.stdout).toMatch(new RegExp(`Send\\s+${rcpt.replace('.', '\\.')}`));
    expect(events.stdout).toMatch(new RegExp(`Delivery\\s+${rcpt.replace('.', '\\.')}\\s+250 `));
    return got;
  }

  it('sends with nodemailer over STARTTLS; the message arrives DKIM-signed with the MessageId of the 250 reply', async () => {
    const t = transport({ port: server.smtpPort, requireTLS: true });
    const info = await t.sendMail({ from: 'Shop <orders@sender.test>', to: 'ann@dest.test', subject: 'Over STARTTLS', text: 'Hello over STARTTLS' });
    t.close();
    const id = MESSAGE_ID.exec(info.response)?.[1];
    expect(id, info.response).toBeDefined();
    const got = await checkDelivered(id!, 'ann@dest.test');
    expect(got.raw.toString()).toContain('Hello over STARTTLS');
    const [send] = await server.instance.storage.queue.events(id!);
    expect(send!.payload).toMatchObject({ eventType: 'Send', mail: { messageId: id, source: 'Shop <orders@sender.test>', tags: { 'ses:operation': ['SendSmtpEmail'], 'ses:source-ip': ['127.0.0.1'] } } });
  });

  it('sends with nodemailer over implicit TLS', async () => {
    const t = transport({ port: server.smtpsPort, secure: true });
    const info = await t.sendMail({ from: 'orders@sender.test', to: 'bob@dest.test', subject: 'Over implicit TLS', text: 'Hello over TLS' });
    t.close();
    const id = MESSAGE_ID.exec(info.response)?.[1];
    expect(id, info.response).toBeDefined();
    const got = await checkDelivered(id!, 'bob@dest.test');
    expect(got.raw.toString()).toContain('Hello over TLS');
  });

  it('delivers to the envelope recipients (Bcc too) and honours, then strips, the X-SES-* headers', async () => {
    await server.sesv2().send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'smtp-set' }));
    const t = transport({ port: server.smtpsPort, secure: true });
    const info = await t.sendMail({
      from: 'orders@sender.test',
      to: 'to-hdr@dest.test',
      bcc: 'hidden@dest.test',
      subject: 'Headers',
      text: 'with control headers',
      headers: { 'X-SES-CONFIGURATION-SET': 'smtp-set', 'X-SES-MESSAGE-TAGS': 'campaign=launch, tier=gold', 'X-SES-LIST-MANAGEMENT-OPTIONS': 'newsletter; topic=weekly' },
    });
    t.close();
    const id = MESSAGE_ID.exec(info.response)![1]!;
    await sink.waitFor(() => sink.to('hidden@dest.test').some((m) => m.raw.toString().includes(id)));
    const hidden = sink.to('hidden@dest.test').find((m) => m.raw.toString().includes(id))!;
    const parsed = await simpleParser(hidden.raw);
    expect(parsed.headers.has('bcc')).toBe(false);
    expect(hidden.raw.toString()).not.toMatch(/X-SES-/i);
    const [send] = await server.instance.storage.queue.events(id);
    expect(send!.payload).toMatchObject({
      mail: { destination: ['to-hdr@dest.test', 'hidden@dest.test'], tags: { campaign: ['launch'], tier: ['gold'], 'ses:configuration-set': ['smtp-set'] } },
    });
  });

  it('refuses a configuration set that does not exist, and malformed message tags, with 554 Transaction failed', async () => {
    const t = transport({ port: server.smtpsPort, secure: true });
    const before = await queued();
    await expect(t.sendMail({ from: 'orders@sender.test', to: 'ann@dest.test', subject: 'x', text: 'x', headers: { 'X-SES-CONFIGURATION-SET': 'no-such-set' } })).rejects.toMatchObject({
      responseCode: 554,
      response: expect.stringMatching(/^554 Transaction failed: .*no-such-set/),
    });
    await expect(t.sendMail({ from: 'orders@sender.test', to: 'ann@dest.test', subject: 'x', text: 'x', headers: { 'X-SES-MESSAGE-TAGS': 'justaname' } })).rejects.toMatchObject({
      responseCode: 554,
      response: expect.stringMatching(/^554 Transaction failed: Invalid X-SES-MESSAGE-TAGS header/),
    });
    t.close();
    expect(await queued()).toBe(before);
  });

  it('checks the MAIL FROM identity too: an unverified envelope sender is refused with 554 Message rejected', async () => {
    const t = transport({ port: server.smtpsPort, secure: true });
    await expect(
      t.sendMail({ envelope: { from: 'bounces@unverified.test', to: ['ann@dest.test'] }, from: 'orders@sender.test', to: 'ann@dest.test', subject: 'x', text: 'x' }),
    ).rejects.toMatchObject({
      responseCode: 554,
      response: '554 Message rejected: Email address is not verified. The following identities failed the check in region US-EAST-1: bounces@unverified.test',
    });
    // Without a From header, the MAIL FROM address is the sender.
    const raw = ['To: ann@dest.test', 'Subject: no From header', '', 'body', ''].join('\r\n');
    const info = await t.sendMail({ envelope: { from: 'orders@sender.test', to: ['ann@dest.test'] }, raw });
    expect(info.response).toMatch(MESSAGE_ID);
    t.close();
  });

  it('answers a key whose policy does not allow ses:SendRawEmail with 554 Access denied', async () => {
    const k = await server.instance.core.accounts.createKey({ description: 'api only', policy: { Statement: [{ Effect: 'Allow', Action: 'ses:SendEmail', Resource: '*' }] } });
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: server.smtpsPort, secure: true, tls: { rejectUnauthorized: false }, auth: { user: k.accessKeyId, pass: deriveSmtpPassword(k.secretAccessKey, 'us-east-1') } });
    await expect(t.sendMail({ from: 'orders@sender.test', to: 'ann@dest.test', subject: 'x', text: 'x' })).rejects.toMatchObject({
      responseCode: 554,
      response: expect.stringMatching(/^554 Access denied: User: arn:aws:iam::000000000000:user\/AKIA\w+ is not authorized to perform: ses:SendRawEmail on resource: arn:aws:ses:us-east-1:000000000000:identity\/sender\.test/),
    });
    t.close();
  });

  it('answers a paused account with 554 Message rejected and an exhausted quota with 454 Throttling failure', async () => {
    const accountId = server.instance.config.accountId;
    const t = transport({ port: server.smtpsPort, secure: true, pool: true, maxConnections: 1 });
    const send = () => t.sendMail({ from: 'orders@sender.test', to: 'ann@dest.test', subject: 'x', text: 'x' });
    try {
      await server.instance.core.accountSettings.operatorSet(accountId, { sendingEnabled: false });
      await expect(send()).rejects.toMatchObject({ responseCode: 554, response: '554 Message rejected: Sending is paused for this account.' });
      await server.instance.core.accountSettings.operatorSet(accountId, { sendingEnabled: true, max24HourSend: 0 });
      await expect(send()).rejects.toMatchObject({ responseCode: 454, response: '454 Throttling failure: Daily message quota exceeded.' });
    } finally {
      await server.instance.core.accountSettings.operatorSet(accountId, { sendingEnabled: true, max24HourSend: -1 });
      t.close();
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/sesame_smtp_messages_total\{result="refused",class="4xx",code="454"\} 1/);
    expect(metrics).toMatch(/sesame_smtp_messages_total\{result="refused",class="5xx",code="554"\} [1-9]/);
  });

  it('gives an unknown key, a revoked key and a wrong password the same 535', async () => {
    const k = await server.instance.core.accounts.createKey({ description: 'to revoke' });
    await server.instance.core.accounts.revokeKey(k.accessKeyId);
    const attempts = [
      { user: 'AKIADOESNOTEXIST0000', pass: deriveSmtpPassword('whatever-secret-0123456789', 'us-east-1') },
      { user: k.accessKeyId, pass: deriveSmtpPassword(k.secretAccessKey, 'us-east-1') },
      { user: server.accessKeyId, pass: deriveSmtpPassword(server.secretAccessKey, 'eu-west-1') },
    ];
    const replies: string[] = [];
    for (const auth of attempts) {
      const t = nodemailer.createTransport({ host: '127.0.0.1', port: server.smtpsPort, secure: true, tls: { rejectUnauthorized: false }, auth });
      const err = (await t.verify().catch((e: unknown) => e)) as { response?: string };
      replies.push(err.response ?? String(err));
      t.close();
    }
    expect(replies).toEqual(Array(3).fill('535 Authentication Credentials Invalid'));
    const failed = server.logs.filter((l) => l.code === 'SMTP_AUTH_FAILED');
    expect(failed.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(failed)).not.toContain(attempts[2]!.pass);
  });

  describe.skipIf(!HAVE_SWAKS)('refusals, as swaks sees them', () => {
    const target = () => ['--server', `127.0.0.1:${server.smtpPort}`];
    const auth = () => ['--auth', 'LOGIN', '--auth-user', server.accessKeyId, '--auth-password', password];

    it('does not offer AUTH before STARTTLS, and offers PLAIN and LOGIN after it', async () => {
      const plain = await swaks([...target(), '--quit-after', 'EHLO']);
      expect(plain.code).toBe(0);
      expect(plain.out).toContain('250-STARTTLS');
      expect(plain.out).toContain('SIZE 41943040');
      expect(plain.out).not.toMatch(/AUTH/);
      const noTls = await swaks([...target(), ...auth(), '--from', 'orders@sender.test', '--to', 'ann@dest.test']);
      expect(noTls.code).toBe(28); // error in AUTH transaction: not advertised
      expect(noTls.out).toMatch(/did not advertise authentication/i);
      const tls = await swaks([...target(), '--tls', '--quit-after', 'EHLO']);
      expect(tls.out).toContain('250-AUTH PLAIN LOGIN');
    });

    it('answers MAIL without AUTH with 530, on both ports and before STARTTLS: nothing is relayed', async () => {
      const before = await queued();
      const relay = ['--from', 'attacker@elsewhere.example', '--to', 'victim@far-away.example'];
      for (const args of [[...target(), '--tls'], target(), ['--server', `127.0.0.1:${server.smtpsPort}`, '--tlsc']]) {
        const r = await swaks([...args, ...relay]);
        expect(r.code, r.out).toBe(23); // error in MAIL transaction
        expect(r.out).toContain('530 Authentication required');
      }
      const own = await swaks([...target(), '--tls', '--from', 'orders@sender.test', '--to', 'ann@dest.test']);
      expect(own.out).toContain('530 Authentication required');
      expect(await queued()).toBe(before);
    });

    it('answers a wrong password with 535', async () => {
      const r = await swaks([...target(), '--tls', '--auth', 'PLAIN', '--auth-user', server.accessKeyId, '--auth-password', `${password.slice(0, -2)}xx`, '--from', 'orders@sender.test', '--to', 'ann@dest.test']);
      expect(r.code).toBe(28);
      expect(r.out).toContain('535 Authentication Credentials Invalid');
    });

    it('sends with the right password, and refuses an unverified From with 554 Message rejected', async () => {
      const ok = await swaks([...target(), '--tls', ...auth(), '--from', 'orders@sender.test', '--to', 'swaks@dest.test', '--header', 'Subject: from swaks']);
      expect(ok.code, ok.out).toBe(0);
      const id = /250 Ok (\S+)/.exec(ok.out)?.[1];
      expect(id).toBeDefined();
      await sink.waitFor(() => sink.to('swaks@dest.test').some((m) => m.raw.toString().includes(id!)));

      const before = await queued();
      const r = await swaks([...target(), '--tls', ...auth(), '--from', 'someone@unverified.test', '--to', 'ann@dest.test']);
      expect(r.code).toBe(26); // server did not accept mail following data
      expect(r.out).toContain('554 Message rejected: Email address is not verified. The following identities failed the check in region US-EAST-1: someone@unverified.test');
      expect(await queued()).toBe(before);
    });

    it('refuses a recipient outside the sandbox with 554 Message rejected', async () => {
      const accountId = server.instance.config.accountId;
      await server.instance.core.accountSettings.operatorSet(accountId, { productionAccessEnabled: false });
      try {
        const r = await swaks([...target(), '--tls', ...auth(), '--from', 'orders@sender.test', '--to', 'stranger@dest.test']);
        expect(r.code).toBe(26);
        expect(r.out).toContain('554 Message rejected: Email address is not verified. The following identities failed the check in region US-EAST-1: stranger@dest.test');
      } finally {
        await server.instance.core.accountSettings.operatorSet(accountId, { productionAccessEnabled: true });
      }
    });

    it('answers syntactically bad addresses with 553', async () => {
      const badFrom = await swaks([...target(), '--tls', ...auth(), '--from', 'dot.@sender.test', '--to', 'ann@dest.test']);
      expect(badFrom.code).toBe(23);
      expect(badFrom.out).toContain('553 <dot.@sender.test> Invalid email address');
      const badTo = await swaks([...target(), '--tls', ...auth(), '--from', 'orders@sender.test', '--to', 'nobody@bad..domain']);
      expect(badTo.code).toBe(24); // no RCPTs accepted
      expect(badTo.out).toContain('553 <nobody@bad..domain> address unknown');
    });
  });

  it('takes 200 parallel connections sending 10 messages each: every reply is 250, and every message is delivered', async () => {
    const started = Date.now();
    const ids: string[] = [];
    const temporary: string[] = [];
    const other: string[] = [];
    await Promise.all(
      Array.from({ length: 200 }, async (_, c) => {
        const t = transport({ port: c % 2 === 0 ? server.smtpPort : server.smtpsPort, secure: c % 2 === 1, requireTLS: c % 2 === 0, pool: true, maxConnections: 1, maxMessages: Infinity });
        await Promise.all(
          Array.from({ length: 10 }, async (_, m) => {
            try {
              const info = await t.sendMail({ from: 'orders@sender.test', to: `load-${c}-${m}@dest.test`, subject: `load ${c}/${m}`, text: `message ${m} of connection ${c}` });
              const id = MESSAGE_ID.exec(info.response)?.[1];
              if (id) ids.push(id);
              else other.push(info.response);
            } catch (err) {
              const e = err as { responseCode?: number; response?: string; message: string };
              if (e.responseCode && e.responseCode >= 400 && e.responseCode < 500) temporary.push(e.response ?? e.message);
              else other.push(e.response ?? e.message);
            }
          }),
        );
        t.close();
      }),
    );
    const acceptedMs = Date.now() - started;
    expect(other).toEqual([]);
    expect(temporary).toEqual([]);
    expect(ids).toHaveLength(2000);
    expect(new Set(ids).size).toBe(2000);
    const wanted = new Set(ids);
    await sink.waitFor(() => sink.messages.filter((m) => wanted.has(/Message-ID: <([^@]+)@/i.exec(m.raw.toString())?.[1] ?? '')).length >= ids.length, 120_000, `${ids.length} load messages at the sink`);
    const deliveredMs = Date.now() - started;
    console.log(`SMTP load: ${ids.length} accepted, ${temporary.length} refused with 4xx; all accepted in ${acceptedMs} ms, all delivered in ${deliveredMs} ms`);
  }, 180_000);
});
