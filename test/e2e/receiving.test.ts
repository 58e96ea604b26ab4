/**
 * Receiving end to end ([receiving] Done-when 1-4): mail arrives over SMTP at Sesame's MX for a
 * verified domain whose active rule set stores it in the built-in object store (read back with
 * `@aws-sdk/client-s3`), announces it on a topic (SES's `Received` notification at a signed SNS
 * subscriber), invokes a registered function with SES's Lambda event (RequestResponse, whose
 * disposition steers the rules), with SPF, DKIM and DMARC verdicts from the test DNS; recipients
 * that are not Sesame's are refused at RCPT, a blocked IP at connect; a DSN for a message Sesame
 * sent becomes a Permanent Bounce and a suppression entry, an ARF report a Complaint.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateReceiptFilterCommand,
  CreateReceiptRuleCommand,
  CreateReceiptRuleSetCommand,
  DeleteReceiptFilterCommand,
  SetActiveReceiptRuleSetCommand,
  type ReceiptAction,
} from '@aws-sdk/client-ses';
import { GetSuppressedDestinationCommand, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { createDkimSigner } from '../../src/lib/dkim-sign.ts';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends } from '../helpers/server.ts';
import { startSnsReceiver, type SnsReceiver } from '../helpers/sns-receiver.ts';

/** A local HTTP function: records SES Lambda events, answers with a disposition. */
async function startFunction(disposition: string): Promise<{ url: string; events: Array<Record<string, unknown>>; close(): Promise<void> }> {
  const events: Array<Record<string, unknown>> = [];
  const srv: Server = createServer((req, res) => {
    let b = '';
    req.on('data', (c: Buffer) => (b += c.toString()));
    req.on('end', () => {
      events.push(JSON.parse(b) as Record<string, unknown>);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ disposition }));
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/invoke`, events, close: () => new Promise<void>((resolve) => srv.close(() => resolve())) };
}

const RSPAMD = process.env.SESAME_TEST_RSPAMD_URL;
const CLAMD = process.env.SESAME_TEST_CLAMD_URL;
if ((!RSPAMD || !CLAMD) && process.env.CI) throw new Error('CI needs rspamd and clamd (scripts/ci-scanners.sh sets SESAME_TEST_RSPAMD_URL and SESAME_TEST_CLAMD_URL)');
if (!RSPAMD || !CLAMD) console.log('[sesame] SESAME_TEST_RSPAMD_URL / SESAME_TEST_CLAMD_URL not set: the MX spam and virus verdict test is SKIPPED (scripts/ci-scanners.sh starts both)');

describe.each(testBackends())('receiving (%s)', (backend) => {
  let fixture: SendingFixture;
  let receiver: SnsReceiver;
  let stopRule: Awaited<ReturnType<typeof startFunction>>;
  let stopRuleSet: Awaited<ReturnType<typeof startFunction>>;
  let s3: S3Client;
  let topicArn: string;
  let secondTopicArn: string;
  const outsideKey = generateKeyPairSync('rsa', { modulusLength: 1024 });

  beforeAll(async () => {
    fixture = await startSendingFixture({
      backend,
      senders: ['sender.test', 'inbound.test'],
      env: {
        SESAME_RETRY_SCHEDULE: '200ms',
        ...(RSPAMD ? { SESAME_RSPAMD_URL: RSPAMD } : {}),
        ...(CLAMD ? { SESAME_CLAMD_URL: CLAMD } : {}),
      },
    });
    const { server, dns } = fixture;
    // The outside world: a DKIM key and SPF for outside.test, SPF that forbids 127.0.0.1 and DMARC p=reject for forbid.test.
    const pub = outsideKey.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    dns.set('sel._domainkey.outside.test', 'TXT', [`v=DKIM1; k=rsa; p=${pub}`]);
    dns.set('outside.test', 'TXT', ['v=spf1 ip4:127.0.0.1 -all']);
    dns.set('_dmarc.outside.test', 'TXT', ['v=DMARC1; p=none']);
    dns.set('forbid.test', 'TXT', ['v=spf1 -all']);
    dns.set('_dmarc.forbid.test', 'TXT', ['v=DMARC1; p=reject']);

    receiver = await startSnsReceiver();
    const sns = server.sns();
    topicArn = (await sns.send(new CreateTopicCommand({ Name: 'inbound' }))).TopicArn!;
    secondTopicArn = (await sns.send(new CreateTopicCommand({ Name: 'second-rule' }))).TopicArn!;
    for (const t of [topicArn, secondTopicArn]) await sns.send(new SubscribeCommand({ TopicArn: t, Protocol: 'http', Endpoint: receiver.url }));
    await receiver.waitFor(() => receiver.confirmations.length === 2, 10_000);

    s3 = new S3Client({ endpoint: server.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: 'mail' }));

    stopRule = await startFunction('STOP_RULE');
    stopRuleSet = await startFunction('STOP_RULE_SET');
    const accountId = server.instance.config.accountId;
    const fnRule = await server.instance.core.functions.create(accountId, 'stop-rule', stopRule.url);
    const fnSet = await server.instance.core.functions.create(accountId, 'stop-rule-set', stopRuleSet.url);

    const v1 = server.ses();
    await v1.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'main' }));
    const rule = (Name: string, Recipients: string[], Actions: ReceiptAction[], after?: string) =>
      v1.send(new CreateReceiptRuleCommand({ RuleSetName: 'main', After: after, Rule: { Name, Enabled: true, Recipients, Actions, ScanEnabled: false, TlsPolicy: 'Optional' } }));
    // support@: S3, SNS, Lambda STOP_RULE, then an action that must not run; a second rule that runs (STOP_RULE ends only the rule).
    await rule('support', ['support@inbound.test'], [
      { S3Action: { BucketName: 'mail', ObjectKeyPrefix: 'support/' } },
      { SNSAction: { TopicArn: topicArn, Encoding: 'UTF-8' } },
      { LambdaAction: { FunctionArn: fnRule.arn, InvocationType: 'RequestResponse' } },
      { AddHeaderAction: { HeaderName: 'X-Not-Reached', HeaderValue: 'yes' } },
      { S3Action: { BucketName: 'mail', ObjectKeyPrefix: 'not-reached/' } },
    ]);
    // sales@: Lambda STOP_RULE_SET; the second rule must not run for it.
    await rule('sales', ['sales@inbound.test'], [{ LambdaAction: { FunctionArn: fnSet.arn, InvocationType: 'RequestResponse' } }], 'support');
    // scan@: spam and virus scanning on.
    await v1.send(
      new CreateReceiptRuleCommand({
        RuleSetName: 'main',
        After: 'sales',
        Rule: { Name: 'scanned', Enabled: true, Recipients: ['scan@inbound.test'], ScanEnabled: true, TlsPolicy: 'Optional', Actions: [{ SNSAction: { TopicArn: topicArn, Encoding: 'UTF-8' } }, { StopAction: { Scope: 'RuleSet' } }] },
      }),
    );
    await rule('second', ['inbound.test'], [{ SNSAction: { TopicArn: secondTopicArn, Encoding: 'UTF-8' } }], 'scanned');
    await v1.send(new SetActiveReceiptRuleSetCommand({ RuleSetName: 'main' }));
  }, 60_000);

  afterAll(async () => {
    s3?.destroy();
    await receiver?.close();
    await stopRule?.close();
    await stopRuleSet?.close();
    await fixture?.close();
  });

  const mx = () => nodemailer.createTransport({ host: '127.0.0.1', port: fixture.server.mxPort, secure: false, tls: { rejectUnauthorized: false } });
  const received = (rcpt: string, topic = topicArn) =>
    receiver.notifications().filter((n) => n.notificationType === 'Received' && ((n.receipt as { recipients: string[] }).recipients ?? []).includes(rcpt) && ((n.receipt as { action: { topicArn?: string } }).action.topicArn === topic));

  async function signedFromOutside(to: string, subject: string, body = 'Hello from outside'): Promise<Buffer> {
    const msg = Buffer.from(`From: Outside <news@outside.test>\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@outside.test>\r\nDate: ${new Date().toUTCString()}\r\n\r\n${body}\r\n`);
    const signer = createDkimSigner(0);
    try {
      const { signatures, message } = await signer.sign(msg, [{ signingDomain: 'outside.test', selector: 'sel', privateKey: outsideKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, algorithm: 'rsa-sha256', canonicalization: 'relaxed/relaxed' }], new Date());
      return Buffer.concat([Buffer.from(signatures), message]);
    } finally {
      await signer.close();
    }
  }

  it('stores, announces and invokes for a matching rule; STOP_RULE ends the rule, the next rule still runs (Done-when 1)', async () => {
    const raw = await signedFromOutside('support@inbound.test', 'Need help');
    const info = await mx().sendMail({ envelope: { from: 'news@outside.test', to: ['support@inbound.test'] }, raw });
    const messageId = /^250 Ok (\w+)/.exec(info.response)![1]!;
    expect(messageId).toMatch(/^[a-z0-9]{40}$/);

    // S3: readable with the S3 SDK, with SES's added headers.
    const obj = await s3.send(new GetObjectCommand({ Bucket: 'mail', Key: `support/${messageId}` }));
    const stored = await obj.Body!.transformToString();
    expect(stored).toContain('Subject: Need help');
    expect(stored).toMatch(/^Return-Path: <news@outside\.test>/);
    expect(stored).toMatch(/Authentication-Results: mta\.sesame\.test;[\s\S]*dkim=pass/);
    expect(stored).toContain('Received-SPF: pass');
    expect(stored).not.toContain('X-Not-Reached');

    // SNS: SES's Received notification with the content.
    await receiver.waitFor(() => received('support@inbound.test').length === 1, 10_000);
    const n = received('support@inbound.test')[0]!;
    expect(n).toMatchObject({
      notificationType: 'Received',
      mail: { source: 'news@outside.test', messageId, destination: ['support@inbound.test'], commonHeaders: { from: ['Outside <news@outside.test>'], subject: 'Need help', returnPath: 'news@outside.test' } },
      receipt: {
        recipients: ['support@inbound.test'],
        spfVerdict: { status: 'PASS' },
        dkimVerdict: { status: 'PASS' },
        dmarcVerdict: { status: 'PASS' },
        spamVerdict: { status: 'DISABLED' },
        virusVerdict: { status: 'DISABLED' },
        action: { type: 'SNS', topicArn, encoding: 'UTF-8' },
      },
    });
    expect(typeof (n.receipt as Record<string, unknown>).processingTimeMillis).toBe('number');
    expect(String(n.content)).toContain('Hello from outside');

    // Lambda: SES's event, no content.
    expect(stopRule.events).toHaveLength(1);
    const rec = (stopRule.events[0]!.Records as Array<Record<string, unknown>>)[0]!;
    expect(rec).toMatchObject({ eventSource: 'aws:ses', eventVersion: '1.0', ses: { mail: { messageId }, receipt: { action: { type: 'Lambda', invocationType: 'RequestResponse' } } } });
    expect((rec.ses as Record<string, unknown>).content).toBeUndefined();
    // STOP_RULE: the rest of the rule did not run; the second rule did.
    await receiver.waitFor(() => received('support@inbound.test', secondTopicArn).length === 1, 10_000);
  });

  it('STOP_RULE_SET ends the rule set: the second rule does not run', async () => {
    const raw = await signedFromOutside('sales@inbound.test', 'Quote please');
    await mx().sendMail({ envelope: { from: 'news@outside.test', to: ['sales@inbound.test'] }, raw });
    expect(stopRuleSet.events).toHaveLength(1);
    // Give a wrongly running second rule the time to publish, then check it did not.
    await new Promise((r) => setTimeout(r, 1500));
    expect(received('sales@inbound.test', secondTopicArn)).toHaveLength(0);
  });

  it('DKIM FAIL when the signed message is altered, SPF FAIL and DMARC FAIL with dmarcPolicy reject (Done-when 2)', async () => {
    const raw = (await signedFromOutside('support@inbound.test', 'Altered')).toString().replace('Hello from outside', 'Hello from a forger');
    await mx().sendMail({ envelope: { from: 'news@outside.test', to: ['support@inbound.test'] }, raw });
    await receiver.waitFor(() => receiver.notifications().some((n) => (n.mail as { commonHeaders?: { subject?: string } }).commonHeaders?.subject === 'Altered'), 10_000);
    const altered = receiver.notifications().find((n) => (n.mail as { commonHeaders?: { subject?: string } }).commonHeaders?.subject === 'Altered')!;
    expect(altered.receipt).toMatchObject({ dkimVerdict: { status: 'FAIL' }, spfVerdict: { status: 'PASS' } });

    const forged = `From: ceo@forbid.test\r\nTo: support@inbound.test\r\nSubject: Forged\r\nMessage-ID: <forged@forbid.test>\r\nDate: ${new Date().toUTCString()}\r\n\r\nWire money\r\n`;
    await mx().sendMail({ envelope: { from: 'ceo@forbid.test', to: ['support@inbound.test'] }, raw: forged });
    await receiver.waitFor(() => receiver.notifications().some((n) => (n.mail as { commonHeaders?: { subject?: string } }).commonHeaders?.subject === 'Forged'), 10_000);
    const f = receiver.notifications().find((n) => (n.mail as { commonHeaders?: { subject?: string } }).commonHeaders?.subject === 'Forged')!;
    expect(f.receipt).toMatchObject({ spfVerdict: { status: 'FAIL' }, dmarcVerdict: { status: 'FAIL' }, dmarcPolicy: 'reject' });
  });

  it.skipIf(!RSPAMD || !CLAMD)('gives GTUBE spam FAIL (rspamd) and an EICAR attachment virus FAIL (ClamAV); a clean message PASS (Done-when 2)', async () => {
    const verdictOf = async (subject: string, raw: string | Buffer) => {
      await mx().sendMail({ envelope: { from: 'news@outside.test', to: ['scan@inbound.test'] }, raw });
      await receiver.waitFor(() => receiver.notifications().some((n) => (n.mail as { commonHeaders?: { subject?: string } }).commonHeaders?.subject === subject), 30_000);
      return receiver.notifications().find((n) => (n.mail as { commonHeaders?: { subject?: string } }).commonHeaders?.subject === subject)!.receipt as Record<string, { status: string }>;
    };
    const gtube = await verdictOf('GTUBE', `From: news@outside.test\r\nTo: scan@inbound.test\r\nSubject: GTUBE\r\nMessage-ID: <gtube@outside.test>\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n`);
    expect(gtube.spamVerdict!.status).toBe('FAIL');
    const eicar = await new MailComposer({ from: 'news@outside.test', to: 'scan@inbound.test', subject: 'EICAR', text: 'see attachment', attachments: [{ filename: 'eicar.com', content: 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' }] }).compile().build();
    const virus = await verdictOf('EICAR', eicar);
    expect(virus.virusVerdict!.status).toBe('FAIL');
    const clean = await verdictOf('Clean', await signedFromOutside('scan@inbound.test', 'Clean'));
    expect(clean.virusVerdict!.status).toBe('PASS');
    expect(['PASS', 'GRAY']).toContain(clean.spamVerdict!.status);
  });

  it('refuses at RCPT a recipient on an unverified domain, one no rule matches, and a relay attempt; a blocked IP at connect (Done-when 3)', async () => {
    const t = mx();
    await expect(t.sendMail({ envelope: { from: 'a@outside.test', to: ['someone@unverified.test'] }, raw: 'Subject: x\r\n\r\nx\r\n' })).rejects.toMatchObject({ responseCode: 554 });
    await expect(t.sendMail({ envelope: { from: 'a@outside.test', to: ['nobody@sender.test'] }, raw: 'Subject: x\r\n\r\nx\r\n' })).rejects.toMatchObject({ responseCode: 550 });
    await expect(t.sendMail({ envelope: { from: 'a@outside.test', to: ['victim@gmail.com'] }, raw: 'Subject: x\r\n\r\nx\r\n' })).rejects.toMatchObject({ responseCode: 554, response: expect.stringContaining('Relay access denied') });
    const v1 = fixture.server.ses();
    await v1.send(new CreateReceiptFilterCommand({ Filter: { Name: 'block-local', IpFilter: { Policy: 'Block', Cidr: '127.0.0.0/8' } } }));
    try {
      await eventually(async () => {
        try {
          await mx().sendMail({ envelope: { from: 'a@outside.test', to: ['support@inbound.test'] }, raw: 'Subject: blocked\r\n\r\nx\r\n' });
          return false;
        } catch (err) {
          return (err as { responseCode?: number }).responseCode === 554 && /blocked/.test(String((err as { response?: string }).response));
        }
      }, 5000, 'the block filter to apply at connect');
      // Allow beats Block.
      await v1.send(new CreateReceiptFilterCommand({ Filter: { Name: 'allow-one', IpFilter: { Policy: 'Allow', Cidr: '127.0.0.1/32' } } }));
      await eventually(async () => (await mx().sendMail({ envelope: { from: 'news@outside.test', to: ['support@inbound.test'] }, raw: await signedFromOutside('support@inbound.test', 'Allowed') })).response.startsWith('250'), 5000, 'Allow to beat Block');
    } finally {
      await v1.send(new DeleteReceiptFilterCommand({ FilterName: 'block-local' })).catch(() => undefined);
      await v1.send(new DeleteReceiptFilterCommand({ FilterName: 'allow-one' })).catch(() => undefined);
    }
  });

  it('a DSN for a message Sesame sent becomes a Permanent Bounce and a suppression entry; an ARF report a Complaint (Done-when 4)', async () => {
    const { server, sink } = fixture;
    const v2 = server.sesv2();
    const { MessageId } = await v2.send(new SendEmailCommand({ FromEmailAddress: 'shop@sender.test', Destination: { ToAddresses: ['late-bounce@dest.test'] }, Content: { Simple: { Subject: { Data: 'Order' }, Body: { Text: { Data: 'Thanks' } } } } }));
    await sink.waitFor(() => sink.to('late-bounce@dest.test').length > 0);
    const returnPath = sink.to('late-bounce@dest.test')[0]!.mailFrom;
    expect(returnPath).toBe(`${MessageId}@mta.sesame.test`);
    const dsn = [
      'From: MAILER-DAEMON@dest.test',
      `To: ${returnPath}`,
      'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
      '',
      '--B',
      'Content-Type: text/plain',
      '',
      'Your message could not be delivered.',
      '--B',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.dest.test',
      '',
      'Final-Recipient: rfc822; late-bounce@dest.test',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 <late-bounce@dest.test>: user unknown',
      '--B',
      'Content-Type: text/rfc822-headers',
      '',
      `Message-ID: <${MessageId}@mta.sesame.test>`,
      'Subject: Order',
      '--B--',
      '',
    ].join('\r\n');
    await mx().sendMail({ envelope: { from: '', to: [returnPath] }, raw: dsn });
    await eventually(async () => (await server.instance.storage.queue.events(MessageId!)).some((e) => e.type === 'Bounce'), 10_000, 'the Bounce event');
    const bounce = (await server.instance.storage.queue.events(MessageId!)).find((e) => e.type === 'Bounce')!;
    expect(bounce.payload).toMatchObject({ eventType: 'Bounce', bounce: { bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: 'late-bounce@dest.test', status: '5.1.1' }] } });
    const sup = await v2.send(new GetSuppressedDestinationCommand({ EmailAddress: 'late-bounce@dest.test' }));
    expect(sup.SuppressedDestination?.Reason).toBe('BOUNCE');

    const arf = [
      'From: fbl@dest.test',
      `To: ${returnPath}`,
      'Subject: Abuse report',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=feedback-report; boundary="F"',
      '',
      '--F',
      'Content-Type: text/plain',
      '',
      'This is an abuse report.',
      '--F',
      'Content-Type: message/feedback-report',
      '',
      'Feedback-Type: abuse',
      'User-Agent: DestFBL/1.0',
      'Version: 1',
      'Original-Rcpt-To: late-bounce@dest.test',
      '--F',
      'Content-Type: message/rfc822',
      '',
      `Message-ID: <${MessageId}@mta.sesame.test>`,
      'To: late-bounce@dest.test',
      'Subject: Order',
      '',
      'Thanks',
      '--F--',
      '',
    ].join('\r\n');
    await mx().sendMail({ envelope: { from: '', to: [returnPath] }, raw: arf });
    await eventually(async () => (await server.instance.storage.queue.events(MessageId!)).some((e) => e.type === 'Complaint'), 10_000, 'the Complaint event');
    const complaint = (await server.instance.storage.queue.events(MessageId!)).find((e) => e.type === 'Complaint')!;
    expect(complaint.payload).toMatchObject({ eventType: 'Complaint', complaint: { complaintFeedbackType: 'abuse', complainedRecipients: [{ emailAddress: 'late-bounce@dest.test' }] } });
  });
});
