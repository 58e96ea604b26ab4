/**
 * buildDsn (src/lib/dsn.ts): an RFC 3464 delivery status notification as a mail client and a bounce
 * processor read it — mailparser for the message, and the MIME parts split at the boundary it
 * reports for the machine-readable fields.
 */
import { describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { buildDsn, type DsnInput } from '../../src/lib/dsn.ts';

const ORIGINAL_HEADERS = 'From: Ann <ann@sender.test>\nTo: bob@example.com\nSubject: Order 42\nMessage-ID: <orig-1@sender.test>\nDate: Fri, 02 Jan 2026 02:59:00 +0000\n';

const base: DsnInput = {
  from: 'Mail Delivery Subsystem <mailer-daemon@example.com>',
  to: 'ann@sender.test',
  reportingMta: 'dns; mta.example.com',
  originalHeaders: ORIGINAL_HEADERS,
  recipients: [{ address: 'bob@example.com', status: '5.1.1', action: 'failed', diagnostic: 'smtp; 550 5.1.1 Mailbox does not exist' }],
  messageId: '0100018f00000000-11111111-2222-3333-4444-555555555555-000000@mta.example.com',
  date: new Date('2026-01-02T03:04:05Z'),
};

/** The parts of a multipart message: each part's header fields (lower-case names) and body. */
function parts(raw: Buffer, boundary: string): Array<{ headers: Map<string, string>; body: string }> {
  const text = raw.toString('utf8');
  const chunks = text.split(`--${boundary}`);
  // chunks[0] is the preamble, the last one follows the closing delimiter.
  return chunks.slice(1, -1).map((chunk) => {
    const c = chunk.replace(/^\r\n/, '').replace(/\r\n$/, '');
    const end = c.indexOf('\r\n\r\n');
    const head = end < 0 ? c : c.slice(0, end);
    const headers = new Map<string, string>();
    for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
    }
    return { headers, body: end < 0 ? '' : c.slice(end + 4) };
  });
}

/** Field groups of a message/delivery-status body: per-message first, then one per recipient. */
function fieldGroups(body: string): Array<Record<string, string>> {
  return body
    .replace(/\r\n[ \t]+/g, ' ')
    .split(/\r\n\r\n/)
    .filter((g) => g.trim() !== '')
    .map((g) => Object.fromEntries(g.split('\r\n').filter((l) => l !== '').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()])));
}

async function dissect(input: DsnInput) {
  const raw = buildDsn(input);
  const mail = await simpleParser(raw);
  const ct = mail.headers.get('content-type') as { value: string; params: Record<string, string> };
  return { raw, mail, ct, parts: parts(raw, ct.params.boundary!) };
}

describe('buildDsn', () => {
  it('is a multipart/report of a human-readable part, message/delivery-status and text/rfc822-headers', async () => {
    const { raw, mail, ct, parts: p } = await dissect(base);
    expect(ct.value).toBe('multipart/report');
    expect(ct.params['report-type']).toBe('delivery-status');
    expect(mail.subject).toBe('Delivery Status Notification (Failure)');
    expect(mail.from?.value).toEqual([{ address: 'mailer-daemon@example.com', name: 'Mail Delivery Subsystem' }]);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value : undefined).toEqual([{ address: 'ann@sender.test', name: '' }]);
    expect(mail.messageId).toBe(`<${base.messageId}>`);
    expect(mail.date?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(mail.headers.get('auto-submitted')).toBe('auto-replied');
    expect(mail.headers.get('mime-version')).toBe('1.0');

    expect(p.map((x) => x.headers.get('content-type'))).toEqual(['text/plain; charset=utf-8', 'message/delivery-status', 'text/rfc822-headers']);
    // The human-readable part names the recipient and why (SES's wording).
    expect(mail.text).toContain('An error occurred while trying to deliver the mail to the following recipients:');
    expect(p[0]!.body).toContain('bob@example.com: 550 5.1.1 Mailbox does not exist');
    // The original header block, CRLF line ends.
    const headersPart = mail.attachments.find((a) => a.contentType === 'text/rfc822-headers');
    expect(headersPart?.content.toString('utf8')).toBe(ORIGINAL_HEADERS.replace(/\n/g, '\r\n'));
    // Every line ends with CRLF and none is over 998 characters (RFC 5322 §2.1.1).
    const text = raw.toString('utf8');
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(Math.max(...text.split('\r\n').map((l) => l.length))).toBeLessThanOrEqual(998);
  });

  it('writes the per-message and per-recipient fields of RFC 3464 §2.2 and §2.3', async () => {
    const { parts: p } = await dissect({
      ...base,
      reportingMta: 'mta.example.com',
      arrivalDate: new Date('2026-01-02T03:00:00Z'),
      extensionFields: [{ name: 'X-Sesame-Original-Id', value: 'abc' }],
      recipients: [
        { address: 'bob@example.com', status: '5.1.1', action: 'failed', diagnostic: '550 5.1.1 Mailbox does not exist', remoteMta: 'mx.example.com', lastAttemptDate: new Date('2026-01-02T03:01:00Z') },
        { address: 'carol@example.com', finalRecipient: 'carol@internal.example.com', status: '4.2.2', action: 'delayed', extensionFields: [{ name: 'X-Attempts', value: '3' }] },
      ],
    });
    const groups = fieldGroups(p[1]!.body);
    expect(groups).toEqual([
      { 'Reporting-MTA': 'dns; mta.example.com', 'Arrival-Date': 'Fri, 02 Jan 2026 03:00:00 +0000', 'X-Sesame-Original-Id': 'abc' },
      {
        'Final-Recipient': 'rfc822; bob@example.com',
        Action: 'failed',
        Status: '5.1.1',
        'Remote-MTA': 'dns; mx.example.com',
        'Diagnostic-Code': 'smtp; 550 5.1.1 Mailbox does not exist',
        'Last-Attempt-Date': 'Fri, 02 Jan 2026 03:01:00 +0000',
      },
      { 'Final-Recipient': 'rfc822; carol@internal.example.com', 'Original-Recipient': 'rfc822; carol@example.com', Action: 'delayed', Status: '4.2.2', 'X-Attempts': '3' },
    ]);
  });

  it('takes the explanation as the human-readable part, in UTF-8, whatever its lines', async () => {
    const explanation = 'Ihre Nachricht konnte nicht zugestellt werden — Postfach unbekannt.\n' + 'x'.repeat(1200);
    const { mail, parts: p } = await dissect({ ...base, explanation });
    expect(p[0]!.headers.get('content-transfer-encoding')).toBe('base64');
    expect(mail.text).toContain('Ihre Nachricht konnte nicht zugestellt werden — Postfach unbekannt.');
    expect(mail.text).toContain('x'.repeat(1200));
  });

  it('calls a DSN of delayed recipients only a delay, and one of failures a failure', async () => {
    const delayed = await dissect({ ...base, recipients: [{ address: 'bob@example.com', status: '4.0.0', action: 'delayed' }] });
    expect(delayed.mail.subject).toBe('Delivery Status Notification (Delay)');
    expect(delayed.mail.text).toContain('Delivery to the following recipients has been delayed');
    const custom = await dissect({ ...base, subject: 'Undeliverable: Order 42' });
    expect(custom.mail.subject).toBe('Undeliverable: Order 42');
  });

  it('keeps values on their line: no field or header can be injected', async () => {
    const { mail, parts: p } = await dissect({
      ...base,
      from: 'mailer-daemon@example.com\r\nBcc: victim@example.org',
      recipients: [{ address: 'bob@example.com', status: '5.1.1', action: 'failed', diagnostic: 'smtp; 550 no\r\nX-Injected: yes' }],
    });
    expect(mail.headers.has('bcc')).toBe(false);
    const groups = fieldGroups(p[1]!.body);
    expect(groups[1]).not.toHaveProperty('X-Injected');
    expect(groups[1]!['Diagnostic-Code']).toBe('smtp; 550 no X-Injected: yes');
  });

  it('folds long fields at spaces and keeps the delivery-status part 7-bit', async () => {
    const long = `smtp; 550 5.7.1 ${'word '.repeat(60)}Straße`;
    const { raw, parts: p } = await dissect({ ...base, recipients: [{ address: 'bob@example.com', status: '5.7.1', action: 'failed', diagnostic: long }] });
    const body = p[1]!.body;
    // eslint-disable-next-line no-control-regex
    expect(body).toMatch(/^[\x00-\x7f]*$/);
    expect(Math.max(...body.split('\r\n').map((l) => l.length))).toBeLessThanOrEqual(78);
    expect(fieldGroups(body)[1]!['Diagnostic-Code']).toBe(long.replace('ß', '?'));
    expect(raw.toString('utf8')).toContain('Diagnostic-Code: smtp; 550 5.7.1 word');
  });

  it('completes a bare message id with the reporting MTA host, and refuses a DSN without recipients', async () => {
    const { mail } = await dissect({ ...base, messageId: '0100abc-000000' });
    expect(mail.messageId).toBe('<0100abc-000000@mta.example.com>');
    expect(() => buildDsn({ ...base, recipients: [] })).toThrow(/at least one recipient/);
  });
});
