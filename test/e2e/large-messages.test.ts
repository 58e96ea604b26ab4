/**
 * Large messages stream (issue 11, "message bodies stream"): a message over 1 MiB sent through SMTP
 * is spooled into the BlobStore while DATA arrives, signed as it streams from there, queued as a
 * head in its row plus a blob range, and delivered from the blob. What a user sees: the message
 * at the recipient byte for byte (behind Sesame's header changes), with a DKIM signature that
 * verifies; a refused message leaves nothing behind in the data dir; a large built message (v2
 * Simple with a big attachment) and a large tracked message take the same way.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateConfigurationSetCommand, CreateConfigurationSetEventDestinationCommand, SendEmailCommand } from '@aws-sdk/client-sesv2';
import nodemailer from 'nodemailer';
import { simpleParser } from 'mailparser';
import { headerBlockEnd } from '../../src/lib/mime.ts';
import { runCli } from '../helpers/cli.ts';
import { dkimVerify, HAVE_DKIMPY } from '../helpers/dkim.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { testBackends, type TestServer } from '../helpers/server.ts';
import type { SinkMta } from '../helpers/sink.ts';

const MB = 1024 * 1024;
const MESSAGE_ID = /^250 Ok (0100[0-9a-f]{12}-[0-9a-f-]{36}-000000)$/;

/** A raw message of about `size` bytes: headers, then base64-like lines that differ from each other. */
function rawMessage(from: string, to: string, subject: string, size: number, extraHeaders = ''): Buffer {
  const head = `From: ${from}\r\nTo: ${to}\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n${extraHeaders}\r\n`;
  const lines: string[] = [];
  let bytes = head.length;
  for (let i = 0; bytes < size; i++) {
    const line = `${String(i).padStart(8, '0')} ${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2)}\r\n`;
    lines.push(line);
    bytes += line.length;
  }
  return Buffer.from(head + lines.join(''));
}

/** The body of a message: the bytes after its header block. */
function bodyOf(raw: Buffer): Buffer {
  const b = headerBlockEnd(raw);
  if (!b) throw new Error('no header block');
  return raw.subarray(b.bodyStart);
}

/** Blob files under the data dir (SQLite keeps each blob as a file). */
function blobFiles(dataDir: string): string[] {
  const root = join(dataDir, 'blobs');
  let dirs: string[];
  try {
    dirs = readdirSync(root);
  } catch {
    return [];
  }
  return dirs.flatMap((d) => (statSync(join(root, d)).isDirectory() ? readdirSync(join(root, d)).map((f) => join(d, f)) : []));
}

describe.each(testBackends())('large messages stream (%s)', (backend) => {
  let fixture: SendingFixture;
  let server: TestServer;
  let sink: SinkMta;
  let password: string;

  beforeAll(async () => {
    fixture = await startSendingFixture({ backend });
    ({ server, sink } = fixture);
    const r = await runCli(['keys', 'smtp-password', server.accessKeyId], fixture.cliEnv);
    expect(r.code, r.stderr).toBe(0);
    password = r.stdout.trim();
  }, 60_000);
  afterAll(() => fixture?.close());

  const smtp = () => nodemailer.createTransport({ host: '127.0.0.1', port: server.smtpPort, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: server.accessKeyId, pass: password } });
  const arrived = async (rcpt: string, messageId: string) => {
    await sink.waitFor(() => sink.to(rcpt).some((m) => m.raw.includes(messageId)), 30_000, `${messageId} at the sink`);
    return sink.to(rcpt).find((m) => m.raw.includes(messageId))!;
  };

  it('a 6 MB message through SMTP arrives whole, DKIM-signed, delivered from its blob', async () => {
    const before = blobFiles(server.dataDir);
    const raw = rawMessage('Shop <orders@sender.test>', 'big@dest.test', 'Big one', 6 * MB);
    const t = smtp();
    const info = await t.sendMail({ envelope: { from: 'orders@sender.test', to: ['big@dest.test'] }, raw });
    t.close();
    const messageId = MESSAGE_ID.exec(info.response)?.[1];
    expect(messageId, info.response).toBeDefined();
    const got = await arrived('big@dest.test', messageId!);
    expect(bodyOf(got.raw).equals(bodyOf(raw))).toBe(true);
    const text = got.raw.subarray(0, 8192).toString();
    expect(text).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=sender.test;/);
    expect(text).toContain(`Message-ID: <${messageId}@mta.sesame.test>`);
    expect(text).toContain('Subject: Big one');
    if (HAVE_DKIMPY) expect(await dkimVerify(server, 'sender.test', got.raw)).toContain('pass');
    // The row holds the head only; the rest is the spooled blob, read from just after the original header block.
    const row = (await server.instance.storage.queue.message(messageId!))!;
    expect(row.bodyBlob).toBeTruthy();
    expect(row.body.length).toBeLessThan(16 * 1024);
    expect(row.bodyBlob!.offset).toBe(headerBlockEnd(raw)!.bodyStart);
    const spooled = (await server.instance.storage.blobs.get(row.bodyBlob!.id))!;
    expect(spooled.equals(raw)).toBe(true);
    if (backend === 'sqlite') expect(blobFiles(server.dataDir).filter((f) => !before.includes(f))).toEqual([join(row.bodyBlob!.id.slice(0, 2), row.bodyBlob!.id)]);
  });

  it('a large message that is refused leaves no spool behind', async () => {
    const before = blobFiles(server.dataDir);
    const t = smtp();
    const raw = rawMessage('someone@unverified.test', 'big@dest.test', 'Refused', 3 * MB);
    await expect(t.sendMail({ envelope: { from: 'someone@unverified.test', to: ['big@dest.test'] }, raw })).rejects.toMatchObject({ responseCode: 554 });
    // Over SES's 40 MB: refused with 552 while it streams, nothing kept either.
    const huge = rawMessage('orders@sender.test', 'big@dest.test', 'Huge', 41 * MB);
    await expect(t.sendMail({ envelope: { from: 'orders@sender.test', to: ['big@dest.test'] }, raw: huge })).rejects.toMatchObject({ responseCode: 552 });
    t.close();
    if (backend === 'sqlite') expect(blobFiles(server.dataDir)).toEqual(before);
  }, 60_000);

  it('a large built message (v2 Simple, 3 MB attachment) is queued in a blob and delivered intact', async () => {
    const attachment = Buffer.alloc(3 * MB);
    for (let i = 0; i < attachment.length; i++) attachment[i] = (i * 7 + (i >> 9)) & 0xff;
    const { MessageId } = await server.sesv2().send(
      new SendEmailCommand({
        FromEmailAddress: 'orders@sender.test',
        Destination: { ToAddresses: ['attach@dest.test'] },
        Content: { Simple: { Subject: { Data: 'With attachment' }, Body: { Text: { Data: 'See attached.' } }, Attachments: [{ FileName: 'data.bin', RawContent: attachment, ContentType: 'application/octet-stream' }] } },
      }),
    );
    const got = await arrived('attach@dest.test', MessageId!);
    const parsed = await simpleParser(got.raw);
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0]!.content.equals(attachment)).toBe(true);
    if (HAVE_DKIMPY) expect(await dkimVerify(server, 'sender.test', got.raw)).toContain('pass');
    const row = (await server.instance.storage.queue.message(MessageId!))!;
    // The row keeps the header block (what `sesame queue inspect --headers` shows); the blob the whole signed message.
    expect(row.body.toString()).toMatch(/^DKIM-Signature: [^]*\r\nSubject: With attachment\r\n[^]*\r\n\r\n$/);
    expect(row.bodyBlob).toEqual({ id: expect.any(String), offset: row.body.length });
    expect((await server.instance.storage.blobs.get(row.bodyBlob!.id))!.equals(got.raw.subarray(0, got.raw.length))).toBe(true);
  });

  it('a large tracked message is read back for HTML rewriting, and its spool is removed', async () => {
    const v2 = server.sesv2();
    await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'tracked-big' }));
    await v2.send(
      new CreateConfigurationSetEventDestinationCommand({
        ConfigurationSetName: 'tracked-big',
        EventDestinationName: 'metrics',
        EventDestination: { Enabled: true, MatchingEventTypes: ['OPEN', 'CLICK'], CloudWatchDestination: { DimensionConfigurations: [{ DimensionName: 'c', DimensionValueSource: 'MESSAGE_TAG', DefaultDimensionValue: 'none' }] } },
      }),
    );
    const before = blobFiles(server.dataDir);
    const filler = 'x'.repeat(70);
    const html = `<html><body><p>Hello</p><a href="https://shop.example/offer">Offer</a>${`<p>${filler}</p>\r\n`.repeat(30_000)}</body></html>\r\n`;
    const raw = Buffer.from(`From: orders@sender.test\r\nTo: html@dest.test\r\nSubject: Tracked\r\nX-SES-CONFIGURATION-SET: tracked-big\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n${html}`);
    expect(raw.length).toBeGreaterThan(2 * MB);
    const t = smtp();
    const info = await t.sendMail({ envelope: { from: 'orders@sender.test', to: ['html@dest.test'] }, raw });
    t.close();
    const messageId = MESSAGE_ID.exec(info.response)![1]!;
    const got = await arrived('html@dest.test', messageId);
    const body = String((await simpleParser(got.raw)).html);
    expect(body).toContain('<p>Hello</p>');
    expect(body).not.toContain('href="https://shop.example/offer"');
    expect(body).toMatch(/<img [^>]*src="http:\/\/[^"]+\/t\/o\//);
    expect(got.raw.subarray(0, 8192).toString()).not.toMatch(/^X-SES-/im);
    if (HAVE_DKIMPY) expect(await dkimVerify(server, 'sender.test', got.raw)).toContain('pass');
    // The spool was replaced by the rewritten message's own blob.
    const row = (await server.instance.storage.queue.message(messageId))!;
    if (backend === 'sqlite') expect(blobFiles(server.dataDir).filter((f) => !before.includes(f))).toEqual([join(row.bodyBlob!.id.slice(0, 2), row.bodyBlob!.id)]);
  }, 60_000);
});
