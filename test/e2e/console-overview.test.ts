/**
 * The console's overview reputation and the suppression list's CSV import and export, over HTTP
 * with a session, on SQLite and (when SESAME_TEST_DATABASE_URL is set) PostgreSQL: the rates and
 * status are the ones GetAccount and the reputation metrics report; an imported list is the one
 * the SES v2 API lists, bad lines are named and the rest applied, the export reads back.
 */
import { GetAccountCommand, GetSuppressedDestinationCommand, ListSuppressedDestinationsCommand, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleCall, consoleSignIn, keySession, type ConsoleSession } from '../helpers/console.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends } from '../helpers/server.ts';

describe.each(testBackends())('console overview and suppression CSV (%s)', (backend) => {
  let fixture: SendingFixture;
  let root: ConsoleSession;

  beforeAll(async () => {
    fixture = await startSendingFixture({ backend, env: { SESAME_REPUTATION_MIN_SENDS: '4', SESAME_REPUTATION_BOUNCE_REVIEW: '20%', SESAME_REPUTATION_BOUNCE_PAUSE: '60%' } });
    root = await consoleSignIn(fixture.server, fixture.server.accessKeyId, fixture.server.secretAccessKey);
  }, 60_000);
  afterAll(() => fixture?.close());

  /** `method path` with `body` as `who` (no session when null): the CSRF token on all but GETs; a CSV body reads as {}. */
  const call = (method: string, path: string, body?: unknown, who: Pick<ConsoleSession, 'cookie' | 'csrf'> | null = root) =>
    consoleCall(fixture.server, method, path, { session: who, body, csrf: method !== 'GET', lenient: true });
  const signInWith = (policy: unknown) => keySession(fixture.server, policy, 'console overview test');

  it('shows the bounce and complaint rates against the thresholds, and the status GetAccount reports', async () => {
    const { sink, server } = fixture;
    const before = await call('GET', '/console/api/reputation');
    expect(before.status, before.text).toBe(200);
    expect(before.body).toMatchObject({ sends: 0, bounceRate: 0, complaintRate: 0, enforcementStatus: 'HEALTHY', minSends: 4, thresholds: { bounceReview: 0.2, bouncePause: 0.6, complaintReview: 0.001, complaintPause: 0.005 } });

    sink.rcptReplies.set('gone@dest.test', { code: 550, message: '5.1.1 no such user' });
    for (const to of ['a@dest.test', 'b@dest.test', 'c@dest.test', 'gone@dest.test']) {
      await server.sesv2().send(new SendEmailCommand({ FromEmailAddress: 'news@sender.test', Destination: { ToAddresses: [to] }, Content: { Simple: { Subject: { Data: 'Hi' }, Body: { Text: { Data: 'Hello' } } } } }));
    }
    // One hard bounce in four recipients: 25 %, past the 20 % review threshold.
    const after = await eventually(async () => {
      const r = await call('GET', '/console/api/reputation');
      return r.body.sends === 4 && r.body.enforcementStatus === 'PROBATION' ? r : undefined;
    }, 15_000, 'four recipients counted and the account under review');
    expect(after.body.bounceRate).toBe(0.25);
    expect((await server.sesv2().send(new GetAccountCommand({}))).EnforcementStatus).toBe('PROBATION');
  });

  it('refuses the reputation without a session, and to a key whose policy does not allow ses:GetAccount', async () => {
    expect((await call('GET', '/console/api/reputation', undefined, null)).status).toBe(401);
    const sender = await signInWith({ Statement: [{ Effect: 'Allow', Action: 'ses:SendEmail', Resource: '*' }] });
    const r = await call('GET', '/console/api/reputation', undefined, sender);
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 'AccessDenied' });
    expect(String(r.body.message)).toContain('is not authorized to perform: ses:GetAccount');
  });

  it('imports a CSV list: good lines land on the list the SES API shows, bad ones are named with their line', async () => {
    const csv = ['emailAddress,reason', 'One@Import.test,BOUNCE', '"two@import.test",COMPLAINT', 'three@import.test', 'not-an-address,BOUNCE', 'four@import.test,SPAM', ''].join('\r\n');
    const r = await call('POST', '/console/api/suppression/import', { csv, action: 'PUT' });
    expect(r.status, r.text).toBe(200);
    expect(r.body.processed).toBe(3);
    expect(r.body.failed).toEqual([
      { line: 5, value: 'not-an-address', reason: expect.stringContaining('Invalid email address <not-an-address>') },
      { line: 6, value: 'four@import.test', reason: 'Reason must be BOUNCE or COMPLAINT, not "SPAM".' },
    ]);
    const sdk = fixture.server.sesv2();
    expect((await sdk.send(new GetSuppressedDestinationCommand({ EmailAddress: 'one@import.test' }))).SuppressedDestination?.Reason).toBe('BOUNCE');
    expect((await sdk.send(new GetSuppressedDestinationCommand({ EmailAddress: 'two@import.test' }))).SuppressedDestination?.Reason).toBe('COMPLAINT');
    expect((await sdk.send(new GetSuppressedDestinationCommand({ EmailAddress: 'three@import.test' }))).SuppressedDestination?.Reason).toBe('BOUNCE');
    const missing = await sdk.send(new GetSuppressedDestinationCommand({ EmailAddress: 'four@import.test' })).catch((e: Error) => e);
    expect((missing as Error).name).toBe('NotFoundException');

    // The next send to an imported address is suppressed, as SES does.
    const sent = await sdk.send(new SendEmailCommand({ FromEmailAddress: 'news@sender.test', Destination: { ToAddresses: ['one@import.test'] }, Content: { Simple: { Subject: { Data: 'x' }, Body: { Text: { Data: 'y' } } } } }));
    const inspected = await eventually(async () => {
      const m = await call('GET', `/console/api/messages/${sent.MessageId}`);
      const state = (m.body.recipients as Array<{ state: string }> | undefined)?.[0]?.state;
      return state === 'suppressed' ? m : undefined;
    }, 10_000, 'the imported address suppressed');
    expect(inspected.status).toBe(200);
  });

  it('exports the whole list as CSV that imports back, and removes with a DELETE import', async () => {
    // More than one storage page of the export (1,000 rows).
    const many = Array.from({ length: 1_203 }, (_, i) => `bulk${String(i).padStart(4, '0')}@export.test,COMPLAINT`).join('\n');
    expect((await call('POST', '/console/api/suppression/import', { csv: many })).body).toEqual({ processed: 1_203, failed: [] });

    const r = await call('GET', '/console/api/suppression/export');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="suppression-list-\d{12}-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = r.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('emailAddress,reason,lastUpdateTime,messageId');
    const listed: string[] = [];
    let token: string | undefined;
    do {
      const page = await fixture.server.sesv2().send(new ListSuppressedDestinationsCommand({ NextToken: token, PageSize: 1000 }));
      listed.push(...(page.SuppressedDestinationSummaries ?? []).map((s) => `${s.EmailAddress},${s.Reason}`));
      token = page.NextToken;
    } while (token);
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 2).join(',')).sort()).toEqual(listed.sort());
    expect(lines.length - 1).toBeGreaterThanOrEqual(1_203);

    // The export, imported with DELETE, empties the list.
    const removed = await call('POST', '/console/api/suppression/import', { csv: r.text, action: 'DELETE' });
    expect(removed.body).toEqual({ processed: lines.length - 1, failed: [] });
    expect((await fixture.server.sesv2().send(new ListSuppressedDestinationsCommand({}))).SuppressedDestinationSummaries ?? []).toEqual([]);
  });

  it('exports an address that starts like a spreadsheet formula as text, and imports it back', async () => {
    expect((await call('POST', '/console/api/suppression/import', { csv: '=cmd@formula.test,BOUNCE\n+tag@formula.test,COMPLAINT' })).body).toEqual({ processed: 2, failed: [] });
    const exported = (await call('GET', '/console/api/suppression/export')).text.split('\r\n').filter((l) => l.includes('@formula.test'));
    expect(exported.map((l) => l.split(',').slice(0, 2).join(','))).toEqual(["'+tag@formula.test,COMPLAINT", "'=cmd@formula.test,BOUNCE"]);
    expect((await call('POST', '/console/api/suppression/import', { csv: exported.join('\n'), action: 'DELETE' })).body).toEqual({ processed: 2, failed: [] });
    const sdk = fixture.server.sesv2();
    const gone = await sdk.send(new GetSuppressedDestinationCommand({ EmailAddress: '=cmd@formula.test' })).catch((e: Error) => e);
    expect((gone as Error).name).toBe('NotFoundException');
  });

  it('refuses an import that is not CSV, is empty, is too long, or comes from a key without ses:CreateImportJob, and changes nothing', async () => {
    const count = async () => ((await fixture.server.sesv2().send(new ListSuppressedDestinationsCommand({}))).SuppressedDestinationSummaries ?? []).length;
    const n = await count();
    const unclosed = await call('POST', '/console/api/suppression/import', { csv: 'a@b.test,BOUNCE\n"c@d.test,BOUNCE' });
    expect(unclosed.status).toBe(400);
    expect(unclosed.body).toMatchObject({ code: 'BadRequestException', message: 'The file is not valid CSV: a quoted field that starts on line 2 is not closed.' });
    const empty = await call('POST', '/console/api/suppression/import', { csv: 'emailAddress,reason\n' });
    expect(empty.body).toMatchObject({ code: 'BadRequestException', message: 'The file has no records: give one address per line, as emailAddress,reason.' });
    const long = await call('POST', '/console/api/suppression/import', { csv: Array.from({ length: 10_001 }, (_, i) => `x${i}@long.test`).join('\n') });
    expect(long.body).toMatchObject({ code: 'BadRequestException', message: 'The file has 10001 records; one import takes at most 10000.' });
    const action = await call('POST', '/console/api/suppression/import', { csv: 'a@b.test', action: 'MERGE' });
    expect(action.body).toMatchObject({ code: 'BadRequestException', message: 'SuppressionListImportAction must be PUT or DELETE.' });
    const noCsrf = await call('POST', '/console/api/suppression/import', { csv: 'a@b.test' }, { cookie: root.cookie, csrf: '' });
    expect(noCsrf.status).toBe(403);
    const sender = await signInWith({ Statement: [{ Effect: 'Allow', Action: 'ses:SendEmail', Resource: '*' }] });
    const denied = await call('POST', '/console/api/suppression/import', { csv: 'a@b.test' }, sender);
    expect(denied.status).toBe(403);
    expect(String(denied.body.message)).toContain('ses:CreateImportJob');
    const deniedExport = await call('GET', '/console/api/suppression/export', undefined, sender);
    expect(deniedExport.status).toBe(403);
    expect((await call('GET', '/console/api/suppression/export', undefined, null)).status).toBe(401);
    expect(await count()).toBe(n);
  });
});
