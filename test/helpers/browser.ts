/**
 * The console's browser tests share this: Debian's Chromium driven by playwright-core, the
 * screenshot writer (desktop and phone widths into test-results/console/), and the sign-in form.
 * Tests skip when Chromium is not installed (`describe.skipIf(!HAS_CHROMIUM)`); .ci/run installs it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.SESAME_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);
export const SHOTS = join(process.cwd(), 'test-results', 'console');
export const WIDTHS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;

/** Starts Chromium (headless); fails with what to do when the console was not built. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(join(process.cwd(), 'web', 'dist', 'index.html'))) throw new Error('web/dist is missing: run `npm run build` (npm install runs it) before the tests');
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
}

/** Screenshots of the whole page at desktop and phone widths: `<name>-desktop.png`, `<name>-phone.png`. */
export async function shoot(page: Page, name: string): Promise<void> {
  for (const [label, size] of Object.entries(WIDTHS)) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(SHOTS, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(WIDTHS.desktop);
}

/** Fills the sign-in form with an access key pair and submits it. */
export async function signIn(page: Page, keyId: string, secret: string): Promise<void> {
  await page.getByLabel('Access key ID').fill(keyId);
  await page.getByLabel('Secret access key').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Opens the console in a new browser context and signs in; returns the page on the overview. */
export async function signedInPage(browser: Browser, url: string, keyId: string, secret: string): Promise<Page> {
  const context = await browser.newContext({ viewport: WIDTHS.desktop });
  const page = await context.newPage();
  await page.goto(`${url}/console/`);
  await signIn(page, keyId, secret);
  await page.getByRole('heading', { name: 'Overview' }).waitFor({ timeout: 10_000 });
  return page;
}
