/**
 * DSN parsing (RFC 3464 inside RFC 6522 multipart/report) against messages shaped like those real
 * MTAs send (Postfix, Exchange Online, Gmail, Exim), composed here, and SES's bounce
 * classification of their Status and Diagnostic-Code.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseArf } from '../../src/lib/arf-parse.ts';
import { classifyBounce, parseDsn } from '../../src/lib/dsn-parse.ts';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'));
const lf = (lines: string[]) => Buffer.from(lines.join('\n'));

const ID = '0100018f2a3b4c5d-7cb9f704-7531-4e53-89a1-5fa9744f5eb6-000000';

/** A Postfix bounce: the report part, then only the returned message's headers. */
function postfixDsn(o: { rcpt?: string; status?: string; diagnostic?: string; action?: string; messageId?: string } = {}): Buffer {
  const rcpt = o.rcpt ?? 'nobody@dest.test';
  return crlf([
    'Return-Path: <>',
    'Received: by mx.dest.test (Postfix) id 4VhXyZ1Abc; Tue,  7 May 2024 10:00:05 +0000 (UTC)',
    'Date: Tue,  7 May 2024 10:00:05 +0000 (UTC)',
    'From: MAILER-DAEMON@mx.dest.test (Mail Delivery System)',
    'Subject: Undelivered Mail Returned to Sender',
    `To: ${ID}@mta.sesame.test`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status;',
    '\tboundary="4VhXyZ1Abc.1715076005/mx.dest.test"',
    'Content-Transfer-Encoding: 8bit',
    'Message-Id: <20240507100005.4VhXyZ1Abc@mx.dest.test>',
    '',
    'This is a MIME-encapsulated message.',
    '',
    '--4VhXyZ1Abc.1715076005/mx.dest.test',
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is the mail system at host mx.dest.test.',
    '',
    "I'm sorry to have to inform you that your message could not",
    'be delivered to one or more recipients.',
    '',
    `<${rcpt}>: host mailstore.dest.test[192.0.2.44] said: 550 5.1.1 <${rcpt}>:`,
    '    Recipient address rejected: User unknown in virtual mailbox table',
    '',
    '--4VhXyZ1Abc.1715076005/mx.dest.test',
    'Content-Description: Delivery report',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.dest.test',
    'X-Postfix-Queue-ID: 4VhXyZ1Abc',
    `X-Postfix-Sender: rfc822; ${ID}@mta.sesame.test`,
    'Arrival-Date: Tue,  7 May 2024 10:00:01 +0000 (UTC)',
    '',
    `Final-Recipient: rfc822; ${rcpt}`,
    `Original-Recipient: rfc822;${rcpt}`,
    `Action: ${o.action ?? 'failed'}`,
    `Status: ${o.status ?? '5.1.1'}`,
    'Remote-MTA: dns; mailstore.dest.test',
    `Diagnostic-Code: smtp; ${o.diagnostic ?? `550 5.1.1 <${rcpt}>: Recipient address rejected: User unknown in virtual`}`,
    '    mailbox table',
    '',
    '--4VhXyZ1Abc.1715076005/mx.dest.test',
    'Content-Description: Undelivered Message Headers',
    'Content-Type: text/rfc822-headers',
    'Content-Transfer-Encoding: 8bit',
    '',
    `Return-Path: <${ID}@mta.sesame.test>`,
    'From: Shop <orders@sender.test>',
    `To: ${rcpt}`,
    'Subject: Your order',
    `Message-ID: <${o.messageId ?? ID}@mta.sesame.test>`,
    'Date: Tue, 7 May 2024 10:00:00 +0000',
    '',
    '--4VhXyZ1Abc.1715076005/mx.dest.test--',
    '',
  ]);
}

/** Exchange Online: a multipart/alternative first part, `rfc822;` without space, the whole original returned. */
function exchangeDsn(): Buffer {
  return crlf([
    'From: Microsoft Outlook <postmaster@contoso.test>',
    `To: <${ID}@bounce.sender.test>`,
    'Date: Wed, 8 May 2024 09:12:44 +0000',
    'Content-Type: multipart/report; report-type=delivery-status;',
    '\tboundary="d0c5e1b2-aaaa-4bbb-8ccc-ddddeeeeffff"',
    'Subject: Undeliverable: Your order',
    'MIME-Version: 1.0',
    '',
    '--d0c5e1b2-aaaa-4bbb-8ccc-ddddeeeeffff',
    'Content-Type: multipart/alternative; differences=Content-Type;',
    '\tboundary="a1b2c3d4-1111-4222-8333-444455556666"',
    '',
    '--a1b2c3d4-1111-4222-8333-444455556666',
    'Content-Type: text/plain; charset="us-ascii"',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    "Your message to gone@contoso.test couldn't be delivered.",
    '--a1b2c3d4-1111-4222-8333-444455556666',
    'Content-Type: text/html; charset="us-ascii"',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    '<html><body><p>Your message couldn=27t be delivered.</p></body></html>',
    '--a1b2c3d4-1111-4222-8333-444455556666--',
    '',
    '--d0c5e1b2-aaaa-4bbb-8ccc-ddddeeeeffff',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns;BN8PR12MB3456.namprd12.prod.outlook.test',
    'Received-From-MTA: dns;a8-12.smtp-out.sender.test',
    'Arrival-Date: Wed, 8 May 2024 09:12:43 +0000',
    '',
    'Original-Recipient: rfc822;Gone@contoso.test',
    'Final-Recipient: rfc822;Gone@contoso.test',
    'Action: failed',
    'Status: 5.1.10',
    'Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
    '',
    '--d0c5e1b2-aaaa-4bbb-8ccc-ddddeeeeffff',
    'Content-Type: message/rfc822',
    '',
    'Received: from a8-12.smtp-out.sender.test (192.0.2.8) by BN8PR12MB3456.namprd12.prod.outlook.test',
    `Message-ID: <${ID}@mta.sesame.test>`,
    'From: Shop <orders@sender.test>',
    'To: Gone <gone@contoso.test>',
    'Subject: Your order',
    'MIME-Version: 1.0',
    'Content-Type: text/plain',
    '',
    'Thanks!',
    '',
    '--d0c5e1b2-aaaa-4bbb-8ccc-ddddeeeeffff--',
    '',
  ]);
}

/** Gmail: bare LF here, parameters in another order, a folded Diagnostic-Code and Remote-MTA with the IP in parentheses. */
function gmailDsn(): Buffer {
  return lf([
    'Received: by 2002:a05:6a00:1234 with SMTP id abc; Thu, 9 May 2024 01:02:03 -0700 (PDT)',
    'From: Mail Delivery Subsystem <mailer-daemon@googlemail.test>',
    `To: ${ID}@mta.sesame.test`,
    'Auto-Submitted: auto-replied',
    'Subject: Delivery Status Notification (Failure)',
    'Date: Thu, 09 May 2024 01:02:03 -0700 (PDT)',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; boundary="000000000000c0ffee0617fa1b2c"; report-type=delivery-status',
    '',
    '--000000000000c0ffee0617fa1b2c',
    'Content-Type: multipart/related; boundary="000000000000c0ffee0617fa1b3d"',
    '',
    '--000000000000c0ffee0617fa1b3d',
    'Content-Type: text/html; charset="UTF-8"',
    '',
    "<html><p>Your message wasn't delivered to full@gmail.test because the mailbox is full.</p></html>",
    '--000000000000c0ffee0617fa1b3d--',
    '--000000000000c0ffee0617fa1b2c',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; googlemail.test',
    'Received-From-MTA: dns; orders@sender.test',
    'Arrival-Date: Thu, 09 May 2024 01:01:58 -0700 (PDT)',
    `X-Original-Message-ID: <${ID}@mta.sesame.test>`,
    '',
    'Final-Recipient: rfc822; full@gmail.test',
    'Action: failed',
    'Status: 5.0.0',
    'Remote-MTA: dns; gmail-smtp-in.l.google.test. (192.0.2.27, the server for the',
    ' domain gmail.test.)',
    'Diagnostic-Code: smtp; 552-5.2.2 The email account that you tried to reach is over quota and',
    ' inactive. Please direct the recipient to',
    ' 552 5.2.2  https://support.google.test/mail/?p=OverQuotaPerm d2-20020a05 - gsmtp',
    'Last-Attempt-Date: Thu, 09 May 2024 01:02:03 -0700 (PDT)',
    '',
    '--000000000000c0ffee0617fa1b2c',
    'Content-Type: message/rfc822',
    '',
    'From: Shop <orders@sender.test>',
    'To: full@gmail.test',
    `Message-ID: <${ID}@mta.sesame.test>`,
    'Subject: Your order',
    '',
    'Thanks!',
    '--000000000000c0ffee0617fa1b2c--',
    '',
  ]);
}

describe('parseDsn', () => {
  it('reads a Postfix bounce: per-message and per-recipient fields, folded diagnostic, the returned headers', () => {
    const d = parseDsn(postfixDsn())!;
    expect(d).toMatchObject({
      reportingMta: 'mx.dest.test',
      arrivalDate: 'Tue,  7 May 2024 10:00:01 +0000 (UTC)',
      date: 'Tue,  7 May 2024 10:00:05 +0000 (UTC)',
      original: { messageId: `${ID}@mta.sesame.test` },
    });
    expect(d.recipients).toEqual([
      {
        finalRecipient: 'nobody@dest.test',
        originalRecipient: 'nobody@dest.test',
        action: 'failed',
        status: '5.1.1',
        remoteMta: 'mailstore.dest.test',
        diagnosticCode: 'smtp; 550 5.1.1 <nobody@dest.test>: Recipient address rejected: User unknown in virtual mailbox table',
      },
    ]);
    expect(d.original!.headers.find((h) => h.name === 'Return-Path')?.value).toBe(`<${ID}@mta.sesame.test>`);
  });

  it('reads an Exchange NDR: nested alternative part first, rfc822; without space, the whole original returned', () => {
    const d = parseDsn(exchangeDsn())!;
    expect(d.reportingMta).toBe('BN8PR12MB3456.namprd12.prod.outlook.test');
    expect(d.recipients).toEqual([
      {
        originalRecipient: 'Gone@contoso.test',
        finalRecipient: 'Gone@contoso.test',
        action: 'failed',
        status: '5.1.10',
        diagnosticCode: 'smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
      },
    ]);
    expect(d.original?.messageId).toBe(`${ID}@mta.sesame.test`);
    expect(classifyBounce(d.recipients[0]!.status, d.recipients[0]!.diagnosticCode)).toEqual({ bounceType: 'Permanent', bounceSubType: 'General' });
  });

  it('reads a Gmail DSN: LF line ends, parameters reordered, Remote-MTA with its IP, a generic status with a specific reply', () => {
    const d = parseDsn(gmailDsn())!;
    const r = d.recipients[0]!;
    expect(d.reportingMta).toBe('googlemail.test');
    expect(r).toMatchObject({ finalRecipient: 'full@gmail.test', action: 'failed', status: '5.0.0', remoteMta: 'gmail-smtp-in.l.google.test.', remoteMtaIp: '192.0.2.27', lastAttemptDate: 'Thu, 09 May 2024 01:02:03 -0700 (PDT)' });
    expect(r.diagnosticCode).toBe(
      'smtp; 552-5.2.2 The email account that you tried to reach is over quota and inactive. Please direct the recipient to 552 5.2.2  https://support.google.test/mail/?p=OverQuotaPerm d2-20020a05 - gsmtp',
    );
    expect(d.original?.messageId).toBe(`${ID}@mta.sesame.test`);
    // Status 5.0.0 says less than the reply's 5.2.2: the mailbox is full.
    expect(classifyBounce(r.status, r.diagnosticCode)).toEqual({ bounceType: 'Transient', bounceSubType: 'MailboxFull' });
  });

  it('decodes a base64 delivery-status part and a base64 returned message', () => {
    const status = Buffer.from(
      ['Reporting-MTA: dns; relay.dest.test', 'Original-Envelope-Id: env-42', '', 'Final-Recipient: rfc822; big@dest.test', 'Action: failed', 'Status: 5.3.4', 'Diagnostic-Code: smtp; 552 5.3.4 Message size exceeds fixed limit', ''].join('\r\n'),
    )
      .toString('base64')
      .replace(/.{60}/g, '$&\r\n');
    const original = Buffer.from(`Message-ID: <${ID}@mta.sesame.test>\r\nTo: big@dest.test\r\n\r\nbody\r\n`).toString('base64');
    const d = parseDsn(
      crlf([
        'From: postmaster@relay.dest.test',
        'Content-Type: multipart/report; report-type="delivery-status"; boundary=XYZ',
        '',
        '--XYZ',
        'Content-Type: text/plain',
        '',
        'Too big.',
        '--XYZ',
        'Content-Type: message/delivery-status',
        'Content-Transfer-Encoding: base64',
        '',
        status,
        '--XYZ',
        'Content-Type: message/rfc822',
        'Content-Transfer-Encoding: base64',
        '',
        original,
        '--XYZ--',
      ]),
    )!;
    expect(d.originalEnvelopeId).toBe('env-42');
    expect(d.recipients).toEqual([{ finalRecipient: 'big@dest.test', action: 'failed', status: '5.3.4', diagnosticCode: 'smtp; 552 5.3.4 Message size exceeds fixed limit' }]);
    expect(d.original?.messageId).toBe(`${ID}@mta.sesame.test`);
    expect(classifyBounce('5.3.4', d.recipients[0]!.diagnosticCode)).toEqual({ bounceType: 'Transient', bounceSubType: 'MessageTooLarge' });
  });

  it('reads a quoted-printable delivery-status part', () => {
    const d = parseDsn(
      crlf([
        'Content-Type: multipart/report; report-type=delivery-status; boundary=QP',
        '',
        '--QP',
        'Content-Type: message/delivery-status',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        'Reporting-MTA: dns; qp.dest.test',
        '',
        'Final-Recipient: rfc822; caf=C3=A9@dest.test',
        'Action: failed',
        'Status: 5.1.1',
        'Diagnostic-Code: smtp; 550 5.1.1 this line is long and soft-broken by the encod=',
        'er',
        '--QP--',
      ]),
    )!;
    expect(d.recipients[0]).toMatchObject({ finalRecipient: 'café@dest.test', diagnosticCode: 'smtp; 550 5.1.1 this line is long and soft-broken by the encoder' });
  });

  it('reads a multi-recipient DSN: one failed, one delayed', () => {
    const d = parseDsn(
      crlf([
        'From: Mail Delivery System <Mailer-Daemon@exim.dest.test>',
        'Content-Type: multipart/report; report-type=delivery-status; boundary=1715076005-eximdsn-1804289383',
        'MIME-Version: 1.0',
        '',
        '--1715076005-eximdsn-1804289383',
        'Content-type: text/plain; charset=us-ascii',
        '',
        'This message was created automatically by mail delivery software.',
        '',
        '--1715076005-eximdsn-1804289383',
        'Content-type: message/delivery-status',
        '',
        'Reporting-MTA: dns; exim.dest.test',
        '',
        'Action: failed',
        'Final-Recipient: rfc822;ann@dest.test',
        'Status: 5.0.0',
        'Remote-MTA: dns; mx2.dest.test',
        'Diagnostic-Code: smtp; 550 No such user here',
        '',
        'Action: delayed',
        'Final-Recipient: rfc822;bob@dest.test',
        'Status: 4.4.1',
        'Remote-MTA: dns; [192.0.2.80]',
        'Diagnostic-Code: X-Exim; retry timeout not reached',
        'Will-Retry-Until: Fri, 10 May 2024 10:00:00 +0000',
        '',
        '--1715076005-eximdsn-1804289383',
        'Content-type: text/rfc822-headers',
        '',
        `Message-Id: <${ID}@mta.sesame.test>`,
        '',
        '--1715076005-eximdsn-1804289383--',
      ]),
    )!;
    expect(d.recipients.map((r) => [r.finalRecipient, r.action, r.status])).toEqual([
      ['ann@dest.test', 'failed', '5.0.0'],
      ['bob@dest.test', 'delayed', '4.4.1'],
    ]);
    expect(d.recipients[1]!.remoteMtaIp).toBe('192.0.2.80');
    expect(classifyBounce('5.0.0', 'smtp; 550 No such user here')).toEqual({ bounceType: 'Permanent', bounceSubType: 'General' });
  });

  it('is lenient: no blank lines between groups, odd case and spacing, a missing Action, a missing close delimiter', () => {
    const d = parseDsn(
      lf([
        'content-type: Multipart/Report; Report-Type=Delivery-Status; Boundary="b"',
        '',
        '--b',
        'content-type: Message/Delivery-Status',
        '',
        'REPORTING-MTA: DNS; Old.Dest.Test',
        'FINAL-RECIPIENT: RFC822; <a@dest.test>',
        'ACTION: Failed (permanent)',
        'STATUS: 5.1.1 (user unknown)',
        'final-recipient: rfc822; b@dest.test',
        'action: failed',
        'status: 5.2.2',
        '   ',
        'Final-Recipient: rfc822; c@dest.test',
        'Action: delivered',
        'Status: 2.0.0',
        '',
        'Final-Recipient: rfc822; d@dest.test',
        'Status: 5.7.1',
      ]),
    )!;
    expect(d.reportingMta).toBe('Old.Dest.Test');
    expect(d.recipients.map((r) => [r.finalRecipient, r.action, r.status])).toEqual([
      ['a@dest.test', 'failed', '5.1.1'],
      ['b@dest.test', 'failed', '5.2.2'],
      ['c@dest.test', 'delivered', '2.0.0'],
      ['d@dest.test', 'failed', '5.7.1'], // no Action: read from the Status class
    ]);
  });

  it('finds a report wrapped in a multipart/mixed (some gateways do that)', () => {
    const inner = postfixDsn().toString();
    const [head, body] = [inner.slice(0, inner.indexOf('\r\n\r\n')), inner.slice(inner.indexOf('\r\n\r\n') + 4)];
    const ct = head.slice(head.indexOf('Content-Type:'), head.indexOf('Content-Transfer-Encoding:'));
    const wrapped = crlf(['From: gateway@dest.test', 'Content-Type: multipart/mixed; boundary=OUTER', '', '--OUTER', ct.trimEnd(), '', body, '--OUTER--']);
    expect(parseDsn(wrapped)?.recipients[0]?.finalRecipient).toBe('nobody@dest.test');
  });

  it('returns undefined for what is not a delivery-status report', () => {
    expect(parseDsn(Buffer.alloc(0))).toBeUndefined();
    expect(parseDsn(Buffer.from([0, 1, 2, 255, 254, 10, 10, 13]))).toBeUndefined();
    expect(parseDsn(Buffer.from('no header here at all'))).toBeUndefined();
    // an auto-reply
    expect(parseDsn(crlf(['From: ann@dest.test', 'Subject: Out of office', 'Auto-Submitted: auto-replied', 'Content-Type: text/plain', '', 'I am away.']))).toBeUndefined();
    // multipart, but no report
    expect(parseDsn(crlf(['Content-Type: multipart/mixed; boundary=a', '', '--a', 'Content-Type: text/plain', '', 'hi', '--a--']))).toBeUndefined();
    // a read receipt (RFC 8098) is a report of another type
    expect(
      parseDsn(crlf(['Content-Type: multipart/report; report-type=disposition-notification; boundary=a', '', '--a', 'Content-Type: message/disposition-notification', '', 'Disposition: manual-action/MDN-sent-manually; displayed', '--a--'])),
    ).toBeUndefined();
    // a feedback report
    expect(parseDsn(crlf(['Content-Type: multipart/report; report-type=feedback-report; boundary=a', '', '--a', 'Content-Type: message/feedback-report', '', 'Feedback-Type: abuse', '--a--']))).toBeUndefined();
    // a report without its boundary
    expect(parseDsn(crlf(['Content-Type: multipart/report; report-type=delivery-status', '', '--a', 'Content-Type: message/delivery-status', '', 'Action: failed', '--a--']))).toBeUndefined();
  });

  it('ignores blocks without a recipient field', () => {
    const d = parseDsn(crlf(['Content-Type: multipart/report; report-type=delivery-status; boundary=a', '', '--a', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; x.test', '', 'X-Extension: 1', '--a--']))!;
    expect(d).toMatchObject({ reportingMta: 'x.test', recipients: [] });
  });

  it('finishes fast on hostile input: a 5 MB header block, a 5 MB folded field in the report, many boundary-like lines', () => {
    const started = performance.now();
    const hugeHeader = Buffer.concat([Buffer.from('Content-Type: multipart/report; report-type=delivery-status; boundary=a\r\nX-Junk: x'), Buffer.alloc(5 * 1024 * 1024, '\r\n\tyy'), Buffer.from('\r\n\r\n--a--\r\n')]);
    expect(parseDsn(hugeHeader)).toBeUndefined();
    const oneLine = Buffer.concat([Buffer.from('Subject: '), Buffer.alloc(5 * 1024 * 1024, 'a:b;'), Buffer.from('\r\n\r\nbody')]);
    expect(parseDsn(oneLine)).toBeUndefined();
    const hugeField = Buffer.concat([
      Buffer.from('Content-Type: multipart/report; report-type=delivery-status; boundary=a\r\n\r\n--a\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; x@dest.test\r\nAction: failed\r\nDiagnostic-Code: smtp; 550'),
      Buffer.alloc(5 * 1024 * 1024, '\r\n 5.5.5.5 (('),
      Buffer.from('\r\n--a--\r\n'),
    ]);
    const d = parseDsn(hugeField)!;
    expect(d.recipients[0]?.finalRecipient).toBe('x@dest.test');
    expect(d.recipients[0]!.diagnosticCode!.length).toBeLessThanOrEqual(1024 * 1024);
    classifyBounce(d.recipients[0]!.status, d.recipients[0]!.diagnosticCode);
    const boundaries = Buffer.concat([Buffer.from('Content-Type: multipart/report; report-type=delivery-status; boundary=a\r\n\r\n'), Buffer.alloc(5 * 1024 * 1024, '--a\r\n--ab\r\n')]);
    expect(parseDsn(boundaries)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('parsers on arbitrary input', () => {
  it('never throw: random bytes, and real-shaped reports cut, spliced and with bytes changed', () => {
    const samples = [postfixDsn(), exchangeDsn(), gmailDsn()];
    const mutated = fc
      .tuple(fc.constantFrom(...samples), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 20 }), fc.nat(), fc.nat())
      .map(([sample, edits, cutA, cutB]) => {
        const b = Buffer.from(sample);
        for (const [at, byte] of edits) b[at % b.length] = byte;
        const [from, to] = [cutA % b.length, cutB % b.length].sort((x, y) => x - y);
        return Buffer.concat([b.subarray(0, from!), b.subarray(to!)]);
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)), mutated), (raw) => {
        const d = parseDsn(raw);
        for (const r of d?.recipients ?? []) classifyBounce(r.status, r.diagnosticCode);
        parseArf(raw);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('classifyBounce (SES bounce types)', () => {
  const cases: Array<[string | undefined, string | undefined, string, string]> = [
    // SES's mailbox simulator and event-publishing example: an unknown user is Permanent/General.
    ['5.1.1', 'smtp; 550 5.1.1 user unknown', 'Permanent', 'General'],
    ['5.1.10', 'smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound', 'Permanent', 'General'],
    ['5.1.2', 'smtp; 550 5.1.2 Host unknown', 'Permanent', 'General'],
    // A Yahoo reply SES published as Permanent/General: 552 here is not a size problem.
    ['5.3.0', 'smtp; 552 1 Requested mail action aborted, mailbox not found', 'Permanent', 'General'],
    ['5.0.0', 'X-Postfix; unknown user: "nobody"', 'Permanent', 'General'],
    [undefined, 'smtp; 550 No such user here', 'Permanent', 'General'],
    ['5.2.2', 'smtp; 552 5.2.2 Mailbox full', 'Transient', 'MailboxFull'],
    ['4.2.2', 'smtp; 452 4.2.2 The email account that you tried to reach is over quota', 'Transient', 'MailboxFull'],
    ['5.0.0', 'smtp; 550 Mailbox quota exceeded', 'Transient', 'MailboxFull'],
    ['5.3.4', 'smtp; 552 5.3.4 Message size exceeds fixed limit', 'Transient', 'MessageTooLarge'],
    ['5.2.3', 'smtp; 552 5.2.3 Message length exceeds administrative limit', 'Transient', 'MessageTooLarge'],
    ['5.0.0', 'smtp; 552 Message size exceeds maximum permitted', 'Transient', 'MessageTooLarge'],
    ['5.7.1', 'smtp; 550 5.7.1 Message rejected as spam by Content Filtering', 'Transient', 'ContentRejected'],
    ['5.7.0', 'smtp; 554 5.7.0 Virus found in message', 'Transient', 'ContentRejected'],
    ['5.6.1', 'smtp; 554 5.6.1 Media not supported', 'Transient', 'ContentRejected'],
    ['5.7.1', 'smtp; 552 5.7.1 Attachment type .exe is not allowed', 'Transient', 'AttachmentRejected'],
    // a block list is a policy refusal, not the content (Spamhaus is not "spam")
    ['5.7.1', 'smtp; 554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org', 'Permanent', 'General'],
    ['5.7.1', 'smtp; 550 5.7.1 Relaying denied', 'Permanent', 'General'],
    ['4.4.7', 'smtp; 421 4.4.7 Delivery time expired', 'Transient', 'General'],
    ['4.7.0', 'smtp; 450 4.7.0 Greylisted, try again later', 'Transient', 'General'],
    [undefined, undefined, 'Undetermined', 'Undetermined'],
    ['2.0.0', 'smtp; 250 2.0.0 OK', 'Undetermined', 'Undetermined'],
    [undefined, 'X-Unknown; the message could not be delivered', 'Undetermined', 'Undetermined'],
  ];
  it.each(cases)('%s %s → %s/%s', (status, diagnostic, type, subType) => {
    expect(classifyBounce(status, diagnostic)).toEqual({ bounceType: type, bounceSubType: subType });
  });
});
