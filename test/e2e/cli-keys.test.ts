/**
 * `sesame keys` and `sesame dns` as an operator uses them, against the same data dir as a running
 * server: keys created on the command line work with the SDK at once, revoked keys stop working,
 * and `smtp-password` prints SES's derivation (published test vector).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEmailIdentityCommand, ListEmailIdentitiesCommand } from '@aws-sdk/client-sesv2';
import { deriveSmtpPassword } from '../../src/lib/smtp-password.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('sesame keys / dns', () => {
  let server: TestServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startTestServer();
    env = { SESAME_DATA_DIR: server.dataDir, SESAME_ROOT_ACCESS_KEY_ID: server.accessKeyId, SESAME_ROOT_SECRET_ACCESS_KEY: server.secretAccessKey };
  });
  afterAll(async () => server?.close());

  it('derives the SMTP password of the published test vector', async () => {
    const r = await runCli(['keys', 'smtp-password', '--secret', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '--region', 'us-east-1'], {});
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9');
  });

  it('creates, lists and revokes keys that the API honours at once', async () => {
    const created = await runCli(['keys', 'create', '--description', 'ci', '--json', '--policy', JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'ses:List*', Resource: '*' }] })], env);
    expect(created.code).toBe(0);
    const k = JSON.parse(created.stdout) as { AccessKeyId: string; SecretAccessKey: string; SmtpPassword: string };
    expect(k.SmtpPassword).toBe(deriveSmtpPassword(k.SecretAccessKey, 'us-east-1'));

    const pw = await runCli(['keys', 'smtp-password', k.AccessKeyId], env);
    expect(pw.stdout.trim()).toBe(k.SmtpPassword);

    const client = server.sesv2({ accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey });
    expect((await client.send(new ListEmailIdentitiesCommand({}))).EmailIdentities).toBeDefined();
    await expect(client.send(new CreateEmailIdentityCommand({ EmailIdentity: 'nope.test' }))).rejects.toMatchObject({ name: 'AccessDeniedException' });

    const list = await runCli(['keys', 'list', '--json'], env);
    const keys = JSON.parse(list.stdout) as Array<{ AccessKeyId: string; Status: string; Root: boolean }>;
    expect(keys.find((x) => x.AccessKeyId === k.AccessKeyId)).toMatchObject({ Status: 'Active', Root: false });
    expect(keys.find((x) => x.AccessKeyId === server.accessKeyId)).toMatchObject({ Root: true });
    expect(list.stdout).not.toContain(k.SecretAccessKey);

    const revoked = await runCli(['keys', 'revoke', k.AccessKeyId], env);
    expect(revoked.code).toBe(0);
    await expect(client.send(new ListEmailIdentitiesCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId' });

    const missing = await runCli(['keys', 'revoke', 'AKIADOESNOTEXIST0000'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No access key AKIADOESNOTEXIST0000');
  });

  it('refuses to act on a directory that holds no installation', async () => {
    const r = await runCli(['keys', 'list'], { SESAME_DATA_DIR: `${server.dataDir}-missing` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no Sesame database in');
    expect(r.stderr).toContain('Run "sesame serve" once');
  });

  it('refuses to print the SMTP password of a revoked key', async () => {
    const k = JSON.parse((await runCli(['keys', 'create', '--json'], env)).stdout) as { AccessKeyId: string };
    await runCli(['keys', 'revoke', k.AccessKeyId], env);
    const r = await runCli(['keys', 'smtp-password', k.AccessKeyId], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is revoked');
  });

  it('refuses a malformed policy with the reason', async () => {
    const r = await runCli(['keys', 'create', '--policy', '{"Statement":[{"Effect":"Perhaps","Action":"*"}]}'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Effect must be "Allow" or "Deny"');
  });

  it('prints a zone-file snippet, and says what to do for an unknown domain', async () => {
    await server.sesv2().send(new CreateEmailIdentityCommand({ EmailIdentity: 'zone.test', DkimSigningAttributes: { NextSigningKeyLength: 'RSA_1024_BIT' } }));
    const r = await runCli(['dns', 'zone.test'], { ...env, SESAME_HOSTNAME: 'mta.sesame.test' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[a-z2-7]{32}\._domainkey\.zone\.test\.\t3600\tIN\tTXT\t"v=DKIM1; k=rsa; p=[^"]+"$/m);
    expect(r.stdout).toContain('zone.test.\t3600\tIN\tMX\t10 mta.sesame.test.');
    expect(r.stdout).toContain('_dmarc.zone.test.\t3600\tIN\tTXT\t"v=DMARC1; p=none;');
    const unknown = await runCli(['dns', 'unknown.test'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Email identity unknown.test does not exist. Create it first');
  });
});

describe('a revoked root key named in the environment', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  it('is not brought back by a start with it in the environment: the start fails and says what to do', async () => {
    // Another root key first, so that revoking the environment's one leaves the account managed.
    await server.instance.core.accounts.createKey({ description: 'second root', isRoot: true });
    expect(await server.instance.core.accounts.revokeKey(server.accessKeyId)).toBe(true);
    const r = await runCli(['keys', 'list'], { SESAME_DATA_DIR: server.dataDir, SESAME_ROOT_ACCESS_KEY_ID: server.accessKeyId, SESAME_ROOT_SECRET_ACCESS_KEY: server.secretAccessKey });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`SESAME_ROOT_ACCESS_KEY_ID ${server.accessKeyId} was revoked; a revoked key is not re-activated.`);
    expect((await server.instance.storage.accessKeys.get(server.accessKeyId))?.status).toBe('Inactive');
  });
});
