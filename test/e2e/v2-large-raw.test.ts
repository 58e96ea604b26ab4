/**
 * A large SES v2 SendEmail with Raw content, through the real @aws-sdk/client-sesv2: the request body
 * is streamed (hashed for SigV4 and base64-decoded into the spool while it arrives, BENCHMARKS §6),
 * the message reaches the sink with its body byte for byte, and a refused request (bad signature,
 * bad base64, too large) answers as the buffered path did and leaves no blob behind.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends } from '../helpers/server.ts';
import { expectSdkError, sendRaw, signed } from '../helpers/aws-wire.ts';
import type { BlobWriter } from '../../src/storage/ports.ts';

/** A MIME message of about `size` bytes: headers, a text part and a base64 attachment. */
function bigMessage(to: string, size: number): Buffer {
  const boundary = `b-${randomBytes(8).toString('hex')}`;
  const attachment = randomBytes(Math.floor((size * 3) / 4)).toString('base64').replace(/.{1,76}/g, '$&\r\n');
  return Buffer.from(
    [
      'From: Big <big@sender.test>',
      `To: ${to}`,
      'Subject: a large message',
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      'See the attachment.',
      `--${boundary}`,
      'Content-Type: application/octet-stream; name="data.bin"',
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="data.bin"',
      '',
      attachment + `--${boundary}--`,
      '',
    ].join('\r\n'),
  );
}

const bodyOf = (m: Buffer) => m.subarray(m.indexOf('\r\n\r\n') + 4);

describe.each(testBackends())('SES v2 SendEmail with a large Raw message (%s)', (backend) => {
  let fixture: SendingFixture;
  /** Blob writers opened since the last reset, and what became of each. */
  let writers: Array<{ outcome: 'open' | 'committed' | 'aborted'; id?: string }> = [];

  beforeAll(async () => {
    fixture = await startSendingFixture({ backend });
    // Watch the BlobStore that core spools into (the same object core holds).
    const blobs = fixture.server.instance.storage.blobs;
    const writer = blobs.writer.bind(blobs);
    blobs.writer = async (): Promise<BlobWriter> => {
      const w = await writer();
      const entry: (typeof writers)[number] = { outcome: 'open' };
      writers.push(entry);
      return {
        write: (chunk) => w.write(chunk),
        commit: async () => {
          const r = await w.commit();
          entry.outcome = 'committed';
          entry.id = r.id;
          return r;
        },
        abort: async () => {
          await w.abort();
          entry.outcome = 'aborted';
        },
      };
    };
  });
  afterAll(() => fixture?.close());

  /** Files under <dataDir>/blobs (SQLite keeps blobs as files; temporary ones end in .tmp). */
  const blobFiles = async () => {
    try {
      return (await readdir(join(fixture.server.dataDir, 'blobs'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
    } catch {
      return [];
    }
  };

  /** No blob was left by the requests since `writers` was reset. */
  const nothingLeft = async (before: string[]) => {
    for (const w of writers) {
      expect(w.outcome).not.toBe('open');
      if (w.id) expect(await fixture.server.instance.storage.blobs.get(w.id)).toBeUndefined();
    }
    expect(await blobFiles()).toEqual(before);
  };

  it('delivers a 5 MB raw message sent by the SDK with its body unchanged, spooled on the way', async () => {
    const raw = bigMessage('big@dest.test', 5 * 1024 * 1024);
    writers = [];
    const { MessageId } = await fixture.server.sesv2().send(new SendEmailCommand({ FromEmailAddress: 'big@sender.test', Destination: { ToAddresses: ['big@dest.test'] }, Content: { Raw: { Data: raw } } }));
    expect(MessageId).toMatch(/^0100[0-9a-f]{12}-/);
    // The request body went to a blob, not into memory whole.
    expect(writers.length).toBeGreaterThan(0);
    await fixture.sink.waitFor(() => fixture.sink.to('big@dest.test').length > 0, 30_000);
    const got = fixture.sink.to('big@dest.test')[0]!.raw;
    expect(got.toString('latin1')).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256;/);
    expect(got.toString('latin1')).toContain('Subject: a large message\r\n');
    expect(bodyOf(got).equals(bodyOf(raw))).toBe(true);
  });

  it('refuses a large request with a bad signature as a small one, leaving no blob', async () => {
    const wrong = { accessKeyId: fixture.server.accessKeyId, secretAccessKey: randomBytes(30).toString('base64') };
    const small = await expectSdkError(
      fixture.server.sesv2(wrong).send(new SendEmailCommand({ FromEmailAddress: 'big@sender.test', Destination: { ToAddresses: ['nobody@dest.test'] }, Content: { Raw: { Data: Buffer.from('Subject: x\r\n\r\nx\r\n') } } })),
      'SignatureDoesNotMatch',
      403,
    );
    const before = await blobFiles();
    writers = [];
    const delivered = fixture.sink.messages.length;
    const raw = bigMessage('nobody@dest.test', 5 * 1024 * 1024);
    await expectSdkError(
      fixture.server.sesv2(wrong).send(new SendEmailCommand({ FromEmailAddress: 'big@sender.test', Destination: { ToAddresses: ['nobody@dest.test'] }, Content: { Raw: { Data: raw } } })),
      'SignatureDoesNotMatch',
      403,
      small.message,
    );
    // It was spooled while it arrived, and dropped once the signature failed.
    expect(writers.length).toBeGreaterThan(0);
    await nothingLeft(before);
    expect(fixture.sink.messages.length).toBe(delivered);
  });

  it('refuses bad base64 in a large body as in a small one, leaving no blob', async () => {
    const creds = { accessKeyId: fixture.server.accessKeyId, secretAccessKey: fixture.server.secretAccessKey };
    const send = async (data: string) => {
      const req = await signed(
        fixture.server.url,
        { method: 'POST', path: '/v2/email/outbound-emails', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ FromEmailAddress: 'big@sender.test', Destination: { ToAddresses: ['nobody@dest.test'] }, Content: { Raw: { Data: data } } }) },
        creds,
      );
      return sendRaw(fixture.server.url, req, 60_000);
    };
    const small = await send('U3ViamVjdDogeA0KDQp4DQo=!');
    expect(small.status).toBe(400);
    expect(small.headers['x-amzn-errortype']).toBe('BadRequestException');
    const before = await blobFiles();
    writers = [];
    const good = randomBytes(3 * 1024 * 1024).toString('base64');
    const large = await send(`${good.slice(0, 2_000_000)}!${good.slice(2_000_000)}`);
    expect({ status: large.status, type: large.headers['x-amzn-errortype'], body: large.body }).toEqual({ status: small.status, type: small.headers['x-amzn-errortype'], body: small.body });
    expect(JSON.parse(large.body)).toEqual({ message: 'Content.Raw.Data must be base64-encoded.' });
    await nothingLeft(before);
    // Valid base64 escaped as some JSON encoders do (\/ and \u002B) is decoded as JSON.parse would.
    const message = bigMessage('escaped@dest.test', 2 * 1024 * 1024);
    const req = await signed(
      fixture.server.url,
      {
        method: 'POST',
        path: '/v2/email/outbound-emails',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ Content: { Raw: { Data: message.toString('base64') } }, FromEmailAddress: 'big@sender.test' }).replace(/\//g, '\\/').replace(/\+/g, '\\u002B'),
      },
      creds,
    );
    const ok = await sendRaw(fixture.server.url, req, 60_000);
    expect(ok.status).toBe(200);
    await fixture.sink.waitFor(() => fixture.sink.to('escaped@dest.test').length > 0, 30_000);
    expect(bodyOf(fixture.sink.to('escaped@dest.test')[0]!.raw).equals(bodyOf(message))).toBe(true);
  });

  it('answers a body over the limit as before (413 → MessageRejected), declared or chunked, leaving no blob', async () => {
    const before = await blobFiles();
    writers = [];
    const limit = 56 * 1024 * 1024;
    const want = { status: 400, type: 'MessageRejected', body: { message: `The request body is larger than ${limit} bytes.` } };
    /** Sends a signed-looking SendEmail head and then the body in chunks until the server answers. */
    const post = (chunked: boolean, path = '/v2/email/outbound-emails') =>
      new Promise<{ status: number; type: unknown; body: unknown }>((resolve, reject) => {
        const u = new URL(fixture.server.url);
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          authorization: `AWS4-HMAC-SHA256 Credential=${fixture.server.accessKeyId}/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=00`,
        };
        if (!chunked) headers['content-length'] = String(limit + 1024);
        const r = httpRequest({ host: u.hostname, port: Number(u.port), method: 'POST', path, headers, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['x-amzn-errortype'], body: JSON.parse(Buffer.concat(chunks).toString()) as unknown }));
        });
        r.on('error', () => {}); // the server may close while we still write
        const piece = Buffer.from('A'.repeat(1024 * 1024));
        let sent = 0;
        r.write('{"Content":{"Raw":{"Data":"');
        const more = () => {
          while (sent < limit + 1024 * 1024 && !r.destroyed) {
            sent += piece.length;
            if (!r.write(piece)) return void r.once('drain', more);
          }
          r.end('"}}}');
        };
        more();
        setTimeout(() => reject(new Error('no answer')), 60_000).unref();
      });
    // What a buffered route (CreateEmailTemplate) answers, as SendEmail did before it streamed.
    expect(await post(false, '/v2/email/templates')).toEqual(want);
    expect(await post(true, '/v2/email/templates')).toEqual(want);
    expect(await post(false)).toEqual(want);
    expect(await post(true)).toEqual(want);
    await eventually(async () => writers.every((w) => w.outcome !== 'open'), 10_000, 'spool writers closed');
    await nothingLeft(before);
  });
});
