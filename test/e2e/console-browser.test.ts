/**
 * The web console in a real browser (playwright-core driving Debian's Chromium): the sign-in page,
 * a refused sign-in, the overview with the account's quota as the SES API reports it, the session
 * cookie as the browser keeps it (HttpOnly, SameSite=Strict, unreadable by scripts), a page on
 * another site that cannot use the session, sign-out, a revoked key's session ending, and a
 * domain created in the console whose DNS records turn from red to green once published, and a
 * sent message found in Messages with its Delivery event.
 * Screenshots of each page at desktop and phone widths go to test-results/console/.
 * Skipped when Chromium is not installed (global setup says so); .ci/run installs it.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetAccountCommand, GetEmailIdentityCommand, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDnsServer } from '../helpers/dns-server.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { publishRecords } from '../helpers/identities.ts';
import { eventually, type TestServer } from '../helpers/server.ts';
import { HAS_CHROMIUM, launchBrowser, shoot, signIn, WIDTHS } from '../helpers/browser.ts';

describe.skipIf(!HAS_CHROMIUM)('web console in Chromium', () => {
  let fixture: SendingFixture;
  let server: TestServer;
  let dns: TestDnsServer;
  let browser: Browser;
  let otherSite: Server;
  let otherSiteUrl: string;

  beforeAll(async () => {
    // A server that delivers to a sink: sender.test verified, dest.test's MX the sink.
    fixture = await startSendingFixture();
    ({ server, dns } = fixture);
    browser = await launchBrowser();
    // "Another site": a page on 127.0.0.2 (another host, so another site for the browser) that tries to use the console's session.
    otherSite = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>other site</title><p>other site: <a href="${server.url}/console/api/account">the console</a></p>`),
    );
    await new Promise<void>((r) => otherSite.listen(0, '127.0.0.2', r));
    otherSiteUrl = `http://127.0.0.2:${(otherSite.address() as AddressInfo).port}`;
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => otherSite?.close(r));
    await fixture?.close();
  });

  it('signs in, shows the overview with the quota the SES API reports, keeps the cookie from scripts and other sites, and signs out', async () => {
    const context = await browser.newContext({ viewport: WIDTHS.desktop });
    const page = await context.newPage();
    const answer = await page.goto(`${server.url}/console`);
    expect(answer?.headers()['content-security-policy']).toContain("script-src 'self'");
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in to Sesame' }).isVisible()).toBe(true);
    await shoot(page, 'sign-in');

    await signIn(page, server.accessKeyId, `${server.secretAccessKey}wrong`);
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('The access key ID or the secret access key is not correct, or the key is not active.');
    expect(await context.cookies()).toEqual([]);

    await page.getByLabel('Secret access key').fill(server.secretAccessKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Overview' }).isVisible(), { timeout: 10_000 }).toBe(true);
    const sdk = await server.sesv2().send(new GetAccountCommand({}));
    await expect.poll(() => page.getByTestId('sent-24h').textContent()).toBe(String(sdk.SendQuota!.SentLast24Hours ?? 0));
    const max = sdk.SendQuota!.Max24HourSend!;
    expect(await page.getByTestId('max-24h').textContent()).toBe(max < 0 ? 'unlimited' : max.toLocaleString('en-US'));
    // Reputation as GetAccount reports it, and the queue's depth (nothing sent yet).
    expect(sdk.EnforcementStatus).toBe('HEALTHY');
    await expect.poll(() => page.getByTestId('enforcement-status').textContent()).toBe('Healthy');
    expect(await page.getByTestId('bounce-rate').textContent()).toBe('0.00 %');
    expect(await page.getByTestId('complaint-rate').textContent()).toBe('0.000 %');
    await expect.poll(() => page.getByTestId('queue-depth').textContent()).toBe('0');
    await shoot(page, 'overview');

    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'sesame_console', httpOnly: true, sameSite: 'Strict', path: '/console' });
    expect(await page.evaluate<string>('document.cookie')).not.toContain('sesame_console');

    // Another site links to the console's API: the browser marks the request cross-site (and
    // leaves out the SameSite=Strict cookie), and the console refuses it.
    const other = await context.newPage();
    await other.goto(otherSiteUrl);
    await Promise.all([other.waitForURL(`${server.url}/console/api/account`), other.getByText('the console').click()]);
    expect(JSON.parse((await other.locator('body').textContent()) ?? '{}')).toMatchObject({ code: 'CrossSiteRequest' });
    // …while the same link followed from the console's own page carries the session.
    const own = await context.newPage();
    await own.goto(`${server.url}/console/api/account`);
    expect(JSON.parse((await own.locator('body').textContent()) ?? '{}')).toMatchObject({ quota: { max24HourSend: max } });
    // A script of the other site cannot read the console's API either (no CORS).
    await other.goto(otherSiteUrl);
    const read = await other.evaluate(async (url) => (await fetch(`${url}/console/api/account`, { credentials: 'include' }).catch(() => undefined))?.status ?? 'blocked', server.url);
    expect(read).toBe('blocked');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in to Sesame' }).isVisible()).toBe(true);
    await page.reload();
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in to Sesame' }).isVisible()).toBe(true);
    await context.close();
  });

  it("ends the console session of a key that is revoked: the next page load asks to sign in", async () => {
    const key = await server.instance.core.accounts.createKey({ description: 'console browser user' });
    const context = await browser.newContext({ viewport: WIDTHS.desktop });
    const page = await context.newPage();
    await page.goto(`${server.url}/console/`);
    await signIn(page, key.accessKeyId, key.secretAccessKey);
    await expect.poll(() => page.getByRole('heading', { name: 'Overview' }).isVisible(), { timeout: 10_000 }).toBe(true);
    await server.instance.core.accounts.revokeKey(key.accessKeyId);
    await page.reload();
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in to Sesame' }).isVisible(), { timeout: 10_000 }).toBe(true);
    await context.close();
  });

  it('creates a domain: its DNS records show red with what the resolver saw, then green once published, and the identity turns verified', async () => {
    const domain = 'console-example.test';
    const context = await browser.newContext({ viewport: WIDTHS.desktop });
    const page = await context.newPage();
    await page.goto(`${server.url}/console/`);
    await signIn(page, server.accessKeyId, server.secretAccessKey);
    await page.getByRole('navigation').getByRole('link', { name: 'Identities' }).click();
    await page.getByLabel('Domain or email address').fill(domain);
    await page.getByRole('button', { name: 'Create identity' }).click();
    await expect.poll(() => page.getByRole('heading', { name: domain }).isVisible(), { timeout: 10_000 }).toBe(true);

    const expected = await server.instance.core.identities.dnsRecords(server.instance.config.accountId, domain);
    const records = page.getByTestId('dns-record');
    await expect.poll(() => records.count()).toBe(expected.length);
    for (const r of expected) {
      const item = records.filter({ hasText: r.name }).filter({ hasText: r.value });
      expect(await item.count(), `${r.type} ${r.name}`).toBe(1);
      expect(await item.getByRole('status').textContent()).toMatch(/^✗ /);
    }
    expect(await page.getByTestId('verification-status').textContent()).toBe('Pending');
    // A DMARC record with another value is already published: the page shows what the resolver saw.
    dns.add(`_dmarc.${domain}`, 'TXT', 'v=DMARC1; p=reject');
    await page.getByRole('button', { name: 'Check DNS now' }).click();
    await expect.poll(() => page.getByText('The resolver saw: v=DMARC1; p=reject').isVisible()).toBe(true);
    await shoot(page, 'identity-pending');

    publishRecords(dns, expected);
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: /Check DNS now|Checking/ }).click();
          await page.getByRole('button', { name: 'Check DNS now' }).waitFor();
          return (await page.getByTestId('verification-status').textContent()) === 'Verified' && (await page.locator('[data-testid="dns-record"].ok').count());
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(expected.length);
    for (const r of expected) expect(await records.filter({ hasText: r.name }).filter({ hasText: r.value }).getByRole('status').textContent()).toBe('✓ published');
    const sdk = await server.sesv2().send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
    expect(sdk.VerifiedForSendingStatus).toBe(true);
    await shoot(page, 'identity-verified');

    // A custom MAIL FROM domain: one outside the domain is refused in SES's words; a subdomain is
    // set (as GetEmailIdentity shows), adds its MX and SPF records, and turns green once they are published.
    const mailFrom = page.getByLabel('Custom MAIL FROM domain (empty: the default)');
    await mailFrom.fill('elsewhere.test');
    await page.getByRole('button', { name: 'Save MAIL FROM' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe(`MAIL FROM domain <elsewhere.test> must be a subdomain of the verified identity <${domain}>.`);
    await mailFrom.fill(`bounce.${domain}`);
    await page.getByRole('button', { name: 'Save MAIL FROM' }).click();
    await expect.poll(() => page.getByTestId('mail-from-status').textContent()).toBe(`bounce.${domain} Pending`);
    const withMailFrom = await server.instance.core.identities.dnsRecords(server.instance.config.accountId, domain);
    expect(withMailFrom.filter((r) => r.name === `bounce.${domain}`).map((r) => r.type)).toEqual(['MX', 'TXT']);
    await expect.poll(() => records.count()).toBe(withMailFrom.length);
    expect((await server.sesv2().send(new GetEmailIdentityCommand({ EmailIdentity: domain }))).MailFromAttributes).toMatchObject({ MailFromDomain: `bounce.${domain}`, MailFromDomainStatus: 'PENDING', BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' });
    publishRecords(dns, withMailFrom.filter((r) => r.name === `bounce.${domain}`));
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: /Check DNS now|Checking/ }).click();
          await page.getByRole('button', { name: 'Check DNS now' }).waitFor();
          return page.getByTestId('mail-from-status').textContent();
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(`bounce.${domain} Verified`);
    await shoot(page, 'identity-mail-from');

    await page.getByRole('navigation').getByRole('link', { name: 'Identities' }).click();
    const row = page.getByRole('row', { name: new RegExp(domain) });
    await expect.poll(() => row.getByText('Verified').first().isVisible()).toBe(true);
    await shoot(page, 'identities');
    await context.close();
  });

  it('finds a sent message by its recipient in Messages, with its Delivery event and the remote reply', async () => {
    const { MessageId } = await server.sesv2().send(
      new SendEmailCommand({ FromEmailAddress: 'orders@sender.test', Destination: { ToAddresses: ['console-reader@dest.test'] }, Content: { Simple: { Subject: { Data: 'Find me in the console' }, Body: { Text: { Data: 'hi' } } } } }),
    );
    await eventually(async () => (await server.instance.storage.queue.events(MessageId!)).some((e) => e.type === 'Delivery'), 15_000, 'the Delivery event');
    const context = await browser.newContext({ viewport: WIDTHS.desktop });
    const page = await context.newPage();
    await page.goto(`${server.url}/console/`);
    await signIn(page, server.accessKeyId, server.secretAccessKey);
    await page.getByRole('navigation').getByRole('link', { name: 'Messages' }).click();
    await page.getByLabel('Recipient').fill('console-reader@dest.test');
    await page.getByRole('button', { name: 'Search' }).click();
    const rows = page.getByTestId('message-row');
    await expect.poll(async () => (await rows.count()) === 1 && (await rows.first().textContent())).toContain('Find me in the console');
    expect(await rows.first().textContent()).toContain('delivered');
    await shoot(page, 'messages');

    await rows.first().getByRole('link').click();
    await expect.poll(() => page.getByRole('heading', { name: 'Find me in the console' }).isVisible()).toBe(true);
    expect(await page.getByText(MessageId!).isVisible()).toBe(true);
    const events = page.getByTestId('event');
    await expect.poll(() => events.allTextContents()).toEqual([expect.stringMatching(/^Send /), expect.stringMatching(/^Delivery .*250 /)]);
    await shoot(page, 'message');
    await context.close();
  });

  it('suppresses an address, sends test mails from the overview: the suppressed one bounces with SES\'s suppression text, the other is delivered', async () => {
    const context = await browser.newContext({ viewport: WIDTHS.desktop });
    const page = await context.newPage();
    await page.goto(`${server.url}/console/`);
    await signIn(page, server.accessKeyId, server.secretAccessKey);
    await page.getByRole('navigation').getByRole('link', { name: 'Suppression' }).click();
    await page.getByLabel('Address to suppress').fill('Gone@Dest.test');
    await page.getByRole('button', { name: 'Suppress' }).click();
    await expect.poll(() => page.getByTestId('suppressed').allTextContents()).toEqual([expect.stringContaining('gone@dest.test')]);
    await shoot(page, 'suppression');

    // A CSV file imported through the page: the good line lands on the list, the bad one is named.
    await page.getByText('Import or export a CSV file').click();
    await page.getByLabel('CSV file (emailAddress,reason per line)').setInputFiles({ name: 'list.csv', mimeType: 'text/csv', buffer: Buffer.from('emailAddress,reason\nImported@Dest.test,COMPLAINT\nnot-an-address,BOUNCE\n') });
    await page.getByRole('button', { name: 'Import' }).click();
    await expect.poll(() => page.getByTestId('import-result').textContent()).toMatch(/^1 address added or updated; 1 refused\.line 3: not-an-address — Invalid email address <not-an-address>/);
    await expect.poll(() => page.getByTestId('suppressed').allTextContents()).toEqual([expect.stringContaining('gone@dest.test'), expect.stringContaining('imported@dest.test')]);
    await shoot(page, 'suppression-import');
    // …and the whole list downloaded as CSV.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download the whole list as CSV' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^suppression-list-\d{12}-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8').trimEnd().split('\r\n');
    expect(csv.map((l) => l.split(',').slice(0, 2).join(','))).toEqual(['emailAddress,reason', 'gone@dest.test,BOUNCE', 'imported@dest.test,COMPLAINT']);
    await page.getByRole('button', { name: 'Remove imported@dest.test from the list' }).click();
    await expect.poll(() => page.getByTestId('suppressed').allTextContents()).toEqual([expect.stringContaining('gone@dest.test')]);

    for (const to of ['gone@dest.test', 'still-here@dest.test']) {
      await page.getByRole('navigation').getByRole('link', { name: 'Overview' }).click();
      await page.getByLabel('From (a verified identity)').fill('console@sender.test');
      await page.getByLabel('To (comma-separated)').fill(to);
      await page.getByRole('button', { name: 'Send test email' }).click();
      await expect.poll(() => page.getByRole('status').textContent()).toMatch(/^Sent: 0100/);
      if (to === 'gone@dest.test') await shoot(page, 'overview-sent');
      await page.getByRole('status').getByRole('link').click();
      const events = page.getByTestId('event');
      const last = to === 'gone@dest.test' ? /^Bounce .*Permanent: .*on the suppression list for your account/ : /^Delivery .*250 /;
      await expect
        .poll(
          async () => {
            await page.reload();
            await events.first().waitFor();
            return events.allTextContents();
          },
          { timeout: 15_000, interval: 500 },
        )
        .toEqual([expect.stringMatching(/^Send /), expect.stringMatching(last)]);
    }
    expect(fixture.sink.to('gone@dest.test')).toEqual([]);
    expect(fixture.sink.to('still-here@dest.test')).toHaveLength(1);
    await shoot(page, 'message-delivered');

    // The overview's chart counts them: its totals are the account's events of the last 24 hours.
    const counts = await server.instance.storage.queue.eventCounts(server.instance.config.accountId, Date.now() - 25 * 3_600_000, 3_600_000, ['Send', 'Delivery', 'Bounce']);
    const total = (type: string) => counts.filter((c) => c.type === type).reduce((a, c) => a + c.count, 0);
    expect(total('Send')).toBeGreaterThanOrEqual(2);
    expect(total('Bounce')).toBeGreaterThanOrEqual(1);
    await page.getByRole('navigation').getByRole('link', { name: 'Overview' }).click();
    await expect.poll(() => page.getByTestId('total-Send').textContent()).toBe(String(total('Send')));
    expect(await page.getByTestId('total-Delivery').textContent()).toBe(String(total('Delivery')));
    expect(await page.getByTestId('total-Bounce').textContent()).toBe(String(total('Bounce')));
    // uPlot draws in an effect after the totals render.
    await expect.poll(() => page.locator('.chart canvas').count()).toBe(1);
    await shoot(page, 'overview-chart');
    await context.close();
  });
});
