/**
 * The console's Access keys page in a real browser (playwright-core driving Debian's Chromium):
 * create a key and see its secret and SMTP password once (copy button included), leave and come
 * back to find them gone, edit its policy (a malformed one refused with the server's reason, then
 * a narrower one in force through the SDK), revoke it with a confirm step, revoke the session's
 * own key (signed out), and a `ses:*` key refused the page. Screenshots `keys`, `keys-created`,
 * `keys-policy` at desktop and phone widths go to test-results/console/.
 * Skipped when Chromium is not installed.
 */
import { CreateEmailIdentityCommand, ListEmailIdentitiesCommand } from '@aws-sdk/client-sesv2';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveSmtpPassword } from '../../src/lib/smtp-password.ts';
import { HAS_CHROMIUM, launchBrowser, shoot, signIn, signedInPage, WIDTHS } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ONLY_LIST = '{"Statement": [{"Effect": "Allow", "Action": "ses:List*", "Resource": "*"}]}';

describe.skipIf(!HAS_CHROMIUM)('console access keys in Chromium', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const openKeys = async (page: Page) => {
    await page.getByRole('navigation').getByRole('link', { name: 'Access keys' }).click();
    await page.getByRole('heading', { name: 'Access keys', level: 1 }).waitFor();
  };
  const row = (page: Page, id: string) => page.locator(`[data-testid="key-row"][data-key-id="${id}"]`);

  it('creates a key and shows its secret and SMTP password once; edits its policy; revokes it', async () => {
    const page = await signedInPage(browser, server.url, server.accessKeyId, server.secretAccessKey);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await openKeys(page);
    await expect.poll(() => row(page, server.accessKeyId).textContent()).toContain('this session');
    expect(await row(page, server.accessKeyId).textContent()).toContain('root key');
    await shoot(page, 'keys');

    await page.getByLabel('Description').fill('newsletter sender');
    await page.getByRole('button', { name: 'Create key' }).click();
    const panel = page.getByTestId('created-key');
    await panel.waitFor();
    const id = (await page.getByTestId('new-key-id').textContent())!;
    const secret = (await page.getByTestId('new-key-secret').textContent())!;
    const smtpPassword = (await page.getByTestId('new-key-smtp-password').textContent())!;
    expect(id).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(smtpPassword).toBe(deriveSmtpPassword(secret, 'us-east-1'));
    expect(await panel.textContent()).toContain('They will not be shown again');
    // The pair works with the SDK at once.
    const client = server.sesv2({ accessKeyId: id, secretAccessKey: secret });
    expect((await client.send(new ListEmailIdentitiesCommand({}))).EmailIdentities).toBeDefined();
    // Copy puts the secret on the clipboard.
    await page.getByRole('button', { name: 'Copy the secret access key' }).click();
    await expect.poll(() => page.getByText('Secret access key copied.').isVisible()).toBe(true);
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(secret);
    await expect.poll(() => row(page, id).textContent()).toContain('newsletter sender');
    await shoot(page, 'keys-created');

    // Leave the page and come back: the secret and the SMTP password are gone for good.
    await page.getByRole('navigation').getByRole('link', { name: 'Messages' }).click();
    await page.getByRole('heading', { name: 'Messages', level: 1 }).waitFor();
    await openKeys(page);
    await expect.poll(() => row(page, id).isVisible()).toBe(true);
    expect(await page.getByTestId('created-key').count()).toBe(0);
    const text = await page.evaluate<string>('document.documentElement.outerHTML');
    expect(text).not.toContain(secret);
    expect(text).not.toContain(smtpPassword);

    // A malformed policy: the server's reason in an alert, the old policy still in force.
    await page.getByRole('button', { name: `Edit the policy of ${id}` }).click();
    const editor = page.getByRole('textbox', { name: `Policy of ${id}`, exact: true });
    expect(JSON.parse(await editor.inputValue())).toMatchObject({ Statement: [{ Effect: 'Allow', Action: ['ses:*'] }] });
    await editor.fill('{"Statement": [');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('The policy document is not valid: Policy is not valid JSON.');
    await shoot(page, 'keys-policy');
    await client.send(new CreateEmailIdentityCommand({ EmailIdentity: 'still-allowed.test' }));
    // A narrower policy: saved, and the SDK now gets AccessDenied for what it no longer allows.
    await editor.fill(ONLY_LIST);
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Saved' }).isVisible()).toBe(true);
    expect(await page.getByRole('alert').count()).toBe(0);
    await expect(client.send(new CreateEmailIdentityCommand({ EmailIdentity: 'now-denied.test' }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect((await client.send(new ListEmailIdentitiesCommand({}))).EmailIdentities).toBeDefined();
    await page.getByRole('button', { name: 'Close' }).click();

    // Revoke, with a confirm step that can be cancelled.
    await page.getByRole('button', { name: `Revoke ${id}` }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect(await row(page, id).textContent()).toContain('Active');
    await page.getByRole('button', { name: `Revoke ${id}` }).click();
    expect(await page.getByRole('group', { name: `Confirm revoking ${id}` }).textContent()).toContain('stop at once');
    await page.getByRole('button', { name: 'Revoke key' }).click();
    await expect.poll(() => row(page, id).textContent()).toContain('Inactive');
    await expect(client.send(new ListEmailIdentitiesCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
    // The last root key is refused, with the reason.
    await page.getByRole('button', { name: `Revoke ${server.accessKeyId}` }).click();
    expect(await page.getByRole('group', { name: `Confirm revoking ${server.accessKeyId}` }).textContent()).toContain('you will be signed out');
    await page.getByRole('button', { name: 'Revoke key' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('last active root key');
    await page.context().close();
  });

  it('revoking the key of this session signs you out', async () => {
    const key = await server.instance.core.accounts.createKey({ description: 'key admin', policy: { Statement: [{ Effect: 'Allow', Action: 'iam:*', Resource: '*' }] } });
    // The key may manage keys but not read the account: it signs in straight to the keys page.
    const context = await browser.newContext({ viewport: WIDTHS.desktop });
    const page = await context.newPage();
    await page.goto(`${server.url}/console/#/keys`);
    await signIn(page, key.accessKeyId, key.secretAccessKey);
    await page.getByRole('heading', { name: 'Access keys', level: 1 }).waitFor({ timeout: 10_000 });
    await expect.poll(() => row(page, key.accessKeyId).textContent()).toContain('this session');
    await page.getByRole('button', { name: `Revoke ${key.accessKeyId}` }).click();
    await page.getByRole('button', { name: 'Revoke key' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in to Sesame' }).isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await page.evaluate<number>("fetch('/console/api/session').then((r) => r.status)")).toBe(401);
    await page.context().close();
  });

  it('a key without the IAM actions sees AccessDenied, not the keys', async () => {
    const key = await server.instance.core.accounts.createKey({ description: 'ses only' });
    const context = await browser.newContext({ viewport: WIDTHS.desktop });
    const page = await context.newPage();
    await page.goto(`${server.url}/console/#/keys`);
    await signIn(page, key.accessKeyId, key.secretAccessKey);
    await expect.poll(() => page.getByRole('alert').first().textContent(), { timeout: 10_000 }).toContain('is not authorized to perform: iam:ListAccessKeys');
    expect(await page.getByTestId('key-row').count()).toBe(0);
    await context.close();
  });
});
