/**
 * Receiving large mail (BENCHMARKS §6, ARCHITECTURE "stream large bodies"): a message over 1 MiB is
 * spooled by the MX and streamed by every step. A ~5 MB DKIM-signed message through the MX with a
 * rule of S3 (plain and KmsKeyArn-sealed), SNS and Lambda actions: the objects read back with
 * `@aws-sdk/client-s3` are Sesame's added headers followed by the original message byte for byte,
 * with the ETag its MD5; DKIM verifies (PASS) over the streamed body; the SNS action does not publish
 * (over 150 KB, `RECEIVE_SNS_TOO_LARGE`); the Lambda event carries the verdicts; and the spool leaves
 * no blob behind, only the objects' own. A header block that does not end within the first MiB is
 * refused with 554 5.6.0. With rspamd and clamd, an EICAR file at the very end of a large message
 * is found (the whole stream reached clamd).
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateReceiptRuleCommand, CreateReceiptRuleSetCommand, SetActiveReceiptRuleSetCommand } from '@aws-sdk/client-ses';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends } from '../helpers/server.ts';
import { startSnsReceiver, type SnsReceiver } from '../helpers/sns-receiver.ts';

const RSPAMD = process.env.SESAME_TEST_RSPAMD_URL;
const CLAMD = process.env.SESAME_TEST_CLAMD_URL;
if (!RSPAMD || !CLAMD) console.log('[sesame] SESAME_TEST_RSPAMD_URL / SESAME_TEST_CLAMD_URL not set: the large-message scanner test is SKIPPED (scripts/ci-scanners.sh starts both)');

const MB = 1024 * 1024;
const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join('');

/** A local HTTP function recording SES Lambda events; answers CONTINUE. */
async function startFunction(): Promise<{ url: string; events: Array<Record<string, unknown>>; close(): Promise<void> }> {
  const events: Array<Record<string, unknown>> = [];
  const srv: Server = createServer((req, res) => {
    let b = '';
    req.on('data', (c: Buffer) => (b += c.toString()));
    req.on('end', () => {
      events.push(JSON.parse(b) as Record<string, unknown>);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ disposition: 'CONTINUE' }));
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/invoke`, events, close: () => new Promise<void>((resolve) => srv.close(() => resolve())) };
}

/** Files under `dir`, recursively (the file BlobStore keeps one file per blob under blobs/xx/). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) out.push(...(await filesUnder(join(dir, e.name))));
    else out.push(join(dir, e.name));
  }
  return out;
}

/** A multipart message of about `bytes`: text, a base64 attachment, and optionally a last attachment. */
function bigMessage(to: string, subject: string, bytes: number, last?: { filename: string; content: string }): Buffer {
  // Lines differ (a counter in each) so that a misplaced or repeated chunk would change the DKIM body hash.
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = Buffer.from(`${i.toString(36).padStart(8, '0')}${'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx'.slice(0, 68)}`).toString('latin1');
    lines.push(line);
    size += line.length + 2;
  }
  const parts = [
    'From: Outside <news@outside.test>',
    `To: ${to}`,
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W/g, '')}@outside.test>`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'See the attachment.',
    '--b',
    'Content-Type: application/octet-stream; name="big.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    ...lines,
    ...(last ? ['--b', `Content-Type: application/octet-stream; name="${last.filename}"`, `Content-Disposition: attachment; filename="${last.filename}"`, '', last.content] : []),
    '--b--',
    '',
  ];
  return Buffer.from(parts.join('\r\n'), 'latin1');
}

describe.each(testBackends())('receiving large messages (%s)', (backend) => {
  let fixture: SendingFixture;
  let receiver: SnsReceiver;
  let fn: Awaited<ReturnType<typeof startFunction>>;
  let s3: S3Client;
  let topicArn: string;
  const outsideKey = generateKeyPairSync('rsa', { modulusLength: 2048 });

  beforeAll(async () => {
    fixture = await startSendingFixture({
      backend,
      senders: ['inbound.test'],
      env: { ...(RSPAMD ? { SESAME_RSPAMD_URL: RSPAMD } : {}), ...(CLAMD ? { SESAME_CLAMD_URL: CLAMD } : {}) },
    });
    const { server, dns } = fixture;
    dns.set('sel._domainkey.outside.test', 'TXT', [`v=DKIM1; k=rsa; p=${outsideKey.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`]);
    dns.set('outside.test', 'TXT', ['v=spf1 ip4:127.0.0.1 -all']);
    dns.set('_dmarc.outside.test', 'TXT', ['v=DMARC1; p=none']);

    receiver = await startSnsReceiver();
    const sns = server.sns();
    topicArn = (await sns.send(new CreateTopicCommand({ Name: 'large' }))).TopicArn!;
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'http', Endpoint: receiver.url }));
    await receiver.waitFor(() => receiver.confirmations.length === 1, 10_000);

    s3 = new S3Client({ endpoint: server.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: 'mail' }));
    fn = await startFunction();
    const f = await server.instance.core.functions.create(server.instance.config.accountId, 'large', fn.url);

    const v1 = server.ses();
    await v1.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'main' }));
    await v1.send(
      new CreateReceiptRuleCommand({
        RuleSetName: 'main',
        Rule: {
          Name: 'big',
          Enabled: true,
          Recipients: ['big@inbound.test'],
          ScanEnabled: false,
          TlsPolicy: 'Optional',
          Actions: [
            { S3Action: { BucketName: 'mail', ObjectKeyPrefix: 'big/', TopicArn: topicArn } },
            { S3Action: { BucketName: 'mail', ObjectKeyPrefix: 'sealed/', KmsKeyArn: 'arn:aws:kms:us-east-1:000000000000:alias/aws/ses' } },
            { SNSAction: { TopicArn: topicArn, Encoding: 'UTF-8' } },
            { LambdaAction: { FunctionArn: f.arn, InvocationType: 'RequestResponse' } },
          ],
        },
      }),
    );
    await v1.send(
      new CreateReceiptRuleCommand({
        RuleSetName: 'main',
        After: 'big',
        Rule: { Name: 'scanned', Enabled: true, Recipients: ['scan@inbound.test'], ScanEnabled: true, TlsPolicy: 'Optional', Actions: [{ LambdaAction: { FunctionArn: f.arn, InvocationType: 'RequestResponse' } }] },
      }),
    );
    await v1.send(new SetActiveReceiptRuleSetCommand({ RuleSetName: 'main' }));
  }, 60_000);

  afterAll(async () => {
    s3?.destroy();
    await receiver?.close();
    await fn?.close();
    await fixture?.close();
  });

  const mx = () => nodemailer.createTransport({ host: '127.0.0.1', port: fixture.server.mxPort, secure: false, tls: { rejectUnauthorized: false } });
  /** The blobs there are: files under <dataDir>/blobs on SQLite, blob ids in blob_chunks on PostgreSQL. */
  const blobFiles = async (): Promise<string[]> => {
    if (backend === 'sqlite') return filesUnder(join(fixture.server.dataDir, 'blobs'));
    const u = new URL(fixture.server.databaseUrl!);
    const schema = u.searchParams.get('schema')!;
    u.searchParams.delete('schema');
    const c = new pg.Client({ connectionString: u.toString() });
    await c.connect();
    try {
      return (await c.query<{ id: string }>(`SELECT DISTINCT id FROM "${schema}".blob_chunks`)).rows.map((r) => r.id);
    } finally {
      await c.end();
    }
  };
  const objectBytes = async (key: string) => {
    const o = await s3.send(new GetObjectCommand({ Bucket: 'mail', Key: key }));
    return { body: Buffer.from(await o.Body!.transformToByteArray()), etag: o.ETag, length: o.ContentLength };
  };
  const lambdaEvent = (messageId: string) =>
    fn.events.map((e) => (e.Records as Array<{ ses: { mail: { messageId: string }; receipt: Record<string, { status: string }> } }>)[0]!.ses).find((s) => s.mail.messageId === messageId);

  it('stores a 5 MB message byte-exact behind Sesame\'s headers (plain and sealed), DKIM PASS, SNS not published, Lambda invoked, no spool left', async () => {
    const filesBefore = await blobFiles();
    const msg = bigMessage('big@inbound.test', 'Large one', 5 * MB);
    const r = (await dkimSign(msg, { signatureData: [{ signingDomain: 'outside.test', selector: 'sel', privateKey: outsideKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, algorithm: 'rsa-sha256', canonicalization: 'relaxed/relaxed' }] } as never)) as { signatures: string };
    const raw = Buffer.concat([Buffer.from(r.signatures), msg]);
    expect(raw.length).toBeGreaterThan(5 * MB);

    const info = await mx().sendMail({ envelope: { from: 'news@outside.test', to: ['big@inbound.test'] }, raw });
    const messageId = /^250 Ok (\w+)/.exec(info.response)![1]!;

    for (const prefix of ['big/', 'sealed/']) {
      const o = await objectBytes(`${prefix}${messageId}`);
      // The original message, byte for byte, at the end; Sesame's header fields before it.
      expect(o.body.length).toBeGreaterThan(raw.length);
      expect(o.body.subarray(o.body.length - raw.length).equals(raw)).toBe(true);
      const added = o.body.subarray(0, o.body.length - raw.length).toString('latin1');
      expect(added).toMatch(/^Return-Path: <news@outside\.test>\r\nReceived: from /);
      expect(added).toMatch(/\r\n$/);
      expect(added).not.toMatch(/\r\n\r\n/);
      expect(added).toMatch(/Authentication-Results: mta\.sesame\.test;[\s\S]*dkim=pass/);
      expect(added).toContain('Received-SPF: pass');
      expect(o.length).toBe(o.body.length);
      expect(o.etag).toBe(`"${createHash('md5').update(o.body).digest('hex')}"`);
    }

    // Lambda (RequestResponse: invoked before the 250): the verdicts, DKIM PASS over the streamed body.
    const ses = lambdaEvent(messageId);
    expect(ses).toBeDefined();
    expect(ses!.receipt).toMatchObject({ dkimVerdict: { status: 'PASS' }, spfVerdict: { status: 'PASS' }, dmarcVerdict: { status: 'PASS' }, recipients: ['big@inbound.test'] });

    // SNS: over 150 KB, not published (SES), with a warning; the S3 action's topic did get its notification.
    const warning = fixture.server.logs.find((l) => l.code === 'RECEIVE_SNS_TOO_LARGE' && l.messageId === messageId);
    expect(warning).toMatchObject({ topicArn });
    expect(warning!.bytes).toBeGreaterThan(raw.length);
    const about = () => receiver.notifications().filter((n) => (n.mail as { messageId?: string }).messageId === messageId);
    await receiver.waitFor(() => about().length > 0, 10_000);
    expect(about().map((n) => (n.receipt as { action: { type: string } }).action.type)).toEqual(['S3']);
    expect(about()[0]!.content).toBeUndefined();

    // The spool blob is gone; the two objects' blobs are the only new ones (no temporary files either).
    const added = (await blobFiles()).filter((f) => !filesBefore.includes(f));
    expect(added).toHaveLength(2);
    expect(added.every((f) => !f.endsWith('.tmp'))).toBe(true);
  }, 60_000);

  it('refuses with 554 5.6.0 a large message whose header block does not end within its first MiB, and leaves no spool', async () => {
    const filesBefore = await blobFiles();
    // 1.5 MiB of folded header lines, each well under 998 characters.
    const folded = Array.from({ length: 20_000 }, (_, i) => ` x${i}${'y'.repeat(70)}`).join('\r\n');
    const raw = `From: news@outside.test\r\nTo: big@inbound.test\r\nSubject: huge header\r\nX-Long:${folded}\r\n\r\nbody\r\n`;
    expect(raw.length).toBeGreaterThan(1.2 * MB);
    await expect(mx().sendMail({ envelope: { from: 'news@outside.test', to: ['big@inbound.test'] }, raw })).rejects.toMatchObject({ responseCode: 554, response: expect.stringMatching(/^554 5\.6\.0 .*header block/) });
    expect(fixture.server.logs.some((l) => l.code === 'RECEIVE_MALFORMED' && l.reason === 'header block too long')).toBe(true);
    expect((await blobFiles()).filter((f) => !filesBefore.includes(f))).toEqual([]);
  }, 60_000);

  it.skipIf(!RSPAMD || !CLAMD)('scans a large message as a stream: an EICAR file at its very end is found (virus FAIL), spam verdict given', async () => {
    const filesBefore = await blobFiles();
    const raw = bigMessage('scan@inbound.test', 'Large infected', 3 * MB, { filename: 'eicar.com', content: EICAR });
    const info = await mx().sendMail({ envelope: { from: 'news@outside.test', to: ['scan@inbound.test'] }, raw });
    const messageId = /^250 Ok (\w+)/.exec(info.response)![1]!;
    const ses = await eventually(async () => lambdaEvent(messageId), 10_000, 'the Lambda event');
    expect(ses.receipt.virusVerdict!.status).toBe('FAIL');
    expect(['PASS', 'GRAY', 'FAIL']).toContain(ses.receipt.spamVerdict!.status);
    expect((await blobFiles()).filter((f) => !filesBefore.includes(f))).toEqual([]);
  }, 60_000);
});
