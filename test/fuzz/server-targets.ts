/**
 * End-to-end fuzz targets against a whole running server (see targets.ts for the in-process ones):
 *
 * - api-send: signed SES v2 SendEmail and v1 SendRawEmail requests with generated content (odd
 *   addresses, headers, raw MIME with bare CR/LF, templates, tags) → never a 5xx, every error in
 *   SES's wire shape, and a 200 only with a MessageId that is in the queue;
 * - smtp-session: generated SMTP command sequences (pipelined garbage, smuggling sequences, AUTH
 *   lines, over-long lines) on the submission port without credentials → every reply a well-formed
 *   SMTP reply, nothing ever accepted for delivery (no `250 Ok <MessageId>`), the server stays up.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { sendRaw, signed } from '../helpers/aws-wire.ts';
import type { TestServer } from '../helpers/server.ts';
import type { FuzzTarget } from './targets.ts';

function fail(message: string): never {
  throw new Error(message);
}

const address = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('orders@sender.test', 'ann@dest.test', 'Shop <orders@sender.test>', '"A, B" <orders@sender.test>') },
  { weight: 3, arbitrary: fc.emailAddress() },
  { weight: 3, arbitrary: fc.string({ maxLength: 40, unit: fc.constantFrom('a', '@', '.', '<', '>', '"', ',', '\r', '\n', ' ', 'é', '\u0000', ':', ';', 'sender.test') }) },
);
const text = fc.string({ maxLength: 60, unit: fc.constantFrom('a', ' ', '\r', '\n', '{{', '}}', 'name', '=?utf-8?', 'é', '\u0000', ':', 'Bcc: x@y.test') });
const rawMime = fc
  .array(fc.oneof(fc.constantFrom('From: orders@sender.test', 'To: ann@dest.test', 'Subject: hi', 'Content-Type: multipart/mixed; boundary=b', '--b', '--b--', 'X-SES-CONFIGURATION-SET: nope', ''), text), { maxLength: 12 })
  .chain((lines) => fc.constantFrom('\r\n', '\n', '\r').map((eol) => lines.join(eol)));

const v2Body = fc.record(
  {
    FromEmailAddress: address,
    Destination: fc.record({ ToAddresses: fc.array(address, { maxLength: 3 }), CcAddresses: fc.array(address, { maxLength: 2 }) }, { requiredKeys: [] }),
    ReplyToAddresses: fc.array(address, { maxLength: 2 }),
    Content: fc.oneof(
      fc.record({ Simple: fc.record({ Subject: fc.record({ Data: text }), Body: fc.record({ Text: fc.record({ Data: text }) }, { requiredKeys: [] }), Headers: fc.array(fc.record({ Name: fc.string({ maxLength: 12 }), Value: text }), { maxLength: 3 }) }, { requiredKeys: [] }) }),
      fc.record({ Raw: fc.record({ Data: rawMime.map((s) => Buffer.from(s).toString('base64')) }) }),
      fc.record({ Template: fc.record({ TemplateContent: fc.record({ Subject: text, Text: text }, { requiredKeys: [] }), TemplateData: fc.oneof(fc.json({ maxDepth: 2 }), text) }, { requiredKeys: [] }) }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    EmailTags: fc.array(fc.record({ Name: fc.string({ maxLength: 8 }), Value: fc.string({ maxLength: 8 }) }), { maxLength: 3 }),
    ConfigurationSetName: fc.string({ maxLength: 10 }),
  },
  { requiredKeys: [] },
);

const v1Form = fc
  .record({ Source: address, 'Destinations.member.1': address, 'RawMessage.Data': rawMime.map((s) => Buffer.from(s).toString('base64')), 'Tags.member.1.Name': fc.string({ maxLength: 6 }), 'Tags.member.1.Value': fc.string({ maxLength: 6 }) }, { requiredKeys: [] })
  .map((f) => new URLSearchParams({ Action: 'SendRawEmail', Version: '2010-12-01', ...f }).toString());

/** api-send, against `server` (its root key signs every request). */
export function apiSendTarget(server: TestServer): FuzzTarget<{ v2: unknown } | { v1: string }> {
  const creds = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
  return {
    name: 'api-send',
    weight: 0.02,
    arbitrary: fc.oneof(fc.record({ v2: v2Body }), fc.record({ v1: v1Form })),
    async check(input) {
      const req =
        'v2' in input
          ? { method: 'POST', path: '/v2/email/outbound-emails', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input.v2) }
          : { method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: input.v1 };
      const res = await sendRaw(server.url, await signed(server.url, req, creds));
      if (res.status >= 500) fail(`HTTP ${res.status}: ${res.body.slice(0, 300)}`);
      if (!res.headers['x-amzn-requestid']) fail(`HTTP ${res.status} without x-amzn-RequestId`);
      if ('v2' in input) {
        if (res.status >= 400) {
          if (!res.headers['x-amzn-errortype']) fail(`v2 error ${res.status} without x-amzn-ErrorType`);
          const m = (JSON.parse(res.body) as { message?: unknown }).message;
          if (typeof m !== 'string' || m === '') fail(`v2 error ${res.status} without a message: ${res.body}`);
          return;
        }
        const id = (JSON.parse(res.body) as { MessageId?: string }).MessageId;
        if (!id || !(await server.instance.storage.queue.message(id))) fail(`200 with MessageId ${id} that is not in the queue`);
        return;
      }
      if (res.status >= 400) {
        if (!/^<ErrorResponse[\s>][\s\S]*<Code>\w+<\/Code>[\s\S]*<\/ErrorResponse>\s*$/.test(res.body)) fail(`v1 error ${res.status} not an ErrorResponse: ${res.body.slice(0, 300)}`);
        return;
      }
      const id = /<MessageId>([^<]+)<\/MessageId>/.exec(res.body)?.[1];
      if (!id || !(await server.instance.storage.queue.message(id))) fail(`200 with MessageId ${id} that is not in the queue`);
    },
  };
}

const smtpLine = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('EHLO fuzz.test', 'HELO x', 'MAIL FROM:<orders@sender.test>', 'RCPT TO:<ann@dest.test>', 'DATA', 'RSET', 'NOOP', 'QUIT', 'VRFY root', 'EXPN x', 'HELP', 'BDAT 10 LAST', 'AUTH PLAIN', 'AUTH LOGIN', 'AUTH PLAIN AGFiYwBkZWY=', 'AUTH CRAM-MD5', '*', '.', 'MAIL FROM:<>', 'RCPT TO:<"a b"@dest.test>', 'MAIL FROM:<a@b> SIZE=99999999999', 'XCLIENT ADDR=1.2.3.4') },
  { weight: 2, arbitrary: fc.string({ maxLength: 80 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30, unit: fc.constantFrom('\r', '\n', '.', ' ', 'A', ':', '<', '>', '\u0000', '\u00ff') }) },
  { weight: 1, arbitrary: fc.integer({ min: 500, max: 3000 }).map((n) => 'A'.repeat(n)) },
);
/** A well-formed SMTP reply line: three digits, then a space or a dash. */
const REPLY = /^[2-5]\d\d[ -]/;

/** smtp-session, against the server's STARTTLS submission port (no credentials: nothing may be accepted). */
export function smtpSessionTarget(server: TestServer): FuzzTarget<string[]> {
  return {
    name: 'smtp-session',
    weight: 0.002,
    arbitrary: fc.array(smtpLine, { minLength: 1, maxLength: 12 }),
    check(lines) {
      return new Promise<void>((resolve, reject) => {
        const socket = connect(server.smtpPort, '127.0.0.1');
        let buffer = '';
        let settled = false;
        const done = (err?: Error) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          socket.destroy();
          if (err) reject(err);
          else resolve();
        };
        // smtp-server holds the greeting 100 ms for early talkers; the session is judged by what it answered within a few seconds.
        const timer = setTimeout(() => done(), 1_500);
        socket.setEncoding('latin1');
        socket.on('data', (d: string) => {
          buffer += d;
          let i;
          while ((i = buffer.indexOf('\r\n')) !== -1) {
            const line = buffer.slice(0, i);
            buffer = buffer.slice(i + 2);
            if (!REPLY.test(line)) return done(new Error(`malformed reply ${JSON.stringify(line.slice(0, 200))}`));
            if (/^250 Ok \S/.test(line) || /^250[ -].*queued/i.test(line)) return done(new Error(`a message was accepted without AUTH: ${line}`));
          }
        });
        socket.on('error', () => done());
        socket.on('close', () => done());
        // Whatever state the lines leave (DATA, an AUTH exchange), end it and quit, so the session closes.
        socket.once('data', () => socket.write(`${lines.join('\r\n')}\r\n.\r\n*\r\nQUIT\r\n`));
      });
    },
  };
}
