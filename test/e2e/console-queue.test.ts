/**
 * The console's Queue page over HTTP: the account's queue per destination domain (depth, age of the
 * oldest message, next attempt, the deferral replies a 451-answering MX gave), retry of a domain's
 * mail, and pausing a destination: new mail to it stays queued (proved by a message to another
 * domain sent after it being delivered first), resume delivers it once. Pausing needs a root key or
 * sesame:PauseDestination; no route answers without a session. On SQLite, and on PostgreSQL when
 * SESAME_TEST_DATABASE_URL is set.
 */
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleCall, consoleSignIn, keySession, type ConsoleCallOptions, type ConsoleSession } from '../helpers/console.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends, type TestServer } from '../helpers/server.ts';
import type { SinkMta } from '../helpers/sink.ts';

interface Destination {
  domain: string;
  queued: number;
  inFlight: number;
  oldestCreatedAt: string | null;
  oldestAgeSeconds: number | null;
  nextAttemptAt: string | null;
  deferrals: Array<{ response: string; count: number }>;
  paused: { pausedAt: string; pausedBy: string; reason: string | null } | null;
}

describe.each(testBackends())('console queue (%s)', (backend) => {
  let fixture: SendingFixture;
  let server: TestServer;
  let sink: SinkMta;
  let root: ConsoleSession;

  beforeAll(async () => {
    // Deferred recipients wait an hour: nothing retries them unless the test says so.
    fixture = await startSendingFixture({ backend, env: { SESAME_RETRY_SCHEDULE: '1h' }, destinations: ['dest.test', 'slow.test', 'hold.test', 'other.test'] });
    ({ server, sink } = fixture);
    root = await consoleSignIn(server, server.accessKeyId, server.secretAccessKey);
  }, 60_000);
  afterAll(() => fixture?.close());

  const call = (method: string, path: string, o: ConsoleCallOptions = {}) => consoleCall(server, method, `/console/api${path}`, o);

  async function destinations(session = root): Promise<{ destinations: Destination[]; totalQueued: number; truncated: boolean; at: string }> {
    const r = await call('GET', '/queue', { session });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as never;
  }
  const find = async (domain: string) => (await destinations()).destinations.find((d) => d.domain === domain);

  async function send(to: string, subject: string): Promise<string> {
    const { MessageId } = await server.sesv2().send(
      new SendEmailCommand({ FromEmailAddress: 'queue@sender.test', Destination: { ToAddresses: [to] }, Content: { Simple: { Subject: { Data: subject }, Body: { Text: { Data: 'hello' } } } } }),
    );
    return MessageId!;
  }
  const arrived = (messageId: string) => sink.messages.filter((m) => m.raw.toString().includes(messageId));
  const recipients = (messageId: string) => server.instance.storage.queue.recipients(messageId);

  it('answers no queue route without a session', async () => {
    for (const [method, path] of [
      ['GET', '/queue'],
      ['POST', '/queue/dest.test/retry'],
      ['POST', '/queue/dest.test/pause'],
      ['POST', '/queue/dest.test/resume'],
    ] as const) {
      const a = await call(method, path, method === 'POST' ? { body: {} } : {});
      expect({ path, status: a.status, code: a.body.code }).toEqual({ path, status: 401, code: 'Unauthenticated' });
    }
    expect(await server.instance.storage.queue.pausedDestinations()).toEqual([]);
  });

  it('shows a destination whose MX defers: its depth, the age of the oldest message, the next attempt and the deferral reply; Retry now tries again', async () => {
    for (const rcpt of ['a@slow.test', 'b@slow.test']) sink.rcptReplies.set(rcpt, { code: 451, message: '4.7.1 Greylisted, try again later' });
    const first = await send('a@slow.test', 'deferred one');
    const second = await send('b@slow.test', 'deferred two');
    await eventually(async () => (await Promise.all([first, second].map(recipients))).every((rs) => rs[0]!.attempts === 1), 15_000, 'both deferred once');

    const q = await destinations();
    const slow = q.destinations.find((d) => d.domain === 'slow.test')!;
    expect(slow).toMatchObject({ queued: 2, inFlight: 0, paused: null });
    expect(slow.deferrals).toEqual([{ response: expect.stringMatching(/^451 .*Greylisted, try again later/), count: 2 }]);
    const accepted = (await server.instance.storage.queue.message(first))!.createdAt;
    expect(slow.oldestCreatedAt).toBe(new Date(accepted).toISOString());
    expect(slow.oldestAgeSeconds).toBe(Math.floor((Date.parse(q.at) - accepted) / 1000));
    // SESAME_RETRY_SCHEDULE=1h: the next attempt is about an hour after the first.
    expect(Date.parse(slow.nextAttemptAt!) - Date.parse(q.at)).toBeGreaterThan(50 * 60_000);
    expect(q.totalQueued).toBe(q.destinations.reduce((n, d) => n + d.queued, 0));
    expect(q.totalQueued).toBeGreaterThanOrEqual(2);

    // Retry now: both are due at once, and the MX defers them a second time.
    const retried = await call('POST', '/queue/slow.test/retry', { session: root, body: {} });
    expect(retried).toEqual({ status: 200, body: { recipientsMadeDue: 2 } });
    await eventually(async () => (await Promise.all([first, second].map(recipients))).every((rs) => rs[0]!.attempts === 2), 15_000, 'both deferred twice');
    expect((await find('slow.test'))!.deferrals).toEqual([{ response: expect.stringMatching(/^451 /), count: 2 }]);
  });

  it('a paused destination gets no delivery while other mail flows; resume delivers its mail once', async () => {
    const paused = await call('POST', '/queue/Hold.Test/pause', { session: root, body: { reason: 'their MX is being migrated' } });
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    expect(paused.body).toMatchObject({ domain: 'hold.test', pausedBy: root.accessKeyId, reason: 'their MX is being migrated', alreadyPaused: false });
    // Listed though nothing of it is queued yet, so that it can be resumed from the page.
    expect(await find('hold.test')).toMatchObject({ queued: 0, paused: { pausedBy: root.accessKeyId, reason: 'their MX is being migrated' } });
    expect(server.logs).toContainEqual(expect.objectContaining({ code: 'DESTINATION_PAUSED', domain: 'hold.test', by: root.accessKeyId }));

    const held = await send('x@hold.test', 'held while paused');
    const probe = await send('y@other.test', 'sent after the held one');
    // The message sent later to an unpaused domain is delivered: the delivery worker has passed over
    // the held one, which is still queued, never tried.
    await sink.waitFor(() => arrived(probe).length === 1);
    const probe2 = await send('z@other.test', 'a second pass');
    await sink.waitFor(() => arrived(probe2).length === 1);
    expect(arrived(held)).toEqual([]);
    expect((await recipients(held)).map((r) => [r.state, r.attempts, r.lastResponse])).toEqual([['queued', 0, null]]);
    expect(await find('hold.test')).toMatchObject({ queued: 1, inFlight: 0, deferrals: [], paused: { reason: 'their MX is being migrated' } });

    const resumed = await call('POST', '/queue/hold.test/resume', { session: root, body: {} });
    expect(resumed).toEqual({ status: 200, body: { domain: 'hold.test', recipientsMadeDue: 1 } });
    await sink.waitFor(() => arrived(held).length === 1);
    await eventually(async () => (await recipients(held))[0]!.state === 'delivered', 10_000, 'held message delivered');
    // Once: a later message to the same domain arrives, and the held one still arrived only once.
    const after = await send('w@hold.test', 'after resume');
    await sink.waitFor(() => arrived(after).length === 1);
    expect(arrived(held)).toHaveLength(1);
    expect((await recipients(held))[0]).toMatchObject({ state: 'delivered', attempts: 1 });
    await eventually(async () => (await find('hold.test')) === undefined, 10_000, 'nothing of hold.test queued');
    expect(server.logs).toContainEqual(expect.objectContaining({ code: 'DESTINATION_RESUMED', domain: 'hold.test', by: root.accessKeyId }));

    // Resuming what is not paused: SES's NotFoundException.
    const again = await call('POST', '/queue/hold.test/resume', { session: root, body: {} });
    expect(again).toEqual({ status: 404, body: { code: 'NotFoundException', message: 'Delivery to hold.test is not paused.' } });
  });

  it('refuses pause and resume to a ses:* key with IAM wording, and allows a key with sesame:PauseDestination', async () => {
    const ses = await keySession(server, undefined, 'console queue test');
    for (const action of ['pause', 'resume']) {
      const r = await call('POST', `/queue/dest.test/${action}`, { session: ses, body: {} });
      expect(r.status).toBe(403);
      expect(r.body).toEqual({
        code: 'AccessDenied',
        message: expect.stringMatching(new RegExp(`^User: arn:aws:iam::\\d+:user/${ses.accessKeyId} is not authorized to perform: sesame:PauseDestination on resource: \\* because no identity-based policy allows the sesame:PauseDestination action$`)),
      });
    }
    // Nor may it read the queue: its policy has only ses:* actions.
    expect(await call('GET', '/queue', { session: ses })).toMatchObject({ status: 403, body: { code: 'AccessDenied' } });
    expect(await server.instance.storage.queue.pausedDestinations()).toEqual([]);

    const operator = await keySession(server, { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['sesame:PauseDestination', 'sesame:GetQueue'], Resource: '*' }] });
    expect((await call('POST', '/queue/dest.test/pause', { session: operator, body: {} })).body).toMatchObject({ domain: 'dest.test', pausedBy: operator.accessKeyId, reason: null });
    expect((await destinations(operator)).destinations.find((d) => d.domain === 'dest.test')).toMatchObject({ paused: { pausedBy: operator.accessKeyId } });
    // A key that reads the queue but may not pause sees the pause, not which key made it.
    const reader = await keySession(server, { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sesame:GetQueue', Resource: '*' }] });
    expect((await destinations(reader)).destinations.find((d) => d.domain === 'dest.test')).toMatchObject({ paused: { pausedBy: 'the operator', reason: null } });
    // Retry needs its own action.
    expect(await call('POST', '/queue/dest.test/retry', { session: operator, body: {} })).toMatchObject({ status: 403, body: { code: 'AccessDenied' } });
    expect((await call('POST', '/queue/dest.test/resume', { session: operator, body: {} })).status).toBe(200);
    expect(await server.instance.storage.queue.pausedDestinations()).toEqual([]);
  });

  it("refuses pause to another account's root key: a pause holds for every account", async () => {
    await server.instance.storage.accounts.ensure({ id: '111111111111', createdAt: Date.now(), settings: {} });
    const other = await server.instance.core.accounts.createKey({ accountId: '111111111111', description: 'another tenant root', isRoot: true });
    const session = await consoleSignIn(server, other.accessKeyId, other.secretAccessKey);
    const r = await call('POST', '/queue/gmail.test/pause', { session, body: { reason: 'mine alone' } });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 'AccessDenied', message: expect.stringContaining("so only keys of the installation's account") });
    expect(await server.instance.storage.queue.pausedDestinations()).toEqual([]);
  });

  it('refuses a name that is no domain with BadRequestException, and pauses nothing', async () => {
    for (const bad of ['not a domain', 'a..b', '-x.test']) {
      const r = await call('POST', `/queue/${encodeURIComponent(bad)}/pause`, { session: root, body: {} });
      expect(r.status, bad).toBe(400);
      expect(r.body, bad).toEqual({ code: 'BadRequestException', message: `${JSON.stringify(bad)} is not a domain name: give the destination domain, such as example.com.` });
    }
    expect((await call('POST', '/queue/dest.test/pause', { session: root, body: { reason: 7 } })).status).toBe(200); // a reason that is no text is no reason
    expect((await find('dest.test'))!.paused).toMatchObject({ reason: null });
    expect((await call('POST', '/queue/dest.test/resume', { session: root, body: {} })).status).toBe(200);
    expect(await server.instance.storage.queue.pausedDestinations()).toEqual([]);
    // State changes need the session's CSRF token.
    const noCsrf = await fetch(`${server.url}/console/api/queue/dest.test/pause`, { method: 'POST', headers: { cookie: root.cookie, 'content-type': 'application/json' }, body: '{}' });
    expect(noCsrf.status).toBe(403);
    expect(await server.instance.storage.queue.pausedDestinations()).toEqual([]);
  });
});
