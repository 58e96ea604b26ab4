/**
 * Bad input gets SES's error and changes nothing, and no input crashes the server (SPEC "Errors
 * and bad input"). The AWS SDK sends the bad input where it can; signed raw requests
 * (@smithy/signature-v4 over node:http) send what the SDK would refuse to serialize. After every
 * refused request the identities listed with the root key are what they were before. A seeded
 * fuzzer then throws ~500 garbage requests at the HTTP port. On SQLite, and on PostgreSQL when
 * SESAME_TEST_DATABASE_URL is set.
 */
import { generateKeyPair } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateEmailIdentityCommand,
  DeleteEmailIdentityCommand,
  GetEmailIdentityCommand,
  ListEmailIdentitiesCommand,
  ListTagsForResourceCommand,
  PutEmailIdentityDkimAttributesCommand,
  PutEmailIdentityDkimSigningAttributesCommand,
  PutEmailIdentityMailFromAttributesCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type CreateEmailIdentityCommandInput,
  type DkimSigningKeyLength,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import {
  DeleteIdentityCommand,
  GetIdentityVerificationAttributesCommand,
  ListIdentitiesCommand,
  VerifyDomainIdentityCommand,
  VerifyEmailIdentityCommand,
  type SESClient,
  type VerifyDomainIdentityCommandInput,
} from '@aws-sdk/client-ses';
import { expectSdkError, offlineResolver, sendRaw, signed, target, UUID, v1Error, type RawRequest, type RawResponse } from '../helpers/aws-wire.ts';
import { startTestServer, testBackends, type TestServer } from '../helpers/server.ts';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const generateKeyPairAsync = promisify(generateKeyPair);

/** Checks an SES v2 error response: status, x-amzn-ErrorType, request id, JSON `{message}`. */
function expectV2Error(res: RawResponse, status: number, type: string, message?: string | RegExp): string {
  expect({ status: res.status, type: res.headers['x-amzn-errortype'], body: res.body }).toMatchObject({ status, type });
  expect(res.headers['x-amzn-requestid']).toMatch(UUID);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as { message: string };
  expect(typeof body.message).toBe('string');
  if (typeof message === 'string') expect(body.message).toBe(message);
  else if (message) expect(body.message).toMatch(message);
  return body.message;
}

/** Checks an SES v1 error response: status, `<ErrorResponse>` with Type/Code/Message/RequestId, request id header. */
function expectV1Error(res: RawResponse, status: number, code: string | RegExp): { message?: string } {
  expect({ status: res.status, body: res.body }).toMatchObject({ status });
  expect(res.headers['x-amzn-requestid']).toMatch(UUID);
  expect(res.body).toMatch(/^<ErrorResponse xmlns="http:\/\/ses\.amazonaws\.com\/doc\/2010-12-01\/">/);
  const e = v1Error(res.body);
  if (typeof code === 'string') expect(e.code).toBe(code);
  else expect(e.code).toMatch(code);
  expect(e.type).toBe('Sender');
  expect(e.message).toBeTruthy();
  expect(e.requestId).toBe(res.headers['x-amzn-requestid']);
  return e;
}

/** A PRNG with a fixed seed (mulberry32), so the fuzzer sends the same requests every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A base64 PEM body (no armour), as BYODKIM takes it. */
function pemBody(pem: string): string {
  return pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe.each(testBackends())('bad input is refused and changes nothing (%s)', (backend) => {
  let server: TestServer;
  let v2: SESv2Client;
  let v1: SESClient;
  let creds: { accessKeyId: string; secretAccessKey: string };
  let region: string;
  let accountId: string;

  /** Every identity (all fields ListEmailIdentities gives), read with the root key. */
  async function snapshot(): Promise<unknown[]> {
    const out: unknown[] = [];
    let NextToken: string | undefined;
    do {
      const page = await v2.send(new ListEmailIdentitiesCommand({ PageSize: 1000, NextToken }));
      out.push(...(page.EmailIdentities ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  }

  /** Runs `fn` (which must be refused) and asserts the stored identities did not change. */
  async function unchanged<T>(fn: () => Promise<T>): Promise<T> {
    const before = await snapshot();
    const r = await fn();
    expect(await snapshot()).toEqual(before);
    return r;
  }

  /** A signed raw v2 request. */
  async function v2Raw(method: string, path: string, body?: string, query?: Record<string, string | string[]>): Promise<RawResponse> {
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    return sendRaw(server.url, await signed(server.url, { method, path, query, body, headers }, creds));
  }

  /** A signed raw v1 form post. */
  async function v1Raw(body: string | Buffer): Promise<RawResponse> {
    return sendRaw(server.url, await signed(server.url, { method: 'POST', path: '/', body, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } }, creds));
  }

  beforeAll(async () => {
    server = await startTestServer({ backend, start: { resolver: offlineResolver } });
    v2 = server.sesv2();
    v1 = server.ses();
    creds = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
    ({ region, accountId } = server.instance.config);
    // Something to compare against: an identity of each type already stored.
    await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'existing.test', Tags: [{ Key: 'team', Value: 'mail' }] }));
    await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'someone@existing.test' }));
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('SES v2', () => {
    it('refuses a body that is not JSON with BadRequestException', async () => {
      for (const body of ['{"EmailIdentity": ', '{EmailIdentity: "a.test"}', "{'EmailIdentity':'a.test'}", 'EmailIdentity=a.test', '\u0000\u0001\u0002', '{"EmailIdentity":"a.test"}}']) {
        await unchanged(async () => expectV2Error(await v2Raw('POST', '/v2/email/identities', body), 400, 'BadRequestException', 'The request body is not valid JSON.'));
      }
    });

    it('refuses a JSON body that is not an object with BadRequestException', async () => {
      for (const body of ['["a.test"]', '[{"EmailIdentity":"a.test"}]', 'null', '"a.test"', '5', 'true']) {
        await unchanged(async () => expectV2Error(await v2Raw('POST', '/v2/email/identities', body), 400, 'BadRequestException', 'The request body must be a JSON object.'));
      }
    });

    it('refuses members of the wrong type with BadRequestException naming the member', async () => {
      const cases: Array<[unknown, RegExp]> = [
        [{ EmailIdentity: 5 }, /EmailIdentity/],
        [{ EmailIdentity: ['a.test'] }, /EmailIdentity/],
        [{ EmailIdentity: { Name: 'a.test' } }, /EmailIdentity/],
        [{ EmailIdentity: true }, /EmailIdentity/],
        [{ EmailIdentity: 'a.test', Tags: 'x' }, /Tags/],
        [{ EmailIdentity: 'a.test', Tags: { Key: 'k', Value: 'v' } }, /Tags/],
        [{ EmailIdentity: 'a.test', Tags: [{ Key: 5, Value: 'v' }] }, /Key/],
        [{ EmailIdentity: 'a.test', Tags: [{ Key: 'k', Value: 5 }] }, /Value/],
        [{ EmailIdentity: 'a.test', Tags: ['k=v'] }, /Key/],
        [{ EmailIdentity: 'a.test', DkimSigningAttributes: 'x' }, /DkimSigningAttributes/],
        [{ EmailIdentity: 'a.test', DkimSigningAttributes: ['x'] }, /DkimSigningAttributes/],
        [{ EmailIdentity: 'a.test', DkimSigningAttributes: { NextSigningKeyLength: 2048 } }, /NextSigningKeyLength/],
        [{ EmailIdentity: 'a.test', DkimSigningAttributes: { DomainSigningSelector: 1, DomainSigningPrivateKey: 'x' } }, /DomainSigningSelector/],
        [{ EmailIdentity: 'a.test', ConfigurationSetName: 7 }, /ConfigurationSetName/],
      ];
      for (const [body, message] of cases) {
        await unchanged(async () => expectV2Error(await v2Raw('POST', '/v2/email/identities', JSON.stringify(body)), 400, 'BadRequestException', message));
      }
    });

    it('refuses a missing EmailIdentity with BadRequestException', async () => {
      await unchanged(() => expectSdkError(v2.send(new CreateEmailIdentityCommand({} as CreateEmailIdentityCommandInput)), 'BadRequestException', 400, /EmailIdentity is required/));
      await unchanged(() => expectSdkError(v2.send(new CreateEmailIdentityCommand({ EmailIdentity: '' })), 'BadRequestException', 400, /EmailIdentity/));
      await unchanged(async () => expectV2Error(await v2Raw('POST', '/v2/email/identities', '{}'), 400, 'BadRequestException', /EmailIdentity is required/));
      await unchanged(async () => expectV2Error(await v2Raw('POST', '/v2/email/identities', '{"EmailIdentity":null}'), 400, 'BadRequestException', /EmailIdentity is required/));
      await unchanged(async () => expectV2Error(await v2Raw('POST', '/v2/email/identities'), 400, 'BadRequestException', /EmailIdentity is required/));
    });

    it('refuses invalid domain names with BadRequestException', async () => {
      const name300 = `${`${'a'.repeat(49)}.`.repeat(5)}${'b'.repeat(45)}.test`;
      expect(name300).toHaveLength(300);
      const invalid = [
        '-bad-.test',
        'bad-.test',
        '-bad.test',
        'a..b',
        '.a.test',
        'exa mple.com',
        'localhost',
        'test',
        name300,
        `${'a'.repeat(64)}.test`,
        'under_score.test',
        'example.123',
        'exa\tmple.com',
        'a/b.test',
        'a%2eb.test',
      ];
      for (const EmailIdentity of invalid) {
        await unchanged(() => expectSdkError(v2.send(new CreateEmailIdentityCommand({ EmailIdentity })), 'BadRequestException', 400, /^Invalid domain name/));
      }
    });

    it('accepts names at the limits (63-character label, 253-character domain) and serves them on every path', async () => {
      const label63 = `${'c'.repeat(63)}.test`;
      const name253 = `${`${'d'.repeat(62)}.`.repeat(3)}${'e'.repeat(59)}.test`;
      const address = `${'l'.repeat(64)}@${'f'.repeat(60)}.test`;
      expect(name253).toHaveLength(253);
      for (const EmailIdentity of [label63, name253, address]) {
        await v2.send(new CreateEmailIdentityCommand({ EmailIdentity, DkimSigningAttributes: EmailIdentity.includes('@') ? undefined : { NextSigningKeyLength: 'RSA_1024_BIT' } }));
        // GET and DELETE carry the name in the path.
        const got = await v2.send(new GetEmailIdentityCommand({ EmailIdentity }));
        expect(got.IdentityType).toBe(EmailIdentity.includes('@') ? 'EMAIL_ADDRESS' : 'DOMAIN');
        await v2.send(new DeleteEmailIdentityCommand({ EmailIdentity }));
      }
    });

    it('stores a Unicode domain as Punycode', async () => {
      const puny = domainToASCII('ünïcode.test');
      expect(puny).toMatch(/^xn--[a-z0-9-]+\.test$/);
      const created = await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'ünïcode.test' }));
      expect(created.IdentityType).toBe('DOMAIN');
      const names = ((await snapshot()) as Array<{ IdentityName?: string }>).map((i) => i.IdentityName);
      expect(names).toContain(puny);
      expect(names).not.toContain('ünïcode.test');
      expect((await v2.send(new GetEmailIdentityCommand({ EmailIdentity: puny }))).IdentityType).toBe('DOMAIN');
      expect((await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'ÜNÏCODE.test' }))).IdentityType).toBe('DOMAIN');
      await expectSdkError(v2.send(new CreateEmailIdentityCommand({ EmailIdentity: puny })), 'AlreadyExistsException', 400);
      await v2.send(new DeleteEmailIdentityCommand({ EmailIdentity: 'ünïcode.test' }));
      expect(((await snapshot()) as Array<{ IdentityName?: string }>).map((i) => i.IdentityName)).not.toContain(puny);
    });

    it('refuses invalid email addresses with BadRequestException', async () => {
      for (const EmailIdentity of ['@x.test', 'a@', '@', 'a b@x.test', 'a@b@x.test', 'a@-x.test', 'a@localhost', '"quoted"@x.test', 'ä@x.test', `${'l'.repeat(65)}@x.test`, 'a..b@x.test', '.a@x.test']) {
        await unchanged(() => expectSdkError(v2.send(new CreateEmailIdentityCommand({ EmailIdentity })), 'BadRequestException', 400, /^Invalid (email address|domain name)/));
      }
      await unchanged(() =>
        expectSdkError(
          v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'someone@dkim.test', DkimSigningAttributes: { NextSigningKeyLength: 'RSA_1024_BIT' } })),
          'BadRequestException',
          400,
          /domain identity/,
        ),
      );
    });

    it('refuses BYODKIM with a bad key or selector with BadRequestException', async () => {
      const [rsa2048, rsa4096, rsa512, ec] = await Promise.all([
        generateKeyPairAsync('rsa', { modulusLength: 2048 }),
        generateKeyPairAsync('rsa', { modulusLength: 4096 }),
        generateKeyPairAsync('rsa', { modulusLength: 512 }),
        generateKeyPairAsync('ec', { namedCurve: 'prime256v1' }),
      ]);
      const good = pemBody(rsa2048.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
      const cases: Array<[{ DomainSigningSelector?: string; DomainSigningPrivateKey?: string }, RegExp]> = [
        [{ DomainSigningSelector: 'sel', DomainSigningPrivateKey: 'garbage' }, /DomainSigningPrivateKey/],
        [{ DomainSigningSelector: 'sel', DomainSigningPrivateKey: Buffer.from('not a key at all, just text').toString('base64') }, /DomainSigningPrivateKey/],
        [{ DomainSigningSelector: 'sel', DomainSigningPrivateKey: good.slice(0, 200) }, /DomainSigningPrivateKey/],
        [{ DomainSigningSelector: 'sel', DomainSigningPrivateKey: pemBody(rsa4096.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()) }, /4096/],
        [{ DomainSigningSelector: 'sel', DomainSigningPrivateKey: pemBody(rsa512.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()) }, /512/],
        [{ DomainSigningSelector: 'sel', DomainSigningPrivateKey: pemBody(ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()) }, /RSA/],
        [{ DomainSigningSelector: 'sel', DomainSigningPrivateKey: 'A'.repeat(20481) }, /20,480/],
        [{ DomainSigningSelector: 'bad_selector', DomainSigningPrivateKey: good }, /DomainSigningSelector/],
        [{ DomainSigningSelector: '-sel', DomainSigningPrivateKey: good }, /DomainSigningSelector/],
        [{ DomainSigningSelector: 'sel.sub', DomainSigningPrivateKey: good }, /DomainSigningSelector/],
        [{ DomainSigningSelector: 's'.repeat(64), DomainSigningPrivateKey: good }, /DomainSigningSelector/],
        [{ DomainSigningSelector: '', DomainSigningPrivateKey: good }, /DomainSigningSelector/],
        [{ DomainSigningPrivateKey: good }, /DomainSigningSelector/],
        [{ DomainSigningSelector: 'sel' }, /DomainSigningPrivateKey/],
      ];
      for (const [DkimSigningAttributes, message] of cases) {
        await unchanged(() => expectSdkError(v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'byo.test', DkimSigningAttributes })), 'BadRequestException', 400, message));
      }
      // The good key with a good selector is accepted (the refusals above were the bad parts' doing).
      const ok = await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'byo.test', DkimSigningAttributes: { DomainSigningSelector: 'sel', DomainSigningPrivateKey: good } }));
      expect(ok.DkimAttributes?.SigningAttributesOrigin).toBe('EXTERNAL');
      // Switching an existing identity to a bad key changes nothing either.
      const before = await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'byo.test' }));
      await expectSdkError(
        v2.send(new PutEmailIdentityDkimSigningAttributesCommand({ EmailIdentity: 'byo.test', SigningAttributesOrigin: 'EXTERNAL', SigningAttributes: { DomainSigningSelector: 'sel2', DomainSigningPrivateKey: 'garbage' } })),
        'BadRequestException',
        400,
      );
      await expectSdkError(
        v2.send(new PutEmailIdentityDkimSigningAttributesCommand({ EmailIdentity: 'byo.test', SigningAttributesOrigin: 'BOGUS' as 'EXTERNAL' })),
        'BadRequestException',
        400,
      );
      expect((await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'byo.test' }))).DkimAttributes).toEqual(before.DkimAttributes);
      await v2.send(new DeleteEmailIdentityCommand({ EmailIdentity: 'byo.test' }));
    });

    it('refuses NextSigningKeyLength RSA_4096_BIT with BadRequestException', async () => {
      for (const len of ['RSA_4096_BIT', 'rsa_2048_bit', '2048', '']) {
        await unchanged(() =>
          expectSdkError(
            v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'keylen.test', DkimSigningAttributes: { NextSigningKeyLength: len as DkimSigningKeyLength } })),
            'BadRequestException',
            400,
            /NextSigningKeyLength/,
          ),
        );
      }
    });

    it('refuses creating the same identity twice with AlreadyExistsException and keeps the first', async () => {
      const before = await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'existing.test' }));
      for (const EmailIdentity of ['existing.test', 'EXISTING.test', 'existing.test.']) {
        await unchanged(() => expectSdkError(v2.send(new CreateEmailIdentityCommand({ EmailIdentity })), 'AlreadyExistsException', 400, /existing\.test/));
      }
      await unchanged(() => expectSdkError(v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'someone@EXISTING.test' })), 'AlreadyExistsException', 400));
      // The second call with other tags and key length must not have touched the first.
      await expectSdkError(
        v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'existing.test', Tags: [{ Key: 'team', Value: 'other' }], DkimSigningAttributes: { NextSigningKeyLength: 'RSA_1024_BIT' } })),
        'AlreadyExistsException',
        400,
      );
      const after = await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'existing.test' }));
      expect(after.DkimAttributes).toEqual(before.DkimAttributes);
      expect(after.Tags).toEqual([{ Key: 'team', Value: 'mail' }]);
    });

    it('answers operations on an unknown identity with NotFoundException (404)', async () => {
      await unchanged(async () => {
        await expectSdkError(v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'unknown.test' })), 'NotFoundException', 404, /unknown\.test/);
        await expectSdkError(v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'nobody@existing.test' })), 'NotFoundException', 404);
        await expectSdkError(v2.send(new DeleteEmailIdentityCommand({ EmailIdentity: 'unknown.test' })), 'NotFoundException', 404, /unknown\.test/);
        await expectSdkError(v2.send(new PutEmailIdentityDkimAttributesCommand({ EmailIdentity: 'unknown.test', SigningEnabled: true })), 'NotFoundException', 404);
        await expectSdkError(v2.send(new PutEmailIdentityDkimAttributesCommand({ EmailIdentity: 'unknown.test', SigningEnabled: false })), 'NotFoundException', 404);
        await expectSdkError(v2.send(new PutEmailIdentityMailFromAttributesCommand({ EmailIdentity: 'unknown.test', MailFromDomain: 'mail.unknown.test' })), 'NotFoundException', 404);
        await expectSdkError(v2.send(new PutEmailIdentityDkimSigningAttributesCommand({ EmailIdentity: 'unknown.test', SigningAttributesOrigin: 'AWS_SES' })), 'NotFoundException', 404);
      });
    });

    it('refuses a MAIL FROM domain that is not a subdomain with BadRequestException', async () => {
      await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'mailfrom.test' }));
      for (const MailFromDomain of ['other.test', 'mailfrom.test', 'notmailfrom.test', 'bounce.notmailfrom.test', 'mailfrom.test.evil.test', 'bad domain.mailfrom.test', '-x.mailfrom.test']) {
        await unchanged(() => expectSdkError(v2.send(new PutEmailIdentityMailFromAttributesCommand({ EmailIdentity: 'mailfrom.test', MailFromDomain })), 'BadRequestException', 400, /MAIL FROM/));
      }
      await unchanged(() =>
        expectSdkError(
          v2.send(new PutEmailIdentityMailFromAttributesCommand({ EmailIdentity: 'mailfrom.test', MailFromDomain: 'bounce.mailfrom.test', BehaviorOnMxFailure: 'BOUNCE' as 'REJECT_MESSAGE' })),
          'BadRequestException',
          400,
          /BehaviorOnMxFailure/,
        ),
      );
      const r = await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'mailfrom.test' }));
      expect(r.MailFromAttributes).toBeUndefined();
      // A subdomain is accepted.
      await v2.send(new PutEmailIdentityMailFromAttributesCommand({ EmailIdentity: 'mailfrom.test', MailFromDomain: 'bounce.mailfrom.test' }));
      await v2.send(new DeleteEmailIdentityCommand({ EmailIdentity: 'mailfrom.test' }));
    });

    it('answers TagResource on an unknown ARN with NotFoundException and a malformed ARN with BadRequestException', async () => {
      const arn = (name: string, r = region, a = accountId) => `arn:aws:ses:${r}:${a}:identity/${name}`;
      const tagsBefore = await v2.send(new ListTagsForResourceCommand({ ResourceArn: arn('existing.test') }));
      expect(tagsBefore.Tags).toEqual([{ Key: 'team', Value: 'mail' }]);
      await unchanged(async () => {
        for (const ResourceArn of [arn('unknown.test'), arn('existing.test', 'eu-west-1'), arn('existing.test', region, '123456789012'), `arn:aws:ses:${region}:${accountId}:configuration-set/none`]) {
          await expectSdkError(v2.send(new TagResourceCommand({ ResourceArn, Tags: [{ Key: 'k', Value: 'v' }] })), 'NotFoundException', 404, /does not exist/);
          await expectSdkError(v2.send(new ListTagsForResourceCommand({ ResourceArn })), 'NotFoundException', 404);
          await expectSdkError(v2.send(new UntagResourceCommand({ ResourceArn, TagKeys: ['k'] })), 'NotFoundException', 404);
        }
        for (const ResourceArn of ['not-an-arn', 'arn:aws:sns:us-east-1:000000000000:topic', 'arn:aws:ses:us-east-1:000000000000:identity/']) {
          await expectSdkError(v2.send(new TagResourceCommand({ ResourceArn, Tags: [{ Key: 'k', Value: 'v' }] })), 'BadRequestException', 400);
        }
        // Bad tags on a real resource.
        const badTags: unknown[] = [[], [{ Key: '', Value: 'v' }], [{ Key: 'aws:x', Value: 'v' }], [{ Key: 'k'.repeat(129), Value: 'v' }], [{ Key: 'k', Value: 'v'.repeat(257) }], [{ Key: 'd', Value: '1' }, { Key: 'd', Value: '2' }], 'x'];
        for (const Tags of badTags) {
          const res = await v2Raw('POST', '/v2/email/tags', JSON.stringify({ ResourceArn: arn('existing.test'), Tags }));
          expectV2Error(res, 400, 'BadRequestException');
        }
      });
      expect((await v2.send(new ListTagsForResourceCommand({ ResourceArn: arn('existing.test') }))).Tags).toEqual([{ Key: 'team', Value: 'mail' }]);
    });

    it('never half-stores an identity whose tags the database cannot take (NUL characters)', async () => {
      // SES would refuse such tags (BadRequestException); storing identity and tags whole is tolerable;
      // an internal error that leaves the identity stored without its tags is not.
      const before = await snapshot();
      const res = await v2Raw('POST', '/v2/email/identities', JSON.stringify({ EmailIdentity: 'nul-tags.test', Tags: [{ Key: 'k\u0000', Value: 'v\u0000' }] }));
      const after = (await snapshot()) as Array<{ IdentityName?: string }>;
      const stored = after.some((i) => i.IdentityName === 'nul-tags.test');
      try {
        if (res.status === 200) {
          const tags = await v2.send(new ListTagsForResourceCommand({ ResourceArn: `arn:aws:ses:${region}:${accountId}:identity/nul-tags.test` }));
          expect({ status: res.status, stored, tags: tags.Tags }).toEqual({ status: 200, stored: true, tags: [{ Key: 'k\u0000', Value: 'v\u0000' }] });
        } else {
          expect({ status: res.status, type: res.headers['x-amzn-errortype'], stored }, res.body).toEqual({ status: 400, type: 'BadRequestException', stored: false });
          expect(after).toEqual(before);
        }
      } finally {
        if (stored) await v2.send(new DeleteEmailIdentityCommand({ EmailIdentity: 'nul-tags.test' }));
      }
    });

    it('answers TagResource on an ARN with a NUL character without an internal error', async () => {
      await unchanged(async () => {
        const res = await v2Raw('POST', '/v2/email/tags', JSON.stringify({ ResourceArn: `arn:aws:ses:${region}:${accountId}:identity/a\u0000.test`, Tags: [{ Key: 'k', Value: 'v' }] }));
        expect(res.status, `${res.status} ${res.body}`).toBeLessThan(500);
        expect(['NotFoundException', 'BadRequestException']).toContain(res.headers['x-amzn-errortype']);
      });
    });

    it('refuses a bad PageSize or NextToken on ListEmailIdentities with BadRequestException', async () => {
      await unchanged(async () => {
        for (const PageSize of [0, 5000, -1, 1001]) {
          await expectSdkError(v2.send(new ListEmailIdentitiesCommand({ PageSize })), 'BadRequestException', 400, /PageSize/);
        }
        for (const NextToken of ['not a token!', 'zzzz', '%%%', '////', 'x'.repeat(2000)]) {
          await expectSdkError(v2.send(new ListEmailIdentitiesCommand({ NextToken })), 'BadRequestException', 400, /NextToken/);
        }
        for (const query of <Array<Record<string, string | string[]>>>[{ PageSize: 'abc' }, { PageSize: '1.5' }, { PageSize: '' }, { PageSize: '99999999999999999999' }, { PageSize: ['1', '2'] }, { NextToken: ['a', 'b'] }]) {
          expectV2Error(await v2Raw('GET', '/v2/email/identities', undefined, query), 400, 'BadRequestException');
        }
        // A well-formed token the server never issued, whose name holds a NUL: a page or BadRequest, not a 500.
        for (const NextToken of [Buffer.from('a\u0000', 'utf8').toString('base64url'), Buffer.from('\u0000', 'utf8').toString('base64url')]) {
          const res = await v2Raw('GET', '/v2/email/identities', undefined, { NextToken });
          expect(res.status, `NextToken=${NextToken}: ${res.status} ${res.body}`).toBeLessThan(500);
          if (res.status !== 200) expectV2Error(res, 400, 'BadRequestException');
        }
      });
    });

    it('pages through 7 identities, 3 at a time, returning each exactly once in order', async () => {
      const names = ['page-g.test', 'page-a.test', 'page-e.test', 'page-c.test', 'page-b.test', 'page-f.test', 'page-d.test'];
      for (const EmailIdentity of names) await v2.send(new CreateEmailIdentityCommand({ EmailIdentity, DkimSigningAttributes: { NextSigningKeyLength: 'RSA_1024_BIT' } }));
      const all = ((await snapshot()) as Array<{ IdentityName?: string }>).map((i) => i.IdentityName!);
      const seen: string[] = [];
      const sizes: number[] = [];
      let NextToken: string | undefined;
      let pages = 0;
      do {
        const page = await v2.send(new ListEmailIdentitiesCommand({ PageSize: 3, NextToken }));
        const items = (page.EmailIdentities ?? []).map((i) => i.IdentityName!);
        expect(items.length).toBeLessThanOrEqual(3);
        sizes.push(items.length);
        seen.push(...items);
        NextToken = page.NextToken;
        expect(++pages).toBeLessThan(50);
      } while (NextToken);
      expect(seen).toEqual(all);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual([...seen].sort());
      const paged = seen.filter((n) => n.startsWith('page-'));
      expect(paged).toEqual([...names].sort());
      expect(sizes.slice(0, -1).every((s) => s === 3)).toBe(true);
      for (const EmailIdentity of names) await v2.send(new DeleteEmailIdentityCommand({ EmailIdentity }));
    });

    it('answers an unknown path under /v2/email with 404', async () => {
      for (const [method, path] of [
        ['GET', '/v2/email/nope'],
        ['POST', '/v2/email/identities/existing.test/unknown'],
        ['PATCH', '/v2/email/identities'],
        ['GET', '/v2/email/'],
        ['DELETE', '/v2/email/tags/x'],
      ] as const) {
        await unchanged(async () => {
          const res = await v2Raw(method, path, method === 'GET' || method === 'DELETE' ? undefined : '{}');
          expect(res.status, `${method} ${path}: ${res.body}`).toBe(404);
          expect(res.headers['x-amzn-requestid']).toMatch(UUID);
          expect(res.headers['x-amzn-errortype']).toBeTruthy();
          expect((JSON.parse(res.body) as { message: string }).message).toContain(path);
        });
      }
    });

    it('answers a path whose percent-encoding is broken with an SES error carrying a request id', async () => {
      const seen: Array<Record<string, unknown>> = [];
      for (const path of ['/v2/email/identities/%zz', '/v2/email/identities/%E2%82', '/v2/email/identities/a%00b.test', '/v2/email/identities/%ff%fe/dkim']) {
        const res = await unchanged(() => v2Raw('GET', path));
        seen.push({ request: `GET ${path}`, status: res.status, requestId: UUID.test(String(res.headers['x-amzn-requestid'])), errorType: res.headers['x-amzn-errortype'], body: res.body });
      }
      expect(seen).toEqual(
        seen.map((r) => ({ ...r, status: expect.toSatisfy((s: number) => s >= 400 && s < 500, '4xx'), requestId: true, errorType: expect.stringMatching(/^(BadRequestException|NotFoundException)$/) })),
      );
    });

    it('answers a signed request with a malformed Content-Type as SES would: served, or an SES error with a request id', async () => {
      // Serving a correctly signed JSON body whatever its Content-Type says is acceptable; a bare
      // framework error (no x-amzn-ErrorType, no x-amzn-RequestId) is not something an SDK can read.
      const seen: Array<Record<string, unknown>> = [];
      for (const contentType of [';;;', 'application/json; charset', '/', 'a b']) {
        const name = 'ctype.test';
        const req = await signed(server.url, { method: 'POST', path: '/v2/email/identities', headers: { 'content-type': contentType }, body: JSON.stringify({ EmailIdentity: name }) }, creds);
        const before = await snapshot();
        const res = await sendRaw(server.url, req);
        const after = await snapshot();
        if (res.status === 200) await v2.send(new DeleteEmailIdentityCommand({ EmailIdentity: name }));
        seen.push({
          contentType,
          status: res.status,
          requestId: UUID.test(String(res.headers['x-amzn-requestid'])),
          errorType: res.headers['x-amzn-errortype'],
          storedOnlyIfServed: res.status === 200 ? after.length === before.length + 1 : JSON.stringify(after) === JSON.stringify(before),
          body: res.body,
        });
      }
      expect(seen).toEqual(
        seen.map((r) => ({
          ...r,
          requestId: true,
          storedOnlyIfServed: true,
          ...(r.status === 200 ? {} : { status: expect.toSatisfy((s: number) => s >= 400 && s < 500, '4xx'), errorType: 'BadRequestException' }),
        })),
      );
    });
  });

  describe('SES v1', () => {
    it('refuses VerifyDomainIdentity with an invalid domain with InvalidParameterValue', async () => {
      for (const Domain of ['-bad-.test', 'a..b', 'exa mple.com', 'localhost', 'someone@x.test']) {
        await unchanged(() => expectSdkError(v1.send(new VerifyDomainIdentityCommand({ Domain })), 'InvalidParameterValue', 400, /Invalid domain name/));
      }
      const res = await unchanged(() => v1Raw('Action=VerifyDomainIdentity&Version=2010-12-01&Domain=-bad-.test'));
      expect(expectV1Error(res, 400, 'InvalidParameterValue').message).toMatch(/-bad-\.test/);
    });

    it('refuses VerifyEmailIdentity with an invalid address with InvalidParameterValue', async () => {
      for (const EmailAddress of ['@x.test', 'a@', 'a b@x.test', 'example.test']) {
        await unchanged(() => expectSdkError(v1.send(new VerifyEmailIdentityCommand({ EmailAddress })), 'InvalidParameterValue', 400));
      }
    });

    it('refuses VerifyDomainIdentity without Domain with a 400 error', async () => {
      const e = await unchanged(() => expectSdkError(v1.send(new VerifyDomainIdentityCommand({} as VerifyDomainIdentityCommandInput)), 'ValidationError', 400));
      expect(e.message).toMatch(/domain/i);
      const res = await unchanged(() => v1Raw('Action=VerifyDomainIdentity&Version=2010-12-01'));
      expectV1Error(res, 400, /^(ValidationError|MissingParameter|InvalidParameterValue)$/);
    });

    it('refuses an unknown or missing Action with InvalidAction', async () => {
      for (const body of ['Action=DeleteEverything&Version=2010-12-01', 'Action=&Version=2010-12-01', 'Version=2010-12-01', '', 'Action=verifydomainidentity&Domain=x.test']) {
        const res = await unchanged(() => v1Raw(body));
        expectV1Error(res, 400, 'InvalidAction');
      }
    });

    it('refuses a malformed form body with a 400 error, never a 500', async () => {
      const bodies: Array<string | Buffer> = [
        '%zz',
        'Action=VerifyDomainIdentity&Domain=%zz.test',
        'Action=VerifyDomainIdentity&Domain=%E2%82.test',
        'Action=VerifyDomainIdentity&Domain=a%00b.test',
        '&&&===&&&',
        '=====',
        'Action',
        'Action=VerifyDomainIdentity&Action=VerifyDomainIdentity&Domain=x.test',
        'Action=VerifyDomainIdentity&Version=2099-01-01&Domain=x.test',
        '{"Action":"VerifyDomainIdentity","Domain":"x.test"}',
        '<xml/>',
        Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x3d, 0x80, 0x26]),
        `Action=VerifyDomainIdentity&Domain=${'a'.repeat(100_000)}.test`,
        'Action=ListIdentities&MaxItems=0',
        'Action=ListIdentities&MaxItems=abc',
        'Action=ListIdentities&IdentityType=Bogus',
        'Action=ListIdentities&NextToken=zzzz',
        'Action=SetIdentityDkimEnabled&Identity=existing.test&DkimEnabled=maybe',
        'Action=SetIdentityMailFromDomain&Identity=existing.test&MailFromDomain=other.test',
      ];
      for (const body of bodies) {
        const res = await unchanged(() => v1Raw(body));
        expectV1Error(res, 400, /./);
      }
    });

    it('answers a form post with a malformed Content-Type with an XML ErrorResponse (or serves it), never a bare HTTP error', async () => {
      for (const contentType of [';;;', '/']) {
        const req = await signed(server.url, { method: 'POST', path: '/', headers: { 'content-type': contentType }, body: 'Action=VerifyDomainIdentity&Version=2010-12-01&Domain=-bad-.test' }, creds);
        const res = await unchanged(() => sendRaw(server.url, req));
        expect({ contentType, status: res.status, requestId: UUID.test(String(res.headers['x-amzn-requestid'])), xml: res.body.startsWith('<ErrorResponse'), body: res.body }).toEqual({
          contentType,
          status: 400,
          requestId: true,
          xml: true,
          body: res.body,
        });
      }
    });

    it('returns an empty map from GetIdentityVerificationAttributes for unknown identities', async () => {
      const r = await unchanged(() => v1.send(new GetIdentityVerificationAttributesCommand({ Identities: ['unknown.test', 'nobody@unknown.test', 'not a domain'] })));
      expect(r.VerificationAttributes ?? {}).toEqual({});
      const mixed = await v1.send(new GetIdentityVerificationAttributesCommand({ Identities: ['unknown.test', 'existing.test'] }));
      expect(Object.keys(mixed.VerificationAttributes ?? {})).toEqual(['existing.test']);
    });

    it('succeeds on DeleteIdentity of an unknown identity, as SES does', async () => {
      const r = await unchanged(() => v1.send(new DeleteIdentityCommand({ Identity: 'unknown.test' })));
      expect(r.$metadata.httpStatusCode).toBe(200);
      await unchanged(() => v1.send(new DeleteIdentityCommand({ Identity: 'nobody@existing.test' })));
    });

    it('refuses ListIdentities with a bad MaxItems or IdentityType', async () => {
      await unchanged(async () => {
        await expectSdkError(v1.send(new ListIdentitiesCommand({ MaxItems: 0 })), 'InvalidParameterValue', 400);
        await expectSdkError(v1.send(new ListIdentitiesCommand({ IdentityType: 'Bogus' as 'Domain' })), 'InvalidParameterValue', 400);
      });
    });
  });

  /** What the randomized run saw, for the assertions that follow it. */
  let fuzz: { summary: string; missingRequestId: Array<{ cause: string; request: string }> } | undefined;

  it('survives ~500 randomized garbage requests without a 5xx or a crash', async () => {
    const rand = prng(0x5e5a3e);
    const int = (n: number) => Math.floor(rand() * n);
    const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)]!;
    const ascii = (n: number) => Array.from({ length: n }, () => String.fromCharCode(0x21 + int(0x5e))).join('');
    const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
    const headerSafe = (n: number) => Array.from({ length: n }, () => String.fromCharCode(pick([0x20 + int(0x5f), 0x80 + int(0x80)]))).join('');

    const names = ['a.test', 'existing.test', 'someone@existing.test', '%zz', '%00', '%ff%fe', 'x'.repeat(400), '..', '%2e%2e', '%C3%BCn%C3%AFcode.test', '%F0%9F%92%A9.test', '%E2%82', 'a%2Fb.test', '', ascii(12), `${ascii(5)}.test`];
    const paths = () =>
      pick([
        '/',
        '/v2',
        '/v2/',
        '/v2/email',
        '/v2/email/',
        '/v2/email/identities',
        '/v2/email/identities/',
        `/v2/email/identities/${pick(names)}`,
        `/v2/email/identities/${pick(names)}/dkim`,
        `/v2/email/identities/${pick(names)}/dkim/signing`,
        `/v2/email/identities/${pick(names)}/mail-from`,
        `/v2/email/identities/${pick(names)}/${ascii(4)}`,
        '/v2/email/tags',
        `/v2/email/${ascii(8)}`,
        `/${ascii(10)}`,
        '//v2//email//identities',
        '/v2/email/identities/../../',
        '/health',
        '/metrics',
        '/verify-email',
      ]);
    const queryChoices = (): { query?: Record<string, string | string[]>; rawQuery?: string } =>
      pick<{ query?: Record<string, string | string[]>; rawQuery?: string }>([
        {},
        {},
        { query: { PageSize: pick(['0', '3', '-1', 'abc', '1001', '1e3', '']) } },
        { query: { NextToken: pick([Buffer.from('a\u0000').toString('base64url'), 'zzzz', ascii(20), '']) } },
        { query: { PageSize: ['1', '2'] } },
        { query: { ResourceArn: pick([`arn:aws:ses:us-east-1:000000000000:identity/${pick(['existing.test', 'a\u0000.test', ascii(6)])}`, ascii(30)]), TagKeys: pick(['k', ['a', 'b']]) } },
        { query: { account: pick(['000000000000', '\u0000', ascii(8)]), identity: pick(['someone@existing.test', 'a\u0000@b.test', ascii(10)]), token: ascii(40) } },
        { query: { '%zz': '%zz' }, rawQuery: '%zz=%zz' },
        { query: { 'a[b]': 'c', 'a[c]': 'd' } },
        { query: { Action: 'ListIdentities', Version: '2010-12-01' } },
      ]);
    const jsonValue = (depth = 0): unknown =>
      depth > 2
        ? pick([null, 0, -1, 1e308, '', 'a.test', true])
        : pick([null, 5, 'x', '', 'a\u0000b', '\ud800', 'ü.test', `${ascii(6)}.test`, [], [jsonValue(depth + 1)], { Key: jsonValue(depth + 1), Value: jsonValue(depth + 1) }, { [ascii(4)]: jsonValue(depth + 1) }, true]);
    const jsonBody = (): string => {
      // Valid JSON with random types for the members the operations read.
      const o: Record<string, unknown> = {};
      for (const k of ['EmailIdentity', 'Tags', 'DkimSigningAttributes', 'SigningEnabled', 'MailFromDomain', 'BehaviorOnMxFailure', 'ResourceArn', 'SigningAttributesOrigin', 'SigningAttributes', 'ConfigurationSetName']) {
        if (rand() < 0.4) o[k] = jsonValue();
      }
      if (rand() < 0.3) o.ResourceArn = `arn:aws:ses:us-east-1:000000000000:identity/${pick(['existing.test', 'a\u0000.test', 'nope.test', ascii(8)])}`;
      if (rand() < 0.3) o.Tags = [{ Key: pick(['k', 'k\u0000', '', 'aws:x', ascii(10)]), Value: pick(['v', 'v\u0000', '', ascii(300)]) }];
      return JSON.stringify(o);
    };
    const mangledJson = (): string => {
      // Valid JSON, then a few characters mangled.
      const s = [...JSON.stringify({ EmailIdentity: `${ascii(4)}.test`, Tags: [{ Key: 'k', Value: 'v' }], DkimSigningAttributes: { NextSigningKeyLength: 'RSA_1024_BIT' } })];
      for (let i = 0; i < 1 + int(4); i++) s[int(s.length)] = pick(['{', '}', '"', ',', ':', '\\', ascii(1), '']);
      return s.join('');
    };
    const formBody = (): string =>
      `Action=${pick(['VerifyDomainIdentity', 'VerifyEmailIdentity', 'ListIdentities', 'GetIdentityVerificationAttributes', 'GetIdentityDkimAttributes', 'GetIdentityMailFromDomainAttributes', 'DeleteIdentity', 'SetIdentityDkimEnabled', 'SetIdentityMailFromDomain', 'VerifyDomainDkim', 'Bogus', ''])}&Version=${pick(['2010-12-01', '2010-12-01', 'x'])}` +
      Array.from({ length: 1 + int(3) }, () => `&${pick(['Domain', 'EmailAddress', 'Identity', 'Identities.member.1', 'Identities.member.2', 'MaxItems', 'NextToken', 'IdentityType', 'DkimEnabled', 'MailFromDomain', 'BehaviorOnMXFailure'])}=${pick(['%zz', '%00', 'a.test', 'existing.test', 'someone%40existing.test', encodeURIComponent(ascii(10)), 'YQA', '-1', '5', 'true', 'Domain', ''])}`).join('');
    const anyBody = (): string | Buffer | undefined =>
      pick<() => string | Buffer | undefined>([
        () => undefined,
        () => '',
        () => randomBytes(int(2000)),
        () => ascii(int(300)),
        jsonBody,
        mangledJson,
        () => '['.repeat(50_000),
        () => `{"a":${'{"a":'.repeat(5000)}1${'}'.repeat(5001)}`,
        () => JSON.stringify({ EmailIdentity: 'x'.repeat(200_000) }),
        formBody,
        () => randomBytes(1_000_000),
      ])();
    const opName = () => pick(['existing.test', 'someone@existing.test', 'a.test', 'EXISTING.TEST', `${'x'.repeat(150)}.test`, '%C3%BCn%C3%AFcode.test', 'a%00.test', ...names]);
    const listQuery = () => ({ query: { ...(rand() < 0.5 ? { PageSize: pick(['0', '1', '3', '-1', 'abc', '1001', '']) } : {}), ...(rand() < 0.7 ? { NextToken: pick(['YQA', 'AA', 'ZXhpc3RpbmcudGVzdA', 'zzzz', ascii(12), '']) } : {}) } });
    const arnQuery = () => ({ query: { ResourceArn: `arn:aws:ses:us-east-1:000000000000:identity/${pick(['existing.test', 'a\u0000.test', 'nope.test', ascii(6)])}`, ...(rand() < 0.5 ? { TagKeys: pick(['team', ['a', 'b'], '']) } : {}) } });
    /** Real operation routes with their methods, so that signed garbage reaches the handlers. */
    const opRoute = (): { method: string; path: string; body: () => string | Buffer | undefined; q: () => { query?: Record<string, string | string[]> } } =>
      pick([
        { method: 'POST', path: '/v2/email/identities', body: () => pick([jsonBody, mangledJson, anyBody])(), q: () => ({}) },
        { method: 'GET', path: '/v2/email/identities', body: () => undefined, q: listQuery },
        { method: 'GET', path: `/v2/email/identities/${opName()}`, body: () => undefined, q: () => ({}) },
        { method: 'DELETE', path: `/v2/email/identities/${opName()}`, body: () => undefined, q: () => ({}) },
        { method: 'PUT', path: `/v2/email/identities/${opName()}/dkim`, body: () => pick([jsonBody, anyBody])(), q: () => ({}) },
        { method: 'PUT', path: `/v2/email/identities/${opName()}/dkim/signing`, body: () => pick([jsonBody, anyBody])(), q: () => ({}) },
        { method: 'PUT', path: `/v2/email/identities/${opName()}/mail-from`, body: () => pick([jsonBody, anyBody])(), q: () => ({}) },
        { method: 'POST', path: '/v2/email/tags', body: () => pick([jsonBody, anyBody])(), q: () => ({}) },
        { method: 'GET', path: '/v2/email/tags', body: () => undefined, q: arnQuery },
        { method: 'DELETE', path: '/v2/email/tags', body: () => undefined, q: arnQuery },
        { method: 'POST', path: '/', body: () => pick([formBody, formBody, anyBody])(), q: () => ({}) },
        { method: 'POST', path: '/', body: formBody, q: () => ({}) },
        { method: 'GET', path: '/verify-email', body: () => undefined, q: () => ({ query: { account: pick(['000000000000', '\u0000', ascii(8)]), identity: pick(['someone@existing.test', 'a\u0000@b.test', ascii(10)]), token: ascii(40) } }) },
      ]);
    const contentTypes = ['application/json', 'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'text/plain', 'application/x-amz-json-1.0', ';;;', 'multipart/form-data; boundary=', 'application/json; charset=utf-16', '*/*', headerSafe(20)];
    const methods = ['GET', 'POST', 'POST', 'PUT', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'GET'];

    interface Planned {
      req: RawRequest;
      sign?: { region?: string; service?: string; creds?: { accessKeyId: string; secretAccessKey: string } };
      after?: Record<string, string>;
    }
    const plan: Planned[] = [];
    for (let i = 0; i < 500; i++) {
      let method: string;
      let path: string;
      let q: { query?: Record<string, string | string[]>; rawQuery?: string };
      let body: string | Buffer | undefined;
      if (rand() < 0.5) {
        const op = opRoute();
        ({ method, path } = op);
        q = op.q();
        body = op.body();
      } else {
        method = pick(methods);
        path = paths();
        q = queryChoices();
        body = anyBody();
      }
      if (method === 'GET' || method === 'HEAD') body = rand() < 0.8 ? undefined : body;
      const headers: Record<string, string> = {};
      if (rand() < 0.8) headers['content-type'] = rand() < 0.7 ? (path === '/' ? 'application/x-www-form-urlencoded; charset=utf-8' : 'application/json') : pick(contentTypes);
      const p: Planned = { req: { method, path, ...q, headers, body } };
      const auth = rand();
      if (auth < 0.45) {
        p.sign = {}; // correctly signed: garbage reaches the operations
      } else if (auth < 0.5) {
        p.sign = pick([{ region: 'eu-west-1' }, { service: 'sns' }, { service: 's3' }, { creds: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' } }, { creds: { accessKeyId: server.accessKeyId, secretAccessKey: 'wrong' } }]);
      } else if (auth < 0.8) {
        headers.authorization = pick([
          headerSafe(int(100)),
          'AWS4-HMAC-SHA256',
          'AWS4-HMAC-SHA256 ',
          `AWS4-HMAC-SHA256 Credential=${ascii(int(80))}`,
          `AWS4-HMAC-SHA256 Credential=${server.accessKeyId}/20260101/us-east-1/ses/aws4_request, SignedHeaders=host;x-amz-date, Signature=${ascii(64)}`,
          `AWS4-HMAC-SHA256 Credential=${server.accessKeyId}/${ascii(8)}/us-east-1/ses/aws4_request, SignedHeaders=, Signature=`,
          `AWS4-HMAC-SHA256 Credential=${server.accessKeyId}/20260101/us-east-1/ses/aws4_request,SignedHeaders=${ascii(30)},Signature=${'0'.repeat(64)},,,===`,
          `AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f/g, SignedHeaders=host, Signature=x`,
          `Basic ${Buffer.from('user:pass').toString('base64')}`,
          'Bearer x',
          `AWS ${server.accessKeyId}:${ascii(28)}`,
          `AWS4-HMAC-SHA256 Credential=${'A'.repeat(8000)}/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=x`,
        ]);
        if (rand() < 0.5) headers['x-amz-date'] = pick(['20260101T000000Z', ascii(16), '', '99999999T999999Z', '20261301T000000Z', new Date().toISOString()]);
        if (rand() < 0.3) headers.date = pick(['Thu, 01 Jan 1970 00:00:00 GMT', ascii(20), 'tomorrow']);
      }
      const extra = rand();
      if (extra < 0.05) p.after = { 'x-junk': 'a'.repeat(20_000 + int(60_000)) }; // beyond Node's header limit
      else if (extra < 0.1) p.after = { 'x-amz-content-sha256': pick(['UNSIGNED-PAYLOAD', 'f'.repeat(64), ascii(10)]) };
      else if (extra < 0.15) p.after = Object.fromEntries(Array.from({ length: 100 }, (_, k) => [`x-h-${k}`, headerSafe(50)]));
      else if (extra < 0.2) p.after = { 'x-amz-date': pick(['20000101T000000Z', ascii(16)]) };
      plan.push(p);
    }

    const failures: string[] = [];
    const missingRequestId: Array<{ cause: string; request: string }> = [];
    const statuses = new Map<number | string, number>();
    const describeRequest = (p: Planned) => {
      const b = p.req.body;
      const bodyText = b === undefined ? '(none)' : `${b.length} bytes: ${JSON.stringify((typeof b === 'string' ? b : b.toString('latin1')).slice(0, 160))}`;
      const hdrs = Object.fromEntries(Object.entries({ ...p.req.headers, ...p.after }).map(([k, v]) => [k, v.length > 120 ? `${v.slice(0, 120)}…(${v.length})` : v]));
      return `${p.req.method} ${target(p.req).slice(0, 300)} signed=${p.sign ? JSON.stringify(p.sign) : 'no'} headers=${JSON.stringify(hdrs)} body=${bodyText}`;
    };

    const started = Date.now();
    const BATCH = 25;
    for (let i = 0; i < plan.length; i += BATCH) {
      await Promise.all(
        plan.slice(i, i + BATCH).map(async (p) => {
          let req = p.req;
          if (p.sign) req = await signed(server.url, req, p.sign.creds ?? creds, p.sign);
          if (p.after) req = { ...req, headers: { ...req.headers, ...p.after } };
          let res: RawResponse;
          try {
            res = await sendRaw(server.url, req);
          } catch (err) {
            // The server may cut a connection that sends oversized headers before reading the rest;
            // that is a refusal, not a crash (health is checked below). Timeouts are failures.
            const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
            statuses.set(code, (statuses.get(code) ?? 0) + 1);
            // (A HEAD client also chokes on the body of the 431 the server sends before it knows the method.)
            if (!['ECONNRESET', 'EPIPE', 'HPE_INVALID_CONSTANT'].includes(code) || !p.after?.['x-junk']) failures.push(`${code}: ${describeRequest(p)}`);
            return;
          }
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status >= 500) failures.push(`${res.status} ${res.body.slice(0, 200)} <= ${describeRequest(p)}`);
          // Requests the HTTP layer refused before routing (431, unparsable requests) cannot carry one.
          const routed = res.status !== 431 && res.headers['content-type'] !== undefined;
          const api = p.req.path.startsWith('/v2/') || (p.req.path === '/' && p.req.method === 'POST');
          if (routed && api && !res.headers['x-amzn-requestid']) {
            let cause = res.body.slice(0, 60);
            try {
              const b = JSON.parse(res.body) as { code?: string; message?: string };
              cause = b.code ?? b.message ?? cause;
            } catch {
              /* not JSON: keep the start of the body */
            }
            missingRequestId.push({ cause: `${res.status} ${cause}`, request: describeRequest(p).slice(0, 240) });
          }
        }),
      );
    }
    const elapsed = Date.now() - started;

    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    const created = await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'after-the-storm.test', DkimSigningAttributes: { NextSigningKeyLength: 'RSA_1024_BIT' } }));
    expect(created.IdentityType).toBe('DOMAIN');
    expect((await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'after-the-storm.test' }))).IdentityType).toBe('DOMAIN');

    const summary = `${plan.length} requests in ${elapsed} ms; statuses ${JSON.stringify(Object.fromEntries(statuses))}`;
    fuzz = { summary, missingRequestId };
    expect(failures, `${summary}\n${failures.join('\n')}`).toEqual([]);
    expect(elapsed).toBeLessThan(20_000);
  });

  it('puts x-amzn-RequestId on every API response of the randomized run that reached the application', () => {
    expect(fuzz, 'the randomized run did not complete').toBeDefined();
    // Grouped by what the response said, with two example requests each.
    const byCause: Record<string, { count: number; examples: string[] }> = {};
    for (const { cause, request } of fuzz!.missingRequestId) {
      byCause[cause] ??= { count: 0, examples: [] };
      byCause[cause].count++;
      if (byCause[cause].examples.length < 2) byCause[cause].examples.push(request);
    }
    expect(byCause, `${fuzz!.summary}: API responses without x-amzn-RequestId`).toEqual({});
  });
});
