/**
 * `sesame send`, `sesame events` and `sesame queue` as an operator uses them: the real `sesame`
 * command against the data dir of a running server, whose delivery worker delivers what the CLI
 * queued to a sink MTA found through the test DNS server. A recipient whose MX answers 451 stays
 * queued (SESAME_RETRY_SCHEDULE=1h) until `queue retry` makes it due and `queue purge` ends it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends, type TestServer } from '../helpers/server.ts';
import type { SinkMta } from '../helpers/sink.ts';

const MESSAGE_ID = /MessageId: (0100[0-9a-f]{12}-[0-9a-f-]{36}-000000)/;
const UNKNOWN = '0100000000000000-00000000-0000-4000-8000-000000000000-000000';

interface EventsJson {
  message: { messageId: string; source: string; mailFrom: string; createdAt: string; expiresAt: string };
  recipients: Array<{ rcpt: string; state: string; attempts: number; nextAttemptAt: string | null; lastResponse: string | null }>;
  events: Array<Record<string, unknown> & { eventType: string }>;
}

describe.each(testBackends())('sesame send / events / queue (%s)', (backend) => {
  let sink: SinkMta;
  let server: TestServer;
  let env: Record<string, string>;
  let tmp: string;

  let fixture: SendingFixture;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'sesame-cli-queue-'));
    fixture = await startSendingFixture({ backend, env: { SESAME_RETRY_SCHEDULE: '1h' } });
    ({ sink, server, cliEnv: env } = fixture);
  });
  afterAll(async () => {
    await fixture?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const eventsJson = async (id: string): Promise<EventsJson> => {
    const r = await runCli(['events', id, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as EventsJson;
  };
  const types = async (id: string) => (await server.instance.storage.queue.events(id)).map((e) => e.type);

  it('sends a test message that the running server delivers, and shows its Send and Delivery events', async () => {
    const sent = await runCli(['send', '--from', 'CLI <cli@sender.test>', '--to', 'ann@dest.test', '--subject', 'from the CLI', '--text', 'hello from sesame send'], env);
    expect(sent.code, sent.stderr).toBe(0);
    const id = MESSAGE_ID.exec(sent.stdout)?.[1];
    expect(id).toBeDefined();
    expect(sent.stdout).toContain(`sesame events ${id}`);

    await sink.waitFor(() => sink.to('ann@dest.test').some((m) => m.raw.toString().includes(id!)));
    const got = sink.to('ann@dest.test').find((m) => m.raw.toString().includes(id!))!;
    expect(got.raw.toString()).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=sender.test;/);
    expect(got.raw.toString()).toContain('hello from sesame send');
    expect(got.mailFrom).toBe(`${id}@mta.sesame.test`);

    await eventually(async () => (await types(id!)).includes('Delivery'), 10_000, 'Delivery event');
    const j = await eventsJson(id!);
    expect(j.message).toMatchObject({ messageId: id, source: 'CLI <cli@sender.test>', mailFrom: `${id}@mta.sesame.test` });
    expect(Date.parse(j.message.expiresAt)).toBeGreaterThan(Date.parse(j.message.createdAt));
    expect(j.recipients).toEqual([expect.objectContaining({ rcpt: 'ann@dest.test', state: 'delivered', attempts: 1, nextAttemptAt: null, lastResponse: expect.stringMatching(/^250 /) })]);
    expect(j.events.map((e) => e.eventType)).toEqual(['Send', 'Delivery']);
    expect(j.events[0]).toMatchObject({ mail: { messageId: id, source: 'CLI <cli@sender.test>', destination: ['ann@dest.test'], tags: { 'ses:operation': ['SendEmail'] } } });
    expect(j.events[1]).toMatchObject({ delivery: { recipients: ['ann@dest.test'], smtpResponse: expect.stringMatching(/^250 /) } });

    const text = await runCli(['events', id!], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Message    ${id}`);
    expect(text.stdout).toMatch(/ann@dest\.test\s+delivered\s+1\s+-\s+250 /);
    expect(text.stdout).toMatch(/Send\s+ann@dest\.test\s+accepted from CLI <cli@sender\.test>/);
    expect(text.stdout).toMatch(/Delivery\s+ann@dest\.test\s+250 /);
  });

  it('sends a raw MIME file, replacing its Message-ID', async () => {
    const file = join(tmp, 'raw.eml');
    await writeFile(file, ['From: raw@sender.test', 'To: rawto@dest.test', 'Subject: raw from the CLI', 'Message-ID: <mine@example>', 'MIME-Version: 1.0', 'Content-Type: text/plain', '', 'raw body', ''].join('\r\n'));
    const sent = await runCli(['send', '--raw', file], env);
    expect(sent.code, sent.stderr).toBe(0);
    const id = MESSAGE_ID.exec(sent.stdout)![1]!;
    await sink.waitFor(() => sink.to('rawto@dest.test').length > 0);
    const raw = sink.to('rawto@dest.test')[0]!.raw.toString();
    expect(raw).toContain(`Message-ID: <${id}@mta.sesame.test>`);
    expect(raw).not.toContain('<mine@example>');
    expect(raw).toContain('raw body');
  });

  it('lists a deferred recipient, retries it on demand, and purges it as a bounce while the delivered one stays delivered', async () => {
    sink.rcptReplies.set('later@dest.test', { code: 451, message: '4.7.1 Greylisted, try again later' });
    const sent = await runCli(['send', '--from', 'cli@sender.test', '--to', 'later@dest.test,ok@dest.test', '--subject', 'deferred one', '--text', 'secret body text'], env);
    expect(sent.code, sent.stderr).toBe(0);
    const id = MESSAGE_ID.exec(sent.stdout)![1]!;
    await eventually(async () => (await types(id)).includes('DeliveryDelay') && (await types(id)).includes('Delivery'), 10_000, 'first attempt');

    // Queued for an hour: the list shows it with its last response and the next attempt time.
    const list = await runCli(['queue', 'list', '--json'], env);
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout) as { stats: Record<string, number>; recipients: Array<{ messageId: string; rcpt: string; attempts: number; nextAttemptAt: string; lastResponse: string }> };
    expect(listed.stats.queued).toBeGreaterThanOrEqual(1);
    const mine = listed.recipients.find((r) => r.messageId === id)!;
    expect(mine).toMatchObject({ rcpt: 'later@dest.test', attempts: 1, lastResponse: expect.stringContaining('451') });
    expect(Date.parse(mine.nextAttemptAt) - Date.now()).toBeGreaterThan(50 * 60_000);
    expect(listed.recipients.some((r) => r.rcpt === 'ok@dest.test' && r.messageId === id)).toBe(false);

    const listText = await runCli(['queue', 'list'], env);
    expect(listText.stdout).toMatch(/^Recipients by state: queued \d+, delivered \d+, bounced \d+, suppressed \d+$/m);
    expect(listText.stdout).toMatch(new RegExp(`\\(in (59|60)m\\)\\s+1\\s+${id}\\s+later@dest\\.test\\s+451`));

    const show = await runCli(['queue', 'show', id], env);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/later@dest\.test\s+queued\s+1\s+\S+ \(in (59|60)m\)\s+451/);
    expect(show.stdout).toMatch(/ok@dest\.test\s+delivered\s+1\s+-\s+250 /);
    expect(show.stdout).toContain('Subject: deferred one');
    expect(show.stdout.replace(/\n[ \t]+/g, ' ')).toContain(`Message-ID: <${id}@mta.sesame.test>`); // stored folded, shown as stored
    expect(show.stdout).toContain('DKIM-Signature:');
    expect(show.stdout).not.toContain('secret body text');

    // retry: due now, so the running worker tries again at once (and gets 451 again).
    const retry = await runCli(['queue', 'retry', id], env);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toContain(`1 queued recipient of ${id} due now`);
    await eventually(async () => (await types(id)).filter((t) => t === 'DeliveryDelay').length === 2, 10_000, 'second attempt after retry');
    expect((await server.instance.storage.queue.recipients(id)).find((r) => r.rcpt === 'later@dest.test')).toMatchObject({ state: 'queued', attempts: 2 });

    // purge: the queued recipient ends as bounced with a Bounce event; the delivered one is untouched.
    const purge = await runCli(['queue', 'purge', id], env);
    expect(purge.code, purge.stderr).toBe(0);
    expect(purge.stdout).toContain(`Purged 1 queued recipient of ${id} (later@dest.test)`);

    const j = await eventsJson(id);
    expect(j.recipients).toEqual([
      expect.objectContaining({ rcpt: 'later@dest.test', state: 'bounced', attempts: 2, nextAttemptAt: null, lastResponse: 'purged by operator' }),
      expect.objectContaining({ rcpt: 'ok@dest.test', state: 'delivered', lastResponse: expect.stringMatching(/^250 /) }),
    ]);
    expect(j.events.map((e) => e.eventType)).toEqual(['Send', expect.any(String), expect.any(String), 'DeliveryDelay', 'Bounce']);
    expect(j.events.slice(1, 3).map((e) => e.eventType).sort()).toEqual(['Delivery', 'DeliveryDelay']);
    expect(j.events[4]).toMatchObject({
      mail: { messageId: id },
      bounce: {
        bounceType: 'Permanent',
        bounceSubType: 'General',
        bouncedRecipients: [{ emailAddress: 'later@dest.test', action: 'failed', diagnosticCode: expect.stringContaining('Purged by operator') }],
        reportingMTA: 'dns; mta.sesame.test',
      },
    });
    // The recipient did nothing wrong: a purge does not suppress the address.
    expect(await server.instance.storage.suppression.get('000000000000', 'later@dest.test')).toBeUndefined();

    const text = await runCli(['events', id], env);
    expect(text.stdout).toMatch(/Bounce\s+later@dest\.test\s+Permanent\/General: Purged by operator/);
    expect(text.stdout).toMatch(/DeliveryDelay\s+later@dest\.test\s+RecipientServerError: smtp; 451/);

    const after = JSON.parse((await runCli(['queue', 'list', '--json'], env)).stdout) as { recipients: Array<{ messageId: string }> };
    expect(after.recipients.some((r) => r.messageId === id)).toBe(false);
    const again = await runCli(['queue', 'purge', id], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`Nothing to purge: no recipient of ${id} is queued`);
    const retryAgain = await runCli(['queue', 'retry', id], env);
    expect(retryAgain.stdout).toContain('Nothing to retry');
  }, 90_000); // a dozen CLI runs, each a fresh process

  it('says which MessageId is unknown and exits 1', async () => {
    for (const args of [['events', UNKNOWN], ['events', UNKNOWN, '--json'], ['queue', 'show', UNKNOWN], ['queue', 'retry', UNKNOWN], ['queue', 'purge', UNKNOWN]]) {
      const r = await runCli(args, env);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(`No message ${UNKNOWN} in this installation`);
      expect(r.stdout).toBe('');
    }
  });

  it('refuses an unverified From with the SES error text, exit 1, and queues nothing', async () => {
    const before = await server.instance.storage.queue.stats();
    const r = await runCli(['send', '--from', 'me@unverified.test', '--to', 'ann@dest.test'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MessageRejected');
    expect(r.stderr).toContain('Email address is not verified. The following identities failed the check in region US-EAST-1: me@unverified.test');
    expect(r.stdout).toBe('');
    expect(await server.instance.storage.queue.stats()).toEqual(before);
  });

  it('explains missing arguments and a bad --limit', async () => {
    const noTo = await runCli(['send', '--from', 'cli@sender.test'], env);
    expect(noTo.code).toBe(1);
    expect(noTo.stderr).toContain('Give --from and at least one --to');
    const badLimit = await runCli(['queue', 'list', '--limit', '0'], env);
    expect(badLimit.code).toBe(1);
    expect(badLimit.stderr).toContain('give a whole number of at least 1');
  });
});
