/**
 * Templated and bulk sending end to end, and configuration sets applied to sends: a stored template
 * rendered with data (no HTML escaping, as SES), by name, ARN or inline content; SendBulkEmail with
 * 50 personalised entries; a template that cannot be rendered (accepted, nothing sent, a Rendering
 * Failure event); nodemailer's SES transport; and the options of a configuration set (its tag on
 * events, MaxDeliverySeconds, suppression options, TlsPolicy REQUIRE against a host without STARTTLS).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateConfigurationSetCommand,
  CreateEmailTemplateCommand,
  PutSuppressedDestinationCommand,
  SendBulkEmailCommand,
  SendEmailCommand,
} from '@aws-sdk/client-sesv2';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { expectSdkError } from '../helpers/aws-wire.ts';
import { dkimVerify, HAVE_DKIMPY } from '../helpers/dkim.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends, type TestServer } from '../helpers/server.ts';
import type { SinkMta } from '../helpers/sink.ts';

/** A sunk message as a mail client shows it (mailparser decodes transfer encodings and headers). */
const parsed = (raw: Buffer) => simpleParser(raw, { skipImageLinks: true, skipTextLinks: true });
/** The headers of a sunk message, unfolded (RFC 5322 §2.2.3). */
const headerBlock = (raw: Buffer) => raw.toString().split('\r\n\r\n')[0]!.replace(/\r\n[ \t]+/g, ' ');

describe.each(testBackends())('templated and bulk sending (%s)', (backend) => {
  let sink: SinkMta;
  let server: TestServer;

  let fixture: SendingFixture;

  beforeAll(async () => {
    fixture = await startSendingFixture({ backend, env: { SESAME_RETRY_SCHEDULE: '300ms' } });
    ({ sink, server } = fixture);
    await server.sesv2().send(
      new CreateEmailTemplateCommand({
        TemplateName: 'Welcome',
        TemplateContent: {
          Subject: 'Welcome, {{name}}!',
          Text: 'Hello {{name}}, your plan is {{plan.title}}.{{#each items}} [{{this}}]{{/each}}',
          Html: '<h1>Hello {{name}}</h1>{{#if note}}<p>{{{note}}} {{note}}</p>{{/if}}',
        },
      }),
    );
  });
  afterAll(() => fixture?.close());

  const eventsOf = async (messageId: string) => server.instance.storage.queue.events(messageId);

  it('renders a stored template with data, without HTML escaping, and the DKIM signature verifies', async () => {
    const { MessageId } = await server.sesv2().send(
      new SendEmailCommand({
        FromEmailAddress: 'news@sender.test',
        Destination: { ToAddresses: ['ann@dest.test'] },
        Content: { Template: { TemplateName: 'Welcome', TemplateData: JSON.stringify({ name: 'Ann', plan: { title: 'Gold' }, items: ['a', 'b'], note: '<b>bold</b>' }) } },
      }),
    );
    await sink.waitFor(() => sink.to('ann@dest.test').length > 0);
    const m = sink.to('ann@dest.test')[0]!;
    const mail = await parsed(m.raw);
    expect(mail.subject).toBe('Welcome, Ann!');
    expect(mail.text?.trim()).toBe('Hello Ann, your plan is Gold. [a] [b]');
    expect(mail.html).toBe('<h1>Hello Ann</h1><p><b>bold</b> <b>bold</b></p>');
    expect(mail.messageId).toBe(`<${MessageId}@mta.sesame.test>`);
    if (HAVE_DKIMPY) expect(await dkimVerify(server, 'sender.test', m.raw)).toContain('pass');
    const [send] = await eventsOf(MessageId!);
    expect(send!.payload).toMatchObject({ eventType: 'Send', mail: { commonHeaders: { subject: 'Welcome, Ann!' }, tags: { 'ses:operation': ['SendEmail'] } } });
  });

  it('takes a template by ARN and inline template content', async () => {
    const v2 = server.sesv2();
    await v2.send(
      new SendEmailCommand({
        FromEmailAddress: 'news@sender.test',
        Destination: { ToAddresses: ['arn@dest.test'] },
        Content: { Template: { TemplateArn: 'arn:aws:ses:us-east-1:000000000000:template/Welcome', TemplateData: '{"name":"Arn","plan":{"title":"Free"}}' } },
      }),
    );
    await v2.send(
      new SendEmailCommand({
        FromEmailAddress: 'news@sender.test',
        Destination: { ToAddresses: ['inline@dest.test'] },
        Content: { Template: { TemplateContent: { Subject: 'Inline for {{who}}', Text: 'Dear {{who}}' }, TemplateData: '{"who":"Ines"}' } },
      }),
    );
    await sink.waitFor(() => sink.to('arn@dest.test').length > 0 && sink.to('inline@dest.test').length > 0);
    expect((await parsed(sink.to('arn@dest.test')[0]!.raw)).subject).toBe('Welcome, Arn!');
    const inline = await parsed(sink.to('inline@dest.test')[0]!.raw);
    expect(inline.subject).toBe('Inline for Ines');
    expect(inline.text?.trim()).toBe('Dear Ines');
    await expectSdkError(
      v2.send(new SendEmailCommand({ FromEmailAddress: 'news@sender.test', Destination: { ToAddresses: ['x@dest.test'] }, Content: { Template: { TemplateName: 'Nope', TemplateData: '{}' } } })),
      'NotFoundException',
      404,
    );
    await expectSdkError(
      v2.send(new SendEmailCommand({ FromEmailAddress: 'news@sender.test', Destination: { ToAddresses: ['x@dest.test'] }, Content: { Template: { TemplateName: 'Welcome', TemplateData: '{not json' } } })),
      'BadRequestException',
      400,
    );
  });

  it('sends 50 personalised SendBulkEmail entries, each its own message', async () => {
    const entries = Array.from({ length: 50 }, (_, i) => ({
      Destination: { ToAddresses: [`bulk${i}@dest.test`] },
      ReplacementTags: [{ Name: 'entry', Value: String(i) }],
      ReplacementEmailContent: { ReplacementTemplate: { ReplacementTemplateData: JSON.stringify({ name: `Reader ${i}`, plan: { title: `Plan ${i}` } }) } },
      ...(i === 0 ? { ReplacementHeaders: [{ Name: 'X-Campaign', Value: 'first-entry' }] } : {}),
    }));
    const res = await server.sesv2().send(
      new SendBulkEmailCommand({
        FromEmailAddress: 'Newsletter <news@sender.test>',
        DefaultContent: { Template: { TemplateName: 'Welcome', TemplateData: '{"name":"default","plan":{"title":"default"}}', Headers: [{ Name: 'X-Campaign', Value: 'november' }] } },
        DefaultEmailTags: [{ Name: 'campaign', Value: 'november' }],
        BulkEmailEntries: entries,
      }),
    );
    expect(res.BulkEmailEntryResults).toHaveLength(50);
    for (const r of res.BulkEmailEntryResults!) {
      expect(r.Status).toBe('SUCCESS');
      expect(r.MessageId).toMatch(/^0100[0-9a-f]{12}-[0-9a-f-]{36}-000000$/);
    }
    expect(new Set(res.BulkEmailEntryResults!.map((r) => r.MessageId)).size).toBe(50);
    await sink.waitFor(() => entries.every((_, i) => sink.to(`bulk${i}@dest.test`).length > 0), 30_000);
    for (let i = 0; i < 50; i++) {
      const got = sink.to(`bulk${i}@dest.test`);
      expect(got).toHaveLength(1);
      const mail = await parsed(got[0]!.raw);
      expect(mail.subject).toBe(`Welcome, Reader ${i}!`);
      expect(mail.text?.trim()).toBe(`Hello Reader ${i}, your plan is Plan ${i}.`);
      expect(mail.messageId).toBe(`<${res.BulkEmailEntryResults![i]!.MessageId}@mta.sesame.test>`);
      expect(mail.headers.get('x-campaign')).toBe(i === 0 ? 'first-entry' : 'november');
    }
    const [send] = await eventsOf(res.BulkEmailEntryResults![7]!.MessageId!);
    expect(send!.payload).toMatchObject({ mail: { tags: { campaign: ['november'], entry: ['7'], 'ses:operation': ['SendBulkEmail'] } } });
  });

  it('accepts a send whose data lacks an attribute, sends nothing, and records a Rendering Failure', async () => {
    const res = await server.sesv2().send(
      new SendBulkEmailCommand({
        FromEmailAddress: 'news@sender.test',
        DefaultContent: { Template: { TemplateName: 'Welcome', TemplateData: '{"name":"ok","plan":{"title":"x"}}' } },
        BulkEmailEntries: [
          { Destination: { ToAddresses: ['rendered@dest.test'] } },
          { Destination: { ToAddresses: ['broken@dest.test'] }, ReplacementEmailContent: { ReplacementTemplate: { ReplacementTemplateData: '{"plan":{"title":"x"}}' } } },
        ],
      }),
    );
    expect(res.BulkEmailEntryResults!.map((r) => r.Status)).toEqual(['SUCCESS', 'SUCCESS']);
    const broken = res.BulkEmailEntryResults![1]!.MessageId!;
    await sink.waitFor(() => sink.to('rendered@dest.test').length > 0);
    const events = await eventsOf(broken);
    expect(events.map((e) => e.type)).toEqual(['Rendering Failure']);
    expect(events[0]!.payload).toMatchObject({
      eventType: 'Rendering Failure',
      mail: { messageId: broken, destination: ['broken@dest.test'] },
      failure: { templateName: 'Welcome', errorMessage: "Attribute 'name' is not present in the rendering data." },
    });
    expect(await server.instance.storage.queue.recipients(broken)).toEqual([]);
    expect(sink.to('broken@dest.test')).toHaveLength(0);

    const missing = await server.sesv2().send(
      new SendBulkEmailCommand({
        FromEmailAddress: 'news@sender.test',
        DefaultContent: { Template: { TemplateName: 'NoSuchTemplate', TemplateData: '{}' } },
        BulkEmailEntries: [{ Destination: { ToAddresses: ['a@dest.test'] } }, { Destination: { ToAddresses: ['b@dest.test'] } }],
      }),
    );
    expect(missing.BulkEmailEntryResults!.map((r) => r.Status)).toEqual(['TEMPLATE_NOT_FOUND', 'TEMPLATE_NOT_FOUND']);
    expect(missing.BulkEmailEntryResults![0]!.MessageId).toBeUndefined();
  });

  it("delivers what nodemailer's SES transport sends, attachment included", async () => {
    const transport = nodemailer.createTransport({ SES: { sesClient: server.sesv2(), SendEmailCommand } });
    const info = await transport.sendMail({
      from: 'App <app@sender.test>',
      to: 'nm@dest.test',
      subject: 'Report ready',
      text: 'See attached.',
      attachments: [{ filename: 'report.csv', content: 'id,total\n1,42\n' }],
    });
    const messageId = /^<([^@>]+)/.exec(String(info.messageId))?.[1];
    expect(messageId).toMatch(/^0100[0-9a-f]{12}-/);
    await sink.waitFor(() => sink.to('nm@dest.test').length > 0);
    const raw = sink.to('nm@dest.test')[0]!.raw;
    const mail = await parsed(raw);
    expect(mail.subject).toBe('Report ready');
    expect(mail.text?.trim()).toBe('See attached.');
    expect(mail.attachments.map((a) => [a.filename, a.contentType, a.content.toString()])).toEqual([['report.csv', 'text/csv', 'id,total\n1,42\n']]);
    expect(mail.messageId).toBe(`<${messageId}@mta.sesame.test>`);
    expect(headerBlock(raw)).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=sender\.test;/);
  });

  it('applies a configuration set: its tag on events, its MaxDeliverySeconds, its suppression options; an unknown set is refused', async () => {
    const v2 = server.sesv2();
    await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'short-retries', DeliveryOptions: { MaxDeliverySeconds: 300 }, SuppressionOptions: { SuppressedReasons: [] } }));
    await v2.send(new PutSuppressedDestinationCommand({ EmailAddress: 'listed@dest.test', Reason: 'BOUNCE' }));
    const { MessageId } = await v2.send(
      new SendEmailCommand({
        FromEmailAddress: 'news@sender.test',
        Destination: { ToAddresses: ['listed@dest.test'] },
        ConfigurationSetName: 'short-retries',
        Content: { Simple: { Subject: { Data: 'through a set' }, Body: { Text: { Data: 'hi' } } } },
      }),
    );
    // The set's (empty) suppression reasons replace the account's: the listed address gets the mail.
    await sink.waitFor(() => sink.to('listed@dest.test').length > 0);
    const stored = await server.instance.storage.queue.message(MessageId!);
    expect(stored!.configurationSet).toBe('short-retries');
    expect(stored!.expiresAt - stored!.createdAt).toBe(300_000);
    const [send] = await eventsOf(MessageId!);
    expect(send!.payload).toMatchObject({ mail: { tags: { 'ses:configuration-set': ['short-retries'] } } });

    // Without the set, the account's list applies: accepted, not sent, OnAccountSuppressionList.
    const plain = await v2.send(
      new SendEmailCommand({ FromEmailAddress: 'news@sender.test', Destination: { ToAddresses: ['listed@dest.test'] }, Content: { Simple: { Subject: { Data: 'no set' }, Body: { Text: { Data: 'hi' } } } } }),
    );
    await eventually(async () => (await eventsOf(plain.MessageId!)).some((e) => e.type === 'Bounce'), 10_000, 'suppression bounce');
    expect(sink.to('listed@dest.test')).toHaveLength(1);

    await expectSdkError(
      v2.send(
        new SendEmailCommand({
          FromEmailAddress: 'news@sender.test',
          Destination: { ToAddresses: ['x@dest.test'] },
          ConfigurationSetName: 'no-such-set',
          Content: { Simple: { Subject: { Data: 's' }, Body: { Text: { Data: 'b' } } } },
        }),
      ),
      'NotFoundException',
      404,
      /no-such-set/,
    );
  });
});

describe('TlsPolicy REQUIRE', () => {
  let sink: SinkMta;
  let server: TestServer;

  let fixture: SendingFixture;

  beforeAll(async () => {
    fixture = await startSendingFixture({ starttls: false, destinations: ['plain.test'], env: { SESAME_RETRY_SCHEDULE: '60s' } });
    ({ sink, server } = fixture);
  });
  afterAll(() => fixture?.close());

  it('never hands a message over in plain text; other mail to the same host still goes', async () => {
    const v2 = server.sesv2();
    await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'tls-only', DeliveryOptions: { TlsPolicy: 'REQUIRE' } }));
    const send = (to: string, set?: string) =>
      v2.send(new SendEmailCommand({ FromEmailAddress: 'a@sender.test', Destination: { ToAddresses: [to] }, ConfigurationSetName: set, Content: { Simple: { Subject: { Data: 's' }, Body: { Text: { Data: 'b' } } } } }));
    const secret = await send('secret@plain.test', 'tls-only');
    await send('open@plain.test');
    await sink.waitFor(() => sink.to('open@plain.test').length > 0);
    const delay = await eventually(async () => (await server.instance.storage.queue.events(secret.MessageId!)).find((e) => e.type === 'DeliveryDelay'), 10_000, 'DeliveryDelay');
    expect(delay.payload).toMatchObject({ deliveryDelay: { delayedRecipients: [{ emailAddress: 'secret@plain.test', status: '4.7.5' }] } });
    expect(JSON.stringify(delay.payload)).toContain('did not offer STARTTLS');
    expect(sink.to('secret@plain.test')).toHaveLength(0);
    expect(sink.to('open@plain.test')[0]!.secure).toBe(false);
  });
});
