/**
 * Signing in to the web console as a console user, in Chromium: the sign-in form's two modes (a
 * radio group, usable with the keyboard), a refused password, the overview with the user's name in
 * the header, and the brake's 429 as the user sees it. Screenshot `sign-in-user` at desktop and
 * phone widths. Skipped when Chromium is not installed.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { HAS_CHROMIUM, launchBrowser, shoot, WIDTHS } from '../helpers/browser.ts';

describe.skipIf(!HAS_CHROMIUM)('console sign-in with a user name and password, in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  const password = 'correct horse battery staple';

  beforeAll(async () => {
    server = await startTestServer({ env: { SESAME_CONSOLE_SIGN_IN_MAX_FAILURES: '3' } });
    await server.instance.core.consoleUsers.add({ name: 'ann@example.com', accessKeyId: server.accessKeyId, password });
    await server.instance.core.consoleUsers.add({ name: 'bob', accessKeyId: server.accessKeyId, password });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signInPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: WIDTHS.desktop });
    const page = await context.newPage();
    await page.goto(`${server.url}/console/`);
    await page.getByRole('heading', { name: 'Sign in to Sesame' }).waitFor();
    return page;
  }

  it('switches to "User name and password" with the keyboard, refuses a wrong password, signs in and names the user in the header', async () => {
    const page = await signInPage();
    // The access key mode is the default (today's fields).
    expect(await page.getByRole('radio', { name: 'Access key' }).isChecked()).toBe(true);
    expect(await page.getByLabel('Access key ID').isVisible()).toBe(true);
    // Arrow keys move within the radio group, as in any native one.
    await page.getByRole('radio', { name: 'Access key' }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.getByRole('radio', { name: 'User name and password' }).isChecked()).toBe(true);
    expect(await page.getByLabel('Access key ID').count()).toBe(0);

    await page.getByLabel('User name', { exact: true }).fill('ann@example.com');
    await page.getByLabel('Password', { exact: true }).fill(password);
    await shoot(page, 'sign-in-user');
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('The user name or the password is not correct.');
    expect(await page.context().cookies()).toEqual([]);

    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Password', { exact: true }).press('Enter');
    await page.getByRole('heading', { name: 'Overview' }).waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('signed-in-as').textContent()).toBe('ann@example.com');
    expect(await page.getByTestId('signed-in-as').getAttribute('title')).toContain(server.accessKeyId);
    await expect.poll(() => page.getByTestId('max-24h').isVisible()).toBe(true);
    await shoot(page, 'sign-in-user-overview');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Sesame' }).waitFor();
    await page.context().close();
  });

  it('shows the brake refusal after too many failures, even for the right password', async () => {
    const page = await signInPage();
    await page.getByRole('radio', { name: 'User name and password' }).check();
    await page.getByLabel('User name', { exact: true }).fill('bob');
    for (let i = 1; i <= 3; i++) {
      await page.getByLabel('Password', { exact: true }).fill(`wrong ${i}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toBe('The user name or the password is not correct.');
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
    }
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Too many failed sign-in attempts. Sign-in is paused; try again in 15 minutes.');
    await shoot(page, 'sign-in-user-throttled');
    expect(await page.context().cookies()).toEqual([]);
    await page.context().close();
  });
});
