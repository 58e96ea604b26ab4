/**
 * `sesame queue destinations|pause|resume` as an operator uses them: the real `sesame` command on
 * the data dir (or database) of a running server. `destinations` shows the queue per domain with the
 * deferral replies of a 451-answering MX; `pause` stops the running server's delivery to a domain
 * (a later message to another domain is delivered, the paused one stays queued, untried); `resume`
 * delivers it once. On SQLite, and on PostgreSQL when SESAME_TEST_DATABASE_URL is set.
 */
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends, type TestServer } from '../helpers/server.ts';
import type { SinkMta } from '../helpers/sink.ts';

interface DestinationsJson {
  destinations: Array<{ domain: string; queued: number; inFlight: number; oldestCreatedAt: string | null; nextAttemptAt: string | null; deferrals: Array<{ response: string; count: number }>; paused: { pausedAt: string; pausedBy: string; reason: string | null } | null }>;
  totalQueued: number;
  truncated: boolean;
}

describe.each(testBackends())('sesame queue destinations / pause / resume (%s)', (backend) => {
  let fixture: SendingFixture;
  let server: TestServer;
  let sink: SinkMta;
  let env: Record<string, string>;

  beforeAll(async () => {
    fixture = await startSendingFixture({ backend, env: { SESAME_RETRY_SCHEDULE: '1h' }, destinations: ['slow.test', 'hold.test', 'other.test'] });
    ({ server, sink, cliEnv: env } = fixture);
  }, 60_000);
  afterAll(() => fixture?.close());

  async function send(to: string): Promise<string> {
    const { MessageId } = await server.sesv2().send(
      new SendEmailCommand({ FromEmailAddress: 'ops@sender.test', Destination: { ToAddresses: [to] }, Content: { Simple: { Subject: { Data: `to ${to}` }, Body: { Text: { Data: 'hello' } } } } }),
    );
    return MessageId!;
  }
  const arrived = (id: string) => sink.messages.filter((m) => m.raw.toString().includes(id));
  const recipients = (id: string) => server.instance.storage.queue.recipients(id);
  async function json(): Promise<DestinationsJson> {
    const r = await runCli(['queue', 'destinations', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as DestinationsJson;
  }

  it('says when nothing is queued', async () => {
    const r = await runCli(['queue', 'destinations'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('Nothing is queued and no destination is paused.');
  });

  it('lists the queue per destination with the deferral reply, as a table and as JSON', async () => {
    sink.rcptReplies.set('late@slow.test', { code: 451, message: '4.7.1 Greylisted, try again later' });
    const id = await send('late@slow.test');
    await eventually(async () => (await recipients(id))[0]!.attempts === 1, 15_000, 'deferred once');

    const j = await json();
    expect(j).toEqual({
      destinations: [
        {
          domain: 'slow.test',
          queued: 1,
          inFlight: 0,
          oldestCreatedAt: new Date((await server.instance.storage.queue.message(id))!.createdAt).toISOString(),
          nextAttemptAt: new Date((await recipients(id))[0]!.nextAttemptAt).toISOString(),
          deferrals: [{ response: expect.stringMatching(/^451 .*Greylisted, try again later/), count: 1 }],
          paused: null,
        },
      ],
      totalQueued: 1,
      truncated: false,
    });
    const text = await runCli(['queue', 'destinations'], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^DOMAIN\s+QUEUED\s+IN FLIGHT\s+OLDEST\s+NEXT ATTEMPT\s+DEFERRALS$/m);
    expect(text.stdout).toMatch(/^slow\.test\s+1\s+0\s+\d+ s\s+in (59|60)m\s+1× 451 .*Greylisted, try again later$/m);
    expect(text.stdout).toContain('Total queued: 1');
  });

  it('pause holds a domain on the running server while other mail flows; resume delivers it once', async () => {
    const paused = await runCli(['queue', 'pause', 'HOLD.test', '--reason', 'their MX is being migrated'], env);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout.trim()).toBe('Delivery to hold.test paused: its mail stays queued until `sesame queue resume hold.test`.');
    const again = await runCli(['queue', 'pause', 'hold.test', '--reason', 'still migrating'], env);
    expect(again.stdout).toMatch(/^hold\.test was already paused \(since \S+\); reason now: still migrating\.$/m);

    const held = await send('x@hold.test');
    const probe = await send('y@other.test');
    await sink.waitFor(() => arrived(probe).length === 1);
    const probe2 = await send('z@other.test');
    await sink.waitFor(() => arrived(probe2).length === 1);
    expect(arrived(held)).toEqual([]);
    expect((await recipients(held)).map((r) => [r.state, r.attempts])).toEqual([['queued', 0]]);

    const hold = (await json()).destinations.find((d) => d.domain === 'hold.test');
    expect(hold).toMatchObject({ queued: 1, deferrals: [], paused: { pausedBy: expect.stringMatching(/^cli/), reason: 'still migrating' } });
    const text = await runCli(['queue', 'destinations'], env);
    expect(text.stdout).toMatch(/^hold\.test\s+1\s+0\s+\d+ s\s+paused\s+-$/m);
    expect(text.stdout).toMatch(/^Paused: hold\.test since \S+ by cli.* \(still migrating\); resume: sesame queue resume hold\.test$/m);

    const resumed = await runCli(['queue', 'resume', 'hold.test'], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout.trim()).toBe('Delivery to hold.test resumed; 1 queued recipient due now.');
    await sink.waitFor(() => arrived(held).length === 1);
    const after = await send('w@hold.test');
    await sink.waitFor(() => arrived(after).length === 1);
    expect(arrived(held)).toHaveLength(1);
    await eventually(async () => (await recipients(held))[0]!.state === 'delivered', 10_000, 'held delivered');

    const notPaused = await runCli(['queue', 'resume', 'hold.test'], env);
    expect(notPaused.code).toBe(1);
    expect(notPaused.stderr.trim()).toBe('sesame: Delivery to hold.test is not paused.');
  });

  it('refuses a name that is no domain, and pauses nothing', async () => {
    const r = await runCli(['queue', 'pause', 'not a domain'], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('sesame: "not a domain" is not a domain name: give the destination domain, such as example.com.');
    expect(await server.instance.storage.queue.pausedDestinations()).toEqual([]);
  });
});
