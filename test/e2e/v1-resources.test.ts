/**
 * The SES v1 Query actions for templates, configuration sets, account settings and templated
 * sending, driven by the real @aws-sdk/client-ses against a running server: what a v1 user sees in
 * responses and typed exceptions, and what arrives at the recipient's MTA (a sink on loopback).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateConfigurationSetCommand,
  CreateTemplateCommand,
  DeleteConfigurationSetCommand,
  DeleteTemplateCommand,
  DescribeConfigurationSetCommand,
  GetAccountSendingEnabledCommand,
  GetSendQuotaCommand,
  GetSendStatisticsCommand,
  GetTemplateCommand,
  ListConfigurationSetsCommand,
  ListTemplatesCommand,
  PutConfigurationSetDeliveryOptionsCommand,
  SendBulkTemplatedEmailCommand,
  SendEmailCommand,
  SendTemplatedEmailCommand,
  TestRenderTemplateCommand,
  UpdateAccountSendingEnabledCommand,
  UpdateConfigurationSetReputationMetricsEnabledCommand,
  UpdateConfigurationSetSendingEnabledCommand,
  UpdateTemplateCommand,
  type SESClient,
} from '@aws-sdk/client-ses';
import { GetConfigurationSetCommand, PutConfigurationSetDeliveryOptionsCommand as PutDeliveryOptionsV2 } from '@aws-sdk/client-sesv2';
import { simpleParser } from 'mailparser';
import { expectSdkError } from '../helpers/aws-wire.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends, type TestServer } from '../helpers/server.ts';
import type { SinkMta } from '../helpers/sink.ts';

/** A sunk message as a mail client shows it (mailparser decodes transfer encodings and headers). */
const parsed = (raw: Buffer | string) => simpleParser(raw, { skipImageLinks: true, skipTextLinks: true });

const MESSAGE_ID = /^0100[0-9a-f]{12}-[0-9a-f-]{36}-000000$/;

describe.each(testBackends())('SES v1 templates, configuration sets, account and templated sending (%s)', (backend) => {
  let sink: SinkMta;
  let server: TestServer;
  let ses: SESClient;

  let fixture: SendingFixture;

  beforeAll(async () => {
    fixture = await startSendingFixture({ backend, env: { SESAME_RETRY_SCHEDULE: '300ms' } });
    ({ sink, server } = fixture);
    ses = server.ses();
  });
  afterAll(() => fixture?.close());

  const simpleSend = (to: string, extra: { ConfigurationSetName?: string } = {}) =>
    ses.send(new SendEmailCommand({ Source: 'news@sender.test', Destination: { ToAddresses: [to] }, Message: { Subject: { Data: 's' }, Body: { Text: { Data: 'b' } } }, ...extra }));

  describe('templates', () => {
    it('creates, gets, lists, updates and deletes a template', async () => {
      await ses.send(new CreateTemplateCommand({ Template: { TemplateName: 'Greeting', SubjectPart: 'Hi {{name}}', TextPart: 'Hello {{name}}', HtmlPart: '<p>Hello {{name}}</p>' } }));
      await ses.send(new CreateTemplateCommand({ Template: { TemplateName: 'Another', SubjectPart: 'Only a subject' } }));

      const got = await ses.send(new GetTemplateCommand({ TemplateName: 'Greeting' }));
      expect(got.Template).toEqual({ TemplateName: 'Greeting', SubjectPart: 'Hi {{name}}', TextPart: 'Hello {{name}}', HtmlPart: '<p>Hello {{name}}</p>' });
      expect((await ses.send(new GetTemplateCommand({ TemplateName: 'Another' }))).Template).toEqual({ TemplateName: 'Another', SubjectPart: 'Only a subject' });

      const all = await ses.send(new ListTemplatesCommand({}));
      expect(all.TemplatesMetadata!.map((t) => t.Name)).toEqual(['Another', 'Greeting']);
      expect(all.NextToken).toBeUndefined();
      for (const t of all.TemplatesMetadata!) {
        expect(t.CreatedTimestamp).toBeInstanceOf(Date);
        expect(Math.abs(t.CreatedTimestamp!.getTime() - Date.now())).toBeLessThan(60_000);
      }
      // Paging: one per page, the token resumes after the first.
      const first = await ses.send(new ListTemplatesCommand({ MaxItems: 1 }));
      expect(first.TemplatesMetadata!.map((t) => t.Name)).toEqual(['Another']);
      expect(first.NextToken).toBeTruthy();
      const second = await ses.send(new ListTemplatesCommand({ MaxItems: 1, NextToken: first.NextToken }));
      expect(second.TemplatesMetadata!.map((t) => t.Name)).toEqual(['Greeting']);
      expect(second.NextToken).toBeUndefined();
      // SES: more than 100 asked for is served as 100, not refused.
      expect((await ses.send(new ListTemplatesCommand({ MaxItems: 500 }))).TemplatesMetadata).toHaveLength(2);

      await ses.send(new UpdateTemplateCommand({ Template: { TemplateName: 'Greeting', SubjectPart: 'Hey {{name}}', TextPart: 'Howdy {{name}}' } }));
      expect((await ses.send(new GetTemplateCommand({ TemplateName: 'Greeting' }))).Template).toEqual({ TemplateName: 'Greeting', SubjectPart: 'Hey {{name}}', TextPart: 'Howdy {{name}}' });

      await ses.send(new DeleteTemplateCommand({ TemplateName: 'Another' }));
      await expectSdkError(ses.send(new GetTemplateCommand({ TemplateName: 'Another' })), 'TemplateDoesNotExistException', 400, 'Template Another does not exist.');
      expect((await ses.send(new ListTemplatesCommand({}))).TemplatesMetadata!.map((t) => t.Name)).toEqual(['Greeting']);
      // SES v1 DeleteTemplate declares no errors: deleting what is not there succeeds.
      await ses.send(new DeleteTemplateCommand({ TemplateName: 'Another' }));
    });

    it('refuses a taken name, an unknown template and invalid Handlebars with typed exceptions', async () => {
      await expectSdkError(
        ses.send(new CreateTemplateCommand({ Template: { TemplateName: 'Greeting', SubjectPart: 'again' } })),
        'AlreadyExistsException',
        400,
        'Template Greeting already exists for account id 000000000000',
      );
      await expectSdkError(ses.send(new UpdateTemplateCommand({ Template: { TemplateName: 'Missing', SubjectPart: 'x' } })), 'TemplateDoesNotExistException', 400, 'Template Missing does not exist.');
      await expectSdkError(ses.send(new GetTemplateCommand({ TemplateName: 'Missing' })), 'TemplateDoesNotExistException', 400);
      await expectSdkError(ses.send(new CreateTemplateCommand({ Template: { TemplateName: 'Broken', SubjectPart: 'Hi {{#if x}}' } })), 'InvalidTemplateException', 400, /^Invalid template Subject part/);
      await expectSdkError(ses.send(new GetTemplateCommand({ TemplateName: 'Broken' })), 'TemplateDoesNotExistException', 400);
    });

    it('test-renders with data, without HTML escaping, and refuses missing attributes and bad JSON', async () => {
      await ses.send(
        new CreateTemplateCommand({ Template: { TemplateName: 'Render', SubjectPart: 'Order for {{name}}', TextPart: 'Dear {{name}}, total {{total}}', HtmlPart: '<p>{{note}} for {{name}}</p>' } }),
      );
      const { RenderedTemplate } = await ses.send(
        new TestRenderTemplateCommand({ TemplateName: 'Render', TemplateData: JSON.stringify({ name: 'Ann & Bob', total: '<5>', note: '<b>bold</b>' }) }),
      );
      const mail = await parsed(RenderedTemplate!);
      expect(mail.subject).toBe('Order for Ann & Bob');
      expect(mail.text?.trim()).toBe('Dear Ann & Bob, total <5>');
      expect(mail.html).toBe('<p><b>bold</b> for Ann & Bob</p>');

      await expectSdkError(
        ses.send(new TestRenderTemplateCommand({ TemplateName: 'Render', TemplateData: JSON.stringify({ name: 'Ann', total: '1' }) })),
        'MissingRenderingAttributeException',
        400,
        "Attribute 'note' is not present in the rendering data.",
      );
      await expectSdkError(
        ses.send(new TestRenderTemplateCommand({ TemplateName: 'Render', TemplateData: '{"name": "Ann"' })),
        'InvalidRenderingParameterException',
        400,
        'Template data is not valid JSON.',
      );
      await expectSdkError(ses.send(new TestRenderTemplateCommand({ TemplateName: 'Nope', TemplateData: '{}' })), 'TemplateDoesNotExistException', 400);
    });
  });

  describe('configuration sets', () => {
    it('creates, describes with attribute names, lists and deletes a set', async () => {
      await ses.send(new CreateConfigurationSetCommand({ ConfigurationSet: { Name: 'v1-set' } }));
      await ses.send(new CreateConfigurationSetCommand({ ConfigurationSet: { Name: 'v1-other' } }));
      await expectSdkError(
        ses.send(new CreateConfigurationSetCommand({ ConfigurationSet: { Name: 'v1-set' } })),
        'ConfigurationSetAlreadyExistsException',
        400,
        'Configuration set <v1-set> already exists.',
      );
      await expectSdkError(ses.send(new CreateConfigurationSetCommand({ ConfigurationSet: { Name: 'bad name!' } })), 'InvalidConfigurationSetException', 400);

      const plain = await ses.send(new DescribeConfigurationSetCommand({ ConfigurationSetName: 'v1-set' }));
      expect(plain.ConfigurationSet).toEqual({ Name: 'v1-set' });
      expect(plain.DeliveryOptions).toBeUndefined();
      expect(plain.ReputationOptions).toBeUndefined();
      expect(plain.EventDestinations).toBeUndefined();
      expect(plain.TrackingOptions).toBeUndefined();

      const full = await ses.send(
        new DescribeConfigurationSetCommand({ ConfigurationSetName: 'v1-set', ConfigurationSetAttributeNames: ['eventDestinations', 'trackingOptions', 'deliveryOptions', 'reputationOptions'] }),
      );
      expect(full.ConfigurationSet).toEqual({ Name: 'v1-set' });
      expect(full.EventDestinations).toEqual([]);
      expect(full.TrackingOptions).toBeUndefined(); // none set
      expect(full.DeliveryOptions).toEqual({ TlsPolicy: 'Optional' });
      expect(full.ReputationOptions).toEqual({ SendingEnabled: true, ReputationMetricsEnabled: false });

      const onlyDelivery = await ses.send(new DescribeConfigurationSetCommand({ ConfigurationSetName: 'v1-set', ConfigurationSetAttributeNames: ['deliveryOptions'] }));
      expect(onlyDelivery.DeliveryOptions).toEqual({ TlsPolicy: 'Optional' });
      expect(onlyDelivery.ReputationOptions).toBeUndefined();

      await expectSdkError(
        ses.send(new DescribeConfigurationSetCommand({ ConfigurationSetName: 'v1-set', ConfigurationSetAttributeNames: ['sendingOptions' as 'deliveryOptions'] })),
        'InvalidParameterValue',
        400,
      );

      const names = (await ses.send(new ListConfigurationSetsCommand({}))).ConfigurationSets!.map((s) => s.Name);
      expect(names).toEqual(expect.arrayContaining(['v1-set', 'v1-other']));
      const page1 = await ses.send(new ListConfigurationSetsCommand({ MaxItems: 1 }));
      expect(page1.ConfigurationSets).toHaveLength(1);
      expect(page1.NextToken).toBeTruthy();
      const page2 = await ses.send(new ListConfigurationSetsCommand({ MaxItems: 1000, NextToken: page1.NextToken }));
      expect([...page1.ConfigurationSets!, ...page2.ConfigurationSets!].map((s) => s.Name)).toEqual(names);

      await ses.send(new DeleteConfigurationSetCommand({ ConfigurationSetName: 'v1-other' }));
      await expectSdkError(
        ses.send(new DescribeConfigurationSetCommand({ ConfigurationSetName: 'v1-other' })),
        'ConfigurationSetDoesNotExistException',
        400,
        'Configuration set <v1-other> does not exist.',
      );
      await expectSdkError(ses.send(new DeleteConfigurationSetCommand({ ConfigurationSetName: 'v1-other' })), 'ConfigurationSetDoesNotExistException', 400);
      expect((await ses.send(new ListConfigurationSetsCommand({}))).ConfigurationSets!.map((s) => s.Name)).not.toContain('v1-other');
    });

    it('puts delivery options and reputation metrics, and Describe shows them', async () => {
      // A v2-only option (MaxDeliverySeconds) survives a v1 client that cannot see it.
      await server.sesv2().send(new PutDeliveryOptionsV2({ ConfigurationSetName: 'v1-set', TlsPolicy: 'OPTIONAL', MaxDeliverySeconds: 600 }));
      await ses.send(new PutConfigurationSetDeliveryOptionsCommand({ ConfigurationSetName: 'v1-set', DeliveryOptions: { TlsPolicy: 'Require' } }));
      await ses.send(new UpdateConfigurationSetReputationMetricsEnabledCommand({ ConfigurationSetName: 'v1-set', Enabled: true }));
      const d = await ses.send(new DescribeConfigurationSetCommand({ ConfigurationSetName: 'v1-set', ConfigurationSetAttributeNames: ['deliveryOptions', 'reputationOptions'] }));
      expect(d.DeliveryOptions).toEqual({ TlsPolicy: 'Require' });
      expect(d.ReputationOptions).toEqual({ SendingEnabled: true, ReputationMetricsEnabled: true });
      const v2 = await server.sesv2().send(new GetConfigurationSetCommand({ ConfigurationSetName: 'v1-set' }));
      expect(v2.DeliveryOptions).toEqual({ TlsPolicy: 'REQUIRE', MaxDeliverySeconds: 600 });

      await ses.send(new PutConfigurationSetDeliveryOptionsCommand({ ConfigurationSetName: 'v1-set', DeliveryOptions: { TlsPolicy: 'Optional' } }));
      expect((await ses.send(new DescribeConfigurationSetCommand({ ConfigurationSetName: 'v1-set', ConfigurationSetAttributeNames: ['deliveryOptions'] }))).DeliveryOptions).toEqual({
        TlsPolicy: 'Optional',
      });
      await expectSdkError(
        ses.send(new PutConfigurationSetDeliveryOptionsCommand({ ConfigurationSetName: 'v1-set', DeliveryOptions: { TlsPolicy: 'Sometimes' as 'Require' } })),
        'InvalidDeliveryOptionsException',
        400,
      );
      await expectSdkError(
        ses.send(new PutConfigurationSetDeliveryOptionsCommand({ ConfigurationSetName: 'no-such-set', DeliveryOptions: { TlsPolicy: 'Require' } })),
        'ConfigurationSetDoesNotExistException',
        400,
      );
      await expectSdkError(ses.send(new UpdateConfigurationSetReputationMetricsEnabledCommand({ ConfigurationSetName: 'no-such-set', Enabled: true })), 'ConfigurationSetDoesNotExistException', 400);
    });

    it('pauses sending through a set, and refuses a send naming an unknown set', async () => {
      await ses.send(new UpdateConfigurationSetSendingEnabledCommand({ ConfigurationSetName: 'v1-set', Enabled: false }));
      const d = await ses.send(new DescribeConfigurationSetCommand({ ConfigurationSetName: 'v1-set', ConfigurationSetAttributeNames: ['reputationOptions'] }));
      expect(d.ReputationOptions!.SendingEnabled).toBe(false);
      await expectSdkError(simpleSend('paused@dest.test', { ConfigurationSetName: 'v1-set' }), 'ConfigurationSetSendingPausedException', 400, 'Sending is paused for configuration set <v1-set>.');
      await expectSdkError(
        ses.send(new SendTemplatedEmailCommand({ Source: 'news@sender.test', Destination: { ToAddresses: ['paused@dest.test'] }, Template: 'Greeting', TemplateData: '{"name":"x"}', ConfigurationSetName: 'v1-set' })),
        'ConfigurationSetSendingPausedException',
        400,
      );
      await expectSdkError(simpleSend('unknown@dest.test', { ConfigurationSetName: 'no-such-set' }), 'ConfigurationSetDoesNotExistException', 400, 'Configuration set <no-such-set> does not exist.');
      await expectSdkError(ses.send(new UpdateConfigurationSetSendingEnabledCommand({ ConfigurationSetName: 'no-such-set', Enabled: true })), 'ConfigurationSetDoesNotExistException', 400);

      await ses.send(new UpdateConfigurationSetSendingEnabledCommand({ ConfigurationSetName: 'v1-set', Enabled: true }));
      const { MessageId } = await simpleSend('resumed@dest.test', { ConfigurationSetName: 'v1-set' });
      expect(MessageId).toMatch(MESSAGE_ID);
      await sink.waitFor(() => sink.to('resumed@dest.test').length > 0);
      expect(sink.to('paused@dest.test')).toHaveLength(0);
    });
  });

  describe('account', () => {
    it('reports the quota and counts what was sent in the last 24 hours', async () => {
      const before = await ses.send(new GetSendQuotaCommand({}));
      // A self-hosted account has production access and no quota by default (-1: unlimited).
      expect(before).toMatchObject({ Max24HourSend: -1, MaxSendRate: -1 });
      expect(typeof before.SentLast24Hours).toBe('number');
      await ses.send(new SendEmailCommand({ Source: 'news@sender.test', Destination: { ToAddresses: ['q1@dest.test', 'q2@dest.test'] }, Message: { Subject: { Data: 'q' }, Body: { Text: { Data: 'q' } } } }));
      const after = await ses.send(new GetSendQuotaCommand({}));
      expect(after.SentLast24Hours).toBe(before.SentLast24Hours! + 2);
    });

    it('reports send statistics in 15-minute data points', async () => {
      const total = (points: Array<{ DeliveryAttempts?: number }>) => points.reduce((n, p) => n + (p.DeliveryAttempts ?? 0), 0);
      const before = (await ses.send(new GetSendStatisticsCommand({}))).SendDataPoints ?? [];
      await simpleSend('stats@dest.test');
      const { SendDataPoints } = await ses.send(new GetSendStatisticsCommand({}));
      expect(SendDataPoints!.length).toBeGreaterThan(0);
      expect(total(SendDataPoints!)).toBe(total(before) + 1);
      const latest = SendDataPoints![SendDataPoints!.length - 1]!;
      expect(latest.Timestamp).toBeInstanceOf(Date);
      expect(latest.Timestamp!.getTime() % (15 * 60_000)).toBe(0);
      expect(Date.now() - latest.Timestamp!.getTime()).toBeLessThan(15 * 60_000 + 60_000);
      expect(latest).toMatchObject({ DeliveryAttempts: expect.any(Number), Bounces: expect.any(Number), Complaints: expect.any(Number), Rejects: expect.any(Number) });
      expect(latest.DeliveryAttempts).toBeGreaterThanOrEqual(1);
    });

    it('pauses and resumes sending for the whole account', async () => {
      expect((await ses.send(new GetAccountSendingEnabledCommand({}))).Enabled).toBe(true);
      await ses.send(new UpdateAccountSendingEnabledCommand({ Enabled: false }));
      try {
        expect((await ses.send(new GetAccountSendingEnabledCommand({}))).Enabled).toBe(false);
        await expectSdkError(simpleSend('acct-paused@dest.test'), 'AccountSendingPausedException', 400, 'Sending is paused for this account.');
        await expectSdkError(
          ses.send(new SendTemplatedEmailCommand({ Source: 'news@sender.test', Destination: { ToAddresses: ['acct-paused@dest.test'] }, Template: 'Greeting', TemplateData: '{"name":"x"}' })),
          'AccountSendingPausedException',
          400,
        );
      } finally {
        await ses.send(new UpdateAccountSendingEnabledCommand({ Enabled: true }));
      }
      expect((await ses.send(new GetAccountSendingEnabledCommand({}))).Enabled).toBe(true);
      const { MessageId } = await simpleSend('acct-resumed@dest.test');
      expect(MessageId).toMatch(MESSAGE_ID);
      await sink.waitFor(() => sink.to('acct-resumed@dest.test').length > 0);
      expect(sink.to('acct-paused@dest.test')).toHaveLength(0);
    });
  });

  describe('templated sending', () => {
    beforeAll(async () => {
      await ses.send(
        new CreateTemplateCommand({
          Template: {
            TemplateName: 'Welcome',
            SubjectPart: 'Welcome, {{name}}!',
            TextPart: 'Hello {{name}}, your plan is {{plan.title}}.',
            HtmlPart: '<h1>Hello {{name}}</h1>{{#if note}}<p>{{note}}</p>{{/if}}',
          },
        }),
      );
    });

    it('sends a stored template rendered with the data, by name and by ARN', async () => {
      const { MessageId } = await ses.send(
        new SendTemplatedEmailCommand({
          Source: 'Shop <news@sender.test>',
          Destination: { ToAddresses: ['tpl@dest.test'], CcAddresses: ['tpl-cc@dest.test'] },
          ReplyToAddresses: ['help@sender.test'],
          Template: 'Welcome',
          TemplateData: JSON.stringify({ name: 'Ann', plan: { title: 'Gold' }, note: '<b>bold</b>' }),
          Tags: [{ Name: 'campaign', Value: 'welcome' }],
          ConfigurationSetName: 'v1-set',
        }),
      );
      expect(MessageId).toMatch(MESSAGE_ID);
      await sink.waitFor(() => sink.to('tpl@dest.test').length > 0 && sink.to('tpl-cc@dest.test').length > 0);
      const mail = await parsed(sink.to('tpl@dest.test')[0]!.raw);
      expect(mail.subject).toBe('Welcome, Ann!');
      expect(mail.text?.trim()).toBe('Hello Ann, your plan is Gold.');
      expect(mail.html).toBe('<h1>Hello Ann</h1><p><b>bold</b></p>');
      expect(mail.messageId).toBe(`<${MessageId}@mta.sesame.test>`);
      expect(mail.from?.value).toEqual([{ name: 'Shop', address: 'news@sender.test' }]);
      expect(mail.replyTo?.value).toEqual([{ name: '', address: 'help@sender.test' }]);
      const [send] = await server.instance.storage.queue.events(MessageId!);
      expect(send!.payload).toMatchObject({
        eventType: 'Send',
        mail: { destination: ['tpl@dest.test', 'tpl-cc@dest.test'], tags: { campaign: ['welcome'], 'ses:operation': ['SendTemplatedEmail'], 'ses:configuration-set': ['v1-set'] } },
      });

      await ses.send(
        new SendTemplatedEmailCommand({
          Source: 'news@sender.test',
          Destination: { ToAddresses: ['tpl-arn@dest.test'] },
          Template: 'Welcome',
          TemplateArn: 'arn:aws:ses:us-east-1:000000000000:template/Welcome',
          TemplateData: '{"name":"Arn","plan":{"title":"Free"}}',
        }),
      );
      await sink.waitFor(() => sink.to('tpl-arn@dest.test').length > 0);
      expect((await parsed(sink.to('tpl-arn@dest.test')[0]!.raw)).subject).toBe('Welcome, Arn!');
    });

    it('refuses an unknown template and data that is not JSON; accepts data missing an attribute and records a Rendering Failure', async () => {
      const send = (Template: string, TemplateData: string, to = 'tpl-bad@dest.test') =>
        ses.send(new SendTemplatedEmailCommand({ Source: 'news@sender.test', Destination: { ToAddresses: [to] }, Template, TemplateData }));
      await expectSdkError(send('Nope', '{}'), 'TemplateDoesNotExistException', 400, 'Template Nope does not exist.');
      await expectSdkError(send('Welcome', '{not json'), 'InvalidRenderingParameterException', 400, 'Template data is not valid JSON.');

      const { MessageId } = await send('Welcome', '{"plan":{"title":"x"}}', 'tpl-unrendered@dest.test');
      expect(MessageId).toMatch(MESSAGE_ID);
      const events = await server.instance.storage.queue.events(MessageId!);
      expect(events.map((e) => e.type)).toEqual(['Rendering Failure']);
      expect(events[0]!.payload).toMatchObject({ failure: { templateName: 'Welcome', errorMessage: "Attribute 'name' is not present in the rendering data." } });
      expect(sink.to('tpl-unrendered@dest.test')).toHaveLength(0);
    });

    it('sends SendBulkTemplatedEmail to 3 destinations as 3 personalised messages', async () => {
      const res = await ses.send(
        new SendBulkTemplatedEmailCommand({
          Source: 'Newsletter <news@sender.test>',
          Template: 'Welcome',
          DefaultTemplateData: '{"name":"friend","plan":{"title":"Basic"}}',
          DefaultTags: [{ Name: 'campaign', Value: 'bulk' }],
          Destinations: [
            { Destination: { ToAddresses: ['b1@dest.test'] }, ReplacementTemplateData: '{"name":"One","plan":{"title":"Gold"}}', ReplacementTags: [{ Name: 'campaign', Value: 'vip' }] },
            { Destination: { ToAddresses: ['b2@dest.test'] }, ReplacementTemplateData: '{"name":"Two","plan":{"title":"Silver"}}' },
            { Destination: { ToAddresses: ['b3@dest.test'] } },
          ],
        }),
      );
      expect(res.Status).toHaveLength(3);
      for (const s of res.Status!) {
        expect(s.Status).toBe('Success');
        expect(s.Error).toBeUndefined();
        expect(s.MessageId).toMatch(MESSAGE_ID);
      }
      expect(new Set(res.Status!.map((s) => s.MessageId)).size).toBe(3);
      await sink.waitFor(() => ['b1', 'b2', 'b3'].every((b) => sink.to(`${b}@dest.test`).length > 0));
      const expected = [
        ['b1', 'Welcome, One!', 'Hello One, your plan is Gold.'],
        ['b2', 'Welcome, Two!', 'Hello Two, your plan is Silver.'],
        ['b3', 'Welcome, friend!', 'Hello friend, your plan is Basic.'],
      ] as const;
      for (const [i, [b, subject, text]] of expected.entries()) {
        const got = sink.to(`${b}@dest.test`);
        expect(got).toHaveLength(1);
        const mail = await parsed(got[0]!.raw);
        expect(mail.subject).toBe(subject);
        expect(mail.text?.trim()).toBe(text);
        expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : undefined).toBe(`${b}@dest.test`);
        expect(mail.messageId).toBe(`<${res.Status![i]!.MessageId}@mta.sesame.test>`);
      }
      const tagsOf = async (id: string) => ((await server.instance.storage.queue.events(id))[0]!.payload as { mail: { tags: Record<string, string[]> } }).mail.tags;
      expect(await tagsOf(res.Status![0]!.MessageId!)).toMatchObject({ campaign: ['vip'], 'ses:operation': ['SendBulkTemplatedEmail'] });
      expect(await tagsOf(res.Status![1]!.MessageId!)).toMatchObject({ campaign: ['bulk'] });
    });

    it('gives a MessageId to a destination whose data lacks an attribute, sends nothing for it, and records a Rendering Failure', async () => {
      const res = await ses.send(
        new SendBulkTemplatedEmailCommand({
          Source: 'news@sender.test',
          Template: 'Welcome',
          DefaultTemplateData: '{"name":"ok","plan":{"title":"x"}}',
          Destinations: [
            { Destination: { ToAddresses: ['bulk-ok@dest.test'] } },
            { Destination: { ToAddresses: ['bulk-broken@dest.test'] }, ReplacementTemplateData: '{"plan":{"title":"x"}}' },
          ],
        }),
      );
      expect(res.Status!.map((s) => s.Status)).toEqual(['Success', 'Success']);
      const broken = res.Status![1]!.MessageId!;
      expect(broken).toMatch(MESSAGE_ID);
      await sink.waitFor(() => sink.to('bulk-ok@dest.test').length > 0);
      const events = await server.instance.storage.queue.events(broken);
      expect(events.map((e) => e.type)).toEqual(['Rendering Failure']);
      expect(events[0]!.payload).toMatchObject({
        eventType: 'Rendering Failure',
        mail: { messageId: broken, destination: ['bulk-broken@dest.test'] },
        failure: { templateName: 'Welcome', errorMessage: "Attribute 'name' is not present in the rendering data." },
      });
      expect(await server.instance.storage.queue.recipients(broken)).toEqual([]);
      // Deliveries of the same call are done once the good one arrived and its Delivery is recorded.
      await eventually(async () => (await server.instance.storage.queue.events(res.Status![0]!.MessageId!)).some((e) => e.type === 'Delivery'), 10_000, 'Delivery of bulk-ok');
      expect(sink.to('bulk-broken@dest.test')).toHaveLength(0);
    });

    it('reports per-destination statuses in v1 spelling for an unknown template and a paused set', async () => {
      const missing = await ses.send(
        new SendBulkTemplatedEmailCommand({
          Source: 'news@sender.test',
          Template: 'NoSuchTemplate',
          DefaultTemplateData: '{}',
          Destinations: [{ Destination: { ToAddresses: ['nt1@dest.test'] } }, { Destination: { ToAddresses: ['nt2@dest.test'] } }],
        }),
      );
      expect(missing.Status!.map((s) => s.Status)).toEqual(['TemplateDoesNotExist', 'TemplateDoesNotExist']);
      expect(missing.Status![0]!.Error).toBe('Template NoSuchTemplate does not exist.');
      expect(missing.Status![0]!.MessageId).toBeUndefined();

      await ses.send(new UpdateConfigurationSetSendingEnabledCommand({ ConfigurationSetName: 'v1-set', Enabled: false }));
      try {
        const paused = await ses.send(
          new SendBulkTemplatedEmailCommand({
            Source: 'news@sender.test',
            Template: 'Welcome',
            DefaultTemplateData: '{"name":"p","plan":{"title":"p"}}',
            ConfigurationSetName: 'v1-set',
            Destinations: [{ Destination: { ToAddresses: ['ps@dest.test'] } }, { Destination: { ToAddresses: ['not an address'] } }],
          }),
        );
        expect(paused.Status!.map((s) => s.Status)).toEqual(['ConfigurationSetSendingPaused', 'MessageRejected']);
        expect(paused.Status![0]!.Error).toBe('Sending is paused for configuration set <v1-set>.');
      } finally {
        await ses.send(new UpdateConfigurationSetSendingEnabledCommand({ ConfigurationSetName: 'v1-set', Enabled: true }));
      }
    });
  });
});
