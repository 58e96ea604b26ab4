/**
 * Bounces and complaints from the wire: a message sent with the SES v2 SDK reaches the sink with its
 * per-message envelope sender; a DSN and an ARF report built for it, handed to core's feedback
 * service as the MX would hand them, become SES's Bounce and Complaint events and suppression
 * entries (read back with the SDK). Reports about unknown messages, about other messages, about
 * addresses the message never had, and delays change nothing.
 */
import { readFileSync } from 'node:fs';
import { CreateConfigurationSetCommand, GetSuppressedDestinationCommand, SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMessageId } from '../../src/lib/ids.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends, type TestServer } from '../helpers/server.ts';

const EXAMPLES = JSON.parse(readFileSync(new URL('../fixtures/ses-event-examples.json', import.meta.url), 'utf8')) as Record<string, Record<string, unknown>>;
const MESSAGE_ID = /^0100[0-9a-f]{12}-[0-9a-f-]{36}-000000$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'));

/** The header block of a delivered message. */
const headersOf = (raw: Buffer) => raw.subarray(0, raw.indexOf('\r\n\r\n')).toString('utf8');

/** A Postfix-style DSN about `rcpt` for a message whose bounce address is `bounce`. */
function dsn(bounce: string, originalHeaders: string, r: { rcpt: string; action?: string; status?: string; diagnostic?: string }): Buffer {
  return crlf([
    'From: MAILER-DAEMON@mx.dest.test (Mail Delivery System)',
    `To: ${bounce}`,
    `Date: ${new Date().toUTCString()}`,
    'Subject: Undelivered Mail Returned to Sender',
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status;',
    '\tboundary="B1/mx.dest.test"',
    '',
    '--B1/mx.dest.test',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'Your message could not be delivered.',
    '',
    '--B1/mx.dest.test',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.dest.test',
    `Arrival-Date: ${new Date().toUTCString()}`,
    '',
    `Final-Recipient: rfc822; ${r.rcpt}`,
    `Action: ${r.action ?? 'failed'}`,
    `Status: ${r.status ?? '5.1.1'}`,
    'Remote-MTA: dns; mailstore.dest.test',
    `Diagnostic-Code: smtp; ${r.diagnostic ?? `550 5.1.1 <${r.rcpt}>: Recipient address rejected: User unknown`}`,
    '',
    '--B1/mx.dest.test',
    'Content-Type: text/rfc822-headers',
    '',
    originalHeaders,
    '',
    '--B1/mx.dest.test--',
    '',
  ]);
}

/** A Yahoo-style ARF report about a message (recipient redacted, no Original-Rcpt-To). */
function arf(bounce: string, originalHeaders: string, o: { feedbackType?: string; rcptTo?: string } = {}): Buffer {
  return crlf([
    'From: "Feedback" <feedback@arf.mail.dest.test>',
    'To: fbl@sender.test',
    `Date: ${new Date().toUTCString()}`,
    'Subject: FW: complaint',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=feedback-report; boundary="ARF"',
    '',
    '--ARF',
    'Content-Type: text/plain',
    '',
    'This is an email abuse report.',
    '--ARF',
    'Content-Type: message/feedback-report',
    '',
    `Feedback-Type: ${o.feedbackType ?? 'abuse'}`,
    'User-Agent: DestFeedbackLoop/1.0',
    'Version: 1',
    `Original-Mail-From: <${bounce}>`,
    ...(o.rcptTo ? [`Original-Rcpt-To: <${o.rcptTo}>`] : []),
    'Arrival-Date: Fri, 10 May 2024 12:00:00 +0000',
    'Source-IP: 127.0.0.1',
    'Reported-Domain: sender.test',
    '',
    '--ARF',
    'Content-Type: message/rfc822',
    '',
    originalHeaders.replace(/^To: .*$/m, 'To: redacted@dest.test'),
    '',
    'body',
    '--ARF--',
    '',
  ]);
}

describe.each(testBackends())('bounces and complaints from the wire (%s)', (backend) => {
  let fixture: SendingFixture;
  let server: TestServer;
  let v2: SESv2Client;

  beforeAll(async () => {
    fixture = await startSendingFixture({ backend });
    server = fixture.server;
    v2 = server.sesv2();
    await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'no-suppression', SuppressionOptions: { SuppressedReasons: [] } }));
  });
  afterAll(() => fixture?.close());

  /** Sends one message and waits for its delivery; returns its id, bounce address and delivered headers. */
  async function sendAndDeliver(to: string[], configurationSet?: string): Promise<{ messageId: string; bounce: string; headers: string }> {
    const { MessageId } = await v2.send(
      new SendEmailCommand({
        FromEmailAddress: 'Shop <orders@sender.test>',
        Destination: { ToAddresses: to },
        Content: { Simple: { Subject: { Data: 'Your order' }, Body: { Text: { Data: 'Thanks!' } } } },
        ...(configurationSet ? { ConfigurationSetName: configurationSet } : {}),
      }),
    );
    const messageId = MessageId!;
    await fixture.sink.waitFor((ms) => ms.some((m) => m.raw.includes(messageId)));
    await eventually(async () => (await server.instance.storage.queue.events(messageId)).filter((e) => e.type === 'Delivery').length === to.length, 10_000, 'Delivery events');
    const m = fixture.sink.messages.find((x) => x.raw.includes(messageId))!;
    return { messageId, bounce: m.mailFrom, headers: headersOf(m.raw) };
  }

  const events = async (messageId: string, type: string) => (await server.instance.storage.queue.events(messageId)).filter((e) => e.type === type);
  const handle = (rcptTo: string, raw: Buffer) => server.instance.core.feedback.handle({ rcptTo, raw, remoteIp: '127.0.0.1' });
  const suppressed = async (email: string) => {
    try {
      return (await v2.send(new GetSuppressedDestinationCommand({ EmailAddress: email }))).SuppressedDestination;
    } catch (err) {
      if ((err as Error).name === 'NotFoundException') return undefined;
      throw err;
    }
  };

  it('turns a DSN with a failed recipient into a Permanent Bounce event and a BOUNCE suppression entry', async () => {
    const { messageId, bounce, headers } = await sendAndDeliver(['gone@dest.test']);
    expect(bounce).toBe(`${messageId}@mta.sesame.test`);
    expect(await handle(bounce, dsn(bounce, headers, { rcpt: 'gone@dest.test' }))).toBe('bounce');

    const [e, ...more] = await events(messageId, 'Bounce');
    expect(more).toEqual([]);
    const b = e!.payload.bounce as Record<string, unknown>;
    expect(e!.payload).toMatchObject({ eventType: 'Bounce', mail: { messageId, destination: ['gone@dest.test'], source: 'Shop <orders@sender.test>' } });
    expect(b).toMatchObject({
      bounceType: 'Permanent',
      bounceSubType: 'General',
      bouncedRecipients: [{ emailAddress: 'gone@dest.test', action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 <gone@dest.test>: Recipient address rejected: User unknown' }],
      reportingMTA: 'dns; mx.dest.test',
      // the MTA Sesame delivered to (the sink), from the Delivery event
      remoteMtaIp: '127.0.0.1',
    });
    expect(b.feedbackId).toMatch(MESSAGE_ID);
    expect(b.timestamp).toMatch(ISO);
    // SES's own Bounce example has no field we lack
    const reference = EXAMPLES.Bounce!.bounce as Record<string, unknown>;
    expect(Object.keys(reference).filter((k) => !(k in b))).toEqual([]);

    const entry = await suppressed('gone@dest.test');
    expect(entry).toMatchObject({ EmailAddress: 'gone@dest.test', Reason: 'BOUNCE', Attributes: { MessageId: messageId, FeedbackId: b.feedbackId } });

    // The same DSN delivered again (an MX retry) adds nothing.
    expect(await handle(bounce, dsn(bounce, headers, { rcpt: 'gone@dest.test' }))).toBe('bounce');
    expect(await events(messageId, 'Bounce')).toHaveLength(1);
  });

  it('classifies a mailbox-full DSN as a Transient bounce, which suppresses nothing', async () => {
    const { messageId, bounce, headers } = await sendAndDeliver(['full@dest.test']);
    expect(await handle(bounce, dsn(bounce, headers, { rcpt: 'full@dest.test', status: '5.2.2', diagnostic: '552 5.2.2 Mailbox full' }))).toBe('bounce');
    const [e] = await events(messageId, 'Bounce');
    expect(e!.payload.bounce).toMatchObject({ bounceType: 'Transient', bounceSubType: 'MailboxFull' });
    expect(await suppressed('full@dest.test')).toBeUndefined();
  });

  it('ignores delays, unknown ids, reports about other messages and about addresses the message never had', async () => {
    const { messageId, bounce, headers } = await sendAndDeliver(['ann@dest.test', 'bob@dest.test']);
    const logged = server.logs.length;
    // a delay: SES publishes no remote delays
    expect(await handle(bounce, dsn(bounce, headers, { rcpt: 'ann@dest.test', action: 'delayed', status: '4.4.1', diagnostic: '421 4.4.1 timed out' }))).toBe('ignored');
    // a forged failure for someone else's address
    expect(await handle(bounce, dsn(bounce, headers, { rcpt: 'victim@elsewhere.test' }))).toBe('ignored');
    expect(await suppressed('victim@elsewhere.test')).toBeUndefined();
    // a message id that does not exist
    const unknownId = newMessageId(Date.now());
    const unknown = `${unknownId}@mta.sesame.test`;
    expect(await handle(unknown, dsn(unknown, headers.replaceAll(messageId, unknownId), { rcpt: 'ann@dest.test' }))).toBe('ignored');
    // the returned message is another one of Sesame's messages
    const other = headers.replaceAll(messageId, newMessageId(Date.now()));
    expect(await handle(bounce, dsn(bounce, other, { rcpt: 'ann@dest.test' }))).toBe('ignored');
    // not a report at all (an auto-reply), and a report at an address that is no bounce address
    expect(await handle(bounce, crlf(['From: ann@dest.test', 'Subject: Out of office', 'Auto-Submitted: auto-replied', '', 'Away until Monday.']))).toBe('ignored');
    expect(await handle('postmaster@mta.sesame.test', dsn('postmaster@mta.sesame.test', headers, { rcpt: 'ann@dest.test' }))).toBe('ignored');
    expect(await events(messageId, 'Bounce')).toEqual([]);
    expect(await suppressed('ann@dest.test')).toBeUndefined();
    // each for its own reason, in the log
    expect(server.logs.slice(logged).filter((l) => l.code === 'FEEDBACK_IGNORED').map((l) => l.reason)).toEqual([
      'no failed recipient (delayed)',
      'the failed recipients are not recipients of the message',
      'unknown message',
      'the report is about another message',
      'not a delivery-status or feedback report',
      'not addressed to a bounce address',
    ]);
  });

  it('turns an ARF report into a Complaint event and a COMPLAINT suppression entry', async () => {
    const { messageId, bounce, headers } = await sendAndDeliver(['cat@dest.test']);
    expect(await handle(bounce, arf(bounce, headers))).toBe('complaint');
    const [e, ...more] = await events(messageId, 'Complaint');
    expect(more).toEqual([]);
    const c = e!.payload.complaint as Record<string, unknown>;
    expect(e!.payload).toMatchObject({ eventType: 'Complaint', mail: { messageId, destination: ['cat@dest.test'] } });
    // The DG's complaint object: the recipient found from the message (redacted in the report).
    expect(c).toEqual({
      complainedRecipients: [{ emailAddress: 'cat@dest.test' }],
      timestamp: expect.stringMatching(ISO),
      feedbackId: expect.stringMatching(MESSAGE_ID),
      complaintSubType: null,
      userAgent: 'DestFeedbackLoop/1.0',
      complaintFeedbackType: 'abuse',
      arrivalDate: '2024-05-10T12:00:00.000Z',
    });
    expect(await suppressed('cat@dest.test')).toMatchObject({ Reason: 'COMPLAINT', Attributes: { MessageId: messageId, FeedbackId: c.feedbackId } });
    // a second copy of the report adds nothing
    expect(await handle(bounce, arf(bounce, headers))).toBe('complaint');
    expect(await events(messageId, 'Complaint')).toHaveLength(1);
  });

  it('names the complaining recipient from Original-Rcpt-To, even when the report comes to a feedback-loop address', async () => {
    const { messageId, bounce, headers } = await sendAndDeliver(['dan@dest.test', 'eve@dest.test']);
    // delivered to the FBL's own address: the report's Original-Mail-From names the message
    expect(await handle('fbl@sender.test', arf(bounce, headers, { rcptTo: 'eve@dest.test' }))).toBe('complaint');
    const [e] = await events(messageId, 'Complaint');
    expect((e!.payload.complaint as Record<string, unknown>).complainedRecipients).toEqual([{ emailAddress: 'eve@dest.test' }]);
    expect(await suppressed('dan@dest.test')).toBeUndefined();
    // with two recipients, a redacted report that names nobody cannot be attributed
    const second = await sendAndDeliver(['fay@dest.test', 'gus@dest.test']);
    expect(await handle(second.bounce, arf(second.bounce, second.headers.replace(/^To: .*$/m, 'To: someone@else.test')))).toBe('ignored');
  });

  it('publishes the Complaint but suppresses nothing when the configuration set suppresses no reason', async () => {
    const { messageId, bounce, headers } = await sendAndDeliver(['hal@dest.test'], 'no-suppression');
    expect(await handle(bounce, arf(bounce, headers))).toBe('complaint');
    expect(await events(messageId, 'Complaint')).toHaveLength(1);
    expect(await suppressed('hal@dest.test')).toBeUndefined();
    // and a permanent bounce of such a message is not suppressed either (decided at send time)
    expect(await handle(bounce, dsn(bounce, headers, { rcpt: 'hal@dest.test' }))).toBe('bounce');
    expect(await suppressed('hal@dest.test')).toBeUndefined();
  });

  it('publishes a not-spam report without suppressing the recipient', async () => {
    const { messageId, bounce, headers } = await sendAndDeliver(['ivy@dest.test']);
    expect(await handle(bounce, arf(bounce, headers, { feedbackType: 'not-spam' }))).toBe('complaint');
    const [e] = await events(messageId, 'Complaint');
    expect(e!.payload.complaint).toMatchObject({ complaintFeedbackType: 'not-spam' });
    expect(await suppressed('ivy@dest.test')).toBeUndefined();
  });
});
