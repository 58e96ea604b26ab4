/**
 * The configuration sets page in a real browser (playwright-core driving Debian's Chromium): a set
 * created from the list, an SNS event destination added with its event types, an invalid one
 * refused with SES's message, the destination disabled and its event types changed, options
 * changed in the form — each checked through the real SES v2 SDK — and the set deleted.
 * Screenshots `configuration-sets` and `configuration-set` at desktop and phone widths go to
 * test-results/console/. Skipped when Chromium is not installed.
 */
import { CreateConfigurationSetCommand, GetConfigurationSetCommand, GetConfigurationSetEventDestinationsCommand, ListConfigurationSetsCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM, launchBrowser, shoot, signedInPage } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe.skipIf(!HAS_CHROMIUM)('configuration sets page in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let v2: SESv2Client;
  let topicArn: string;

  beforeAll(async () => {
    server = await startTestServer();
    v2 = server.sesv2();
    topicArn = (await server.sns().send(new CreateTopicCommand({ Name: 'app-events' }))).TopicArn!;
    browser = await launchBrowser();
    page = await signedInPage(browser, server.url, server.accessKeyId, server.secretAccessKey);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const destinations = async (set: string) => (await v2.send(new GetConfigurationSetEventDestinationsCommand({ ConfigurationSetName: set }))).EventDestinations;

  it('creates a set, adds an event destination, disables it, changes an option, and deletes the set', async () => {
    for (const name of ['newsletters', 'receipts']) await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: name }));
    await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name: 'Configuration sets' }).click();
    await page.getByRole('heading', { name: 'Configuration sets' }).waitFor();
    await expect.poll(() => page.getByTestId('configuration-set').count()).toBe(2);

    // The name filter.
    await page.getByLabel('Filter by name').fill('news');
    await expect.poll(() => page.getByTestId('configuration-set').allTextContents()).toEqual([expect.stringContaining('newsletters')]);
    await page.getByLabel('Filter by name').fill('');
    await expect.poll(() => page.getByTestId('configuration-set').count()).toBe(2);

    // A bad name: SES's message, verbatim.
    await page.getByLabel('Configuration set name').fill('not valid!');
    await page.getByRole('button', { name: 'Create configuration set' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('ConfigurationSetName must be 1 to 64 ASCII letters, digits, underscores or dashes.');
    await shoot(page, 'configuration-sets');

    await page.getByLabel('Configuration set name').fill('transactional');
    await page.getByRole('button', { name: 'Create configuration set' }).click();
    await page.getByRole('heading', { name: 'transactional' }).waitFor();
    expect(page.url()).toMatch(/#\/configuration-sets\/transactional$/);
    expect((await v2.send(new ListConfigurationSetsCommand({}))).ConfigurationSets).toContain('transactional');

    // An event destination with a bad target: refused with SES's message, nothing created.
    const add = page.getByRole('form', { name: 'Add an event destination' });
    await add.getByLabel('Destination name').fill('to-app');
    await add.getByLabel('Destination type').selectOption('sns');
    await add.getByLabel('Topic ARN').fill('arn:aws:sns:nowhere');
    await add.getByRole('button', { name: 'Add event destination' }).click();
    const { region, accountId } = server.instance.config;
    await expect.poll(() => page.getByTestId('add-destination-error').textContent()).toBe(`Invalid SNS topic ARN <arn:aws:sns:nowhere>: use arn:aws:sns:${region}:${accountId}:<topic name>.`);
    expect(await destinations('transactional')).toEqual([]);

    // The real one: Send, Delivery, Bounce, Complaint by default; add Reject, remove Send.
    await add.getByLabel('Topic ARN').fill(topicArn);
    await add.getByLabel('Reject').check();
    await add.getByLabel('Send', { exact: true }).uncheck();
    await add.getByRole('button', { name: 'Add event destination' }).click();
    await expect.poll(() => page.getByTestId('event-destination').count()).toBe(1);
    expect(await destinations('transactional')).toEqual([{ Name: 'to-app', Enabled: true, MatchingEventTypes: ['REJECT', 'BOUNCE', 'COMPLAINT', 'DELIVERY'], SnsDestination: { TopicArn: topicArn } }]);
    const row = page.getByTestId('event-destination');
    expect(await row.textContent()).toContain(topicArn);
    expect(await row.getByTestId('destination-enabled').textContent()).toBe('Enabled');

    // Disable it.
    await page.getByRole('button', { name: 'Disable to-app' }).click();
    await expect.poll(() => row.getByTestId('destination-enabled').textContent()).toBe('Disabled');
    expect((await destinations('transactional'))![0]!.Enabled).toBe(false);

    // Its event types: only Delivery.
    await page.getByRole('button', { name: 'Edit the event types of to-app' }).click();
    const edit = page.getByRole('form', { name: 'Event types of to-app' });
    for (const t of ['Reject', 'Bounce', 'Complaint']) await edit.getByLabel(t, { exact: true }).uncheck();
    await edit.getByRole('button', { name: 'Save event types' }).click();
    await expect.poll(async () => (await destinations('transactional'))![0]!.MatchingEventTypes).toEqual(['DELIVERY']);
    // The row showed Delivery among four types before: wait for the cell to show it alone, and the form to close.
    await expect.poll(() => row.locator('td[data-label="Event types"]').textContent()).toBe('Delivery');
    await expect.poll(() => edit.count()).toBe(0);

    // Options: pause sending, require TLS, suppress only bounces, a redirect domain.
    await page.getByLabel('Sending enabled').uncheck();
    await page.getByLabel('TLS policy').selectOption('REQUIRE');
    await page.getByLabel("Override the account's suppression settings for this set").check();
    await page.getByLabel('Complaints').uncheck();
    await page.getByLabel('Custom redirect domain').fill('track.example.com');
    await page.getByRole('button', { name: 'Save options' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Options saved.');
    await expect.poll(() => page.getByTestId('set-sending').textContent()).toBe('paused');
    const set = await v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'transactional' }));
    expect({ sending: set.SendingOptions, tls: set.DeliveryOptions?.TlsPolicy, suppression: set.SuppressionOptions, tracking: set.TrackingOptions?.CustomRedirectDomain }).toEqual({
      sending: { SendingEnabled: false },
      tls: 'REQUIRE',
      suppression: { SuppressedReasons: ['BOUNCE'] },
      tracking: 'track.example.com',
    });

    // A bad option value: SES's message; what was valid is unchanged.
    await page.getByLabel('Maximum delivery time in seconds').fill('10');
    await page.getByRole('button', { name: 'Save options' }).click();
    await expect.poll(() => page.getByTestId('options-error').textContent()).toBe('MaxDeliverySeconds must be an integer from 300 to 50400.');
    expect((await v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'transactional' }))).DeliveryOptions).toEqual({ TlsPolicy: 'REQUIRE' });
    await page.getByLabel('Maximum delivery time in seconds').fill('');
    await shoot(page, 'configuration-set');

    // Delete the destination, then the set.
    await page.getByRole('button', { name: 'Delete to-app' }).click();
    await expect.poll(() => page.getByTestId('event-destination').count()).toBe(0);
    expect(await destinations('transactional')).toEqual([]);
    await page.getByRole('button', { name: 'Delete configuration set' }).click();
    await page.getByRole('button', { name: 'Yes, delete transactional' }).click();
    await page.getByRole('heading', { name: 'Configuration sets' }).waitFor();
    await expect.poll(async () => (await v2.send(new ListConfigurationSetsCommand({}))).ConfigurationSets).toEqual(['newsletters', 'receipts']);
    await expect.poll(() => page.getByTestId('configuration-set').count()).toBe(2);
  });
});
