/**
 * The web console's sessions, as a browser sees them over HTTP: sign-in with an access key pair
 * sets an HttpOnly, SameSite=Strict cookie; no console route answers without a session; requests
 * from other sites and state changes without the CSRF token are refused; revoking the key ends the
 * session (also when another node revoked it); signing out ends it. On SQLite, and on PostgreSQL
 * when SESAME_TEST_DATABASE_URL is set.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { consoleCall, consoleSignIn, keySession, type ConsoleCallOptions } from '../helpers/console.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, startTestServer, testBackends, type TestServer } from '../helpers/server.ts';

describe.each(testBackends())('console sessions (%s)', (backend) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ backend });
  }, 60_000);
  afterAll(() => server?.close());

  const call = (method: string, path: string, options: ConsoleCallOptions = {}) => consoleCall(server, method, path, options);
  const signIn = (accessKeyId: string, secretAccessKey: string) => consoleSignIn(server, accessKeyId, secretAccessKey);

  it('serves the built console at /console with a strict CSP, never a file outside it', async () => {
    const bare = await fetch(`${server.url}/console`, { redirect: 'manual' });
    expect(bare.status).toBe(302);
    expect(bare.headers.get('location')).toBe('/console/');
    const page = await fetch(`${server.url}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset, 'web/dist must be built (npm run build)').toBeDefined();
    const js = await fetch(`${server.url}${asset}`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toContain('immutable');
    // An app route is the app's page; a path that climbs out of web/dist never gets the file it names.
    expect(await (await fetch(`${server.url}/console/messages`)).text()).toBe(html);
    for (const path of ['/console/%2e%2e/%2e%2e/package.json', '/console/..%2f..%2fpackage.json', '/console/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2fpackage.json', '/console/%2e%2e%2f%2e%2e%2fsrc%2fmain%2fapp.ts']) {
      const r = await fetch(`${server.url}${path}`);
      const text = await r.text();
      expect(text, path).not.toContain('"name": "sesame"');
      expect(text, path).not.toContain('startSesame');
      expect([200, 404], path).toContain(r.status);
      if (r.status === 200) expect(text, path).toBe(html);
    }
  });

  it('answers no console route without a session', async () => {
    for (const [method, path] of [
      ['GET', '/console/api/session'],
      ['GET', '/console/api/account'],
      ['GET', '/console/api/messages?recipient=x@example.org'],
      ['POST', '/console/api/suppression'],
      ['DELETE', '/console/api/session'],
    ] as const) {
      const a = await call(method, path, method === 'POST' ? { body: {} } : {});
      expect({ method, path, status: a.status, code: a.body.code }).toEqual({ method, path, status: 401, code: 'Unauthenticated' });
    }
    // A made-up cookie is no session either.
    expect((await call('GET', '/console/api/account', { cookie: 'sesame_console=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })).status).toBe(401);
  });

  it('refuses a wrong secret and an unknown key alike, without a cookie', async () => {
    const wrong = await call('POST', '/console/api/session', { body: { accessKeyId: server.accessKeyId, secretAccessKey: `${server.secretAccessKey}x` } });
    const unknown = await call('POST', '/console/api/session', { body: { accessKeyId: 'AKIANOSUCHKEY0000000', secretAccessKey: server.secretAccessKey } });
    for (const a of [wrong, unknown]) {
      expect(a.status).toBe(401);
      expect(a.body).toEqual({ code: 'InvalidCredentials', message: 'The access key ID or the secret access key is not correct, or the key is not active.' });
      expect(a.setCookie).toBeNull();
    }
    const empty = await call('POST', '/console/api/session', { body: { accessKeyId: server.accessKeyId } });
    expect(empty).toMatchObject({ status: 400, body: { code: 'BadRequest', message: 'Give accessKeyId and secretAccessKey.' } });
    const notJson = await fetch(`${server.url}/console/api/session`, { method: 'POST', body: 'accessKeyId=x' });
    expect(notJson.status).toBe(400);
  });

  it('signs in with a key pair: an HttpOnly, SameSite=Strict cookie on /console, the secret never sent back, the token stored only hashed', async () => {
    const { token, cookie, answer } = await signIn(server.accessKeyId, server.secretAccessKey);
    const attributes = answer.setCookie!.split(';').map((p) => p.trim());
    expect(attributes).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/console', 'Max-Age=43200']));
    expect(attributes).not.toContain('Secure'); // plain HTTP here; over HTTPS the cookie is Secure
    expect(JSON.stringify(answer.body)).not.toContain(server.secretAccessKey);
    expect(answer.body).toMatchObject({ accessKeyId: server.accessKeyId, accountId: expect.any(String), csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) });

    const me = await call('GET', '/console/api/session', { cookie });
    expect(me).toMatchObject({ status: 200, body: { accessKeyId: server.accessKeyId, csrfToken: answer.body.csrfToken } });
    const account = await call('GET', '/console/api/account', { cookie });
    expect(account.status).toBe(200);
    expect(account.body).toMatchObject({ quota: { max24HourSend: expect.any(Number), maxSendRate: expect.any(Number) }, sentLast24Hours: expect.any(Number) });
    expect((await call('GET', '/console/api/no-such-page', { cookie })).body.code).toBe('NotFound');

    const sessions = server.instance.storage.consoleSessions;
    expect(await sessions.get(token)).toBeUndefined();
    expect(await sessions.get(createHash('sha256').update(token).digest('hex'))).toMatchObject({ accessKeyId: server.accessKeyId });
  });

  it('refuses requests from other sites and state changes without the session CSRF token', async () => {
    const { cookie, csrf } = await signIn(server.accessKeyId, server.secretAccessKey);
    // A browser marks a request another site made: refused even for a read.
    const crossRead = await call('GET', '/console/api/account', { cookie, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(crossRead).toMatchObject({ status: 403, body: { code: 'CrossSiteRequest' } });
    // Without the CSRF token, or with another, a state change is refused and the session lives on.
    expect((await call('DELETE', '/console/api/session', { cookie })).body.code).toBe('InvalidCsrfToken');
    expect((await call('DELETE', '/console/api/session', { cookie, csrf: `${csrf.slice(1)}A` })).status).toBe(403);
    // With the token but from another origin: refused.
    const foreign = await call('DELETE', '/console/api/session', { cookie, csrf, headers: { origin: 'https://evil.example' } });
    expect(foreign).toMatchObject({ status: 403, body: { code: 'CrossSiteRequest' } });
    // A sign-in posted by another site's form: refused, no cookie set.
    const forged = await call('POST', '/console/api/session', { body: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, headers: { origin: 'https://evil.example' } });
    expect(forged.status).toBe(403);
    expect(forged.setCookie).toBeNull();
    expect((await call('GET', '/console/api/session', { cookie })).status).toBe(200);
  });

  it('works behind a TLS-terminating proxy: the https origin of the same host is its own, and the cookie is Secure', async () => {
    const host = new URL(server.url).host;
    const viaProxy = { origin: 'https://mail.example.test', 'x-forwarded-host': 'mail.example.test', 'x-forwarded-proto': 'https' };
    const signedIn = await call('POST', '/console/api/session', { body: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, headers: viaProxy });
    expect(signedIn.status).toBe(200);
    expect(signedIn.setCookie).toContain('; Secure');
    const cookie = /^(sesame_console=[^;]+)/.exec(signedIn.setCookie!)![1]!;
    // The https origin of the host Sesame itself is reached by (a proxy that keeps Host) is its own too.
    const same = await call('DELETE', '/console/api/session', { cookie, csrf: String(signedIn.body.csrfToken), headers: { origin: `https://${host}` } });
    expect(same.status).toBe(204);
    // Another host is not, whatever the proxy headers say about this one.
    const other = await call('POST', '/console/api/session', { body: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, headers: { ...viaProxy, origin: 'https://evil.example' } });
    expect(other.status).toBe(403);
  });

  it('signs out: the cookie is cleared and the session no longer answers', async () => {
    const { cookie, csrf } = await signIn(server.accessKeyId, server.secretAccessKey);
    const out = await call('DELETE', '/console/api/session', { cookie, csrf, headers: { origin: server.url } });
    expect(out.status).toBe(204);
    expect(out.setCookie).toMatch(/^sesame_console=; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=0/);
    expect((await call('GET', '/console/api/account', { cookie })).status).toBe(401);
  });

  it('ends the session when its key is revoked, and when another node revoked it', async () => {
    const accounts = server.instance.core.accounts;
    const key = await accounts.createKey({ description: 'console user' });
    const first = await signIn(key.accessKeyId, key.secretAccessKey);
    const second = await signIn(key.accessKeyId, key.secretAccessKey);
    const other = await signIn(server.accessKeyId, server.secretAccessKey);
    expect((await call('GET', '/console/api/account', { cookie: first.cookie })).status).toBe(200);
    // `sesame keys revoke` (and every way of revoking) goes through this call.
    expect(await accounts.revokeKey(key.accessKeyId)).toBe(true);
    for (const s of [first, second]) expect((await call('GET', '/console/api/account', { cookie: s.cookie })).status).toBe(401);
    expect((await call('GET', '/console/api/account', { cookie: other.cookie })).status).toBe(200);
    // The revoked key cannot sign in again.
    expect((await call('POST', '/console/api/session', { body: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } })).status).toBe(401);

    // Another node's revocation changes only the key's row: the session still ends at its next request.
    const key2 = await accounts.createKey({ description: 'console user 2' });
    const s2 = await signIn(key2.accessKeyId, key2.secretAccessKey);
    await server.instance.storage.accessKeys.setStatus(key2.accessKeyId, 'Inactive');
    expect((await call('GET', '/console/api/session', { cookie: s2.cookie })).status).toBe(401);
    expect(await server.instance.storage.consoleSessions.get(createHash('sha256').update(s2.token).digest('hex'))).toBeUndefined();
  });

  it("manages identities with the session key's policy: create, list, read with live record checks, delete", async () => {
    const { cookie, csrf } = await signIn(server.accessKeyId, server.secretAccessKey);
    const domain = `console-${backend}.example.test`;
    expect((await call('POST', '/console/api/identities', { body: { name: domain } })).status).toBe(401);
    expect((await call('POST', '/console/api/identities', { cookie, body: { name: domain } })).body.code).toBe('InvalidCsrfToken');
    const made = await call('POST', '/console/api/identities', { cookie, csrf, body: { name: domain } });
    expect(made).toMatchObject({ status: 200, body: { name: domain, type: 'DOMAIN', verificationStatus: 'PENDING', dkim: { status: 'PENDING', signingEnabled: true } } });
    expect((await call('POST', '/console/api/identities', { cookie, csrf, body: { name: domain } })).status).toBe(409);
    const bad = await call('POST', '/console/api/identities', { cookie, csrf, body: { name: 'not a domain' } });
    expect(bad).toMatchObject({ status: 400, body: { code: 'BadRequestException' } });

    const listed = await call('GET', `/console/api/identities?nameContains=${backend}`, { cookie });
    expect(listed.body.items).toEqual([expect.objectContaining({ name: domain })]);
    const one = await call('GET', `/console/api/identities/${domain}`, { cookie });
    const records = one.body.records as Array<{ type: string; name: string; value: string; check: { found: boolean; error?: string } }>;
    expect(records.map((r) => `${r.type} ${r.name} ${r.value}`)).toEqual(
      (await server.instance.core.identities.dnsRecords(server.instance.config.accountId, domain)).map((r) => `${r.type} ${r.name} ${r.value}`),
    );
    // The test server's own resolver knows no name: every record is missing, and says why.
    expect(records.every((r) => !r.check.found && r.check.error === 'the name does not exist (NXDOMAIN)')).toBe(true);

    // A key whose policy does not allow creating identities is refused with SES's AccessDenied.
    const ro = await keySession(server, { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ses:Get*', 'ses:List*'], Resource: '*' }] }, 'read only');
    const denied = await call('POST', '/console/api/identities', { cookie: ro.cookie, csrf: ro.csrf, body: { name: `other-${domain}` } });
    expect(denied).toMatchObject({ status: 403, body: { code: 'AccessDenied' } });
    expect((await call('GET', `/console/api/identities/${domain}`, { cookie: ro.cookie })).status).toBe(200);

    expect((await call('DELETE', `/console/api/identities/${domain}`, { cookie, csrf })).status).toBe(204);
    expect((await call('GET', `/console/api/identities/${domain}`, { cookie })).status).toBe(404);
  });
});

describe.each(testBackends())('console message search (%s)', (backend) => {
  let fixture: SendingFixture;
  let cookie = '';

  beforeAll(async () => {
    fixture = await startSendingFixture({ backend });
    ({ cookie } = await consoleSignIn(fixture.server, fixture.server.accessKeyId, fixture.server.secretAccessKey));
  }, 60_000);
  afterAll(() => fixture?.close());

  const search = async (query: Record<string, string>) => {
    const r = await fetch(`${fixture.server.url}/console/api/messages?${new URLSearchParams(query)}`, { headers: { cookie } });
    return { status: r.status, body: (await r.json()) as { items: Array<{ messageId: string; subject?: string; recipients: Array<{ rcpt: string; state: string }> }>; nextCursor?: string; code?: string } };
  };

  it('finds messages by recipient, sender or subject text, MessageId, status and time, newest first, a page at a time', async () => {
    const v2 = fixture.server.sesv2();
    const sent: string[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) {
      const { MessageId } = await v2.send(
        new SendEmailCommand({
          FromEmailAddress: i === 4 ? 'Billing <billing@sender.test>' : 'News <news@sender.test>',
          Destination: { ToAddresses: [i % 2 === 0 ? 'Ann@Dest.Test' : 'bob@dest.test'] },
          Content: { Simple: { Subject: { Data: i === 3 ? 'Your invoice 42' : `Newsletter ${i}` }, Body: { Text: { Data: 'hello' } } } },
        }),
      );
      sent.push(MessageId!);
    }
    await fixture.sink.waitFor(() => fixture.sink.messages.length >= 5);
    await eventually(async () => (await search({ status: 'queued' })).body.items.length === 0, 15_000, 'every message delivered');

    const all = await search({});
    expect(all.body.items.map((m) => m.messageId)).toEqual([...sent].reverse());
    // The recipient as typed, or with the domain in lower case.
    expect((await search({ recipient: 'Ann@dest.test' })).body.items.map((m) => m.messageId)).toEqual([sent[4], sent[2], sent[0]]);
    expect((await search({ recipient: 'carol@dest.test' })).body.items).toEqual([]);
    expect((await search({ q: 'INVOICE' })).body.items.map((m) => m.subject)).toEqual(['Your invoice 42']);
    expect((await search({ q: 'billing@' })).body.items.map((m) => m.messageId)).toEqual([sent[4]]);
    // Text that is in the stored mail object but not in the sender or the subject does not match.
    expect((await search({ q: 'destination' })).body.items).toEqual([]);
    expect((await search({ messageId: sent[1]! })).body.items.map((m) => m.recipients)).toEqual([[expect.objectContaining({ rcpt: 'bob@dest.test', state: 'delivered' })]]);
    expect((await search({ status: 'delivered' })).body.items).toHaveLength(5);
    expect((await search({ status: 'bounced' })).body.items).toEqual([]);
    expect((await search({ until: new Date(t0 - 1).toISOString() })).body.items).toEqual([]);
    expect((await search({ since: new Date(t0 - 1).toISOString() })).body.items).toHaveLength(5);

    const page1 = await search({ limit: '2' });
    expect(page1.body.items).toHaveLength(2);
    const page2 = await search({ limit: '2', cursor: page1.body.nextCursor! });
    const page3 = await search({ limit: '2', cursor: page2.body.nextCursor! });
    expect([...page1.body.items, ...page2.body.items, ...page3.body.items].map((m) => m.messageId)).toEqual([...sent].reverse());
    expect(page3.body.nextCursor).toBeUndefined();
    // Pages of a text search (on SQLite read from the full-text index, in storage order).
    const t1 = await search({ q: 'sender.test', limit: '2' });
    const t2 = await search({ q: 'sender.test', limit: '2', cursor: t1.body.nextCursor! });
    const t3 = await search({ q: 'sender.test', limit: '2', cursor: t2.body.nextCursor! });
    expect([...t1.body.items, ...t2.body.items, ...t3.body.items].map((m) => m.messageId)).toEqual([...sent].reverse());

    expect(await search({ status: 'lost' })).toMatchObject({ status: 400, body: { code: 'BadRequest' } });
    expect(await search({ cursor: 'nonsense' })).toMatchObject({ status: 400, body: { code: 'BadRequestException' } });
    expect(await search({ since: 'yesterday' })).toMatchObject({ status: 400 });
    // A parameter given twice counts once, never a server error.
    const twice = await fetch(`${fixture.server.url}/console/api/messages?q=invoice&q=news&recipient=a@b.test&recipient=c@d.test&status=queued&status=bounced`, { headers: { cookie } });
    expect(twice.status).toBe(200);

    const one = await fetch(`${fixture.server.url}/console/api/messages/${sent[3]}`, { headers: { cookie } });
    const inspected = (await one.json()) as { events: Array<{ type: string; payload: { delivery?: { smtpResponse?: string } } }> };
    expect(inspected.events.map((e) => e.type)).toEqual(['Send', 'Delivery']);
    expect(inspected.events[1]!.payload.delivery?.smtpResponse).toMatch(/^250 /);
    expect((await fetch(`${fixture.server.url}/console/api/messages/0100000000000000-00000000-0000-4000-8000-000000000000-000000`, { headers: { cookie } })).status).toBe(404);
    // Retry and cancel: nothing is queued any more, so nothing changes; an unknown message is a 404.
    const csrf = ((await (await fetch(`${fixture.server.url}/console/api/session`, { headers: { cookie } })).json()) as { csrfToken: string }).csrfToken;
    const act = (path: string) => fetch(`${fixture.server.url}/console/api/messages/${path}`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
    expect(await (await act(`${sent[0]}/retry`)).json()).toEqual({ recipientsMadeDue: 0 });
    expect(await (await act(`${sent[0]}/cancel`)).json()).toEqual({ recipientsCancelled: [] });
    const unknown = await act('0100000000000000-00000000-0000-4000-8000-000000000000-000000/cancel');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'NotFoundException' });
  });

  it('keeps the suppression list and sends test mail with the checks of SendEmail', async () => {
    const call = async (method: string, path: string, body?: unknown) => {
      const s = await fetch(`${fixture.server.url}/console/api/session`, { headers: { cookie } });
      const csrf = ((await s.json()) as { csrfToken: string }).csrfToken;
      const r = await fetch(`${fixture.server.url}/console/api${path}`, { method, headers: { cookie, 'x-csrf-token': csrf, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
      const text = await r.text();
      return { status: r.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> & { items?: Array<{ email: string; reason: string }> } };
    };
    expect(await call('POST', '/suppression', { email: 'Blocked@Dest.test', reason: 'COMPLAINT' })).toMatchObject({ status: 200, body: { email: 'blocked@dest.test', reason: 'COMPLAINT' } });
    expect((await call('GET', '/suppression?email=blocked@dest.test')).body.items).toEqual([expect.objectContaining({ email: 'blocked@dest.test' })]);
    expect((await call('GET', '/suppression?reason=BOUNCE')).body.items).toEqual([]);
    expect(await call('POST', '/suppression', { email: 'x@dest.test', reason: 'SPAM' })).toMatchObject({ status: 400, body: { message: 'Reason must be BOUNCE or COMPLAINT.' } });

    const refused = await call('POST', '/send-test', { from: 'someone@unverified.test', to: 'ann@dest.test' });
    expect(refused).toMatchObject({ status: 400, body: { code: 'MessageRejected', message: expect.stringContaining('Email address is not verified') } });
    const sent = await call('POST', '/send-test', { from: 'console@sender.test', to: 'blocked@dest.test', subject: 'to the list' });
    expect(sent.body.messageId).toMatch(/^0100/);
    await eventually(async () => (await fixture.server.instance.storage.queue.events(String(sent.body.messageId))).some((e) => e.type === 'Bounce'), 10_000, 'the suppression bounce');

    expect((await call('DELETE', '/suppression/blocked@dest.test')).status).toBe(204);
    expect((await call('DELETE', '/suppression/blocked@dest.test')).status).toBe(404);
  });
});
