/**
 * The console's Templates page over HTTP, as the browser calls it: templates created, changed and
 * deleted through the console are the ones SES v2's API sees (and the other way round); the preview
 * renders what TestRenderEmailTemplate renders, also for unsaved content, with SES's errors; a test
 * send goes through SendEmail's checks and reaches the recipient's MX with the rendered subject; a
 * key's policy is enforced with SES's AccessDenied; nothing answers without a session. On SQLite,
 * and on PostgreSQL when SESAME_TEST_DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateEmailTemplateCommand,
  GetEmailTemplateCommand,
  ListEmailTemplatesCommand,
  SendEmailCommand,
  TestRenderEmailTemplateCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import { simpleParser } from 'mailparser';
import { consoleCall, consoleSignIn, type ConsoleSession } from '../helpers/console.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends, type TestServer } from '../helpers/server.ts';

/** What an SES v2 SDK call refuses with: its error name and message. */
async function sdkRefusal(call: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as { name: string; message: string };
    return { code: e.name, message: e.message };
  }
  throw new Error('expected the SES call to be refused');
}

describe.each(testBackends())('console templates (%s)', (backend) => {
  let fixture: SendingFixture;
  let server: TestServer;
  let v2: SESv2Client;
  let user: ConsoleSession;

  /** `method /console/api<path>` with `body`, as `as` (no session when null). */
  const call = (method: string, path: string, body?: unknown, as: ConsoleSession | null = user) => consoleCall(server, method, `/console/api${path}`, { session: as, body });

  beforeAll(async () => {
    fixture = await startSendingFixture({ backend });
    server = fixture.server;
    v2 = server.sesv2();
    user = await consoleSignIn(server, server.accessKeyId, server.secretAccessKey);
  }, 60_000);
  afterAll(() => fixture?.close());

  it('answers no templates route without a session', async () => {
    for (const [method, path] of [
      ['GET', '/templates'],
      ['POST', '/templates'],
      ['GET', '/templates/Welcome'],
      ['PUT', '/templates/Welcome'],
      ['DELETE', '/templates/Welcome'],
      ['POST', '/templates/Welcome/render'],
      ['POST', '/templates/Welcome/send-test'],
    ] as const) {
      const a = await call(method, path, method === 'POST' || method === 'PUT' ? {} : undefined, null);
      expect({ method, path, status: a.status, code: a.body.code }).toEqual({ method, path, status: 401, code: 'Unauthenticated' });
    }
    // A session without the CSRF token changes nothing either.
    const noCsrf = await consoleCall(server, 'POST', '/console/api/templates', { session: user, csrf: false, body: { name: 'NoCsrf', subject: 'x' } });
    expect(noCsrf.status).toBe(403);
    expect((await sdkRefusal(v2.send(new GetEmailTemplateCommand({ TemplateName: 'NoCsrf' })))).code).toBe('NotFoundException');
  });

  it('creates, lists (paged), reads, updates and deletes templates that SES v2 sees', async () => {
    const created = await call('POST', '/templates', { name: 'Welcome', subject: 'Welcome, {{name}}!', html: '<h1>Hi {{name}}</h1>', text: 'Hi {{name}}' });
    expect(created).toEqual({ status: 200, body: { name: 'Welcome' } });
    const got = await v2.send(new GetEmailTemplateCommand({ TemplateName: 'Welcome' }));
    expect(got.TemplateContent).toEqual({ Subject: 'Welcome, {{name}}!', Html: '<h1>Hi {{name}}</h1>', Text: 'Hi {{name}}' });

    // One made through SES's API is on the console's list too; pages of two, in name order.
    await v2.send(new CreateEmailTemplateCommand({ TemplateName: 'Alpha', TemplateContent: { Subject: 'A' } }));
    await v2.send(new CreateEmailTemplateCommand({ TemplateName: 'Beta', TemplateContent: { Text: 'B' } }));
    const first = await call('GET', '/templates?pageSize=2');
    expect(first.status).toBe(200);
    expect((first.body.items as Array<{ name: string }>).map((t) => t.name)).toEqual(['Alpha', 'Beta']);
    expect(first.body.items).toEqual([
      { name: 'Alpha', createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      expect.objectContaining({ name: 'Beta' }),
    ]);
    expect(first.body.nextToken).toEqual(expect.any(String));
    const second = await call('GET', `/templates?pageSize=2&nextToken=${encodeURIComponent(String(first.body.nextToken))}`);
    expect((second.body.items as Array<{ name: string }>).map((t) => t.name)).toEqual(['Welcome']);
    expect(second.body.nextToken).toBeUndefined();
    const listed = await v2.send(new ListEmailTemplatesCommand({}));
    expect(listed.TemplatesMetadata?.map((t) => t.TemplateName)).toEqual(['Alpha', 'Beta', 'Welcome']);
    expect((await call('GET', '/templates?pageSize=500')).body.code).toBe('BadRequest');

    const one = await call('GET', '/templates/Welcome');
    expect(one).toMatchObject({ status: 200, body: { name: 'Welcome', subject: 'Welcome, {{name}}!', html: '<h1>Hi {{name}}</h1>', text: 'Hi {{name}}' } });

    expect(await call('PUT', '/templates/Welcome', { subject: 'Hello again, {{name}}', html: '<p>{{name}}</p>' })).toEqual({ status: 204, body: {} });
    expect((await v2.send(new GetEmailTemplateCommand({ TemplateName: 'Welcome' }))).TemplateContent).toEqual({ Subject: 'Hello again, {{name}}', Html: '<p>{{name}}</p>' });

    expect(await call('DELETE', '/templates/Alpha')).toEqual({ status: 204, body: {} });
    expect((await sdkRefusal(v2.send(new GetEmailTemplateCommand({ TemplateName: 'Alpha' })))).code).toBe('NotFoundException');
    const gone = await call('GET', '/templates/Alpha');
    expect(gone).toEqual({ status: 404, body: await sdkRefusal(v2.send(new GetEmailTemplateCommand({ TemplateName: 'Alpha' }))) });
  });

  it("refuses bad input with SES's errors, and changes nothing", async () => {
    await v2.send(new CreateEmailTemplateCommand({ TemplateName: 'Keep', TemplateContent: { Subject: 'Kept {{x}}' } }));
    const before = (await v2.send(new GetEmailTemplateCommand({ TemplateName: 'Keep' }))).TemplateContent;

    // The same content through SES's API and through the console: the same error.
    const badSyntax = await sdkRefusal(v2.send(new CreateEmailTemplateCommand({ TemplateName: 'Broken', TemplateContent: { Subject: 'Hi {{#if x}}' } })));
    expect(badSyntax.code).toBe('BadRequestException');
    expect(await call('POST', '/templates', { name: 'Broken', subject: 'Hi {{#if x}}' })).toEqual({ status: 400, body: badSyntax });
    expect(await call('PUT', '/templates/Keep', { subject: 'Hi {{#if x}}' })).toEqual({ status: 400, body: badSyntax });
    const bad = await sdkRefusal(v2.send(new CreateEmailTemplateCommand({ TemplateName: 'bad name!', TemplateContent: { Subject: 'x' } })));
    expect(await call('POST', '/templates', { name: 'bad name!', subject: 'x' })).toEqual({ status: 400, body: bad });
    const empty = await call('POST', '/templates', { name: 'Empty' });
    expect(empty).toEqual({ status: 400, body: { code: 'BadRequestException', message: 'Template content needs a Subject, Text or Html part.' } });
    const taken = await sdkRefusal(v2.send(new CreateEmailTemplateCommand({ TemplateName: 'Keep', TemplateContent: { Subject: 'other' } })));
    expect(await call('POST', '/templates', { name: 'Keep', subject: 'other' })).toEqual({ status: 409, body: taken });
    expect(await call('PUT', '/templates/Nope', { subject: 'x' })).toMatchObject({ status: 404, body: { code: 'NotFoundException' } });
    expect(await call('DELETE', '/templates/Nope')).toMatchObject({ status: 404, body: { code: 'NotFoundException' } });

    expect((await v2.send(new GetEmailTemplateCommand({ TemplateName: 'Keep' }))).TemplateContent).toEqual(before);
    for (const n of ['Broken', 'Empty']) expect((await sdkRefusal(v2.send(new GetEmailTemplateCommand({ TemplateName: n })))).code).toBe('NotFoundException');
  });

  it('renders the stored template, or unsaved content, as TestRenderEmailTemplate does, with its errors', async () => {
    const content = { Subject: 'Order {{order.id}} for {{name}}', Html: '<h1>Hi {{name}}</h1><p>{{{note}}}</p>', Text: 'Hi {{name}}, order {{order.id}}.{{#each items}} [{{this}}]{{/each}}' };
    await v2.send(new CreateEmailTemplateCommand({ TemplateName: 'Order', TemplateContent: content }));
    const data = JSON.stringify({ name: 'Ana', order: { id: 42 }, note: '<b>soon</b>', items: ['a', 'b'] });

    const mime = await simpleParser((await v2.send(new TestRenderEmailTemplateCommand({ TemplateName: 'Order', TemplateData: data }))).RenderedTemplate!);
    const stored = await call('POST', '/templates/Order/render', { data });
    expect(stored.status).toBe(200);
    expect(stored.body).toEqual({ subject: mime.subject, html: mime.html, text: mime.text });
    expect(stored.body).toEqual({ subject: 'Order 42 for Ana', html: '<h1>Hi Ana</h1><p><b>soon</b></p>', text: 'Hi Ana, order 42. [a] [b]' });

    // Unsaved content: rendered, not stored.
    const draft = await call('POST', '/templates/Order/render', { data, content: { subject: 'Draft for {{name}}', text: 'Only text' } });
    expect(draft).toEqual({ status: 200, body: { subject: 'Draft for Ana', text: 'Only text' } });
    expect((await v2.send(new GetEmailTemplateCommand({ TemplateName: 'Order' }))).TemplateContent).toEqual(content);

    // Missing attribute, data that is not JSON or not an object: TestRenderEmailTemplate's own refusals.
    for (const bad of ['{"name":"Ana"}', '{"name": ', '["a"]']) {
      const ses = await sdkRefusal(v2.send(new TestRenderEmailTemplateCommand({ TemplateName: 'Order', TemplateData: bad })));
      expect(ses.code).toBe('BadRequestException');
      expect(await call('POST', '/templates/Order/render', { data: bad }), bad).toEqual({ status: 400, body: ses });
      expect(await call('POST', '/templates/Order/render', { data: bad, content: { subject: content.Subject, html: content.Html, text: content.Text } }), bad).toEqual({ status: 400, body: ses });
    }
    expect((await call('POST', '/templates/Order/render', { data: '{}' })).body).toEqual({ code: 'BadRequestException', message: "Attribute 'name' is not present in the rendering data." });
    // Unsaved content with a Handlebars syntax error: the error CreateEmailTemplate gives for it.
    const syntax = await sdkRefusal(v2.send(new CreateEmailTemplateCommand({ TemplateName: 'Syntax', TemplateContent: { Html: '<p>{{#each items}}</p>' } })));
    expect(await call('POST', '/templates/Order/render', { data, content: { html: '<p>{{#each items}}</p>' } })).toEqual({ status: 400, body: syntax });
    // A template that does not exist, rendered as stored: TestRenderEmailTemplate's NotFound.
    const missing = await sdkRefusal(v2.send(new TestRenderEmailTemplateCommand({ TemplateName: 'Nope', TemplateData: '{}' })));
    expect(await call('POST', '/templates/Nope/render', { data: '{}' })).toEqual({ status: 404, body: missing });
    expect((await call('POST', '/templates/Order/render', { data: { name: 'Ana' } })).body.code).toBe('BadRequest');
  });

  it('sends a test of a stored template through SendEmail: delivered to the MX with the rendered subject', async () => {
    await v2.send(new CreateEmailTemplateCommand({ TemplateName: 'Ship', TemplateContent: { Subject: 'Shipped to {{name}}', Text: 'Your parcel, {{name}}.', Html: '<p>Your parcel, {{name}}.</p>' } }));
    const sent = await call('POST', '/templates/Ship/send-test', { from: 'shop@sender.test', to: 'ana@dest.test', data: '{"name":"Ana"}' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body.messageId).toEqual(expect.any(String));
    await fixture.sink.waitFor(() => fixture.sink.to('ana@dest.test').length > 0);
    const mail = await simpleParser(fixture.sink.to('ana@dest.test')[0]!.raw);
    expect(mail.subject).toBe('Shipped to Ana');
    expect(mail.text?.trim()).toBe('Your parcel, Ana.');
    expect(mail.html).toBe('<p>Your parcel, Ana.</p>');
    expect(mail.messageId).toBe(`<${String(sent.body.messageId)}@mta.sesame.test>`);
    const [send] = await server.instance.storage.queue.events(String(sent.body.messageId));
    expect(send!.payload).toMatchObject({ eventType: 'Send', mail: { tags: { 'ses:operation': ['SendEmail'] } } });
  });

  it("refuses a test send as SendEmail would: unverified From, the sandbox, the quota, and bounces a suppressed recipient", async () => {
    const v2Send = (from: string, to: string) =>
      sdkRefusal(v2.send(new SendEmailCommand({ FromEmailAddress: from, Destination: { ToAddresses: [to] }, Content: { Template: { TemplateName: 'Ship', TemplateData: '{"name":"x"}' } } })));
    const consoleSend = (from: string, to: string) => call('POST', '/templates/Ship/send-test', { from, to, data: '{"name":"x"}' });

    const unverified = await v2Send('someone@unverified.test', 'a@dest.test');
    expect(unverified.code).toBe('MessageRejected');
    expect(await consoleSend('someone@unverified.test', 'a@dest.test')).toEqual({ status: 400, body: unverified });

    const accountId = (await call('GET', '/account')).body.accountId as string;
    const settings = server.instance.core.accountSettings;
    await settings.operatorSet(accountId, { productionAccessEnabled: false });
    try {
      const sandbox = await v2Send('shop@sender.test', 'stranger@dest.test');
      expect(sandbox.code).toBe('MessageRejected');
      expect(sandbox.message).toContain('stranger@dest.test');
      expect(await consoleSend('shop@sender.test', 'stranger@dest.test')).toEqual({ status: 400, body: sandbox });
    } finally {
      await settings.operatorSet(accountId, { productionAccessEnabled: true });
    }
    const quota = (await settings.read(accountId)).max24HourSend;
    await settings.operatorSet(accountId, { max24HourSend: 0 });
    try {
      const over = await v2Send('shop@sender.test', 'b@dest.test');
      expect(over.code).toBe('TooManyRequestsException');
      expect(await consoleSend('shop@sender.test', 'b@dest.test')).toEqual({ status: 429, body: over });
    } finally {
      await settings.operatorSet(accountId, { max24HourSend: quota });
    }
    expect(fixture.sink.to('stranger@dest.test')).toEqual([]);
    expect(fixture.sink.to('b@dest.test')).toEqual([]);

    expect((await call('POST', '/suppression', { email: 'gone@dest.test', reason: 'BOUNCE' })).status).toBe(200);
    const suppressed = await consoleSend('shop@sender.test', 'gone@dest.test');
    expect(suppressed.status).toBe(200);
    await eventually(async () => (await server.instance.storage.queue.events(String(suppressed.body.messageId))).some((e) => e.type === 'Bounce'), 10_000, 'the suppression bounce');
    expect(fixture.sink.to('gone@dest.test')).toEqual([]);
    expect(await consoleSend('shop@sender.test', 'c@dest.test').then((a) => a.status)).toBe(200);
    expect((await call('POST', '/templates/Nope/send-test', { from: 'shop@sender.test', to: 'c@dest.test', data: '{}' })).body.code).toBe('NotFoundException');
  });

  it("enforces the session key's policy with SES's AccessDenied", async () => {
    const limited = await server.instance.core.accounts.createKey({ description: 'templates read only', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ses:Get*', 'ses:List*'], Resource: '*' }] } });
    const reader = await consoleSignIn(server, limited.accessKeyId, limited.secretAccessKey);
    expect((await call('GET', '/templates', undefined, reader)).status).toBe(200);
    expect((await call('GET', '/templates/Keep', undefined, reader)).status).toBe(200);
    const denied = await call('POST', '/templates', { name: 'Sneaky', subject: 'x' }, reader);
    const ses = await sdkRefusal(server.sesv2(limited).send(new CreateEmailTemplateCommand({ TemplateName: 'Sneaky', TemplateContent: { Subject: 'x' } })));
    // SES v2's AccessDeniedException (the SDK's name for it) with its message; the console's code is AccessDenied.
    expect(ses.code).toBe('AccessDeniedException');
    expect(denied).toEqual({ status: 403, body: { code: 'AccessDenied', message: ses.message } });
    expect(String(ses.message)).toContain('ses:CreateEmailTemplate');
    expect((await sdkRefusal(v2.send(new GetEmailTemplateCommand({ TemplateName: 'Sneaky' })))).code).toBe('NotFoundException');
    for (const [method, path, body] of [
      ['PUT', '/templates/Keep', { subject: 'changed' }],
      ['DELETE', '/templates/Keep', undefined],
      ['POST', '/templates/Keep/render', { data: '{"x":1}' }],
      ['POST', '/templates/Ship/send-test', { from: 'shop@sender.test', to: 'd@dest.test', data: '{"name":"x"}' }],
    ] as const) {
      const a = await call(method, path, body, reader);
      expect({ method, path, status: a.status, code: a.body.code }).toEqual({ method, path, status: 403, code: 'AccessDenied' });
    }
    expect((await v2.send(new GetEmailTemplateCommand({ TemplateName: 'Keep' }))).TemplateContent).toEqual({ Subject: 'Kept {{x}}' });
    expect(fixture.sink.to('d@dest.test')).toEqual([]);
  });
});
