/**
 * [events] Done-when 5: reputation enforcement. With the thresholds configured low enough for a test
 * (SESAME_REPUTATION_BOUNCE_REVIEW 10 %, SESAME_REPUTATION_BOUNCE_PAUSE 20 %, 10 recipients as the
 * representative volume), a bounce rate at the review threshold puts the account on PROBATION, one
 * past the pause threshold pauses its sending: the next send gets `SendingPausedException`,
 * GetAccount reports SHUTDOWN, the account cannot resume itself, and the operator's
 * `sesame account set --sending on` resumes it with its rates started afresh.
 */
import { GetAccountCommand, PutAccountSendingAttributesCommand, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends } from '../helpers/server.ts';

describe.each(testBackends())('reputation enforcement (%s)', (backend) => {
  let fixture: SendingFixture;
  beforeAll(async () => {
    fixture = await startSendingFixture({
      backend,
      env: { SESAME_REPUTATION_MIN_SENDS: '10', SESAME_REPUTATION_BOUNCE_REVIEW: '0.1', SESAME_REPUTATION_BOUNCE_PAUSE: '20%', SESAME_RETRY_SCHEDULE: '200ms' },
    });
  }, 60_000);
  afterAll(() => fixture?.close());

  const send = (to: string[]) =>
    fixture.server.sesv2().send(new SendEmailCommand({ FromEmailAddress: 'news@sender.test', Destination: { ToAddresses: to }, Content: { Simple: { Subject: { Data: 'Hi' }, Body: { Text: { Data: 'Hello' } } } } }));
  const account = () => fixture.server.sesv2().send(new GetAccountCommand({}));

  it('goes PROBATION at the review rate, pauses sending past the pause rate, and only the operator resumes it', async () => {
    const { sink, server } = fixture;
    for (let i = 0; i < 6; i++) sink.rcptReplies.set(`bad${i}@dest.test`, { code: 550, message: '5.1.1 no such user' });
    expect((await account()).EnforcementStatus).toBe('HEALTHY');

    for (let i = 0; i < 9; i++) await send([`good${i}@dest.test`]);
    await sink.waitFor(() => sink.messages.length >= 9);
    await send(['bad0@dest.test']);
    // 1 hard bounce in 10 recipients: 10 %, the review threshold.
    await eventually(async () => (await account()).EnforcementStatus === 'PROBATION', 15_000, 'PROBATION');
    expect((await account()).SendingEnabled).toBe(true);

    await send(['bad1@dest.test', 'bad2@dest.test', 'bad3@dest.test', 'bad4@dest.test', 'bad5@dest.test']);
    // 6 in 15: 40 %, past the pause threshold.
    await eventually(async () => (await account()).EnforcementStatus === 'SHUTDOWN', 15_000, 'SHUTDOWN');
    const a = await account();
    expect(a.SendingEnabled).toBe(false);
    expect(server.logs.some((l) => l.code === 'REPUTATION_SENDING_PAUSED')).toBe(true);

    const refused = await send(['good99@dest.test']).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).name).toBe('SendingPausedException');

    // SHUTDOWN comes with the first bounce past 10 %; the gauge reaches 6 in 15 once every bounce is counted.
    const gauge = /sesame_reputation_bounce_rate\{account="000000000000",configuration_set=""\} ([0-9.]+)/;
    const rate = await eventually(async () => {
      const m = gauge.exec(await (await fetch(`${server.url}/metrics`)).text());
      return m?.[1] === '0.4' ? m[1] : undefined;
    }, 15_000, 'the bounce-rate gauge at 0.4 (6 hard bounces in 15)');
    expect(rate).toBe('0.4');

    // The account cannot lift the pause itself.
    const selfResume = await server.sesv2().send(new PutAccountSendingAttributesCommand({ SendingEnabled: true })).catch((e: Error) => e);
    expect((selfResume as Error).name).toBe('ConflictException');
    expect((selfResume as Error).message).toMatch(/sesame account set --sending on/);

    const r = await runCli(['account', 'set', '--sending', 'on'], fixture.cliEnv);
    expect(r.code, r.stderr).toBe(0);
    const resumed = await account();
    expect(resumed.EnforcementStatus).toBe('HEALTHY');
    expect(resumed.SendingEnabled).toBe(true);
    await send(['good100@dest.test']);
  });
});
