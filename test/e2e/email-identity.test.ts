/**
 * Email-address identities: created PENDING with a verification link (mailed to the address and
 * logged), the link verifies the address, a used or wrong link is refused, and an expired one (24 h) fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEmailIdentityCommand, GetAccountCommand, GetEmailIdentityCommand, ListEmailIdentitiesCommand } from '@aws-sdk/client-sesv2';
import { GetIdentityVerificationAttributesCommand, ListVerifiedEmailAddressesCommand, VerifyEmailIdentityCommand } from '@aws-sdk/client-ses';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import type { SinkMta } from '../helpers/sink.ts';

class MovableClock {
  offset = 0;
  now() {
    return Date.now() + this.offset;
  }
}

function linkFor(server: TestServer, address: string): string {
  const lines = server.logs.filter((l) => l.code === 'IDENTITY_VERIFICATION_LINK' && l.identity === address);
  const link = lines[lines.length - 1]?.link;
  if (typeof link !== 'string') throw new Error(`no verification link logged for ${address}`);
  return link;
}

describe('email address identities', () => {
  const clock = new MovableClock();
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ start: { clock } });
  });
  afterAll(async () => server?.close());

  it('verifies an address through its link', async () => {
    const v2 = server.sesv2();
    const created = await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'Ann.Lee@Example.TEST' }));
    expect(created).toMatchObject({ IdentityType: 'EMAIL_ADDRESS', VerifiedForSendingStatus: false });
    const link = linkFor(server, 'Ann.Lee@example.test');
    expect(link.startsWith(`${server.url}/verify-email?`)).toBe(true);

    const wrong = new URL(link);
    wrong.searchParams.set('token', 'x'.repeat(40));
    expect((await fetch(wrong)).status).toBe(404);
    expect((await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'Ann.Lee@example.test' }))).VerificationStatus).toBe('PENDING');

    const res = await fetch(link);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Ann.Lee@example.test is now verified');
    const got = await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'Ann.Lee@example.test' }));
    expect(got).toMatchObject({ VerificationStatus: 'SUCCESS', VerifiedForSendingStatus: true });
    expect((await fetch(link)).status).toBe(200); // already verified: says so, changes nothing

    const listed = await v2.send(new ListEmailIdentitiesCommand({}));
    expect(listed.EmailIdentities).toContainEqual({ IdentityType: 'EMAIL_ADDRESS', IdentityName: 'Ann.Lee@example.test', SendingEnabled: true, VerificationStatus: 'SUCCESS' });
    const v1 = server.ses();
    expect((await v1.send(new ListVerifiedEmailAddressesCommand({}))).VerifiedEmailAddresses).toContain('Ann.Lee@example.test');
  });

  it('refuses an expired link (24 hours) and a new request sends a fresh one', async () => {
    const v1 = server.ses();
    await v1.send(new VerifyEmailIdentityCommand({ EmailAddress: 'late@example.test' }));
    const first = linkFor(server, 'late@example.test');
    clock.offset = 25 * 3_600_000;
    const expired = await fetch(first);
    expect(expired.status).toBe(410);
    clock.offset = 0;
    const attrs = await v1.send(new GetIdentityVerificationAttributesCommand({ Identities: ['late@example.test'] }));
    expect(attrs.VerificationAttributes?.['late@example.test']?.VerificationStatus).toBe('Failed');

    await v1.send(new VerifyEmailIdentityCommand({ EmailAddress: 'late@example.test' }));
    const second = linkFor(server, 'late@example.test');
    expect(second).not.toBe(first);
    expect((await fetch(first)).status).toBe(404);
    expect((await fetch(second)).status).toBe(200);
    const after = await v1.send(new GetIdentityVerificationAttributesCommand({ Identities: ['late@example.test'] }));
    expect(after.VerificationAttributes?.['late@example.test']?.VerificationStatus).toBe('Success');
  });

  it('answers an incomplete link with 400', async () => {
    expect((await fetch(`${server.url}/verify-email?account=000000000000`)).status).toBe(400);
  });
});

describe('the verification mail', () => {
  let fixture: SendingFixture;
  let sink: SinkMta;
  let server: TestServer;
  beforeAll(async () => {
    fixture = await startSendingFixture({ senders: [], destinations: ['inbox.test'] });
    ({ sink, server } = fixture);
  });
  afterAll(() => fixture?.close());

  it('is mailed to the address, and the link in it verifies the address', async () => {
    const v2 = server.sesv2();
    await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'carol@inbox.test' }));
    await sink.waitFor(() => sink.to('carol@inbox.test').length > 0);
    const m = sink.to('carol@inbox.test')[0]!;
    const text = m.raw.toString().replace(/=\r\n/g, '').replace(/=3D/g, '=');
    expect(m.mailFrom).toMatch(/@mta\.sesame\.test$/);
    expect(text).toMatch(/^From: Sesame <no-reply@mta\.sesame\.test>\r?$/m);
    expect(text).toMatch(/^Subject: Email Address Verification Request in region US-EAST-1\r?$/m);
    const link = /(http:\/\/\S+\/verify-email\?\S+)/.exec(text)?.[1];
    expect(link).toBe(linkFor(server, 'carol@inbox.test'));
    expect((await fetch(link!)).status).toBe(200);
    expect((await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'carol@inbox.test' }))).VerifiedForSendingStatus).toBe(true);
    // Sesame's own mail does not count toward the account's quota.
    expect((await v2.send(new GetAccountCommand({}))).SendQuota?.SentLast24Hours).toBe(0);
  });
});
