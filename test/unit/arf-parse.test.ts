/**
 * Feedback reports (ARF, RFC 5965) shaped like those of mailbox providers' feedback loops
 * (Yahoo/AOL style with the recipient redacted, the RFC's own layout with Original-Rcpt-To),
 * composed here.
 */
import { describe, expect, it } from 'vitest';
import { parseArf } from '../../src/lib/arf-parse.ts';
import { parseDsn } from '../../src/lib/dsn-parse.ts';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'));
const ID = '0100018f2a3b4c5d-7cb9f704-7531-4e53-89a1-5fa9744f5eb6-000000';

/** A Yahoo/AOL-style complaint: recipient redacted in the returned message, no Original-Rcpt-To. */
function yahooArf(): Buffer {
  return crlf([
    'Return-Path: <>',
    'From: "Yahoo! Feedback" <feedback@arf.mail.yahoo.test>',
    `To: fbl@sender.test`,
    'Subject: FW: Your order',
    'Date: Fri, 10 May 2024 12:30:00 +0000',
    'Message-ID: <fbl-1234@arf.mail.yahoo.test>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=feedback-report;',
    '\tboundary="----=_Part_123_456.789"',
    '',
    '------=_Part_123_456.789',
    'Content-Type: text/plain; charset=us-ascii',
    'Content-Transfer-Encoding: 7bit',
    '',
    'This is an email abuse report for an email message received from IP 192.0.2.8 on Fri, 10 May 2024 12:00:00 +0000.',
    'For more information about this format please see http://www.mipassoc.org/arf/.',
    '',
    '------=_Part_123_456.789',
    'Content-Type: message/feedback-report',
    '',
    'Feedback-Type: abuse',
    'User-Agent: Yahoo!-Mail-Feedback/2.0',
    'Version: 0.1',
    `Original-Mail-From: <${ID}@bounce.sender.test>`,
    'Arrival-Date: Fri, 10 May 2024 12:00:00 +0000',
    'Reporting-MTA: dns; arf.mail.yahoo.test',
    'Source-IP: 192.0.2.8',
    'Authentication-Results: mta1.mail.yahoo.test from=sender.test; domainkeys=neutral (no sig); from=sender.test; dkim=pass (ok)',
    'Reported-Domain: sender.test',
    'Reported-Uri: http://sender.test/unsubscribe',
    '',
    '------=_Part_123_456.789',
    'Content-Type: message/rfc822',
    'Content-Disposition: inline',
    '',
    `Return-Path: <${ID}@bounce.sender.test>`,
    'Received: from a8-12.smtp-out.sender.test (EHLO a8-12.smtp-out.sender.test) (192.0.2.8)',
    '  by mta1.mail.yahoo.test with SMTP; Fri, 10 May 2024 12:00:00 +0000',
    'From: Shop <orders@sender.test>',
    'To: redacted@yahoo.test',
    'Subject: Your order',
    `Message-ID: <${ID}@mta.sesame.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain',
    '',
    'Thanks!',
    '',
    '------=_Part_123_456.789--',
    '',
  ]);
}

describe('parseArf', () => {
  it('reads a Yahoo/AOL-style report: the feedback fields and the reported message', () => {
    const a = parseArf(yahooArf())!;
    expect(a).toMatchObject({
      feedbackType: 'abuse',
      userAgent: 'Yahoo!-Mail-Feedback/2.0',
      version: '0.1',
      originalMailFrom: `${ID}@bounce.sender.test`,
      originalRcptTo: [],
      arrivalDate: 'Fri, 10 May 2024 12:00:00 +0000',
      reportedDomains: ['sender.test'],
      sourceIp: '192.0.2.8',
      reportingMta: 'arf.mail.yahoo.test',
      date: 'Fri, 10 May 2024 12:30:00 +0000',
      from: 'feedback@arf.mail.yahoo.test',
      original: { messageId: `${ID}@mta.sesame.test`, to: ['redacted@yahoo.test'], returnPath: `${ID}@bounce.sender.test` },
    });
    expect(parseDsn(yahooArf())).toBeUndefined();
  });

  it('reads the RFC 5965 layout: Original-Rcpt-To (repeated), only the headers returned', () => {
    const a = parseArf(
      crlf([
        'From: <abusedesk@example.test>',
        'Date: Thu, 8 Mar 2005 17:40:36 EDT',
        'Subject: FW: Earn money',
        'To: <abuse@sender.test>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=feedback-report; boundary="part1_13d.2e68ed54_boundary"',
        '',
        '--part1_13d.2e68ed54_boundary',
        'Content-Type: text/plain; charset="US-ASCII"',
        'Content-Transfer-Encoding: 7bit',
        '',
        'This is an email abuse report for an email message received from IP 192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.',
        '',
        '--part1_13d.2e68ed54_boundary',
        'Content-Type: message/feedback-report',
        '',
        'Feedback-Type: fraud',
        'User-Agent: SomeGenerator/1.0',
        'Version: 1',
        'Original-Mail-From: <somespammer@example.net>',
        'Original-Rcpt-To: <user@example.test>',
        'Original-Rcpt-To: <User2@Example.test>',
        'Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT',
        'Reporting-MTA: dns; mail.example.test',
        'Source-IP: 192.0.2.1',
        'Authentication-Results: mail.example.test;',
        '  spf=fail smtp.mail=somespammer@example.net',
        'Reported-Domain: example.net',
        'Reported-Uri: http://example.net/earn_money.html',
        'Removal-Recipient: legacy@example.test',
        '',
        '--part1_13d.2e68ed54_boundary',
        'Content-Type: text/rfc822-headers',
        '',
        'From: <somespammer@example.net>',
        'Received: from mailserver.example.net (mailserver.example.net [192.0.2.1]) by example.test with ESMTP id M63d4137594e46;',
        '  Thu, 08 Mar 2005 14:00:00 -0400',
        'To: <Undisclosed Recipients>',
        'Subject: Earn money',
        'MIME-Version: 1.0',
        'Message-ID: <8787KJKJ3K4J3K4J3K4J3.mail@example.net>',
        'Date: Thu, 02 Sep 2004 12:31:03 -0500',
        '',
        '--part1_13d.2e68ed54_boundary--',
      ]),
    )!;
    expect(a.feedbackType).toBe('fraud');
    expect(a.originalRcptTo).toEqual(['user@example.test', 'User2@Example.test', 'legacy@example.test']);
    expect(a.original).toMatchObject({ messageId: '8787KJKJ3K4J3K4J3K4J3.mail@example.net', to: [] });
    expect(a.originalMailFrom).toBe('somespammer@example.net');
  });

  it('decodes a base64 reported message and a quoted-printable report part; defaults a missing Feedback-Type to other', () => {
    const original = Buffer.from(`Message-ID: <${ID}@mta.sesame.test>\r\nTo: Ann <ann@isp.test>, bob@isp.test\r\n\r\nhello\r\n`).toString('base64');
    const a = parseArf(
      crlf([
        'Content-Type: multipart/report; report-type="feedback-report"; boundary=B',
        '',
        '--B',
        'Content-Type: message/feedback-report',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        'User-Agent: ISP=20FBL/3',
        'Received-Date: Sat, 11 May 2024 08:00:00 +0200',
        '--B',
        'Content-Type: message/rfc822',
        'Content-Transfer-Encoding: base64',
        '',
        original,
        '--B--',
      ]),
    )!;
    expect(a).toMatchObject({ feedbackType: 'other', userAgent: 'ISP FBL/3', arrivalDate: 'Sat, 11 May 2024 08:00:00 +0200' });
    expect(a.original).toMatchObject({ messageId: `${ID}@mta.sesame.test`, to: ['ann@isp.test', 'bob@isp.test'] });
  });

  it('lower-cases the feedback type and keeps unregistered ones', () => {
    const report = (type: string) =>
      parseArf(crlf(['Content-Type: multipart/report; report-type=feedback-report; boundary=a', '', '--a', 'Content-Type: message/feedback-report', '', `Feedback-Type: ${type}`, '--a--']))?.feedbackType;
    expect(report('Not-Spam')).toBe('not-spam');
    expect(report('auth-failure')).toBe('auth-failure');
    expect(report('x-opt-out (list)')).toBe('x-opt-out');
  });

  it('returns undefined for what is not a feedback report', () => {
    expect(parseArf(Buffer.alloc(0))).toBeUndefined();
    expect(parseArf(Buffer.from('\u0000\u0001garbage\n\n\n'))).toBeUndefined();
    expect(parseArf(crlf(['From: a@b.test', 'Subject: hi', '', 'just a message']))).toBeUndefined();
    expect(parseArf(crlf(['Content-Type: multipart/report; report-type=delivery-status; boundary=a', '', '--a', 'Content-Type: message/delivery-status', '', 'Action: failed', '--a--']))).toBeUndefined();
    // report-type says feedback-report but there is no machine-readable part
    expect(parseArf(crlf(['Content-Type: multipart/report; report-type=feedback-report; boundary=a', '', '--a', 'Content-Type: text/plain', '', 'spam!', '--a--']))).toBeUndefined();
  });

  it('finishes fast on a 5 MB header block and a 5 MB reported message header', () => {
    const started = performance.now();
    expect(parseArf(Buffer.concat([Buffer.from('X-A: '), Buffer.alloc(5 * 1024 * 1024, 'a\r\n b'), Buffer.from('\r\n\r\n')]))).toBeUndefined();
    const bigOriginal = Buffer.concat([
      Buffer.from('Content-Type: multipart/report; report-type=feedback-report; boundary=a\r\n\r\n--a\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n--a\r\nContent-Type: message/rfc822\r\n\r\nTo: x@isp.test\r\nX-Big: '),
      Buffer.alloc(5 * 1024 * 1024, 'b\r\n\tc'),
      Buffer.from('\r\n\r\nbody\r\n--a--\r\n'),
    ]);
    const a = parseArf(bigOriginal)!;
    expect(a.feedbackType).toBe('abuse');
    expect(a.original?.to).toEqual(['x@isp.test']);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
