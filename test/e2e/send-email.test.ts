/**
 * Sending end to end: the AWS SDK sends from a verified domain, Sesame signs with the domain's
 * Easy DKIM key, queues durably and delivers to the recipient domain's MX (a sink on loopback found
 * through the test DNS server); the DKIM signature verifies with dkimpy, an independent verifier.
 * Retries, bounces and suppression follow SES's rules, and every step leaves its SES event.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendEmailCommand as SendEmailV2 } from '@aws-sdk/client-sesv2';
import { SendEmailCommand as SendEmailV1, SendRawEmailCommand } from '@aws-sdk/client-ses';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { dkimVerify, HAVE_DKIMPY } from '../helpers/dkim.ts';
import type { TestDnsServer } from '../helpers/dns-server.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends, type TestServer } from '../helpers/server.ts';
import type { SinkMta } from '../helpers/sink.ts';

/** Unfolds header continuation lines (RFC 5322 §2.2.3) so that assertions read whole fields. */
const unfold = (s: string) => s.replace(/\r\n[ \t]+/g, ' ');

describe.each(testBackends())('sending and delivery (%s)', (backend) => {
  let dns: TestDnsServer;
  let sink: SinkMta;
  let server: TestServer;

  let fixture: SendingFixture;

  beforeAll(async () => {
    fixture = await startSendingFixture({ backend, env: { SESAME_RETRY_SCHEDULE: '300ms' } });
    ({ dns, sink, server } = fixture);
  });
  afterAll(() => fixture?.close());

  const events = async (messageId: string) => (await server.instance.storage.queue.events(messageId)).map((e) => e.type);

  it('delivers a SendEmail from a verified domain, DKIM-signed, with the MessageId in Message-ID', async () => {
    const v2 = server.sesv2();
    const { MessageId } = await v2.send(
      new SendEmailV2({
        FromEmailAddress: 'Shop <orders@sender.test>',
        Destination: { ToAddresses: ['ann@dest.test'], CcAddresses: ['bob@dest.test'] },
        Content: { Simple: { Subject: { Data: 'Your order ✓' }, Body: { Text: { Data: 'Thanks!' }, Html: { Data: '<p>Thanks!</p>' } } } },
        EmailTags: [{ Name: 'campaign', Value: 'c1' }],
      }),
    );
    expect(MessageId).toMatch(/^0100[0-9a-f]{12}-[0-9a-f-]{36}-000000$/);
    await sink.waitFor(() => sink.to('ann@dest.test').length > 0 && sink.to('bob@dest.test').length > 0);
    const m = sink.to('ann@dest.test')[0]!;
    const text = unfold(m.raw.toString());
    expect(text).toContain(`Message-ID: <${MessageId}@mta.sesame.test>`);
    expect(text).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=sender.test;/);
    expect(m.mailFrom).toBe(`${MessageId}@mta.sesame.test`);
    expect(m.secure).toBe(true); // STARTTLS was offered and used
    expect(sink.messages.filter((x) => x.raw.toString().includes(MessageId!))).toHaveLength(1); // one transaction for both recipients
    await eventually(async () => (await events(MessageId!)).filter((t) => t === 'Delivery').length === 2, 10_000, 'two Delivery events');
    const [send] = await server.instance.storage.queue.events(MessageId!);
    expect(send!.payload).toMatchObject({ eventType: 'Send', mail: { messageId: MessageId, source: 'Shop <orders@sender.test>', destination: ['ann@dest.test', 'bob@dest.test'], tags: { campaign: ['c1'], 'ses:from-domain': ['sender.test'] } } });

    if (HAVE_DKIMPY) {
      const out = await dkimVerify(server, 'sender.test', m.raw);
      expect(out).toContain('pass');
      expect(out).toContain('signatures=1');
    }
  });

  it.skipIf(!HAVE_DKIMPY)('has a signature that dkimpy rejects once the body is altered (the check can fail)', async () => {
    const m = sink.to('ann@dest.test')[0]!;
    const tampered = Buffer.from(m.raw.toString().replace('Thanks!', 'Thanks?'));
    await expect(dkimVerify(server, 'sender.test', tampered)).rejects.toThrow();
  });

  it('delivers Raw content with attachments unchanged, and Simple content with attachments and headers', async () => {
    const v2 = server.sesv2();
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(3000)]);
    const raw = await new MailComposer({
      from: 'Billing <billing@sender.test>',
      to: 'raw-att@dest.test',
      subject: 'Invoice 42 – ünïcode',
      text: 'Your invoice is attached.',
      html: '<p>Your invoice is attached.</p>',
      attachments: [
        { filename: 'invoice-42.pdf', content: pdf, contentType: 'application/pdf' },
        { filename: 'notes.txt', content: 'line one\nline two\n' },
      ],
    })
      .compile()
      .build();
    const { MessageId: rawId } = await v2.send(new SendEmailV2({ Content: { Raw: { Data: raw } } }));
    const { MessageId: simpleId } = await v2.send(
      new SendEmailV2({
        FromEmailAddress: 'billing@sender.test',
        Destination: { ToAddresses: ['simple-att@dest.test'] },
        Content: {
          Simple: {
            Subject: { Data: 'Report' },
            Body: { Text: { Data: 'See the report.' } },
            Headers: [{ Name: 'X-Report-Id', Value: 'r-7' }],
            Attachments: [{ FileName: 'report.csv', ContentType: 'text/csv', RawContent: Buffer.from('a,b\n1,2\n') }],
          },
        },
      }),
    );
    await sink.waitFor(() => sink.to('raw-att@dest.test').length > 0 && sink.to('simple-att@dest.test').length > 0);
    const got = sink.to('raw-att@dest.test')[0]!.raw;
    // The body (everything after the header block) arrives byte for byte as sent.
    const bodyOf = (b: Buffer) => b.subarray(b.indexOf('\r\n\r\n') + 4);
    expect(bodyOf(got).equals(bodyOf(raw))).toBe(true);
    const mail = await simpleParser(got);
    expect(mail.messageId).toBe(`<${rawId}@mta.sesame.test>`);
    expect(mail.subject).toBe('Invoice 42 – ünïcode');
    expect(mail.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ['invoice-42.pdf', 'application/pdf'],
      ['notes.txt', 'text/plain'],
    ]);
    expect(mail.attachments[0]!.content.equals(pdf)).toBe(true);
    if (HAVE_DKIMPY) expect(await dkimVerify(server, 'sender.test', got)).toContain('pass');

    const simple = await simpleParser(sink.to('simple-att@dest.test')[0]!.raw);
    expect(simple.messageId).toBe(`<${simpleId}@mta.sesame.test>`);
    expect(simple.headers.get('x-report-id')).toBe('r-7');
    expect(simple.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['report.csv', 'a,b\n1,2\n']]);
  });

  it('delivers v1 SendRawEmail and v1 SendEmail', async () => {
    const v1 = server.ses();
    const raw = ['From: news@sender.test', 'To: raw@dest.test', 'Subject: raw one', 'Message-ID: <mine@x>', 'X-SES-CONFIGURATION-SET: ignored-here', 'MIME-Version: 1.0', 'Content-Type: text/plain', '', 'raw body', ''].join('\r\n');
    const { MessageId: rawId } = await v1.send(new SendRawEmailCommand({ RawMessage: { Data: Buffer.from(raw) } }));
    const { MessageId: simpleId } = await v1.send(new SendEmailV1({ Source: 'news@sender.test', Destination: { ToAddresses: ['simple@dest.test'] }, Message: { Subject: { Data: 'v1' }, Body: { Text: { Data: 'v1 body' } } } }));
    await sink.waitFor(() => sink.to('raw@dest.test').length > 0 && sink.to('simple@dest.test').length > 0);
    const got = unfold(sink.to('raw@dest.test')[0]!.raw.toString());
    expect(got).toContain(`Message-ID: <${rawId}@mta.sesame.test>`);
    expect(got).not.toContain('<mine@x>');
    expect(got).not.toMatch(/X-SES-CONFIGURATION-SET/i);
    expect(got).toContain('raw body');
    expect(unfold(sink.to('simple@dest.test')[0]!.raw.toString())).toContain(`Message-ID: <${simpleId}@mta.sesame.test>`);
  });

  it('retries 451 twice and delivers on the third attempt, with two DeliveryDelay events', async () => {
    sink.rcptReplies.set('slow@dest.test', [
      { code: 451, message: '4.7.1 Try again later' },
      { code: 451, message: '4.7.1 Try again later' },
    ]);
    const { MessageId } = await server.sesv2().send(new SendEmailV2({ FromEmailAddress: 'orders@sender.test', Destination: { ToAddresses: ['slow@dest.test'] }, Content: { Simple: { Subject: { Data: 'slow' }, Body: { Text: { Data: 'x' } } } } }));
    await sink.waitFor(() => sink.to('slow@dest.test').length === 1);
    await eventually(async () => (await events(MessageId!)).includes('Delivery'), 10_000, 'Delivery event');
    expect(await events(MessageId!)).toEqual(['Send', 'DeliveryDelay', 'DeliveryDelay', 'Delivery']);
    const delay = (await server.instance.storage.queue.events(MessageId!))[1]!.payload as { deliveryDelay: { delayedRecipients: Array<{ diagnosticCode: string; status: string }> } };
    expect(delay.deliveryDelay.delayedRecipients[0]).toMatchObject({ status: '4.7.1', diagnosticCode: expect.stringContaining('451') });
  });

  it('bounces a 550 Permanent, suppresses the address, and the next send bounces OnAccountSuppressionList without a connection', async () => {
    sink.rcptReplies.set('gone@dest.test', { code: 550, message: '5.1.1 No such user' });
    const v2 = server.sesv2();
    const { MessageId } = await v2.send(new SendEmailV2({ FromEmailAddress: 'orders@sender.test', Destination: { ToAddresses: ['gone@dest.test'] }, Content: { Simple: { Subject: { Data: 'gone' }, Body: { Text: { Data: 'x' } } } } }));
    await eventually(async () => (await events(MessageId!)).includes('Bounce'), 10_000, 'Bounce event');
    const bounce = (await server.instance.storage.queue.events(MessageId!)).find((e) => e.type === 'Bounce')!.payload as { bounce: Record<string, unknown> };
    expect(bounce.bounce).toMatchObject({ bounceType: 'Permanent', bounceSubType: 'General', bouncedRecipients: [{ emailAddress: 'gone@dest.test', action: 'failed', status: '5.1.1', diagnosticCode: expect.stringMatching(/^smtp; 550 5\.1\.1 No such user/) }] });
    expect(await server.instance.storage.suppression.get('000000000000', 'gone@dest.test')).toMatchObject({ reason: 'BOUNCE', messageId: MessageId });

    const before = sink.connections;
    const { MessageId: second } = await v2.send(new SendEmailV2({ FromEmailAddress: 'orders@sender.test', Destination: { ToAddresses: ['gone@dest.test'] }, Content: { Simple: { Subject: { Data: 'again' }, Body: { Text: { Data: 'x' } } } } }));
    const ev = await server.instance.storage.queue.events(second!);
    expect(ev.map((e) => e.type)).toEqual(['Send', 'Bounce']);
    expect((ev[1]!.payload as { bounce: { bounceSubType: string } }).bounce.bounceSubType).toBe('OnAccountSuppressionList');
    expect((await server.instance.storage.queue.recipients(second!))[0]!.state).toBe('suppressed');
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.connections).toBe(before);
  });

  it('bounces at once for a null MX and for a domain that does not exist', async () => {
    dns.set('nullmx.test', 'MX', [{ priority: 0, exchange: '.' }]);
    const v2 = server.sesv2();
    const { MessageId: a } = await v2.send(new SendEmailV2({ FromEmailAddress: 'orders@sender.test', Destination: { ToAddresses: ['x@nullmx.test'] }, Content: { Simple: { Subject: { Data: 'n' }, Body: { Text: { Data: 'x' } } } } }));
    const { MessageId: b } = await v2.send(new SendEmailV2({ FromEmailAddress: 'orders@sender.test', Destination: { ToAddresses: ['x@nowhere.test'] }, Content: { Simple: { Subject: { Data: 'n' }, Body: { Text: { Data: 'x' } } } } }));
    await eventually(async () => (await events(a!)).includes('Bounce') && (await events(b!)).includes('Bounce'), 10_000, 'bounces');
    const recA = (await server.instance.storage.queue.recipients(a!))[0]!;
    expect(recA).toMatchObject({ state: 'bounced', attempts: 1 });
    expect(recA.lastResponse).toContain('556 5.1.10');
  });

  it('refuses an unverified From with MessageRejected and queues nothing', async () => {
    // Earlier tests' mail may still be moving (a bounce being recorded, a notification to the
    // sender queued as system mail), so the queue's totals are not compared: what the account
    // queued (its 24-hour send count) must not change, and nothing from this sender is queued.
    const account = '000000000000';
    const sent = () => server.instance.storage.queue.sentSince(account, Date.now() - 86_400_000);
    const before = await sent();
    await expect(
      server.sesv2().send(new SendEmailV2({ FromEmailAddress: 'me@unverified.test', Destination: { ToAddresses: ['ann@dest.test'] }, Content: { Simple: { Subject: { Data: 'x' }, Body: { Text: { Data: 'x' } } } } })),
    ).rejects.toMatchObject({ name: 'MessageRejected', message: 'Email address is not verified. The following identities failed the check in region US-EAST-1: me@unverified.test' });
    await expect(server.ses().send(new SendEmailV1({ Source: 'me@unverified.test', Destination: { ToAddresses: ['ann@dest.test'] }, Message: { Subject: { Data: 'x' }, Body: { Text: { Data: 'x' } } } }))).rejects.toMatchObject({ name: 'MessageRejected' });
    expect(await sent()).toBe(before);
    for (const r of await server.instance.storage.queue.listQueued(10_000)) expect((await server.instance.storage.queue.message(r.messageId))?.body.toString()).not.toContain('me@unverified.test');
  });

  it("times each stage of an accepted send on /metrics (checks, sign, store), and not a refused one's", async () => {
    const stages = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const count = (stage: string) => Number(new RegExp(`^sesame_send_stage_seconds_count\\{stage="${stage}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
      const sum = (stage: string) => Number(new RegExp(`^sesame_send_stage_seconds_sum\\{stage="${stage}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
      return { checks: count('checks'), sign: count('sign'), store: count('store'), signSeconds: sum('sign'), storeSeconds: sum('store') };
    };
    const before = await stages();
    const v2 = server.sesv2();
    const content = { Simple: { Subject: { Data: 'timed' }, Body: { Text: { Data: 'x' } } } };
    await v2.send(new SendEmailV2({ FromEmailAddress: 'orders@sender.test', Destination: { ToAddresses: ['timed@dest.test'] }, Content: content }));
    await server.ses().send(new SendRawEmailCommand({ RawMessage: { Data: Buffer.from('From: orders@sender.test\r\nTo: timed@dest.test\r\nSubject: raw\r\n\r\nx\r\n') } }));
    await expect(v2.send(new SendEmailV2({ FromEmailAddress: 'me@unverified.test', Destination: { ToAddresses: ['timed@dest.test'] }, Content: content }))).rejects.toMatchObject({ name: 'MessageRejected' });
    const after = await stages();
    expect({ checks: after.checks - before.checks, sign: after.sign - before.sign, store: after.store - before.store }).toEqual({ checks: 2, sign: 2, store: 2 });
    // Signing (RSA-2048) and a durable commit take time: the stages are measured, not zeros.
    expect(after.signSeconds).toBeGreaterThan(before.signSeconds);
    expect(after.storeSeconds).toBeGreaterThan(before.storeSeconds);
  });

  it('refuses 51 recipients, header injection through Subject, and a 41 MB message', async () => {
    const v2 = server.sesv2();
    const to = Array.from({ length: 51 }, (_, i) => `r${i}@dest.test`);
    await expect(v2.send(new SendEmailV2({ FromEmailAddress: 'orders@sender.test', Destination: { ToAddresses: to }, Content: { Simple: { Subject: { Data: 'x' }, Body: { Text: { Data: 'x' } } } } }))).rejects.toMatchObject({ name: 'MessageRejected', message: 'Recipient count exceeds 50.' });
    await expect(v2.send(new SendEmailV2({ FromEmailAddress: 'orders@sender.test', Destination: { ToAddresses: ['a@dest.test'] }, Content: { Simple: { Subject: { Data: 'hi\r\nBcc: victim@evil.test' }, Body: { Text: { Data: 'x' } } } } }))).rejects.toMatchObject({ name: 'BadRequestException' });
    const big = Buffer.concat([Buffer.from('From: orders@sender.test\r\nTo: a@dest.test\r\nSubject: big\r\n\r\n'), Buffer.alloc(41 * 1024 * 1024, 'a')]);
    await expect(v2.send(new SendEmailV2({ Content: { Raw: { Data: big } } }))).rejects.toMatchObject({ name: 'MessageRejected', message: expect.stringContaining('Message length is more than 41943040 bytes') });
    expect(sink.to('victim@evil.test')).toHaveLength(0);
  });
});

describe("SESAME_HOSTNAME's own DKIM signature", () => {
  let fixture: SendingFixture;
  beforeAll(async () => {
    // The operator verified the server's own name (mta.sesame.test) as a domain of the default account.
    fixture = await startSendingFixture({ senders: ['sender.test', 'mta.sesame.test'] });
  });
  afterAll(() => fixture?.close());

  it('signs with the From domain and with the server name, and both signatures verify', async () => {
    const { MessageId } = await fixture.server.sesv2().send(
      new SendEmailV2({ FromEmailAddress: 'orders@sender.test', Destination: { ToAddresses: ['cat@dest.test'] }, Content: { Simple: { Subject: { Data: 'Two signatures' }, Body: { Text: { Data: 'Signed twice' } } } } }),
    );
    await fixture.sink.waitFor(() => fixture.sink.to('cat@dest.test').length > 0);
    const m = fixture.sink.to('cat@dest.test')[0]!;
    const text = unfold(m.raw.toString());
    expect(text).toContain(`Message-ID: <${MessageId}@mta.sesame.test>`);
    const signers = [...text.matchAll(/^DKIM-Signature: .*?\bd=([^;]+);/gim)].map((x) => x[1]);
    expect(signers.sort()).toEqual(['mta.sesame.test', 'sender.test']);
    if (HAVE_DKIMPY) {
      const out = await dkimVerify(fixture.server, ['sender.test', 'mta.sesame.test'], m.raw);
      expect(out).toContain('d=sender.test');
      expect(out).toContain('d=mta.sesame.test');
      expect(out).toContain('signatures=2');
    }
  });

  it('signs mail from the server name itself once', async () => {
    await fixture.server.sesv2().send(
      new SendEmailV2({ FromEmailAddress: 'ops@mta.sesame.test', Destination: { ToAddresses: ['dan@dest.test'] }, Content: { Simple: { Subject: { Data: 'One signature' }, Body: { Text: { Data: 'Signed once' } } } } }),
    );
    await fixture.sink.waitFor(() => fixture.sink.to('dan@dest.test').length > 0);
    const raw = fixture.sink.to('dan@dest.test')[0]!.raw;
    expect(unfold(raw.toString()).match(/^DKIM-Signature:/gim)).toHaveLength(1);
    if (HAVE_DKIMPY) expect(await dkimVerify(fixture.server, 'mta.sesame.test', raw)).toContain('signatures=1');
  });
});
