/** The raw-message HTML rewriter: only inline text/html parts change, every other byte stays. */
import { describe, expect, it } from 'vitest';
import MailComposer from 'nodemailer/lib/mail-composer';
import { simpleParser } from 'mailparser';
import { decodeQuotedPrintable, rewriteHtmlParts } from '../../src/lib/mime-html.ts';
import { joinMessage, splitMessage } from '../../src/lib/mime.ts';

const mark = (html: string) => html.replace(/https:\/\/shop\.example\//g, 'https://t.example/c?u=');

async function rewriteMessage(raw: Buffer): Promise<Buffer | undefined> {
  const m = splitMessage(raw);
  const r = rewriteHtmlParts(m.headers, m.body, mark);
  return r ? joinMessage(r.headers, r.body) : undefined;
}

describe('rewriteHtmlParts', () => {
  it('rewrites the HTML alternative of a nodemailer message and leaves the text part and attachment byte for byte', async () => {
    const raw = await new MailComposer({
      from: 'a@sender.test',
      to: 'b@dest.test',
      subject: 'Hi',
      text: 'Visit https://shop.example/x',
      html: `<p>Visit <a href="https://shop.example/x">the shop</a> — ${'é'.repeat(200)}</p>`,
      attachments: [{ filename: 'page.html', content: '<a href="https://shop.example/att">x</a>', contentType: 'text/html' }],
    })
      .compile()
      .build();
    const out = (await rewriteMessage(raw))!;
    const parsed = await simpleParser(out);
    expect(parsed.html).toContain('<a href="https://t.example/c?u=x">the shop</a>');
    expect(parsed.html).toContain('é'.repeat(200));
    expect(parsed.text?.trim()).toBe('Visit https://shop.example/x');
    expect(parsed.attachments[0]!.content.toString()).toBe('<a href="https://shop.example/att">x</a>');
    // Every line stays within RFC 5322's limit.
    expect(out.toString('latin1').split('\r\n').every((l) => l.length <= 998)).toBe(true);
  });

  it('keeps base64 parts base64 and turns 7bit HTML into quoted-printable', async () => {
    const b64 = Buffer.from('Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n' + Buffer.from('<a href="https://shop.example/b">b</a>').toString('base64') + '\r\n');
    const out = (await rewriteMessage(Buffer.concat([Buffer.from('From: a@x.test\r\n'), b64])))!;
    expect(out.toString()).toContain('Content-Transfer-Encoding: base64');
    expect((await simpleParser(out)).html).toBe('<a href="https://t.example/c?u=b">b</a>');
    const seven = Buffer.from(`From: a@x.test\r\nContent-Type: text/html\r\n\r\n<a href="https://shop.example/${'z'.repeat(990)}">z</a>\r\n`);
    const out7 = (await rewriteMessage(seven))!;
    expect(out7.toString()).toContain('Content-Transfer-Encoding: quoted-printable');
    expect(out7.toString('latin1').split('\r\n').every((l) => l.length <= 998)).toBe(true);
    expect((await simpleParser(out7)).html).toContain(`https://t.example/c?u=${'z'.repeat(990)}`);
  });

  it('walks nested multiparts, keeps preamble and epilogue, and does not enter attached messages', async () => {
    const inner = 'Content-Type: message/rfc822\r\n\r\nFrom: c@x.test\r\nContent-Type: text/html\r\n\r\n<a href="https://shop.example/inner">i</a>\r\n';
    const raw = Buffer.from(
      [
        'From: a@x.test',
        'Content-Type: multipart/mixed; boundary="OUT"',
        '',
        'preamble text',
        '--OUT',
        'Content-Type: multipart/alternative; boundary=IN',
        '',
        '--IN',
        'Content-Type: text/plain',
        '',
        'plain https://shop.example/p',
        '--IN',
        'Content-Type: text/html; charset=iso-8859-1',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        '<p>caf=E9 <a href=3D"https://shop.example/h">h</a></p>',
        '--IN--',
        '--OUT',
        inner,
        '--OUT--',
        'epilogue',
        '',
      ].join('\r\n'),
    );
    const out = (await rewriteMessage(raw))!.toString('latin1');
    expect(out).toContain('preamble text\r\n--OUT\r\n');
    expect(out).toContain('plain https://shop.example/p');
    expect(out).toContain('https://shop.example/inner');
    expect(out).toContain('--OUT--\r\nepilogue');
    const parsed = await simpleParser(Buffer.from(out, 'latin1'));
    expect(parsed.html).toContain('<p>café <a href="https://t.example/c?u=h">h</a></p>');
  });

  it('leaves messages without HTML, unknown encodings and undecodable charsets unchanged', async () => {
    expect(await rewriteMessage(Buffer.from('From: a@x.test\r\nContent-Type: text/plain\r\n\r\nhttps://shop.example/x\r\n'))).toBeUndefined();
    expect(await rewriteMessage(Buffer.from('From: a@x.test\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nhttps://shop.example/x\r\n'))).toBeUndefined();
    expect(await rewriteMessage(Buffer.from('From: a@x.test\r\nContent-Type: text/html; charset=x-made-up\r\n\r\n<a href="https://shop.example/x">x</a>\r\n'))).toBeUndefined();
    expect(await rewriteMessage(Buffer.from('From: a@x.test\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\nno delimiters here\r\n'))).toBeUndefined();
  });

  it('decodes quoted-printable: soft breaks, trailing blanks, lower-case hex, a lone = kept; hostile input in one pass', () => {
    expect(decodeQuotedPrintable(Buffer.from('a=3Db=\r\nc  \r\nd=e9=\r\n')).toString('latin1')).toBe('a=bc\r\ndé');
    expect(decodeQuotedPrintable(Buffer.from('x = y=ZZ')).toString()).toBe('x = y=ZZ');
    expect(decodeQuotedPrintable(Buffer.from(`${' '.repeat(200_000)}x`)).length).toBe(200_001);
  });
});
