/**
 * The SES v2 resource operations through the real AWS SDK (@aws-sdk/client-sesv2) against a whole
 * server: email templates (CRUD, paging, TestRenderEmailTemplate), configuration sets (CRUD, every
 * Put*Options, tags), the account (GetAccount, sending pause, details, suppression attributes) and
 * the account-level suppression list; plus the request-level checks of templated SendEmail and
 * SendBulkEmail that need no delivery. On SQLite, and on PostgreSQL when SESAME_TEST_DATABASE_URL
 * is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateConfigurationSetCommand,
  CreateEmailTemplateCommand,
  DeleteConfigurationSetCommand,
  DeleteEmailTemplateCommand,
  DeleteSuppressedDestinationCommand,
  GetAccountCommand,
  GetConfigurationSetCommand,
  GetEmailTemplateCommand,
  GetSuppressedDestinationCommand,
  ListConfigurationSetsCommand,
  ListEmailTemplatesCommand,
  ListSuppressedDestinationsCommand,
  ListTagsForResourceCommand,
  PutAccountDetailsCommand,
  PutAccountSendingAttributesCommand,
  PutAccountSuppressionAttributesCommand,
  PutConfigurationSetDeliveryOptionsCommand,
  PutConfigurationSetReputationOptionsCommand,
  PutConfigurationSetSendingOptionsCommand,
  PutConfigurationSetSuppressionOptionsCommand,
  PutConfigurationSetTrackingOptionsCommand,
  PutSuppressedDestinationCommand,
  SendBulkEmailCommand,
  SendEmailCommand,
  TagResourceCommand,
  TestRenderEmailTemplateCommand,
  UpdateEmailTemplateCommand,
  type SESv2Client,
  type SuppressionListReason,
  type TlsPolicy,
} from '@aws-sdk/client-sesv2';
import { expectSdkError, sendRaw, signed } from '../helpers/aws-wire.ts';
import { TestDnsServer } from '../helpers/dns-server.ts';
import { verifyDomain } from '../helpers/identities.ts';
import { startTestServer, testBackends, type TestServer } from '../helpers/server.ts';

/** A Date the SDK parsed from an epoch-seconds timestamp, within a minute of now. */
const recent = (d: Date | undefined) => {
  expect(d).toBeInstanceOf(Date);
  expect(Math.abs(d!.getTime() - Date.now())).toBeLessThan(60_000);
};

describe.each(testBackends())('SES v2 resources (%s)', (backend) => {
  let dns: TestDnsServer;
  let server: TestServer;
  let v2: SESv2Client;

  beforeAll(async () => {
    dns = await TestDnsServer.start();
    server = await startTestServer({ backend, dns });
    v2 = server.sesv2();
    await verifyDomain(server, dns, 'sender.test');
  });
  afterAll(async () => {
    await server?.close();
    await dns?.close();
  });

  // ------------------------------------------------------------------------------------------
  // Templates
  // ------------------------------------------------------------------------------------------

  it('creates, reads, updates and deletes a template; duplicates and missing names are refused', async () => {
    await v2.send(new CreateEmailTemplateCommand({ TemplateName: 'welcome', TemplateContent: { Subject: 'Hi {{name}}', Text: 'Hello {{name}}', Html: '<p>Hello {{name}}</p>' } }));
    expect(await v2.send(new GetEmailTemplateCommand({ TemplateName: 'welcome' }))).toMatchObject({
      TemplateName: 'welcome',
      TemplateContent: { Subject: 'Hi {{name}}', Text: 'Hello {{name}}', Html: '<p>Hello {{name}}</p>' },
    });
    await expectSdkError(v2.send(new CreateEmailTemplateCommand({ TemplateName: 'welcome', TemplateContent: { Subject: 'again' } })), 'AlreadyExistsException', 400);

    await v2.send(new UpdateEmailTemplateCommand({ TemplateName: 'welcome', TemplateContent: { Subject: 'Welcome {{name}}', Text: 'v2' } }));
    const got = await v2.send(new GetEmailTemplateCommand({ TemplateName: 'welcome' }));
    expect(got.TemplateContent).toEqual({ Subject: 'Welcome {{name}}', Text: 'v2' });

    await expectSdkError(v2.send(new GetEmailTemplateCommand({ TemplateName: 'nope' })), 'NotFoundException', 404, 'Template nope does not exist.');
    await expectSdkError(v2.send(new UpdateEmailTemplateCommand({ TemplateName: 'nope', TemplateContent: { Subject: 'x' } })), 'NotFoundException', 404);
    await expectSdkError(v2.send(new DeleteEmailTemplateCommand({ TemplateName: 'nope' })), 'NotFoundException', 404);

    await v2.send(new DeleteEmailTemplateCommand({ TemplateName: 'welcome' }));
    await expectSdkError(v2.send(new GetEmailTemplateCommand({ TemplateName: 'welcome' })), 'NotFoundException', 404);
  });

  it('refuses a template with invalid Handlebars, no content, or a bad name', async () => {
    await expectSdkError(v2.send(new CreateEmailTemplateCommand({ TemplateName: 'broken', TemplateContent: { Subject: 'x', Html: '{{#if ok}}never closed' } })), 'BadRequestException', 400, /^Invalid template Html part/);
    await expectSdkError(v2.send(new CreateEmailTemplateCommand({ TemplateName: 'broken', TemplateContent: {} })), 'BadRequestException', 400);
    await expectSdkError(v2.send(new CreateEmailTemplateCommand({ TemplateName: 'has space', TemplateContent: { Subject: 'x' } })), 'BadRequestException', 400);
    await expectSdkError(v2.send(new GetEmailTemplateCommand({ TemplateName: 'broken' })), 'NotFoundException', 404);
  });

  it('lists templates in pages of PageSize with NextToken, with creation times', async () => {
    const names = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e'];
    for (const n of names) await v2.send(new CreateEmailTemplateCommand({ TemplateName: n, TemplateContent: { Subject: n } }));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await v2.send(new ListEmailTemplatesCommand({ PageSize: 2, NextToken: token }));
      expect(r.TemplatesMetadata!.length).toBeLessThanOrEqual(2);
      for (const m of r.TemplatesMetadata!) {
        seen.push(m.TemplateName!);
        recent(m.CreatedTimestamp);
      }
      token = r.NextToken;
      pages++;
    } while (token);
    expect(seen).toEqual(names);
    expect(pages).toBe(3);
    await expectSdkError(v2.send(new ListEmailTemplatesCommand({ PageSize: 0 })), 'BadRequestException', 400);
    await expectSdkError(v2.send(new ListEmailTemplatesCommand({ NextToken: 'not a token!' })), 'BadRequestException', 400);
    for (const n of names) await v2.send(new DeleteEmailTemplateCommand({ TemplateName: n }));
    expect((await v2.send(new ListEmailTemplatesCommand({}))).TemplatesMetadata).toEqual([]);
  });

  it('renders a template with TestRenderEmailTemplate without HTML escaping; a missing attribute is a BadRequest', async () => {
    await v2.send(new CreateEmailTemplateCommand({ TemplateName: 'render', TemplateContent: { Subject: 'Hello {{name}}', Text: 'Dear {{name}},', Html: '<p>{{name}}</p>' } }));
    const { RenderedTemplate } = await v2.send(new TestRenderEmailTemplateCommand({ TemplateName: 'render', TemplateData: JSON.stringify({ name: '<b>Ann</b>' }) }));
    expect(RenderedTemplate).toMatch(/^Subject: Hello <b>Ann<\/b>\r?$/m);
    expect(RenderedTemplate).toContain('Dear <b>Ann</b>,');
    expect(RenderedTemplate).not.toMatch(/^Message-ID:/im); // nothing is sent, so no id is invented
    expect(RenderedTemplate).toContain('<p><b>Ann</b></p>');
    expect(RenderedTemplate).not.toContain('&lt;');
    expect(RenderedTemplate).toMatch(/^Content-Type: multipart\/alternative/m);

    await expectSdkError(v2.send(new TestRenderEmailTemplateCommand({ TemplateName: 'render', TemplateData: '{}' })), 'BadRequestException', 400, "Attribute 'name' is not present in the rendering data.");
    await expectSdkError(v2.send(new TestRenderEmailTemplateCommand({ TemplateName: 'render', TemplateData: '{not json' })), 'BadRequestException', 400, 'Template data is not valid JSON.');
    await expectSdkError(v2.send(new TestRenderEmailTemplateCommand({ TemplateName: 'absent', TemplateData: '{}' })), 'NotFoundException', 404);
  });

  // ------------------------------------------------------------------------------------------
  // Configuration sets
  // ------------------------------------------------------------------------------------------

  const setArn = (name: string) => `arn:aws:ses:${server.instance.config.region}:${server.instance.config.accountId}:configuration-set/${name}`;

  it('creates a configuration set whose options and tags round-trip, and one with the defaults', async () => {
    await v2.send(
      new CreateConfigurationSetCommand({
        ConfigurationSetName: 'cs-full',
        DeliveryOptions: { TlsPolicy: 'REQUIRE', MaxDeliverySeconds: 600 },
        ReputationOptions: { ReputationMetricsEnabled: true },
        SendingOptions: { SendingEnabled: false },
        SuppressionOptions: { SuppressedReasons: ['BOUNCE'] },
        TrackingOptions: { CustomRedirectDomain: 'track.example.com', HttpsPolicy: 'REQUIRE' },
        Tags: [{ Key: 'team', Value: 'mail' }],
      }),
    );
    const full = await v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'cs-full' }));
    expect({ ...full, $metadata: undefined }).toEqual({
      $metadata: undefined,
      ConfigurationSetName: 'cs-full',
      DeliveryOptions: { TlsPolicy: 'REQUIRE', MaxDeliverySeconds: 600 },
      ReputationOptions: { ReputationMetricsEnabled: true },
      SendingOptions: { SendingEnabled: false },
      SuppressionOptions: { SuppressedReasons: ['BOUNCE'] },
      TrackingOptions: { CustomRedirectDomain: 'track.example.com', HttpsPolicy: 'REQUIRE' },
      Tags: [{ Key: 'team', Value: 'mail' }],
    });

    await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'cs-min' }));
    const min = await v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'cs-min' }));
    expect({ ...min, $metadata: undefined }).toEqual({
      $metadata: undefined,
      ConfigurationSetName: 'cs-min',
      DeliveryOptions: { TlsPolicy: 'OPTIONAL' },
      ReputationOptions: { ReputationMetricsEnabled: false },
      SendingOptions: { SendingEnabled: true },
      Tags: [],
    });

    await expectSdkError(v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'cs-min' })), 'AlreadyExistsException', 400, 'Configuration set <cs-min> already exists.');
    await expectSdkError(v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'cs-none' })), 'NotFoundException', 404, 'Configuration set <cs-none> does not exist.');
  });

  it('refuses bad delivery options, tracking without a domain, bad reasons and bad names', async () => {
    await expectSdkError(v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'cs-bad', DeliveryOptions: { TlsPolicy: 'SOMETIMES' as TlsPolicy } })), 'BadRequestException', 400, 'TlsPolicy must be REQUIRE or OPTIONAL.');
    await expectSdkError(v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'cs-bad', DeliveryOptions: { MaxDeliverySeconds: 10 } })), 'BadRequestException', 400, /^MaxDeliverySeconds must be an integer from 300 to 50400/);
    await expectSdkError(v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'cs-bad', SuppressionOptions: { SuppressedReasons: ['SPAM' as SuppressionListReason] } })), 'BadRequestException', 400);
    await expectSdkError(v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'bad name!' })), 'BadRequestException', 400);
    await expectSdkError(v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'cs-bad' })), 'NotFoundException', 404);

    await expectSdkError(v2.send(new PutConfigurationSetDeliveryOptionsCommand({ ConfigurationSetName: 'cs-min', TlsPolicy: 'NEVER' as TlsPolicy })), 'BadRequestException', 400);
    await expectSdkError(v2.send(new PutConfigurationSetDeliveryOptionsCommand({ ConfigurationSetName: 'cs-min', MaxDeliverySeconds: 10 })), 'BadRequestException', 400);
    await expectSdkError(v2.send(new PutConfigurationSetTrackingOptionsCommand({ ConfigurationSetName: 'cs-min', HttpsPolicy: 'REQUIRE' })), 'BadRequestException', 400);
    await expectSdkError(v2.send(new PutConfigurationSetSendingOptionsCommand({ ConfigurationSetName: 'cs-none', SendingEnabled: true })), 'NotFoundException', 404);
    // Nothing of the refused changes stuck.
    const min = await v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'cs-min' }));
    expect(min.DeliveryOptions).toEqual({ TlsPolicy: 'OPTIONAL' });
    expect(min.TrackingOptions).toBeUndefined();
  });

  it('changes each option group with its Put*Options call and leaves the others alone', async () => {
    const get = async () => {
      const { $metadata: _m, ...rest } = await v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'cs-min' }));
      return rest;
    };
    await v2.send(new PutConfigurationSetDeliveryOptionsCommand({ ConfigurationSetName: 'cs-min', TlsPolicy: 'REQUIRE', MaxDeliverySeconds: 3600 }));
    expect((await get()).DeliveryOptions).toEqual({ TlsPolicy: 'REQUIRE', MaxDeliverySeconds: 3600 });
    // A Put replaces the group: TlsPolicy left out is OPTIONAL again, MaxDeliverySeconds is gone.
    await v2.send(new PutConfigurationSetDeliveryOptionsCommand({ ConfigurationSetName: 'cs-min' }));
    expect((await get()).DeliveryOptions).toEqual({ TlsPolicy: 'OPTIONAL' });

    await v2.send(new PutConfigurationSetSendingOptionsCommand({ ConfigurationSetName: 'cs-min', SendingEnabled: false }));
    expect((await get()).SendingOptions).toEqual({ SendingEnabled: false });
    await v2.send(new PutConfigurationSetSendingOptionsCommand({ ConfigurationSetName: 'cs-min', SendingEnabled: true }));
    expect((await get()).SendingOptions).toEqual({ SendingEnabled: true });

    await v2.send(new PutConfigurationSetReputationOptionsCommand({ ConfigurationSetName: 'cs-min', ReputationMetricsEnabled: true }));
    expect((await get()).ReputationOptions).toEqual({ ReputationMetricsEnabled: true });

    await v2.send(new PutConfigurationSetSuppressionOptionsCommand({ ConfigurationSetName: 'cs-min', SuppressedReasons: ['COMPLAINT'] }));
    expect((await get()).SuppressionOptions).toEqual({ SuppressedReasons: ['COMPLAINT'] });
    // An empty list is an override that suppresses nothing; no list removes the override.
    await v2.send(new PutConfigurationSetSuppressionOptionsCommand({ ConfigurationSetName: 'cs-min', SuppressedReasons: [] }));
    expect((await get()).SuppressionOptions).toEqual({ SuppressedReasons: [] });
    await v2.send(new PutConfigurationSetSuppressionOptionsCommand({ ConfigurationSetName: 'cs-min' }));
    expect((await get()).SuppressionOptions).toBeUndefined();

    await v2.send(new PutConfigurationSetTrackingOptionsCommand({ ConfigurationSetName: 'cs-min', CustomRedirectDomain: 'click.example.org', HttpsPolicy: 'OPTIONAL' }));
    expect((await get()).TrackingOptions).toEqual({ CustomRedirectDomain: 'click.example.org', HttpsPolicy: 'OPTIONAL' });
    await v2.send(new PutConfigurationSetTrackingOptionsCommand({ ConfigurationSetName: 'cs-min' }));
    expect((await get()).TrackingOptions).toBeUndefined();

    expect(await get()).toEqual({
      ConfigurationSetName: 'cs-min',
      DeliveryOptions: { TlsPolicy: 'OPTIONAL' },
      ReputationOptions: { ReputationMetricsEnabled: true },
      SendingOptions: { SendingEnabled: true },
      Tags: [],
    });
  });

  it('lists configuration sets in pages, filtered by name', async () => {
    for (const n of ['filt-1', 'other-1', 'filt-2', 'other-2', 'filt-3']) await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: n }));
    const all = await v2.send(new ListConfigurationSetsCommand({}));
    expect(all.ConfigurationSets).toEqual(['cs-full', 'cs-min', 'filt-1', 'filt-2', 'filt-3', 'other-1', 'other-2']);
    expect(all.NextToken).toBeUndefined();

    const collect = async (input: { PageSize: number; Filter?: Record<string, string> }) => {
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const r = await v2.send(new ListConfigurationSetsCommand({ ...input, NextToken: token }));
        expect(r.ConfigurationSets!.length).toBeLessThanOrEqual(input.PageSize);
        seen.push(...r.ConfigurationSets!);
        token = r.NextToken;
      } while (token);
      return seen;
    };
    expect(await collect({ PageSize: 3 })).toEqual(all.ConfigurationSets);
    expect(await collect({ PageSize: 1, Filter: { CONFIGURATION_SET_NAME_CONTAINS: 'filt' } })).toEqual(['filt-1', 'filt-2', 'filt-3']);
    expect(await collect({ PageSize: 2, Filter: { CONFIGURATION_SET_NAME_CONTAINS: '-2' } })).toEqual(['filt-2', 'other-2']);
    expect(await collect({ PageSize: 5, Filter: { CONFIGURATION_SET_NAME_CONTAINS: 'zzz' } })).toEqual([]);
    await expectSdkError(v2.send(new ListConfigurationSetsCommand({ Filter: { NAME_IS: 'x' } as Record<string, string> })), 'BadRequestException', 400, 'Unknown Filter key NAME_IS.');

    // Older SDKs list with GET and a query string; the same paging answers them.
    const get = async (query: Record<string, string>) => {
      const res = await sendRaw(server.url, await signed(server.url, { method: 'GET', path: '/v2/email/configuration-sets', query }, server));
      expect(res.status).toBe(200);
      return JSON.parse(res.body) as { ConfigurationSets: string[]; NextToken?: string };
    };
    const p1 = await get({ PageSize: '4' });
    expect(p1.ConfigurationSets).toEqual(['cs-full', 'cs-min', 'filt-1', 'filt-2']);
    const p2 = await get({ PageSize: '4', NextToken: p1.NextToken! });
    expect(p2).toEqual({ ConfigurationSets: ['filt-3', 'other-1', 'other-2'] });
    for (const n of ['filt-1', 'other-1', 'filt-2', 'other-2', 'filt-3']) await v2.send(new DeleteConfigurationSetCommand({ ConfigurationSetName: n }));
  });

  it('keeps a set\'s tags under its ARN and drops them with the set', async () => {
    const arn = setArn('cs-full');
    expect((await v2.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags).toEqual([{ Key: 'team', Value: 'mail' }]);
    await v2.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'env', Value: 'test' }] }));
    expect((await v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'cs-full' }))).Tags).toEqual([
      { Key: 'team', Value: 'mail' },
      { Key: 'env', Value: 'test' },
    ]);

    await v2.send(new DeleteConfigurationSetCommand({ ConfigurationSetName: 'cs-full' }));
    await expectSdkError(v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'cs-full' })), 'NotFoundException', 404);
    await expectSdkError(v2.send(new DeleteConfigurationSetCommand({ ConfigurationSetName: 'cs-full' })), 'NotFoundException', 404);
    await expectSdkError(v2.send(new ListTagsForResourceCommand({ ResourceArn: arn })), 'NotFoundException', 404);
    // A new set of the same name starts without the old tags.
    await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'cs-full' }));
    expect((await v2.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags).toEqual([]);
    await v2.send(new DeleteConfigurationSetCommand({ ConfigurationSetName: 'cs-full' }));
  });

  // ------------------------------------------------------------------------------------------
  // Templated sends refused before delivery
  // ------------------------------------------------------------------------------------------

  it('answers SendBulkEmail with a nonexistent template with TEMPLATE_NOT_FOUND per entry', async () => {
    const r = await v2.send(
      new SendBulkEmailCommand({
        FromEmailAddress: 'news@sender.test',
        DefaultContent: { Template: { TemplateName: 'no-such-template', TemplateData: '{}' } },
        BulkEmailEntries: [{ Destination: { ToAddresses: ['a@dest.test'] } }, { Destination: { ToAddresses: ['b@dest.test'] } }],
      }),
    );
    expect(r.BulkEmailEntryResults).toHaveLength(2);
    for (const e of r.BulkEmailEntryResults!) {
      expect(e.Status).toBe('TEMPLATE_NOT_FOUND');
      expect(e.MessageId).toBeUndefined();
      expect(e.Error).toBe('Template no-such-template does not exist.');
    }
    await expectSdkError(
      v2.send(new SendBulkEmailCommand({ FromEmailAddress: 'news@sender.test', DefaultContent: {}, BulkEmailEntries: [{ Destination: { ToAddresses: ['a@dest.test'] } }] })),
      'BadRequestException',
      400,
      /^DefaultContent must hold a Template/,
    );
    await expectSdkError(
      v2.send(new SendBulkEmailCommand({ FromEmailAddress: 'news@sender.test', DefaultContent: { Template: { TemplateName: 'x' } }, BulkEmailEntries: [] })),
      'BadRequestException',
      400,
    );
  });

  it('refuses a templated SendEmail naming a missing template, or naming none or two', async () => {
    const base = { FromEmailAddress: 'news@sender.test', Destination: { ToAddresses: ['a@dest.test'] } };
    await expectSdkError(v2.send(new SendEmailCommand({ ...base, Content: { Template: { TemplateName: 'no-such-template', TemplateData: '{}' } } })), 'NotFoundException', 404, 'Template no-such-template does not exist.');
    await expectSdkError(v2.send(new SendEmailCommand({ ...base, Content: { Template: { TemplateData: '{}' } } })), 'BadRequestException', 400, /exactly one of TemplateName, TemplateArn or TemplateContent/);
    await expectSdkError(
      v2.send(new SendEmailCommand({ ...base, Content: { Template: { TemplateName: 'x', TemplateContent: { Subject: 'x' } } } })),
      'BadRequestException',
      400,
      /exactly one of TemplateName, TemplateArn or TemplateContent/,
    );
  });

  // ------------------------------------------------------------------------------------------
  // Suppression list
  // ------------------------------------------------------------------------------------------

  it('puts, gets, lists (by reason, by date, in pages) and deletes suppressed destinations', async () => {
    await v2.send(new PutSuppressedDestinationCommand({ EmailAddress: 'a@supp.test', Reason: 'BOUNCE' }));
    await v2.send(new PutSuppressedDestinationCommand({ EmailAddress: 'b@supp.test', Reason: 'COMPLAINT' }));
    await v2.send(new PutSuppressedDestinationCommand({ EmailAddress: 'C+Tag@Supp.test', Reason: 'BOUNCE' }));

    const a = await v2.send(new GetSuppressedDestinationCommand({ EmailAddress: 'a@supp.test' }));
    expect(a.SuppressedDestination).toMatchObject({ EmailAddress: 'a@supp.test', Reason: 'BOUNCE' });
    expect(a.SuppressedDestination!.Attributes).toBeUndefined();
    recent(a.SuppressedDestination!.LastUpdateTime);
    // Addresses are kept lower-cased; '+' survives the path encoding.
    expect((await v2.send(new GetSuppressedDestinationCommand({ EmailAddress: 'c+tag@supp.test' }))).SuppressedDestination).toMatchObject({ EmailAddress: 'c+tag@supp.test', Reason: 'BOUNCE' });

    // Putting again changes the reason.
    await v2.send(new PutSuppressedDestinationCommand({ EmailAddress: 'b@supp.test', Reason: 'BOUNCE' }));
    await v2.send(new PutSuppressedDestinationCommand({ EmailAddress: 'b@supp.test', Reason: 'COMPLAINT' }));

    const list = async (input: { Reasons?: SuppressionListReason[]; StartDate?: Date; EndDate?: Date } = {}) =>
      (await v2.send(new ListSuppressedDestinationsCommand(input))).SuppressedDestinationSummaries!.map((s) => `${s.EmailAddress}:${s.Reason}`);
    expect(await list()).toEqual(['a@supp.test:BOUNCE', 'b@supp.test:COMPLAINT', 'c+tag@supp.test:BOUNCE']);
    expect(await list({ Reasons: ['COMPLAINT'] })).toEqual(['b@supp.test:COMPLAINT']);
    expect(await list({ Reasons: ['BOUNCE'] })).toEqual(['a@supp.test:BOUNCE', 'c+tag@supp.test:BOUNCE']);
    expect(await list({ Reasons: ['BOUNCE', 'COMPLAINT'] })).toHaveLength(3);
    expect(await list({ StartDate: new Date(Date.now() - 3_600_000) })).toHaveLength(3);
    expect(await list({ StartDate: new Date(Date.now() + 3_600_000) })).toEqual([]);
    expect(await list({ EndDate: new Date(Date.now() - 3_600_000) })).toEqual([]);
    expect(await list({ StartDate: new Date(Date.now() - 3_600_000), EndDate: new Date(Date.now() + 3_600_000), Reasons: ['BOUNCE'] })).toHaveLength(2);
    const summary = (await v2.send(new ListSuppressedDestinationsCommand({}))).SuppressedDestinationSummaries![0]!;
    recent(summary.LastUpdateTime);

    const first = await v2.send(new ListSuppressedDestinationsCommand({ PageSize: 2 }));
    expect(first.SuppressedDestinationSummaries!.map((s) => s.EmailAddress)).toEqual(['a@supp.test', 'b@supp.test']);
    const second = await v2.send(new ListSuppressedDestinationsCommand({ PageSize: 2, NextToken: first.NextToken }));
    expect(second.SuppressedDestinationSummaries!.map((s) => s.EmailAddress)).toEqual(['c+tag@supp.test']);
    expect(second.NextToken).toBeUndefined();

    await v2.send(new DeleteSuppressedDestinationCommand({ EmailAddress: 'A@supp.test' }));
    await expectSdkError(v2.send(new GetSuppressedDestinationCommand({ EmailAddress: 'a@supp.test' })), 'NotFoundException', 404, 'Email address a@supp.test does not exist on your suppression list.');
    await expectSdkError(v2.send(new DeleteSuppressedDestinationCommand({ EmailAddress: 'a@supp.test' })), 'NotFoundException', 404);
    expect(await list()).toEqual(['b@supp.test:COMPLAINT', 'c+tag@supp.test:BOUNCE']);
  });

  it('refuses a bad address, a bad reason and a bad date on the suppression list', async () => {
    await expectSdkError(v2.send(new PutSuppressedDestinationCommand({ EmailAddress: 'not-an-address', Reason: 'BOUNCE' })), 'BadRequestException', 400, /^Invalid email address <not-an-address>/);
    await expectSdkError(v2.send(new PutSuppressedDestinationCommand({ EmailAddress: 'x@supp.test', Reason: 'SPAM' as SuppressionListReason })), 'BadRequestException', 400, 'Reason must be BOUNCE or COMPLAINT.');
    await expectSdkError(v2.send(new GetSuppressedDestinationCommand({ EmailAddress: 'no at sign' })), 'BadRequestException', 400);
    await expectSdkError(v2.send(new ListSuppressedDestinationsCommand({ Reasons: ['SPAM' as SuppressionListReason] })), 'BadRequestException', 400);
    await expectSdkError(
      v2.send(new ListSuppressedDestinationsCommand({ StartDate: new Date(Date.now() + 3_600_000), EndDate: new Date(Date.now() - 3_600_000) })),
      'BadRequestException',
      400,
      'StartDate must not be after EndDate.',
    );
    // The SDK only sends valid dates; a hand-made request sends what a broken client would.
    for (const bad of ['yesterday', '2024-13-45T99:00:00Z', '1700000000']) {
      const res = await sendRaw(server.url, await signed(server.url, { method: 'GET', path: '/v2/email/suppression/addresses', query: { StartDate: bad } }, server));
      expect({ status: res.status, type: res.headers['x-amzn-errortype'] }).toEqual({ status: 400, type: 'BadRequestException' });
      expect((JSON.parse(res.body) as { message: string }).message).toMatch(/^StartDate must be an ISO-8601 date-time/);
    }
    expect((await v2.send(new ListSuppressedDestinationsCommand({}))).SuppressedDestinationSummaries!.map((s) => s.EmailAddress)).not.toContain('x@supp.test');
  });

  // ------------------------------------------------------------------------------------------
  // Account (last: the successful send at the end changes SentLast24Hours)
  // ------------------------------------------------------------------------------------------

  it('shows the self-hosted defaults in GetAccount', async () => {
    const { $metadata: _m, ...account } = await v2.send(new GetAccountCommand({}));
    expect(account).toEqual({
      DedicatedIpAutoWarmupEnabled: false,
      EnforcementStatus: 'HEALTHY',
      ProductionAccessEnabled: true,
      SendQuota: { Max24HourSend: -1, MaxSendRate: -1, SentLast24Hours: 0 },
      SendingEnabled: true,
      SuppressionAttributes: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
    });
  });

  it('changes the account suppression attributes', async () => {
    await v2.send(new PutAccountSuppressionAttributesCommand({ SuppressedReasons: ['COMPLAINT'] }));
    expect((await v2.send(new GetAccountCommand({}))).SuppressionAttributes).toEqual({ SuppressedReasons: ['COMPLAINT'] });
    await v2.send(new PutAccountSuppressionAttributesCommand({ SuppressedReasons: [] }));
    expect((await v2.send(new GetAccountCommand({}))).SuppressionAttributes).toEqual({ SuppressedReasons: [] });
    await expectSdkError(v2.send(new PutAccountSuppressionAttributesCommand({ SuppressedReasons: ['SPAM' as SuppressionListReason] })), 'BadRequestException', 400);
    await v2.send(new PutAccountSuppressionAttributesCommand({ SuppressedReasons: ['BOUNCE', 'COMPLAINT'] }));
    expect((await v2.send(new GetAccountCommand({}))).SuppressionAttributes).toEqual({ SuppressedReasons: ['BOUNCE', 'COMPLAINT'] });
  });

  it('records PutAccountDetails and shows them in GetAccount; refuses bad details', async () => {
    await v2.send(
      new PutAccountDetailsCommand({
        MailType: 'TRANSACTIONAL',
        WebsiteURL: 'https://shop.example.com',
        ContactLanguage: 'EN',
        UseCaseDescription: 'Order receipts and password resets.',
        AdditionalContactEmailAddresses: ['ops@example.com'],
        ProductionAccessEnabled: true,
      }),
    );
    const { Details } = await v2.send(new GetAccountCommand({}));
    expect(Details).toEqual({
      MailType: 'TRANSACTIONAL',
      WebsiteURL: 'https://shop.example.com',
      ContactLanguage: 'EN',
      UseCaseDescription: 'Order receipts and password resets.',
      AdditionalContactEmailAddresses: ['ops@example.com'],
      // The account already has production access, so the request is granted at once.
      ReviewDetails: { Status: 'GRANTED', CaseId: expect.any(String) },
    });
    await expectSdkError(v2.send(new PutAccountDetailsCommand({ MailType: 'SPAM' as 'MARKETING', WebsiteURL: 'https://x.example' })), 'BadRequestException', 400, 'MailType must be MARKETING or TRANSACTIONAL.');
    await expectSdkError(v2.send(new PutAccountDetailsCommand({ MailType: 'MARKETING', WebsiteURL: 'not a url' })), 'BadRequestException', 400);
    expect((await v2.send(new GetAccountCommand({}))).Details?.WebsiteURL).toBe('https://shop.example.com');
  });

  it('pauses sending with PutAccountSendingAttributes (SendEmail → SendingPausedException) and resumes it', async () => {
    const send = () =>
      v2.send(new SendEmailCommand({ FromEmailAddress: 'orders@sender.test', Destination: { ToAddresses: ['ann@nowhere.test'] }, Content: { Simple: { Subject: { Data: 'hi' }, Body: { Text: { Data: 'x' } } } } }));
    await v2.send(new PutAccountSendingAttributesCommand({ SendingEnabled: false }));
    expect((await v2.send(new GetAccountCommand({}))).SendingEnabled).toBe(false);
    await expectSdkError(send(), 'SendingPausedException', 400, 'Sending is paused for this account.');
    // A bulk send reports the pause per entry.
    await v2.send(new CreateEmailTemplateCommand({ TemplateName: 'paused', TemplateContent: { Subject: 'x' } }));
    const bulk = await v2.send(
      new SendBulkEmailCommand({ FromEmailAddress: 'orders@sender.test', DefaultContent: { Template: { TemplateName: 'paused' } }, BulkEmailEntries: [{ Destination: { ToAddresses: ['ann@nowhere.test'] } }] }),
    );
    expect(bulk.BulkEmailEntryResults).toEqual([{ Status: 'ACCOUNT_SENDING_PAUSED', Error: 'Sending is paused for this account.' }]);

    await v2.send(new PutAccountSendingAttributesCommand({ SendingEnabled: true }));
    expect((await v2.send(new GetAccountCommand({}))).SendingEnabled).toBe(true);
    const { MessageId } = await send();
    expect(MessageId).toMatch(/^0100[0-9a-f]{12}-[0-9a-f-]{36}-000000$/);
    expect((await v2.send(new GetAccountCommand({}))).SendQuota).toEqual({ Max24HourSend: -1, MaxSendRate: -1, SentLast24Hours: 1 });
  });
});
