/**
 * The console's Queue page in a real browser (playwright-core driving Debian's Chromium): a
 * destination whose MX answers 451 shows with its depth, age and deferral reply; Retry now makes
 * its mail due; Pause (with a reason) holds another destination, whose new mail stays queued while
 * other mail flows, and Resume delivers it. Screenshots `queue` and `queue-paused` at desktop and
 * phone widths go to test-results/console/. Skipped when Chromium is not installed.
 */
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM, launchBrowser, shoot, signedInPage } from '../helpers/browser.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, type TestServer } from '../helpers/server.ts';
import type { SinkMta } from '../helpers/sink.ts';

describe.skipIf(!HAS_CHROMIUM)('console queue in Chromium', () => {
  let fixture: SendingFixture;
  let server: TestServer;
  let sink: SinkMta;
  let browser: Browser;

  beforeAll(async () => {
    fixture = await startSendingFixture({ env: { SESAME_RETRY_SCHEDULE: '1h' }, destinations: ['slow.test', 'hold.test', 'other.test'] });
    ({ server, sink } = fixture);
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fixture?.close();
  });

  async function send(to: string): Promise<string> {
    const { MessageId } = await server.sesv2().send(
      new SendEmailCommand({ FromEmailAddress: 'web@sender.test', Destination: { ToAddresses: [to] }, Content: { Simple: { Subject: { Data: `to ${to}` }, Body: { Text: { Data: 'hello' } } } } }),
    );
    return MessageId!;
  }
  const arrived = (id: string) => sink.messages.filter((m) => m.raw.toString().includes(id));
  const recipients = (id: string) => server.instance.storage.queue.recipients(id);
  const row = (page: Page, domain: string) => page.locator(`[data-testid="destination"][data-domain="${domain}"]`);

  it('shows the deferred destination with its reply, retries it, and pauses and resumes another from the page', async () => {
    sink.rcptReplies.set('late@slow.test', { code: 451, message: '4.7.1 Greylisted, try again later' });
    sink.rcptReplies.set('later@slow.test', { code: 451, message: '4.7.1 Greylisted, try again later' });
    const deferred = [await send('late@slow.test'), await send('later@slow.test')];
    await eventually(async () => (await Promise.all(deferred.map(recipients))).every((rs) => rs[0]!.attempts === 1), 15_000, 'deferred once');

    const page = await signedInPage(browser, server.url, server.accessKeyId, server.secretAccessKey);
    await page.getByRole('navigation').getByRole('link', { name: 'Queue' }).click();
    await page.getByRole('heading', { name: 'Queue', level: 1 }).waitFor();
    const slow = row(page, 'slow.test');
    await slow.waitFor();
    expect(await page.getByTestId('queue-total').textContent()).toBe('2 recipients queued.');
    expect(await slow.locator('td[data-label="Queued"]').textContent()).toBe('2');
    expect(await slow.locator('td[data-label="In flight"]').textContent()).toBe('0');
    expect(await slow.locator('td[data-label="Oldest"]').textContent()).toMatch(/^\d+ s$/);
    expect(await slow.locator('td[data-label="Next attempt"]').textContent()).toMatch(/^in (59|60) min$/);
    expect(await slow.locator('td[data-label="Deferral replies"]').textContent()).toMatch(/^2× 451 .*Greylisted, try again later$/);
    await shoot(page, 'queue');

    // Retry now: both tried again at once (and deferred again by the MX).
    await slow.getByRole('button', { name: 'Retry now slow.test' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('2 queued recipients at slow.test due now.');
    await eventually(async () => (await Promise.all(deferred.map(recipients))).every((rs) => rs[0]!.attempts === 2), 15_000, 'deferred twice');

    // Pause a destination that has nothing queued yet, with a reason.
    await page.getByLabel('Pause another destination domain').fill('hold.test');
    await page.getByRole('button', { name: 'Pause…' }).click();
    await page.getByLabel('Reason for pausing hold.test (optional)').fill('their MX is being migrated');
    await page.getByRole('button', { name: 'Pause delivery' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Delivery to hold.test is paused for every account');
    const hold = row(page, 'hold.test');
    await hold.waitFor();
    expect(await hold.locator('td[data-label="Destination"]').textContent()).toBe('hold.test Pausedtheir MX is being migrated');
    expect(await server.instance.storage.queue.pausedDestinations()).toEqual([expect.objectContaining({ domain: 'hold.test', pausedBy: server.accessKeyId, reason: 'their MX is being migrated' })]);

    // Its new mail stays queued while later mail to another domain is delivered.
    const held = await send('x@hold.test');
    const probe = await send('y@other.test');
    await sink.waitFor(() => arrived(probe).length === 1);
    const probe2 = await send('z@other.test');
    await sink.waitFor(() => arrived(probe2).length === 1);
    expect(arrived(held)).toEqual([]);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => hold.locator('td[data-label="Queued"]').textContent()).toBe('1');
    expect(await hold.locator('td[data-label="Next attempt"]').textContent()).toBe('paused');
    await shoot(page, 'queue-paused');

    await hold.getByRole('button', { name: 'Resume hold.test' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Delivery to hold.test resumed; its queued mail is due now.');
    await sink.waitFor(() => arrived(held).length === 1);
    await eventually(async () => (await recipients(held))[0]!.state === 'delivered', 10_000, 'held delivered');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => hold.count()).toBe(0);
    expect(await server.instance.storage.queue.pausedDestinations()).toEqual([]);
    expect(arrived(held)).toHaveLength(1);
  });
});
