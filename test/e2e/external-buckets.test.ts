/**
 * The S3 receipt action writing to an S3-compatible endpoint (issue 11): the operator links a
 * bucket name to an endpoint with the real `sesame buckets link` CLI, a receipt rule's S3Action
 * names it, and mail received on the MX lands at the endpoint — read back there with the AWS SDK's
 * S3 client. The endpoint is moto's S3 server when it is installed (an independent implementation),
 * and always a second Sesame node's own S3 API. A 12 MB message goes to moto as a multipart upload
 * (Sesame's own S3 API has no multipart uploads, so it gets 6 MB in one PUT). Linking refuses bad
 * input, a rule naming an unlinked bucket is refused, and the secret is never printed.
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateReceiptRuleCommand, CreateReceiptRuleSetCommand, SetActiveReceiptRuleSetCommand } from '@aws-sdk/client-ses';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import nodemailer from 'nodemailer';
import { freePort } from '../helpers/child.ts';
import { runCli } from '../helpers/cli.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/server.ts';

const HAVE_MOTO = (() => {
  try {
    execFileSync('moto_server', ['--help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

async function bodyOf(out: { Body?: unknown }): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of out.Body as AsyncIterable<Uint8Array>) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** An endpoint to link: its URL, credentials, and a client that reads it. */
interface Endpoint {
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  close(): Promise<void>;
}

async function startMoto(): Promise<Endpoint> {
  const port = await freePort();
  const proc: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(url).then((r) => r.ok, () => false)) || undefined, 20_000, 'moto_server up');
  return { url, accessKeyId: 'moto-key', secretAccessKey: 'moto-secret', close: async () => void proc.kill('SIGKILL') };
}

async function startSesameEndpoint(): Promise<Endpoint & { server: TestServer }> {
  const server = await startTestServer({});
  return { server, url: server.url, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, close: () => server.close() };
}

const ENDPOINTS = [...(HAVE_MOTO ? (['moto'] as const) : []), 'sesame'] as const;

describe.each(ENDPOINTS)('S3 action to an S3-compatible endpoint (%s)', (kind) => {
  let fixture: SendingFixture;
  let endpoint: Endpoint;
  let remote: S3Client;

  beforeAll(async () => {
    endpoint = kind === 'moto' ? await startMoto() : await startSesameEndpoint();
    remote = new S3Client({ endpoint: endpoint.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: endpoint.accessKeyId, secretAccessKey: endpoint.secretAccessKey }, maxAttempts: 1 });
    await remote.send(new CreateBucketCommand({ Bucket: 'remote-mail' }));
    fixture = await startSendingFixture({ senders: ['inbound.test'] });
  }, 60_000);
  afterAll(async () => {
    remote?.destroy();
    await fixture?.close();
    await endpoint?.close();
  });

  it('links a bucket with the CLI, and a rule stores received mail at the endpoint (a 6 or 12 MB message, in 8 MiB parts where the endpoint has multipart uploads)', async () => {
    const { server } = fixture;
    const link = await runCli(['buckets', 'link', 'archive', '--endpoint', endpoint.url, '--bucket', 'remote-mail', '--access-key-id', endpoint.accessKeyId, '--secret-access-key', endpoint.secretAccessKey], fixture.cliEnv);
    expect(link.code, link.stderr).toBe(0);
    expect(link.stdout.trim()).toBe(`linked bucket archive to ${endpoint.url}/remote-mail (us-east-1)`);
    const listed = await runCli(['buckets', 'list'], fixture.cliEnv);
    expect(listed.stdout).toContain(`archive              ${endpoint.url}/remote-mail`);
    expect(listed.stdout).not.toContain(endpoint.secretAccessKey);

    const v1 = server.ses();
    await v1.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'ext' }));
    await v1.send(new CreateReceiptRuleCommand({ RuleSetName: 'ext', Rule: { Name: 'archive', Enabled: true, Recipients: ['inbound.test'], ScanEnabled: false, Actions: [{ S3Action: { BucketName: 'archive', ObjectKeyPrefix: 'in/' } }] } }));
    await v1.send(new SetActiveReceiptRuleSetCommand({ RuleSetName: 'ext' }));

    const mx = nodemailer.createTransport({ host: '127.0.0.1', port: server.mxPort, secure: false, tls: { rejectUnauthorized: false } });
    const line = `${'0123456789abcdef'.repeat(4)}\r\n`;
    // Over one 8 MiB part: a multipart upload (moto has it; Sesame's own S3 API takes single PUTs only).
    const sizes = { small: 2_000, big: (kind === 'moto' ? 12 : 6) * 1024 * 1024 };
    const sent: Record<string, Buffer> = {};
    for (const [name, size] of Object.entries(sizes)) {
      const raw = Buffer.from(`From: someone@outside.test\r\nTo: box@inbound.test\r\nSubject: ${name}\r\n\r\n${line.repeat(Math.ceil(size / line.length))}`);
      sent[name] = raw;
      await mx.sendMail({ envelope: { from: 'someone@outside.test', to: ['box@inbound.test'] }, raw });
    }
    mx.close();

    const objects = await eventually(async () => {
      const l = await remote.send(new ListObjectsV2Command({ Bucket: 'remote-mail', Prefix: 'in/' }));
      return (l.Contents?.length ?? 0) >= 2 ? l.Contents! : undefined;
    }, 30_000, 'two objects at the endpoint');
    const bodies = await Promise.all(objects.map(async (o) => bodyOf(await remote.send(new GetObjectCommand({ Bucket: 'remote-mail', Key: o.Key! })))));
    for (const [name, raw] of Object.entries(sent)) {
      const stored = bodies.find((b) => b.includes(`Subject: ${name}\r\n`));
      expect(stored, `${name} stored`).toBeDefined();
      // Sesame's trace and verdict headers in front, then the message as it was sent, byte for byte.
      expect(stored!.subarray(stored!.length - raw.length).equals(raw)).toBe(true);
      expect(stored!.subarray(0, 4096).toString()).toMatch(/^Return-Path: <someone@outside\.test>\r\nReceived: from [^]*Authentication-Results: /);
    }
    // The objects are named by the SES MessageId, as the action's ObjectKeyPrefix + messageId.
    for (const o of objects) expect(o.Key).toMatch(/^in\/[a-z0-9]{20,}$/);
  }, 90_000);

  it('refuses to link what cannot work, and a receipt rule naming an unlinked bucket', async () => {
    const bad = await runCli(['buckets', 'link', 'Bad_Name', '--endpoint', endpoint.url, '--access-key-id', 'k', '--secret-access-key', 's'], fixture.cliEnv);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/not a valid bucket name/);
    const scheme = await runCli(['buckets', 'link', 'other', '--endpoint', 'ftp://example.test', '--access-key-id', 'k', '--secret-access-key', 's'], fixture.cliEnv);
    expect(scheme.stderr).toMatch(/http or https/);
    const twice = await runCli(['buckets', 'link', 'archive', '--endpoint', endpoint.url, '--access-key-id', 'k', '--secret-access-key', 's'], fixture.cliEnv);
    expect(twice.stderr).toMatch(/already linked/);
    await expect(
      fixture.server.ses().send(new CreateReceiptRuleCommand({ RuleSetName: 'ext', Rule: { Name: 'nowhere', Enabled: true, Recipients: ['inbound.test'], Actions: [{ S3Action: { BucketName: 'not-linked' } }] } })),
    ).rejects.toMatchObject({ name: 'InvalidS3ConfigurationException' });
    // The built-in store cannot take a linked name, nor a link a built-in bucket's.
    const s3 = new S3Client({ endpoint: fixture.server.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: fixture.server.accessKeyId, secretAccessKey: fixture.server.secretAccessKey }, maxAttempts: 1 });
    await expect(s3.send(new CreateBucketCommand({ Bucket: 'archive' }))).rejects.toMatchObject({ name: 'BucketAlreadyExists', $metadata: { httpStatusCode: 409 } });
    await s3.send(new CreateBucketCommand({ Bucket: 'local-only' }));
    s3.destroy();
    const clash = await runCli(['buckets', 'link', 'local-only', '--endpoint', endpoint.url, '--access-key-id', 'k', '--secret-access-key', 's'], fixture.cliEnv);
    expect(clash.stderr).toMatch(/built-in object store already has a bucket local-only/);
    const unlink = await runCli(['buckets', 'unlink', 'archive'], fixture.cliEnv);
    expect(unlink.code, unlink.stderr).toBe(0);
    expect((await runCli(['buckets', 'list'], fixture.cliEnv)).stdout).not.toContain('archive ');
  });
});
