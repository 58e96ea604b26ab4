/**
 * The account as an application and its operator see it: `sesame account set --production-access
 * off` puts the account in the sandbox (SES's rules: only verified recipients, 200 recipients per
 * 24 hours, 1 per second), GetAccount shows it, PutAccountDetails opens a production-access review
 * that `sesame account set --production-access on` grants, and quotas count recipients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEmailIdentityCommand, GetAccountCommand, PutAccountDetailsCommand, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { GetSendQuotaCommand } from '@aws-sdk/client-ses';
import { expectSdkError } from '../helpers/aws-wire.ts';
import { runCli } from '../helpers/cli.ts';
import type { TestDnsServer } from '../helpers/dns-server.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { routeToSink, verifyDomain } from '../helpers/identities.ts';
import { testBackends, type TestServer } from '../helpers/server.ts';
import type { SinkMta } from '../helpers/sink.ts';

describe.each(testBackends())('account, sandbox and quotas (%s)', (backend) => {
  let dns: TestDnsServer;
  let sink: SinkMta;
  let server: TestServer;
  let env: Record<string, string>;

  let fixture: SendingFixture;

  beforeAll(async () => {
    fixture = await startSendingFixture({ backend });
    ({ dns, sink, server, cliEnv: env } = fixture);
  });
  afterAll(() => fixture?.close());

  const send = (to: string[]) =>
    server.sesv2().send(new SendEmailCommand({ FromEmailAddress: 'a@sender.test', Destination: { ToAddresses: to }, Content: { Simple: { Subject: { Data: 's' }, Body: { Text: { Data: 'b' } } } } }));

  it('puts the account in the sandbox and takes it out again through a production-access review', async () => {
    const v2 = server.sesv2();
    const shown = await runCli(['account', 'show'], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/production access\s+yes/);
    expect(shown.stdout).toMatch(/max 24-hour send\s+unlimited/);

    const off = await runCli(['account', 'set', '--production-access', 'off'], env);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toMatch(/production access\s+no \(sandbox/);
    expect(off.stdout).toMatch(/max 24-hour send\s+200 \(sandbox; set: unlimited\)/);
    expect(await v2.send(new GetAccountCommand({}))).toMatchObject({ ProductionAccessEnabled: false, SendingEnabled: true, SendQuota: { Max24HourSend: 200, MaxSendRate: 1 } });
    expect(await server.ses().send(new GetSendQuotaCommand({}))).toMatchObject({ Max24HourSend: 200, MaxSendRate: 1 });

    // Sandbox: an unverified recipient is refused and nothing is queued; a verified one gets the mail.
    await expectSdkError(send(['stranger@dest.test']), 'MessageRejected', 400, /stranger@dest\.test/);
    await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'pending.test' }));
    await expectSdkError(send(['friend@pending.test']), 'MessageRejected', 400, /friend@pending\.test/); // an identity, not yet verified
    await verifyDomain(server, dns, 'dest.test');
    routeToSink(dns, 'dest.test');
    const ok = await send(['friend@dest.test']);
    await sink.waitFor(() => sink.to('friend@dest.test').length > 0);
    expect(ok.MessageId).toBeTruthy();
    expect(sink.to('stranger@dest.test')).toHaveLength(0);

    await v2.send(new PutAccountDetailsCommand({ MailType: 'TRANSACTIONAL', WebsiteURL: 'https://shop.example', UseCaseDescription: 'order receipts', ProductionAccessEnabled: true }));
    const pending = await v2.send(new GetAccountCommand({}));
    expect(pending).toMatchObject({ ProductionAccessEnabled: false, Details: { MailType: 'TRANSACTIONAL', WebsiteURL: 'https://shop.example', ReviewDetails: { Status: 'PENDING' } } });
    expect((await runCli(['account', 'show'], env)).stdout).toMatch(/access review\s+PENDING .*sesame account set --production-access on/);

    const on = await runCli(['account', 'set', '--production-access', 'on'], env);
    expect(on.code, on.stderr).toBe(0);
    const granted = await v2.send(new GetAccountCommand({}));
    expect(granted).toMatchObject({ ProductionAccessEnabled: true, SendQuota: { Max24HourSend: -1 }, Details: { ReviewDetails: { Status: 'GRANTED', CaseId: pending.Details!.ReviewDetails!.CaseId } } });
    await send(['stranger@dest.test']);
    await sink.waitFor(() => sink.to('stranger@dest.test').length > 0);
  });

  it('counts recipients against Max24HourSend and refuses the send that would pass it', async () => {
    const before = (await server.sesv2().send(new GetAccountCommand({}))).SendQuota!.SentLast24Hours!;
    const set = await runCli(['account', 'set', '--max-24-hour-send', String(before + 3)], env);
    expect(set.code, set.stderr).toBe(0);
    await send(['q1@dest.test', 'q2@dest.test']);
    await expectSdkError(send(['q3@dest.test', 'q4@dest.test']), 'TooManyRequestsException', 429, 'Daily message quota exceeded.');
    await send(['q3@dest.test']);
    expect((await server.sesv2().send(new GetAccountCommand({}))).SendQuota).toMatchObject({ SentLast24Hours: before + 3, Max24HourSend: before + 3 });
    expect((await runCli(['account', 'set', '--max-24-hour-send', 'unlimited'], env)).code).toBe(0);

    const bad = await runCli(['account', 'set', '--max-send-rate', 'fast'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('give a positive number, or "unlimited"');
    const none = await runCli(['account', 'set'], env);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('nothing to change');
  });
});
