/**
 * The console's Access keys page over HTTP, as the browser calls it: list, create (the secret and
 * SMTP password once), revoke, replace a key's policy — each authorized as IAM's action and
 * refused in IAM's words — with the effect checked through the real SES v2 SDK client and an SMTP
 * login. On SQLite, and on PostgreSQL when SESAME_TEST_DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEmailIdentityCommand, ListEmailIdentitiesCommand } from '@aws-sdk/client-sesv2';
import nodemailer from 'nodemailer';
import { deriveSmtpPassword } from '../../src/lib/smtp-password.ts';
import { runCli } from '../helpers/cli.ts';
import { consoleCall, consoleSignIn, type ConsoleCallOptions, type ConsoleSession } from '../helpers/console.ts';
import { startTestServer, testBackends, type TestServer } from '../helpers/server.ts';

interface KeyRow {
  accessKeyId: string;
  description: string;
  status: string;
  isRoot: boolean;
  createdAt: string;
  policy: { Statement: Array<Record<string, unknown>> };
  thisSession: boolean;
}

const ONLY_LIST = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ses:List*', Resource: '*' }] };
const IAM_KEYS = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['iam:ListAccessKeys', 'iam:UpdateAccessKey'], Resource: '*' }] };

describe.each(testBackends())('console access keys (%s)', (backend) => {
  let server: TestServer;
  let root: ConsoleSession;

  beforeAll(async () => {
    server = await startTestServer({ backend });
    root = await signIn(server.accessKeyId, server.secretAccessKey);
  }, 60_000);
  afterAll(() => server?.close());

  const call = (method: string, path: string, options: ConsoleCallOptions = {}) => consoleCall(server, method, `/console/api${path}`, options);
  const signIn = (accessKeyId: string, secretAccessKey: string) => consoleSignIn(server, accessKeyId, secretAccessKey);

  async function create(session: ConsoleSession, body: Record<string, unknown>) {
    const a = await call('POST', '/keys', { session, body });
    expect(a.status, a.text).toBe(200);
    return a.body as unknown as KeyRow & { secretAccessKey: string; smtpPassword: string; region: string };
  }

  async function list(session: ConsoleSession = root): Promise<KeyRow[]> {
    const a = await call('GET', '/keys', { session });
    expect(a.status, a.text).toBe(200);
    return (a.body as { items: KeyRow[] }).items;
  }

  const smtpLogin = (user: string, pass: string) =>
    nodemailer.createTransport({ host: '127.0.0.1', port: server.smtpsPort, secure: true, tls: { rejectUnauthorized: false }, auth: { user, pass } }).verify();

  it('answers none of its routes without a session, and no change without the CSRF token', async () => {
    for (const [method, path] of [
      ['GET', '/keys'],
      ['POST', '/keys'],
      ['POST', `/keys/${server.accessKeyId}/revoke`],
      ['PUT', `/keys/${server.accessKeyId}/policy`],
    ] as const) {
      const a = await call(method, path, method === 'GET' ? {} : { body: {} });
      expect({ method, path, status: a.status, code: a.body.code }).toEqual({ method, path, status: 401, code: 'Unauthenticated' });
    }
    const noCsrf = await call('POST', '/keys', { session: root, csrf: false, body: { description: 'no csrf' } });
    expect(noCsrf).toMatchObject({ status: 403, body: { code: 'InvalidCsrfToken' } });
    expect((await list()).map((k) => k.description)).not.toContain('no csrf');
  });

  it('creates a key whose pair works with the SES v2 SDK and whose SMTP password is the one `sesame keys` prints', async () => {
    const k = await create(root, { description: '  deploy bot  ' });
    expect(k).toMatchObject({ accessKeyId: expect.stringMatching(/^AKIA[A-Z0-9]{16}$/), description: 'deploy bot', status: 'Active', isRoot: false, region: 'us-east-1', thisSession: false });
    expect(k.secretAccessKey).toMatch(/^[A-Za-z0-9/+]{40}$/);
    // The default policy, as `sesame keys create` gives: all of SES.
    expect(k.policy.Statement).toEqual([{ Effect: 'Allow', Action: ['ses:*'], Resource: ['*'] }]);
    // The derivation (published test vector) and the CLI agree with the console.
    expect(deriveSmtpPassword('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'us-east-1')).toBe('BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9');
    expect(k.smtpPassword).toBe(deriveSmtpPassword(k.secretAccessKey, 'us-east-1'));
    const cli = await runCli(['keys', 'smtp-password', k.accessKeyId], {
      SESAME_DATA_DIR: server.dataDir,
      SESAME_ROOT_ACCESS_KEY_ID: server.accessKeyId,
      SESAME_ROOT_SECRET_ACCESS_KEY: server.secretAccessKey,
      ...(server.databaseUrl ? { SESAME_DATABASE_URL: server.databaseUrl } : {}),
    });
    expect(cli.stderr).toBe('');
    expect(cli.stdout.trim()).toBe(k.smtpPassword);

    const client = server.sesv2({ accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey });
    expect((await client.send(new ListEmailIdentitiesCommand({}))).EmailIdentities).toBeDefined();
    await expect(smtpLogin(k.accessKeyId, k.smtpPassword)).resolves.toBe(true);
  });

  it('lists the account’s keys, marks the session’s own, and never sends a secret', async () => {
    const k = await create(root, { description: 'listed' });
    const a = await call('GET', '/keys', { session: root });
    expect(a.status).toBe(200);
    const items = (a.body as { items: KeyRow[] }).items;
    expect(items.find((x) => x.accessKeyId === server.accessKeyId)).toMatchObject({ isRoot: true, status: 'Active', thisSession: true });
    expect(items.find((x) => x.accessKeyId === k.accessKeyId)).toMatchObject({ description: 'listed', isRoot: false, status: 'Active', thisSession: false, createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(a.text).not.toContain(k.secretAccessKey);
    expect(a.text).not.toContain(server.secretAccessKey);
    expect(a.text).not.toContain(k.smtpPassword);
    expect(a.text).not.toMatch(/secret|smtpPassword|sealed/i);
  });

  it('revokes a key: the SDK call then fails with InvalidClientTokenId, its SMTP login fails, its console session ends', async () => {
    const k = await create(root, { description: 'to revoke' });
    const client = server.sesv2({ accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey });
    await client.send(new ListEmailIdentitiesCommand({}));
    const itsSession = await signIn(k.accessKeyId, k.secretAccessKey);
    expect((await call('GET', '/session', { session: itsSession })).status).toBe(200);

    const r = await call('POST', `/keys/${k.accessKeyId}/revoke`, { session: root });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ accessKeyId: k.accessKeyId, status: 'Inactive' });
    await expect(client.send(new ListEmailIdentitiesCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
    await expect(smtpLogin(k.accessKeyId, k.smtpPassword)).rejects.toThrow(/535/);
    expect((await call('GET', '/session', { session: itsSession })).status).toBe(401);
    expect((await list()).find((x) => x.accessKeyId === k.accessKeyId)?.status).toBe('Inactive');
    // Revoking it again changes nothing and is no error.
    expect((await call('POST', `/keys/${k.accessKeyId}/revoke`, { session: root })).body).toMatchObject({ status: 'Inactive' });
  });

  it('revoking the key of one’s own session ends that session: the next call is 401', async () => {
    const k = await create(root, { description: 'self-revoking', policy: JSON.stringify(IAM_KEYS) });
    const mine = await signIn(k.accessKeyId, k.secretAccessKey);
    expect((await list(mine)).find((x) => x.accessKeyId === k.accessKeyId)?.thisSession).toBe(true);
    // A key that may revoke keys still may not revoke a root key: only a root key may.
    const spare = await server.instance.core.accounts.createKey({ description: 'second root', isRoot: true });
    const onRoot = await call('POST', `/keys/${spare.accessKeyId}/revoke`, { session: mine });
    expect(onRoot).toMatchObject({ status: 403, body: { code: 'AccessDenied', message: expect.stringContaining('only a root key may revoke a root key') } });
    expect((await list()).find((x) => x.accessKeyId === spare.accessKeyId)?.status).toBe('Active');
    await call('POST', `/keys/${spare.accessKeyId}/revoke`, { session: root });
    const r = await call('POST', `/keys/${k.accessKeyId}/revoke`, { session: mine });
    expect(r.status, r.text).toBe(200);
    expect((await call('GET', '/keys', { session: mine })).body.code).toBe('Unauthenticated');
  });

  it('replaces a key’s policy: an action it no longer allows is AccessDenied through the SDK', async () => {
    const k = await create(root, { description: 'narrowed' });
    const client = server.sesv2({ accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey });
    await client.send(new CreateEmailIdentityCommand({ EmailIdentity: `before-${backend}.test` }));

    const r = await call('PUT', `/keys/${k.accessKeyId}/policy`, { session: root, body: { policy: JSON.stringify(ONLY_LIST) } });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ accessKeyId: k.accessKeyId, policy: { Statement: [{ Effect: 'Allow', Action: ['ses:List*'], Resource: ['*'] }] } });
    await expect(client.send(new CreateEmailIdentityCommand({ EmailIdentity: `after-${backend}.test` }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: `User: arn:aws:iam::000000000000:user/${k.accessKeyId} is not authorized to perform: ses:CreateEmailIdentity on resource: arn:aws:ses:us-east-1:000000000000:identity/after-${backend}.test because no identity-based policy allows the ses:CreateEmailIdentity action`,
    });
    expect((await client.send(new ListEmailIdentitiesCommand({}))).EmailIdentities).toBeDefined();
    // The policy may also be sent as a JSON object.
    const back = await call('PUT', `/keys/${k.accessKeyId}/policy`, { session: root, body: { policy: { Statement: { Effect: 'Allow', Action: 'ses:*' } } } });
    expect(back.status, back.text).toBe(200);
    await client.send(new CreateEmailIdentityCommand({ EmailIdentity: `again-${backend}.test` }));
  });

  it('refuses a malformed policy with MalformedPolicyDocument, and the old policy stays in force', async () => {
    const k = await create(root, { description: 'malformed', policy: JSON.stringify(ONLY_LIST) });
    const client = server.sesv2({ accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey });
    for (const [policy, reason] of [
      ['{"Statement": [', 'Policy is not valid JSON'],
      ['{"Statement":[{"Effect":"Perhaps","Action":"*"}]}', 'Effect must be "Allow" or "Deny"'],
      ['{"Version":"2012-10-17"}', 'Policy needs at least one Statement'],
      ['   ', 'The policy document is empty'],
      ['[1,2]', 'Policy must be a JSON object'],
    ]) {
      const r = await call('PUT', `/keys/${k.accessKeyId}/policy`, { session: root, body: { policy } });
      expect({ policy, status: r.status, code: r.body.code }).toEqual({ policy, status: 400, code: 'MalformedPolicyDocument' });
      expect(String(r.body.message)).toContain(reason);
    }
    expect((await list()).find((x) => x.accessKeyId === k.accessKeyId)?.policy.Statement).toEqual([{ Effect: 'Allow', Action: ['ses:List*'], Resource: ['*'] }]);
    expect((await client.send(new ListEmailIdentitiesCommand({}))).EmailIdentities).toBeDefined();
    await expect(client.send(new CreateEmailIdentityCommand({ EmailIdentity: `malformed-${backend}.test` }))).rejects.toMatchObject({ name: 'AccessDeniedException' });

    // A malformed policy at creation creates nothing.
    const before = (await list()).length;
    const bad = await call('POST', '/keys', { session: root, body: { description: 'never', policy: '{"Statement":[{"Effect":"Allow"}]}' } });
    expect(bad).toMatchObject({ status: 400, body: { code: 'MalformedPolicyDocument', message: expect.stringContaining('give exactly one of Action or NotAction') } });
    expect((await list()).length).toBe(before);
    const long = await call('POST', '/keys', { session: root, body: { description: 'x'.repeat(257) } });
    expect(long).toMatchObject({ status: 400, body: { code: 'InvalidInput' } });
    expect((await list()).length).toBe(before);
  });

  it('refuses to revoke the last active root key and to edit a root key’s policy', async () => {
    // With a second active root key (a rotated SESAME_ROOT_ACCESS_KEY_ID), one of them may go.
    const spare = await server.instance.core.accounts.createKey({ description: 'spare root', isRoot: true });
    const spareGone = await call('POST', `/keys/${spare.accessKeyId}/revoke`, { session: root });
    expect(spareGone).toMatchObject({ status: 200, body: { accessKeyId: spare.accessKeyId, isRoot: true, status: 'Inactive' } });
    const revoke = await call('POST', `/keys/${server.accessKeyId}/revoke`, { session: root });
    expect(revoke).toMatchObject({ status: 409, body: { code: 'DeleteConflict', message: expect.stringContaining('last active root key') } });
    const edit = await call('PUT', `/keys/${server.accessKeyId}/policy`, { session: root, body: { policy: JSON.stringify(ONLY_LIST) } });
    expect(edit).toMatchObject({ status: 400, body: { code: 'UnmodifiableEntity', message: expect.stringContaining('root key') } });
    // Still root, still active, still allowed everything.
    expect((await list()).find((x) => x.accessKeyId === server.accessKeyId)).toMatchObject({ status: 'Active', isRoot: true, policy: { Statement: [{ Effect: 'Allow', Action: ['*'], Resource: ['*'] }] } });
    await server.sesv2().send(new CreateEmailIdentityCommand({ EmailIdentity: `root-${backend}.test` }));
  });

  it('answers NoSuchEntity for an unknown key and for a key of another account, and changes nothing', async () => {
    const storage = server.instance.storage;
    const other = `${Date.now()}`.padStart(12, '9').slice(-12);
    await storage.accounts.ensure({ id: other, createdAt: Date.now(), settings: {} });
    const theirs = await server.instance.core.accounts.createKey({ accountId: other, description: 'another account' });
    for (const id of ['AKIADOESNOTEXIST0000', theirs.accessKeyId]) {
      const revoke = await call('POST', `/keys/${id}/revoke`, { session: root });
      expect(revoke).toMatchObject({ status: 404, body: { code: 'NoSuchEntity', message: `The Access Key with id ${id} cannot be found.` } });
      const edit = await call('PUT', `/keys/${id}/policy`, { session: root, body: { policy: JSON.stringify(ONLY_LIST) } });
      expect(edit).toMatchObject({ status: 404, body: { code: 'NoSuchEntity', message: `The Access Key with id ${id} cannot be found.` } });
    }
    expect(await storage.accessKeys.get(theirs.accessKeyId)).toMatchObject({ status: 'Active', policy: JSON.stringify(theirs.policy) });
    expect((await list()).map((k) => k.accessKeyId)).not.toContain(theirs.accessKeyId);
  });

  it('a default ses:* key gets AccessDenied on all of it, in IAM’s words, and changes nothing', async () => {
    const k = await create(root, { description: 'ses only' });
    const victim = await create(root, { description: 'victim', policy: JSON.stringify(ONLY_LIST) });
    const s = await signIn(k.accessKeyId, k.secretAccessKey);
    const before = await list();
    const arn = (id: string) => `arn:aws:iam::000000000000:user/${id}`;
    const denied = (action: string, resourceKey: string) => ({
      status: 403,
      body: { code: 'AccessDenied', message: `User: ${arn(k.accessKeyId)} is not authorized to perform: ${action} on resource: ${arn(resourceKey)} because no identity-based policy allows the ${action} action` },
    });
    expect(await call('GET', '/keys', { session: s })).toMatchObject(denied('iam:ListAccessKeys', k.accessKeyId));
    expect(await call('POST', '/keys', { session: s, body: { description: 'escalate', policy: '{"Statement":{"Effect":"Allow","Action":"*"}}' } })).toMatchObject(denied('iam:CreateAccessKey', k.accessKeyId));
    expect(await call('POST', `/keys/${victim.accessKeyId}/revoke`, { session: s })).toMatchObject(denied('iam:UpdateAccessKey', victim.accessKeyId));
    expect(await call('PUT', `/keys/${k.accessKeyId}/policy`, { session: s, body: { policy: '{"Statement":{"Effect":"Allow","Action":"*"}}' } })).toMatchObject(denied('iam:PutUserPolicy', k.accessKeyId));
    // Authorization comes first: an unknown key is AccessDenied too, not NoSuchEntity.
    expect((await call('POST', '/keys/AKIADOESNOTEXIST0000/revoke', { session: s })).body.code).toBe('AccessDenied');
    expect(await list()).toEqual(before);
  });

  it('a key allowed only iam:CreateAccessKey makes keys with its own policy, and cannot name a wider one', async () => {
    const own = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['iam:CreateAccessKey', 'ses:GetAccount'], Resource: ['*'] }] };
    const k = await create(root, { description: 'creator', policy: JSON.stringify(own) });
    const s = await signIn(k.accessKeyId, k.secretAccessKey);
    const before = await list();
    const wider = await call('POST', '/keys', { session: s, body: { description: 'escalate', policy: '{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}' } });
    expect(wider.status).toBe(403);
    expect(wider.body).toMatchObject({ code: 'AccessDenied', message: expect.stringContaining('is not authorized to perform: iam:PutUserPolicy') });
    expect(await list()).toEqual(before);
    const made = await call('POST', '/keys', { session: s, body: { description: 'same as me' } });
    expect(made.status).toBe(200);
    expect(made.body.policy).toEqual(own);
  });
});
