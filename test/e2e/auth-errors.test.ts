/**
 * SigV4 and permission refusals as an unchanged AWS SDK sees them: wrong secrets, unknown and
 * revoked keys, tampered requests, stale signatures, missing Authorization, a wrong credential
 * scope, and keys whose policy does not allow an action. Every refusal is the typed exception SES
 * gives (name, HTTP status, message) and carries a request id, for both the v2 REST JSON client and
 * the v1 Query client; a refused call stores nothing. On SQLite, and on PostgreSQL when
 * SESAME_TEST_DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEmailIdentityCommand, DeleteEmailIdentityCommand, GetEmailIdentityCommand, ListEmailIdentitiesCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { DeleteIdentityCommand, ListIdentitiesCommand, VerifyDomainIdentityCommand, type SESClient } from '@aws-sdk/client-ses';
import { expectSdkError, offlineResolver, sendRaw, signHeaders, UUID, v1Error, type RawRequest } from '../helpers/aws-wire.ts';
import { startTestServer, testBackends, type TestServer } from '../helpers/server.ts';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const MIN = 60_000;
const INVALID_TOKEN = 'The security token included in the request is invalid.';
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe.each(testBackends())('SigV4 and permission refusals (%s)', (backend) => {
  let server: TestServer;
  let root: SESv2Client;
  let rootCreds: { accessKeyId: string; secretAccessKey: string };

  /** Names of every identity in the account, read with the root key. */
  async function storedIdentities(): Promise<string[]> {
    const out: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await root.send(new ListEmailIdentitiesCommand({ PageSize: 1000, NextToken }));
      out.push(...(page.EmailIdentities ?? []).map((i) => `${i.IdentityType}:${i.IdentityName}`));
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  }

  /** The two SDK clients with the given credentials, each with a call that needs no resources. */
  function both(creds: { accessKeyId: string; secretAccessKey: string }, extra: Record<string, unknown> = {}) {
    const v2 = server.sesv2(creds, extra);
    const v1 = server.ses(creds, extra);
    return [
      { api: 'v2', call: () => v2.send(new ListEmailIdentitiesCommand({})) },
      { api: 'v1', call: () => v1.send(new ListIdentitiesCommand({})) },
    ] as const;
  }

  beforeAll(async () => {
    server = await startTestServer({ backend, start: { resolver: offlineResolver } });
    rootCreds = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
    root = server.sesv2();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses a wrong secret with SignatureDoesNotMatch (403)', async () => {
    for (const { call } of both({ accessKeyId: server.accessKeyId, secretAccessKey: `${server.secretAccessKey}x` })) {
      await expectSdkError(call(), 'SignatureDoesNotMatch', 403, SIGNATURE_MISMATCH);
    }
  });

  it('refuses an unknown key id with InvalidClientTokenId (403)', async () => {
    for (const { call } of both({ accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: server.secretAccessKey })) {
      await expectSdkError(call(), 'InvalidClientTokenId', 403, INVALID_TOKEN);
    }
  });

  it('refuses a revoked key exactly as an unknown one', async () => {
    const key = await server.instance.core.accounts.createKey({ description: 'to be revoked' });
    const creds = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
    for (const { call } of both(creds)) {
      // Works while active; successes carry a request id too.
      expect((await call()).$metadata.requestId).toMatch(UUID);
    }
    expect(await server.instance.core.accounts.revokeKey(key.accessKeyId)).toBe(true);

    const unknownMessages: string[] = [];
    for (const { call } of both({ accessKeyId: 'AKIAUNKNOWNUNKNOWN01', secretAccessKey: key.secretAccessKey })) {
      unknownMessages.push((await expectSdkError(call(), 'InvalidClientTokenId', 403)).message);
    }
    const revokedMessages: string[] = [];
    for (const { call } of both(creds)) {
      revokedMessages.push((await expectSdkError(call(), 'InvalidClientTokenId', 403, INVALID_TOKEN)).message);
    }
    expect(revokedMessages).toEqual(unknownMessages);
  });

  describe('a body changed after signing', () => {
    const v2Signed = JSON.stringify({ EmailIdentity: 'signed.test' });
    const v2Sent = JSON.stringify({ EmailIdentity: 'tampered.test' });
    const v1Signed = 'Action=VerifyDomainIdentity&Version=2010-12-01&Domain=signed.test';
    const v1Sent = 'Action=VerifyDomainIdentity&Version=2010-12-01&Domain=tampered.test';

    it.each([
      ['with x-amz-content-sha256', true, /x-amz-content-sha256/],
      ['without a declared payload hash', false, SIGNATURE_MISMATCH],
    ] as const)('is refused on v2 (%s)', async (_label, applyChecksum, message) => {
      const before = await storedIdentities();
      const req: RawRequest = { method: 'POST', path: '/v2/email/identities', headers: { 'content-type': 'application/json' }, body: v2Signed };
      const headers = await signHeaders(server.url, req, rootCreds, { applyChecksum });
      // The untampered request is accepted, so the refusal below is the tampering's doing.
      const res = await sendRaw(server.url, { ...req, headers, body: v2Sent });
      expect(res.status).toBe(403);
      expect(res.headers['x-amzn-errortype']).toBe('SignatureDoesNotMatch');
      expect(res.headers['x-amzn-requestid']).toMatch(UUID);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const body = JSON.parse(res.body) as { message: string };
      if (typeof message === 'string') expect(body.message).toBe(message);
      else expect(body.message).toMatch(message);
      expect(await storedIdentities()).toEqual(before);
    });

    it.each([
      ['with x-amz-content-sha256', true, /x-amz-content-sha256/],
      ['without a declared payload hash', false, SIGNATURE_MISMATCH],
    ] as const)('is refused on v1 (%s)', async (_label, applyChecksum, message) => {
      const before = await storedIdentities();
      const req: RawRequest = { method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: v1Signed };
      const headers = await signHeaders(server.url, req, rootCreds, { applyChecksum });
      const res = await sendRaw(server.url, { ...req, headers, body: v1Sent });
      expect(res.status).toBe(403);
      expect(res.headers['x-amzn-requestid']).toMatch(UUID);
      expect(res.headers['content-type']).toMatch(/xml/);
      const e = v1Error(res.body);
      expect(e.code).toBe('SignatureDoesNotMatch');
      expect(e.type).toBe('Sender');
      expect(e.requestId).toBe(res.headers['x-amzn-requestid']);
      if (typeof message === 'string') expect(e.message).toBe(message);
      else expect(e.message).toMatch(message);
      expect(await storedIdentities()).toEqual(before);
    });

    it('accepts the same signed requests when nothing was changed (control)', async () => {
      const v2req: RawRequest = { method: 'POST', path: '/v2/email/identities', headers: { 'content-type': 'application/json' }, body: v2Signed };
      const r2 = await sendRaw(server.url, { ...v2req, headers: await signHeaders(server.url, v2req, rootCreds) });
      expect(r2.status, r2.body).toBe(200);
      const v1req: RawRequest = { method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: v1Signed };
      const r1 = await sendRaw(server.url, { ...v1req, headers: await signHeaders(server.url, v1req, rootCreds) });
      expect(r1.status, r1.body).toBe(200);
      expect(await storedIdentities()).toContain('DOMAIN:signed.test');
      expect(await storedIdentities()).not.toContain('DOMAIN:tampered.test');
      await root.send(new DeleteEmailIdentityCommand({ EmailIdentity: 'signed.test' }));
    });

    it('refuses a request sent to another path or query than the one signed', async () => {
      const signedReq: RawRequest = { method: 'GET', path: '/v2/email/identities', query: { PageSize: '5' } };
      const headers = await signHeaders(server.url, signedReq, rootCreds);
      const ok = await sendRaw(server.url, { ...signedReq, headers });
      expect(ok.status).toBe(200);
      const otherQuery = await sendRaw(server.url, { ...signedReq, query: { PageSize: '6' }, headers });
      expect(otherQuery.status).toBe(403);
      expect(otherQuery.headers['x-amzn-errortype']).toBe('SignatureDoesNotMatch');
      const otherPath = await sendRaw(server.url, { method: 'GET', path: '/v2/email/identities/x.test', headers });
      expect(otherPath.status).toBe(403);
      expect(otherPath.headers['x-amzn-errortype']).toBe('SignatureDoesNotMatch');
      expect(otherPath.headers['x-amzn-requestid']).toMatch(UUID);
    });
  });

  it('refuses a signature 16 minutes old ("Signature expired") and accepts one 14 minutes old', async () => {
    for (const { call } of both(rootCreds, { systemClockOffset: -16 * MIN })) {
      await expectSdkError(call(), 'SignatureDoesNotMatch', 403, /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/);
    }
    for (const { call } of both(rootCreds, { systemClockOffset: -14 * MIN })) await call();
  });

  it('refuses a signature dated 16 minutes in the future and accepts 14 minutes ahead', async () => {
    for (const { call } of both(rootCreds, { systemClockOffset: 16 * MIN })) {
      await expectSdkError(call(), 'SignatureDoesNotMatch', 403, /^Signature not yet current: /);
    }
    for (const { call } of both(rootCreds, { systemClockOffset: 14 * MIN })) await call();
  });

  it('answers a request without Authorization with MissingAuthenticationToken (403), v2 JSON', async () => {
    const res = await fetch(`${server.url}/v2/email/identities`);
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationToken');
    expect(res.headers.get('x-amzn-requestid')).toMatch(UUID);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ message: 'Request is missing Authentication Token' });

    const before = await storedIdentities();
    const post = await fetch(`${server.url}/v2/email/identities`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ EmailIdentity: 'anonymous.test' }) });
    expect(post.status).toBe(403);
    expect(post.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationToken');
    expect(await storedIdentities()).toEqual(before);
  });

  it('answers a request without Authorization with MissingAuthenticationToken (403), v1 XML', async () => {
    const before = await storedIdentities();
    const res = await fetch(`${server.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=VerifyDomainIdentity&Version=2010-12-01&Domain=anonymous.test',
    });
    expect(res.status).toBe(403);
    const requestId = res.headers.get('x-amzn-requestid');
    expect(requestId).toMatch(UUID);
    const xml = await res.text();
    expect(xml).toMatch(/^<ErrorResponse xmlns="http:\/\/ses\.amazonaws\.com\/doc\/2010-12-01\/">/);
    expect(v1Error(xml)).toEqual({ type: 'Sender', code: 'MissingAuthenticationToken', message: 'Request is missing Authentication Token', requestId });
    expect(await storedIdentities()).toEqual(before);
  });

  it('refuses a credential scope for another region', async () => {
    for (const { call } of both(rootCreds, { region: 'eu-west-1' })) {
      await expectSdkError(call(), 'SignatureDoesNotMatch', 403, /region/);
    }
  });

  it('refuses a credential scope for another service', async () => {
    const req: RawRequest = { method: 'GET', path: '/v2/email/identities' };
    const res = await sendRaw(server.url, { ...req, headers: await signHeaders(server.url, req, rootCreds, { service: 'iam' }) });
    expect(res.status).toBe(403);
    expect(res.headers['x-amzn-errortype']).toBe('SignatureDoesNotMatch');
    expect(res.headers['x-amzn-requestid']).toMatch(UUID);
  });

  it('refuses an action the key policy does not allow (v2 AccessDeniedException, v1 AccessDenied)', async () => {
    const key = await server.instance.core.accounts.createKey({
      description: 'read-only',
      policy: { Statement: [{ Effect: 'Allow', Action: ['ses:Get*', 'ses:List*'], Resource: '*' }] },
    });
    const creds = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
    const v2: SESv2Client = server.sesv2(creds);
    const v1: SESClient = server.ses(creds);
    const before = await storedIdentities();

    const { region, accountId } = server.instance.config;
    const arn = `arn:aws:ses:${region}:${accountId}:identity/readonly.test`;
    const e2 = await expectSdkError(v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'readonly.test' })), 'AccessDeniedException', 403);
    expect(e2.message).toContain('ses:CreateEmailIdentity');
    expect(e2.message).toContain(arn);
    expect(e2.message).toContain(key.accessKeyId);

    // Reading is allowed.
    const listed = await v2.send(new ListEmailIdentitiesCommand({}));
    expect(listed.EmailIdentities?.map((i) => `${i.IdentityType}:${i.IdentityName}`).sort()).toEqual([...before].sort());
    await v1.send(new ListIdentitiesCommand({}));

    const e1 = await expectSdkError(v1.send(new VerifyDomainIdentityCommand({ Domain: 'readonly.test' })), 'AccessDenied', 403);
    expect(e1.message).toContain('ses:VerifyDomainIdentity');
    expect(e1.message).toContain(arn);
    await expectSdkError(v1.send(new DeleteIdentityCommand({ Identity: 'readonly.test' })), 'AccessDenied', 403, /ses:DeleteIdentity/);

    expect(await storedIdentities()).toEqual(before);
  });

  it('denies only the resource an explicit Deny names', async () => {
    const { region, accountId } = server.instance.config;
    const blockedArn = `arn:aws:ses:${region}:${accountId}:identity/blocked.test`;
    const key = await server.instance.core.accounts.createKey({
      description: 'all but blocked.test',
      policy: {
        Statement: [
          { Effect: 'Allow', Action: 'ses:*', Resource: '*' },
          { Effect: 'Deny', Action: 'ses:*', Resource: blockedArn },
        ],
      },
    });
    const creds = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
    const v2 = server.sesv2(creds);
    const v1 = server.ses(creds);
    const before = await storedIdentities();

    for (const name of ['blocked.test', 'BLOCKED.Test']) {
      const e = await expectSdkError(v2.send(new CreateEmailIdentityCommand({ EmailIdentity: name })), 'AccessDeniedException', 403);
      expect(e.message).toContain(blockedArn);
      expect(e.message).toContain('explicit deny');
    }
    await expectSdkError(v1.send(new VerifyDomainIdentityCommand({ Domain: 'blocked.test' })), 'AccessDenied', 403, /explicit deny/);
    expect(await storedIdentities()).toEqual(before);

    // Everything else is allowed to the same key.
    const created = await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'allowed.test' }));
    expect(created.IdentityType).toBe('DOMAIN');
    const { VerificationToken } = await v1.send(new VerifyDomainIdentityCommand({ Domain: 'allowed-v1.test' }));
    expect(VerificationToken).toBeTruthy();
    expect((await storedIdentities()).sort()).toEqual([...before, 'DOMAIN:allowed-v1.test', 'DOMAIN:allowed.test'].sort());

    // The root key may still create the blocked one; the denying key may not read or delete it.
    await root.send(new CreateEmailIdentityCommand({ EmailIdentity: 'blocked.test' }));
    await expectSdkError(v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'blocked.test' })), 'AccessDeniedException', 403);
    await expectSdkError(v2.send(new DeleteEmailIdentityCommand({ EmailIdentity: 'blocked.test' })), 'AccessDeniedException', 403);
    expect(await storedIdentities()).toContain('DOMAIN:blocked.test');

    for (const n of ['allowed.test', 'allowed-v1.test', 'blocked.test']) await root.send(new DeleteEmailIdentityCommand({ EmailIdentity: n }));
    expect(await storedIdentities()).toEqual(before);
  });
});
