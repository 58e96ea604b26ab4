/**
 * The delivery fault matrix (BENCHMARKS R2): remote MX hosts that refuse connections, tarpit,
 * break TLS, drop the session with 421 in the middle, mix 250/451/550 across the recipients of one
 * message; DNS that fails with SERVFAIL or never answers; and a data disk that fills up. Every
 * message must end in the terminal state SES would give it (delivered, or bounced Transient once
 * SESAME_MAX_DELIVERY_SECONDS has passed, or bounced Permanent) with the right events, and each
 * scenario prints its figures: acknowledged, delivered, lost, duplicated.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateConfigurationSetCommand, SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveSmtpPassword } from '../../src/lib/smtp-password.ts';
import { messageIdOf } from '../helpers/crash.ts';
import { startFaultMx, type FaultMx } from '../helpers/fault-mx.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually } from '../helpers/server.ts';

/** Transient faults end in a Transient bounce this long after acceptance. */
const MAX_DELIVERY_SECONDS = 8;

describe('delivery fault matrix', () => {
  let f: SendingFixture;
  let v2: SESv2Client;
  const faults: FaultMx[] = [];

  beforeAll(async () => {
    f = await startSendingFixture({
      env: { SESAME_RETRY_SCHEDULE: '300ms', SESAME_MAX_DELIVERY_SECONDS: String(MAX_DELIVERY_SECONDS), SESAME_DELIVERY_CONNECT_TIMEOUT: '1s' },
      destinations: ['mid.test', 'mix.test'],
    });
    v2 = f.server.sesv2();
    const port = f.sink.port;
    const mxAt = (domain: string, ip: string) => {
      f.dns.set(domain, 'MX', [{ priority: 10, exchange: `mx.${domain}` }]);
      f.dns.set(`mx.${domain}`, 'A', [ip]);
    };
    mxAt('refuse.test', '127.0.0.2'); // nothing listens there
    mxAt('tarpit.test', '127.0.0.3');
    mxAt('tls.test', '127.0.0.4');
    faults.push(await startFaultMx('127.0.0.3', port, 'tarpit'), await startFaultMx('127.0.0.4', port, 'break-tls'));
    await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'tls-required', DeliveryOptions: { TlsPolicy: 'REQUIRE' } }));
  });
  afterAll(async () => {
    for (const x of faults) await x.close();
    await f?.close();
  });

  const send = async (to: string[], configurationSet?: string) =>
    (
      await v2.send(
        new SendEmailCommand({
          FromEmailAddress: 'faults@sender.test',
          Destination: { ToAddresses: to },
          Content: { Simple: { Subject: { Data: `fault matrix ${to.join(' ')}` }, Body: { Text: { Data: 'A message of the fault matrix.\n' } } } },
          ...(configurationSet ? { ConfigurationSetName: configurationSet } : {}),
        }),
      )
    ).MessageId!;
  /** Event types of a message per recipient, in order. */
  const history = async (id: string) => {
    const out = new Map<string, string[]>();
    for (const e of await f.server.instance.storage.queue.events(id)) {
      const p = e.payload as { delivery?: { recipients: string[] }; bounce?: { bouncedRecipients: Array<{ emailAddress: string }> }; deliveryDelay?: { delayedRecipients: Array<{ emailAddress: string }> }; mail: { destination: string[] } };
      const rcpts = p.delivery?.recipients ?? p.bounce?.bouncedRecipients.map((r) => r.emailAddress) ?? p.deliveryDelay?.delayedRecipients.map((r) => r.emailAddress) ?? p.mail.destination;
      for (const r of rcpts) out.set(r, [...(out.get(r) ?? []), e.type === 'Bounce' ? `Bounce:${(e.payload as { bounce: { bounceType: string } }).bounce.bounceType}` : e.type]);
    }
    return out;
  };
  const terminal = async (id: string) => (await f.server.instance.storage.queue.recipients(id)).every((r) => r.state !== 'queued');
  const copiesAtSink = (rcpt: string) => f.sink.to(rcpt).length;
  const figures = (scenario: string, acknowledged: number, delivered: number, lost: number, duplicated: number) =>
    console.log(`fault ${scenario}: acknowledged=${acknowledged} delivered=${delivered} lost=${lost} duplicated=${duplicated}`);

  it('ends each fault in the right terminal state with the right events', async () => {
    f.dns.setFailure('servfail.test', 'SERVFAIL');
    f.dns.setFailure('timeout.test', 'TIMEOUT');
    const ids = {
      refuse: await send(['ann@refuse.test']),
      tarpit: await send(['ann@tarpit.test']),
      tls: await send(['ann@tls.test']),
      tlsRequired: await send(['bob@tls.test'], 'tls-required'),
      servfail: await send(['ann@servfail.test']),
      timeout: await send(['ann@timeout.test']),
    };
    // 421 in the middle of a session: the second recipient's RCPT is answered 421 once; 451/550 mix.
    f.sink.rcptReplies.set('y@mid.test', [{ code: 421, message: '4.3.2 Service shutting down' }]);
    f.sink.rcptReplies.set('b@mix.test', [
      { code: 451, message: '4.7.1 Greylisted, try again' },
      { code: 451, message: '4.7.1 Greylisted, try again' },
    ]);
    f.sink.rcptReplies.set('c@mix.test', { code: 550, message: '5.1.1 No such user' });
    const mid = await send(['x@mid.test', 'y@mid.test', 'z@mid.test']);
    const mix = await send(['a@mix.test', 'b@mix.test', 'c@mix.test']);

    // SERVFAIL clears after the first deferral: then the mail goes.
    await eventually(async () => (await history(ids.servfail)).get('ann@servfail.test')?.includes('DeliveryDelay'), 15_000, 'a DeliveryDelay for SERVFAIL');
    f.dns.setFailure('servfail.test', null);
    f.dns.set('servfail.test', 'MX', [{ priority: 10, exchange: 'mx.servfail.test' }]);
    f.dns.set('mx.servfail.test', 'A', ['127.0.0.1']);

    const all = [...Object.values(ids), mid, mix];
    await eventually(async () => (await Promise.all(all.map(terminal))).every(Boolean), (MAX_DELIVERY_SECONDS + 15) * 1000, 'every message in a terminal state');

    // Transient faults that never clear: deferred, then a Transient bounce at the deadline; nothing delivered.
    for (const [name, rcpt] of [
      ['refuse', 'ann@refuse.test'],
      ['tarpit', 'ann@tarpit.test'],
      ['timeout', 'ann@timeout.test'],
      ['tlsRequired', 'bob@tls.test'],
    ] as const) {
      const h = (await history(ids[name])).get(rcpt)!;
      expect(h[0], `${name}: ${h}`).toBe('Send');
      expect(h.filter((t) => t === 'DeliveryDelay').length, `${name}: ${h}`).toBeGreaterThanOrEqual(1);
      expect(h.at(-1), `${name}: ${h}`).toBe('Bounce:Transient');
      expect(h).not.toContain('Delivery');
      figures(name, 1, 0, 0, 0);
    }
    expect(faults[0]!.connections).toBeGreaterThanOrEqual(1);
    const bounce = (await f.server.instance.storage.queue.events(ids.tarpit)).find((e) => e.type === 'Bounce')!.payload as { bounce: { bouncedRecipients: Array<{ diagnosticCode: string }> } };
    expect(bounce.bounce.bouncedRecipients[0]!.diagnosticCode).toMatch(/^smtp; 4\d\d /);

    // A TLS stack that breaks: delivered without TLS on a new connection, unless the set requires TLS.
    expect((await history(ids.tls)).get('ann@tls.test')).toEqual(['Send', 'Delivery']);
    expect(faults[1]!.messages.filter((m) => m.toString('latin1').includes(ids.tls))).toHaveLength(1);
    expect(faults[1]!.messages.some((m) => m.toString('latin1').includes(ids.tlsRequired))).toBe(false);
    figures('break-tls', 1, 1, 0, 0);

    // SERVFAIL, then DNS recovers: one deferral, then delivered once.
    expect((await history(ids.servfail)).get('ann@servfail.test')?.at(-1)).toBe('Delivery');
    expect(copiesAtSink('ann@servfail.test')).toBe(1);
    figures('dns-servfail', 1, 1, 0, copiesAtSink('ann@servfail.test') - 1);

    // 421 mid-session: every recipient deferred or delivered, in the end delivered exactly once.
    const hMid = await history(mid);
    for (const r of ['x@mid.test', 'y@mid.test', 'z@mid.test']) {
      expect(hMid.get(r)?.at(-1), `${r}: ${hMid.get(r)}`).toBe('Delivery');
      expect(copiesAtSink(r), r).toBe(1);
    }
    expect(hMid.get('y@mid.test')).toContain('DeliveryDelay');
    figures('421-mid-session', 3, 3, 0, 0);

    // 451/550 mix in one message: delivered, delivered after two deferrals, bounced Permanent and suppressed.
    const hMix = await history(mix);
    expect(hMix.get('a@mix.test')).toEqual(['Send', 'Delivery']);
    expect(hMix.get('b@mix.test')).toEqual(['Send', 'DeliveryDelay', 'DeliveryDelay', 'Delivery']);
    expect(hMix.get('c@mix.test')).toEqual(['Send', 'Bounce:Permanent']);
    expect(await f.server.instance.storage.suppression.findMany(f.server.instance.config.accountId, ['c@mix.test'])).toHaveLength(1);
    expect(copiesAtSink('a@mix.test') + copiesAtSink('b@mix.test')).toBe(2);
    figures('451-550-mix', 3, 2, 0, 0);
  }, 60_000);
});

/** True when this process may mount a tmpfs (root on Linux); the full-disk case needs one. */
const canMount = (() => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = join(tmpdir(), `sesame-mount-probe-${process.pid}`);
  try {
    mkdirSync(probe, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();

describe.skipIf(!canMount)('a full data disk', () => {
  const mnt = join(tmpdir(), `sesame-full-disk-${process.pid}`);
  let f: SendingFixture;

  beforeAll(async () => {
    mkdirSync(mnt, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt]);
    // Deliveries the full disk caught half-way are deferred (one attempt, retried after 1 s here) or,
    // when they had reached the sink, recorded as delivered once the disk has room again.
    f = await startSendingFixture({ env: { SESAME_DATA_DIR: join(mnt, 'data'), SESAME_RETRY_SCHEDULE: '1s' } });
  });
  afterAll(async () => {
    await f?.close();
    execFileSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });

  it('refuses new mail with a temporary error while the disk is full, and loses nothing', async () => {
    const v2 = f.server.sesv2();
    const msg = (i: number) => new SendEmailCommand({ FromEmailAddress: 'disk@sender.test', Destination: { ToAddresses: [`d${i}@dest.test`] }, Content: { Simple: { Subject: { Data: `disk ${i}` }, Body: { Text: { Data: 'x'.repeat(20_000) } } } } });
    const acked: string[] = [];
    for (let i = 0; i < 5; i++) acked.push((await v2.send(msg(i))).MessageId!);

    // Fill the disk to the last byte.
    const filler = join(mnt, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      // dd stops with ENOSPC: the disk is full
    }
    let apiRefusals = 0;
    for (let i = 5; i < 25; i++) {
      try {
        acked.push((await v2.send(msg(i))).MessageId!);
      } catch (err) {
        const e = err as { $metadata?: { httpStatusCode?: number }; $retryable?: unknown; name: string };
        // A refusal the SDK treats as a server fault it may retry, never a client error.
        expect(e.$metadata?.httpStatusCode, e.name).toBeGreaterThanOrEqual(500);
        apiRefusals++;
      }
    }
    const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: f.server.smtpPort, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: f.server.accessKeyId, pass: deriveSmtpPassword(f.server.secretAccessKey, 'us-east-1') } });
    let smtpReply = '';
    try {
      const info = await smtp.sendMail({ from: 'disk@sender.test', to: 'smtp@dest.test', subject: 'disk full', text: 'x'.repeat(20_000) });
      acked.push(/^250 Ok (\S+)/.exec(info.response)![1]!);
    } catch (err) {
      smtpReply = String((err as { response?: string }).response);
    }
    smtp.close();
    expect(apiRefusals, 'no send was refused although the disk was full').toBeGreaterThan(0);
    if (smtpReply) expect(smtpReply).toMatch(/^4\d\d /);
    expect((await fetch(`${f.server.url}/health`)).status).toBe(200);
    // The logs say what happened (not that a rollback found no transaction: SQLite had rolled back).
    const failures = f.server.logs.filter((l) => l.code === 'API_INTERNAL_ERROR').map((l) => (l.err as { message?: string } | undefined)?.message);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((m) => /database or disk is full/.test(String(m))), String(failures[0])).toBe(true);

    // Space again: new mail is taken, and everything acknowledged reaches the sink once.
    rmSync(filler, { force: true });
    acked.push((await v2.send(msg(99))).MessageId!);
    const copiesOf = (id: string) => f.sink.messages.filter((m) => messageIdOf(m, 'mta.sesame.test') === id).length;
    await f.sink.waitFor(() => acked.every((id) => copiesOf(id) > 0), 30_000, 'every acknowledged message');
    await new Promise((r) => setTimeout(r, 500)); // a second copy, if any, would arrive now
    const copies = acked.map(copiesOf);
    console.log(`fault disk-full: acknowledged=${acked.length} delivered=${copies.filter((c) => c > 0).length} lost=${copies.filter((c) => c === 0).length} duplicated=${copies.filter((c) => c > 1).length} (refused while full: API ${apiRefusals}, SMTP ${smtpReply ? 1 : 0})`);
    expect(copies.every((c) => c === 1)).toBe(true);
  }, 60_000);
});
