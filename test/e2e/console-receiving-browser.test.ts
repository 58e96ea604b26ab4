/**
 * The Receiving page in a real browser (playwright-core driving Debian's Chromium): a rule set
 * created in the console, a rule with two actions added through the action editor, a refused rule
 * showing SES's message, the set made active, rules moved and disabled, an IP filter added — each
 * checked through the real SES v1 SDK. Screenshots `receiving` and `receipt-rule-set` at desktop
 * and phone widths go to test-results/console/. Skipped when Chromium is not installed.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeActiveReceiptRuleSetCommand, DescribeReceiptRuleSetCommand, ListReceiptFiltersCommand, type SESClient } from '@aws-sdk/client-ses';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM, launchBrowser, shoot, signedInPage } from '../helpers/browser.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';

describe.skipIf(!HAS_CHROMIUM)('console Receiving page in Chromium', () => {
  let fixture: SendingFixture;
  let server: TestServer;
  let browser: Browser;
  let ses: SESClient;
  let topicArn: string;

  beforeAll(async () => {
    fixture = await startSendingFixture({ senders: ['sender.test', 'inbound.test'] });
    server = fixture.server;
    ses = server.ses();
    topicArn = (await server.sns().send(new CreateTopicCommand({ Name: 'web-inbound' }))).TopicArn!;
    const s3 = new S3Client({ endpoint: server.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: 'web-mail' }));
    s3.destroy();
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fixture?.close();
  });

  const ruleNames = async () => ((await ses.send(new DescribeReceiptRuleSetCommand({ RuleSetName: 'web-set' }))).Rules ?? []).map((r) => r.Name);
  const shownRules = (page: Page) => page.getByTestId('rule-name').allTextContents();

  it('creates a rule set and a rule with two actions, makes the set active, reorders and disables rules', async () => {
    const page = await signedInPage(browser, server.url, server.accessKeyId, server.secretAccessKey);
    await page.getByRole('navigation').getByRole('link', { name: 'Receiving' }).click();
    await page.getByRole('heading', { name: 'Receiving', exact: true }).waitFor();
    await expect.poll(() => page.getByTestId('active-rule-set').textContent()).toBe('No rule set is active: receiving is off.');

    // A name SES refuses: its message, verbatim.
    await page.getByLabel('Rule set name').fill('-bad');
    await page.getByRole('button', { name: 'Create rule set' }).click();
    await expect.poll(() => page.getByTestId('rule-sets-error').textContent()).toBe('Not a valid ruleSetName: -bad');

    await page.getByLabel('Rule set name').fill('web-set');
    await page.getByRole('button', { name: 'Create rule set' }).click();
    await page.getByRole('heading', { name: 'web-set' }).waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('rule-set-status').textContent()).toBe('Inactive');

    // A rule with an S3 and an SNS action.
    await page.getByLabel('Rule name').fill('store');
    await page.getByLabel('Recipients', { exact: false }).fill('support@inbound.test, inbound.test');
    await page.getByLabel('TLS', { exact: true }).selectOption('Require');
    await page.getByLabel('Action type').selectOption('s3');
    await page.getByRole('button', { name: 'Add action' }).click();
    await page.getByLabel('Bucket (action 1)', { exact: true }).fill('web-mail');
    await page.getByLabel('Object key prefix (action 1)', { exact: true }).fill('in/');
    await page.getByLabel('Action type').selectOption('sns');
    await page.getByRole('button', { name: 'Add action' }).click();
    await page.getByLabel('Topic ARN (action 2)', { exact: true }).fill(topicArn);
    await page.getByLabel('Encoding (action 2)', { exact: true }).selectOption('Base64');
    await page.getByRole('button', { name: 'Create rule' }).click();
    await expect.poll(() => shownRules(page)).toEqual(['store']);
    expect(await page.getByTestId('rule-actions').first().textContent()).toBe('S3 → web-mail/in/, SNS → web-inbound (Base64)');
    const [stored] = (await ses.send(new DescribeReceiptRuleSetCommand({ RuleSetName: 'web-set' }))).Rules!;
    expect(stored).toEqual({
      Name: 'store',
      Enabled: true,
      TlsPolicy: 'Require',
      Recipients: ['support@inbound.test', 'inbound.test'],
      ScanEnabled: false,
      Actions: [{ S3Action: { BucketName: 'web-mail', ObjectKeyPrefix: 'in/' } }, { SNSAction: { TopicArn: topicArn, Encoding: 'Base64' } }],
    });

    // A rule whose bucket does not exist: SES's refusal in the form, nothing added.
    await page.getByLabel('Rule name').fill('broken');
    expect(await page.getByTestId('action-draft').count()).toBe(0); // the form starts afresh after a rule is created
    await page.getByLabel('Action type').selectOption('s3');
    await page.getByRole('button', { name: 'Add action' }).click();
    await page.getByLabel('Bucket (action 1)', { exact: true }).fill('no-such-bucket');
    await page.getByRole('button', { name: 'Create rule' }).click();
    await expect.poll(() => page.getByTestId('rule-form-error').textContent()).toBe('Could not write to bucket: no-such-bucket');
    expect(await ruleNames()).toEqual(['store']);
    // Change it into an Add header + Stop rule, placed after "store".
    await page.getByRole('button', { name: 'Remove action 1' }).click();
    await page.getByLabel('Rule name').fill('tag');
    await page.getByLabel('Action type').selectOption('addHeader');
    await page.getByRole('button', { name: 'Add action' }).click();
    await page.getByLabel('Header name (action 1)', { exact: true }).fill('X-Console');
    await page.getByLabel('Header value (action 1)', { exact: true }).fill('tagged');
    await page.getByLabel('Action type').selectOption('stop');
    await page.getByRole('button', { name: 'Add action' }).click();
    expect(await page.getByLabel('Position').inputValue()).toBe('store');
    await page.getByRole('button', { name: 'Create rule' }).click();
    await expect.poll(() => shownRules(page)).toEqual(['store', 'tag']);
    expect(await page.getByTestId('rule-actions').nth(1).textContent()).toBe('Add header X-Console: tagged, Stop');
    expect(await ruleNames()).toEqual(['store', 'tag']);

    // Make it active.
    await page.getByRole('button', { name: 'Make active' }).click();
    await expect.poll(() => page.getByTestId('rule-set-status').textContent()).toBe('Active');
    expect((await ses.send(new DescribeActiveReceiptRuleSetCommand({}))).Metadata?.Name).toBe('web-set');

    // Reorder: "tag" up, then back down.
    await page.getByRole('button', { name: 'Move tag up' }).click();
    await expect.poll(() => shownRules(page)).toEqual(['tag', 'store']);
    expect(await ruleNames()).toEqual(['tag', 'store']);
    await page.getByRole('button', { name: 'Move tag down' }).click();
    await expect.poll(() => shownRules(page)).toEqual(['store', 'tag']);
    expect(await ruleNames()).toEqual(['store', 'tag']);
    await page.getByRole('button', { name: 'Move tag up' }).click();
    await expect.poll(() => shownRules(page)).toEqual(['tag', 'store']);

    // Disable "store"; edit it to scan, and see both in SES.
    await page.getByRole('button', { name: 'Disable store' }).click();
    await expect.poll(async () => (await ses.send(new DescribeReceiptRuleSetCommand({ RuleSetName: 'web-set' }))).Rules?.find((r) => r.Name === 'store')?.Enabled).toBe(false);
    // SES has it before the page does: wait for the page's rule to read disabled, or Edit would start from the enabled one (and Save enable it again).
    await expect.poll(() => page.getByRole('button', { name: 'Enable store' }).isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Edit store' }).click();
    await page.getByRole('heading', { name: 'Edit rule store' }).waitFor();
    expect(await page.getByLabel('Bucket (action 1)', { exact: true }).inputValue()).toBe('web-mail');
    await page.getByLabel('Scan for spam and viruses').check();
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('heading', { name: 'Add a rule' }).waitFor();
    const edited = (await ses.send(new DescribeReceiptRuleSetCommand({ RuleSetName: 'web-set' }))).Rules!.find((r) => r.Name === 'store')!;
    expect(edited).toMatchObject({ Enabled: false, ScanEnabled: true, TlsPolicy: 'Require', Actions: stored!.Actions });
    await shoot(page, 'receipt-rule-set');

    // The list: the set marked Active; an IP filter added, a bad one refused.
    await page.getByRole('link', { name: 'Receiving' }).first().click();
    await page.getByRole('heading', { name: 'Receiving', exact: true }).waitFor();
    await expect.poll(() => page.getByTestId('active-rule-set').textContent()).toBe('Active rule set: web-set');
    await page.getByLabel('Filter name').fill('office');
    await page.getByLabel('IP address or CIDR range').fill('192.0.2.0/33');
    await page.getByLabel('Policy').selectOption('Allow');
    await page.getByRole('button', { name: 'Add filter' }).click();
    await expect.poll(() => page.getByTestId('filters-error').textContent()).toBe('Invalid CIDR block: 192.0.2.0/33');
    await page.getByLabel('IP address or CIDR range').fill('192.0.2.0/24');
    await page.getByRole('button', { name: 'Add filter' }).click();
    await expect.poll(() => page.getByTestId('ip-filter').count()).toBe(1);
    expect((await ses.send(new ListReceiptFiltersCommand({}))).Filters).toEqual([{ Name: 'office', IpFilter: { Policy: 'Allow', Cidr: '192.0.2.0/24' } }]);
    await shoot(page, 'receiving');

    // Deactivate, then delete with confirmation.
    await page.getByRole('button', { name: 'Deactivate web-set' }).click();
    await expect.poll(() => page.getByTestId('active-rule-set').textContent()).toBe('No rule set is active: receiving is off.');
    expect((await ses.send(new DescribeActiveReceiptRuleSetCommand({}))).Metadata).toBeUndefined();
    await page.getByRole('button', { name: 'Delete rule set web-set' }).click();
    await page.getByRole('button', { name: 'Yes, delete' }).click();
    await expect.poll(() => page.getByTestId('rule-set').count()).toBe(0);
    await page.context().close();
  });
});
