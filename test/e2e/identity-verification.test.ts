/**
 * Done-when 2 of the foundation: an unchanged AWS SDK creates identities, the records printed by
 * `sesame dns --json` are published in a test DNS server, and the identities become verified —
 * Easy DKIM, BYODKIM, and v1 VerifyDomainIdentity with its `_amazonses` token. On SQLite, and on
 * PostgreSQL when SESAME_TEST_DATABASE_URL is set.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEmailIdentityCommand, GetEmailIdentityCommand, PutEmailIdentityMailFromAttributesCommand } from '@aws-sdk/client-sesv2';
import { GetIdentityDkimAttributesCommand, GetIdentityVerificationAttributesCommand, VerifyDomainDkimCommand, VerifyDomainIdentityCommand } from '@aws-sdk/client-ses';
import { TestDnsServer } from '../helpers/dns-server.ts';
import { runCli } from '../helpers/cli.ts';
import { eventually, startTestServer, testBackends, type TestServer } from '../helpers/server.ts';

interface PublishedRecord {
  type: string;
  name: string;
  value: string;
}

/** Publishes `sesame dns --json` output into the test DNS server, as a user pastes it into their zone. */
function publish(dns: TestDnsServer, records: PublishedRecord[]): void {
  for (const r of records) {
    if (r.type === 'MX') {
      const [priority, exchange] = r.value.split(/\s+/);
      dns.add(r.name, 'MX', { priority: Number(priority), exchange: exchange! });
    } else {
      dns.add(r.name, r.type as 'TXT', r.value);
    }
  }
}

async function dnsRecords(server: TestServer, domain: string): Promise<PublishedRecord[]> {
  const res = await runCli(['dns', domain, '--json'], {
    SESAME_DATA_DIR: server.dataDir,
    SESAME_DATABASE_URL: server.databaseUrl,
    SESAME_ROOT_ACCESS_KEY_ID: server.accessKeyId,
    SESAME_ROOT_SECRET_ACCESS_KEY: server.secretAccessKey,
    SESAME_HOSTNAME: 'mta.sesame.test',
  });
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout) as PublishedRecord[];
}

describe.each(testBackends())('identity verification through DNS (%s)', (backend) => {
  let dns: TestDnsServer;
  let server: TestServer;

  beforeAll(async () => {
    dns = await TestDnsServer.start();
    server = await startTestServer({ backend, dns });
  });
  afterAll(async () => {
    await server?.close();
    await dns?.close();
  });

  it('verifies an Easy DKIM domain once the printed records are published', async () => {
    const v2 = server.sesv2();
    const created = await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'Example.TEST' }));
    expect(created.IdentityType).toBe('DOMAIN');
    expect(created.VerifiedForSendingStatus).toBe(false);
    expect(created.DkimAttributes?.Status).toBe('PENDING');
    expect(created.DkimAttributes?.SigningAttributesOrigin).toBe('AWS_SES');
    expect(created.DkimAttributes?.CurrentSigningKeyLength).toBe('RSA_2048_BIT');
    expect(created.DkimAttributes?.Tokens).toHaveLength(3);

    // Nothing published yet: the worker looks and the identity stays pending.
    const before = await eventually(async () => {
      const r = await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'example.test' }));
      return r.VerificationInfo?.LastCheckedTimestamp ? r : undefined;
    }, 15_000, 'the first DNS check of example.test');
    expect(before.VerifiedForSendingStatus).toBe(false);
    expect(before.VerificationStatus).toBe('PENDING');
    expect(before.VerificationInfo?.ErrorType).toBe('HOST_NOT_FOUND');

    const records = await dnsRecords(server, 'example.test');
    const dkim = records.filter((r) => r.name.endsWith('._domainkey.example.test'));
    expect(dkim.map((r) => r.name.split('.')[0]).sort()).toEqual([...created.DkimAttributes!.Tokens!].sort());
    for (const r of dkim) expect(r.value).toMatch(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]{380,}$/);
    expect(records).toContainEqual({ type: 'MX', name: 'example.test', value: '10 mta.sesame.test' });
    expect(records.find((r) => r.name === '_dmarc.example.test')?.value).toMatch(/^v=DMARC1; p=none/);
    publish(dns, records);

    const got = await eventually(async () => {
      const r = await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'example.test' }));
      return r.VerifiedForSendingStatus ? r : undefined;
    }, 15_000, 'example.test to verify');
    expect(got.VerificationStatus).toBe('SUCCESS');
    expect(got.DkimAttributes?.Status).toBe('SUCCESS');
    expect(got.VerificationInfo?.LastSuccessTimestamp).toBeInstanceOf(Date);
  });

  it('keeps a domain pending while a published key is wrong', async () => {
    const v2 = server.sesv2();
    const created = await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'wrong-key.test', DkimSigningAttributes: { NextSigningKeyLength: 'RSA_1024_BIT' } }));
    expect(created.DkimAttributes?.CurrentSigningKeyLength).toBe('RSA_1024_BIT');
    const other = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    for (const t of created.DkimAttributes!.Tokens!) dns.set(`${t}._domainkey.wrong-key.test`, 'TXT', [`v=DKIM1; k=rsa; p=${other}`]);
    const r = await eventually(async () => {
      const x = await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'wrong-key.test' }));
      return x.VerificationInfo?.ErrorType === 'INVALID_VALUE' ? x : undefined;
    }, 15_000, 'wrong-key.test to be checked against the wrong key');
    expect(r.VerifiedForSendingStatus).toBe(false);
    expect(r.DkimAttributes?.Status).toBe('PENDING');
    expect(r.VerificationInfo?.ErrorType).toBe('INVALID_VALUE');
  });

  it('marks a domain TEMPORARY_FAILURE while its DNS fails, and recovers', async () => {
    const v2 = server.sesv2();
    await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'flaky.test', DkimSigningAttributes: { NextSigningKeyLength: 'RSA_1024_BIT' } }));
    const records = await dnsRecords(server, 'flaky.test');
    for (const r of records.filter((x) => x.name.includes('._domainkey.'))) dns.setFailure(r.name, 'SERVFAIL');
    const failing = await eventually(async () => {
      const r = await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'flaky.test' }));
      return r.VerificationStatus === 'TEMPORARY_FAILURE' ? r : undefined;
    }, 15_000, 'flaky.test to report TEMPORARY_FAILURE');
    expect(failing.VerificationInfo?.ErrorType).toBe('DNS_SERVER_ERROR');
    for (const r of records.filter((x) => x.name.includes('._domainkey.'))) dns.setFailure(r.name, null);
    publish(dns, records);
    await eventually(async () => (await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'flaky.test' }))).VerifiedForSendingStatus, 15_000, 'flaky.test to verify');
  });

  it('verifies a BYODKIM domain from its selector record', async () => {
    const v2 = server.sesv2();
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pemBody = privateKey
      .export({ type: 'pkcs1', format: 'pem' })
      .toString()
      .replace(/-----[^-]+-----/g, '')
      .replace(/\s+/g, '');
    const created = await v2.send(
      new CreateEmailIdentityCommand({ EmailIdentity: 'byo.test', DkimSigningAttributes: { DomainSigningSelector: 'sel2026', DomainSigningPrivateKey: pemBody } }),
    );
    expect(created.DkimAttributes?.SigningAttributesOrigin).toBe('EXTERNAL');
    expect(created.DkimAttributes?.Tokens).toBeUndefined();
    const records = await dnsRecords(server, 'byo.test');
    const expectedP = createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');
    expect(records).toContainEqual({ type: 'TXT', name: 'sel2026._domainkey.byo.test', value: `v=DKIM1; k=rsa; p=${expectedP}` });
    publish(dns, records);
    const got = await eventually(async () => {
      const r = await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'byo.test' }));
      return r.VerifiedForSendingStatus ? r : undefined;
    }, 15_000, 'byo.test to verify');
    expect(got.DkimAttributes?.Status).toBe('SUCCESS');
  });

  it('verifies a v1 VerifyDomainIdentity token through _amazonses TXT, and VerifyDomainDkim tokens', async () => {
    const v1 = server.ses();
    const { VerificationToken } = await v1.send(new VerifyDomainIdentityCommand({ Domain: 'legacy.test' }));
    expect(VerificationToken).toMatch(/^[A-Za-z0-9+/=]{20,}$/);
    const pending = await v1.send(new GetIdentityVerificationAttributesCommand({ Identities: ['legacy.test'] }));
    expect(pending.VerificationAttributes?.['legacy.test']).toEqual({ VerificationStatus: 'Pending', VerificationToken });

    const records = await dnsRecords(server, 'legacy.test');
    expect(records).toContainEqual({ type: 'TXT', name: '_amazonses.legacy.test', value: VerificationToken });
    publish(dns, records);
    await eventually(async () => {
      const r = await v1.send(new GetIdentityVerificationAttributesCommand({ Identities: ['legacy.test'] }));
      return r.VerificationAttributes?.['legacy.test']?.VerificationStatus === 'Success';
    }, 15_000, 'legacy.test token to verify');

    const { DkimTokens } = await v1.send(new VerifyDomainDkimCommand({ Domain: 'legacy.test' }));
    expect(DkimTokens).toHaveLength(3);
    const dkimPending = await v1.send(new GetIdentityDkimAttributesCommand({ Identities: ['legacy.test'] }));
    expect(dkimPending.DkimAttributes?.['legacy.test']).toMatchObject({ DkimEnabled: true, DkimVerificationStatus: 'Pending' });
    publish(dns, (await dnsRecords(server, 'legacy.test')).filter((r) => r.name.includes('._domainkey.')));
    await eventually(async () => {
      const r = await v1.send(new GetIdentityDkimAttributesCommand({ Identities: ['legacy.test'] }));
      return r.DkimAttributes?.['legacy.test']?.DkimVerificationStatus === 'Success';
    }, 15_000, 'legacy.test DKIM to verify');
  });

  it('verifies a custom MAIL FROM domain from its MX and SPF records', async () => {
    const v2 = server.sesv2();
    await v2.send(new PutEmailIdentityMailFromAttributesCommand({ EmailIdentity: 'example.test', MailFromDomain: 'bounce.example.test', BehaviorOnMxFailure: 'REJECT_MESSAGE' }));
    const r1 = await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'example.test' }));
    expect(r1.MailFromAttributes).toEqual({ MailFromDomain: 'bounce.example.test', MailFromDomainStatus: 'PENDING', BehaviorOnMxFailure: 'REJECT_MESSAGE' });
    const records = (await dnsRecords(server, 'example.test')).filter((r) => r.name === 'bounce.example.test');
    expect(records.map((r) => r.type).sort()).toEqual(['MX', 'TXT']);
    publish(dns, records);
    await eventually(async () => (await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'example.test' }))).MailFromAttributes?.MailFromDomainStatus === 'SUCCESS', 15_000, 'MAIL FROM to verify');
  });
});
