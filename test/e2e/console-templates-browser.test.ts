/**
 * The console's Templates page in a real browser (playwright-core driving Debian's Chromium): a
 * template created in the list opens in the editor; typing changes the live preview (rendered
 * subject, text part, and the HTML part in a sandboxed iframe) without saving; template data errors
 * show as SES words them and keep the editor's text; Save stores what SES's API then returns; a test
 * send arrives at the recipient's MX; Delete asks first. Screenshots `templates` and
 * `template-editor` at desktop and phone widths go to test-results/console/.
 * Skipped when Chromium is not installed.
 */
import { join } from 'node:path';
import { CreateEmailTemplateCommand, GetEmailTemplateCommand } from '@aws-sdk/client-sesv2';
import { simpleParser } from 'mailparser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM, launchBrowser, shoot, signedInPage, SHOTS, WIDTHS } from '../helpers/browser.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';

describe.skipIf(!HAS_CHROMIUM)('console templates in Chromium', () => {
  let fixture: SendingFixture;
  let browser: Browser;

  beforeAll(async () => {
    fixture = await startSendingFixture();
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fixture?.close();
  });

  const previewSubject = (page: Page) => page.getByTestId('preview-subject').textContent();
  const previewError = (page: Page) =>
    page
      .getByTestId('preview-error')
      .textContent({ timeout: 500 })
      .catch(() => '');

  it('creates a template, previews edits live, shows data errors, saves, sends a test and deletes', async () => {
    const { server, sink } = fixture;
    const v2 = server.sesv2();
    await v2.send(new CreateEmailTemplateCommand({ TemplateName: 'Receipt', TemplateContent: { Subject: 'Your receipt', Text: 'Thanks.' } }));
    const page = await signedInPage(browser, server.url, server.accessKeyId, server.secretAccessKey);
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });

    await page.getByRole('link', { name: 'Templates' }).click();
    await page.getByRole('heading', { name: 'Templates', level: 1 }).waitFor();
    await expect.poll(() => page.getByTestId('template').allTextContents()).toEqual([expect.stringContaining('Receipt')]);

    // Create: the new template opens in the editor.
    await page.getByLabel('Template name').fill('Newsletter');
    await page.getByLabel('Subject').fill('News for {{name}}');
    await shoot(page, 'templates');
    await page.getByRole('button', { name: 'Create template' }).click();
    await page.getByRole('heading', { name: 'Newsletter', level: 1 }).waitFor();
    expect(page.url()).toMatch(/#\/templates\/Newsletter$/);
    expect((await v2.send(new GetEmailTemplateCommand({ TemplateName: 'Newsletter' }))).TemplateContent).toEqual({ Subject: 'News for {{name}}' });

    // The data starts with the attributes the template uses; the preview renders it.
    expect(JSON.parse(await page.getByLabel('Template data (JSON)').inputValue())).toEqual({ name: 'Ana' });
    await expect.poll(() => previewSubject(page)).toBe('News for Ana');

    // Typing changes the preview (the edited content is rendered, not saved).
    await page.getByLabel('Subject', { exact: true }).fill('Weekly news for {{name}}');
    await page.getByLabel('HTML part', { exact: true }).fill('<style>p { color: rgb(0, 0, 200) }</style><h1 class="t" style="color: rgb(200, 0, 0)">Hello {{name}}</h1><p>Issue {{issue}}</p><script>parent.document.title = "ran"</script>');
    await page.getByLabel('Text part', { exact: true }).fill('Hello {{name}}, issue {{issue}}.');
    await expect.poll(() => previewError(page)).toBe("Attribute 'issue' is not present in the rendering data.");
    await page.getByLabel('Template data (JSON)').fill('{"name": "Ana", "issue": 7}');
    await expect.poll(() => previewSubject(page)).toBe('Weekly news for Ana');
    await expect.poll(() => previewError(page)).toBe('');
    await expect.poll(() => page.getByTestId('preview-text').textContent()).toBe('Hello Ana, issue 7.');
    const frame = page.frameLocator('[data-testid="preview-html"]');
    await expect.poll(() => frame.locator('h1').textContent()).toBe('Hello Ana');
    expect(await frame.locator('p').textContent()).toBe('Issue 7');
    // The email's own styles apply in the preview (its style attributes and <style> elements).
    const color = (el: unknown) => (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }).getComputedStyle(el).color;
    expect(await frame.locator('h1').evaluate(color)).toBe('rgb(200, 0, 0)');
    expect(await frame.locator('p').evaluate(color)).toBe('rgb(0, 0, 200)');
    // The HTML is shown, never run: the iframe is sandboxed (no scripts, an opaque origin).
    expect(await page.getByTestId('preview-html').getAttribute('sandbox')).toBe('');
    expect(await page.title()).not.toBe('ran');
    expect((await v2.send(new GetEmailTemplateCommand({ TemplateName: 'Newsletter' }))).TemplateContent).toEqual({ Subject: 'News for {{name}}' });

    // Errors as SES words them, in an alert; the editor keeps its text.
    await page.getByLabel('Template data (JSON)').fill('{"name": "Ana", "issue": ');
    await expect.poll(() => previewError(page)).toBe('Template data is not valid JSON.');
    await page.getByLabel('Template data (JSON)').fill('{"issue": 7}');
    await expect.poll(() => previewError(page)).toBe("Attribute 'name' is not present in the rendering data.");
    await page.getByLabel('Template data (JSON)').fill('{"name": "Ana", "issue": 7}');
    await page.getByLabel('Subject', { exact: true }).fill('Weekly {{#if name}} news');
    await expect.poll(() => previewError(page)).toMatch(/^Invalid template Subject part: Parse error on line 1/);
    expect(await page.getByRole('alert').allTextContents()).toEqual([expect.stringMatching(/^Invalid template Subject part/)]);
    expect(await page.getByLabel('HTML part', { exact: true }).inputValue()).toContain('<h1 class="t" style="color: rgb(200, 0, 0)">Hello {{name}}</h1>');
    await page.getByLabel('Subject', { exact: true }).fill('Weekly news for {{name}}');
    await expect.poll(() => previewError(page)).toBe('');
    await expect.poll(() => previewSubject(page)).toBe('Weekly news for Ana');

    // Save: SES's API returns what the editor holds.
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/^Saved at /);
    expect((await v2.send(new GetEmailTemplateCommand({ TemplateName: 'Newsletter' }))).TemplateContent).toEqual({
      Subject: 'Weekly news for {{name}}',
      Html: '<style>p { color: rgb(0, 0, 200) }</style><h1 class="t" style="color: rgb(200, 0, 0)">Hello {{name}}</h1><p>Issue {{issue}}</p><script>parent.document.title = "ran"</script>',
      Text: 'Hello {{name}}, issue {{issue}}.',
    });
    await shoot(page, 'template-editor');
    // The preview is an out-of-process frame (sandboxed, opaque origin), which headless Chromium leaves
    // blank in a full-page screenshot when it lies below the first screen (as on a phone): one more
    // shot of the phone screen scrolled to the preview.
    await page.setViewportSize(WIDTHS.phone);
    await page.getByTestId('preview-html').scrollIntoViewIfNeeded();
    await expect.poll(() => frame.locator('h1').textContent()).toBe('Hello Ana');
    await page.screenshot({ path: join(SHOTS, 'template-editor-preview-phone.png') });
    await page.setViewportSize(WIDTHS.desktop);

    // Send a test: it reaches dest.test's MX with the rendered subject.
    await page.getByLabel('From (a verified identity)').fill('news@sender.test');
    await page.getByLabel('To (comma-separated)').fill('reader@dest.test');
    await page.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Sent:' }).textContent()).toMatch(/^Sent: \S+/);
    await sink.waitFor(() => sink.to('reader@dest.test').length > 0);
    const mail = await simpleParser(sink.to('reader@dest.test')[0]!.raw);
    expect(mail.subject).toBe('Weekly news for Ana');
    expect(mail.text?.trim()).toBe('Hello Ana, issue 7.');

    // A refused test send: SES's words, in an alert.
    await page.getByLabel('From (a verified identity)').fill('news@unverified.test');
    await page.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(() => page.getByRole('alert').allTextContents()).toEqual([expect.stringContaining('news@unverified.test')]);

    // Delete asks first; then the template is gone from the list and from SES's API.
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('button', { name: 'Keep it' }).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('button', { name: 'Delete Newsletter for good' }).click();
    await page.getByRole('heading', { name: 'Templates', level: 1 }).waitFor();
    await expect.poll(() => page.getByTestId('template').allTextContents()).toEqual([expect.stringContaining('Receipt')]);
    await expect(v2.send(new GetEmailTemplateCommand({ TemplateName: 'Newsletter' }))).rejects.toMatchObject({ name: 'NotFoundException' });
    expect(violations).toEqual([]);
  }, 60_000);

  it('pages through the list with More (50 a page, from the server)', async () => {
    const { server } = fixture;
    const v2 = server.sesv2();
    // With Receipt from the test above: 56 templates.
    for (let i = 0; i < 55; i++) await v2.send(new CreateEmailTemplateCommand({ TemplateName: `Bulk-${String(i).padStart(2, '0')}`, TemplateContent: { Subject: `Bulk ${i}` } }));
    const page = await signedInPage(browser, server.url, server.accessKeyId, server.secretAccessKey);
    await page.goto(`${server.url}/console/#/templates`);
    await expect.poll(() => page.getByTestId('template').count()).toBe(50);
    await page.getByRole('button', { name: 'More' }).click();
    await expect.poll(() => page.getByTestId('template').count()).toBe(56);
    expect(await page.getByTestId('template').last().textContent()).toContain('Receipt');
    expect(await page.getByRole('button', { name: 'More' }).count()).toBe(0);
    await page.context().close();
  }, 60_000);
});
