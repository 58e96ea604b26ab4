/**
 * The console's configuration sets page over HTTP, checked against what the real SES v2 SDK
 * (@aws-sdk/client-sesv2) sees on the same server: sets created, listed (name filter, paging) and
 * deleted in the console; their options put one group at a time; SNS event destinations created,
 * disabled, retargeted to other event types and deleted. Bad input gets SES's own error (the same
 * message the SDK gets for the same input) and changes nothing; a key whose policy lacks the action
 * gets SES's AccessDenied; no route answers without a session. Finally a send through a set made in
 * the console publishes its events to the console-made SNS destination. On SQLite, and on
 * PostgreSQL when SESAME_TEST_DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateConfigurationSetCommand,
  CreateConfigurationSetEventDestinationCommand,
  GetConfigurationSetCommand,
  GetConfigurationSetEventDestinationsCommand,
  ListConfigurationSetsCommand,
  PutConfigurationSetDeliveryOptionsCommand,
  SendEmailCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { expectSdkError } from '../helpers/aws-wire.ts';
import { consoleCall, consoleSignIn, keySession, type ConsoleAnswer, type ConsoleCallOptions, type ConsoleSession } from '../helpers/console.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { testBackends, type TestServer } from '../helpers/server.ts';
import { startSnsReceiver, type SnsReceiver } from '../helpers/sns-receiver.ts';

const API = '/console/api/configuration-sets';

describe.each(testBackends())('console configuration sets (%s)', (backend) => {
  let fixture: SendingFixture;
  let server: TestServer;
  let v2: SESv2Client;
  let root: ConsoleSession;
  let topicArn: string;
  let accountId: string;
  let region: string;
  let receiver: SnsReceiver;

  const call = (method: string, path: string, o: ConsoleCallOptions = {}) => consoleCall(server, method, path, o);
  const sdkSet = (name: string) => v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: name }));
  const sdkDestinations = async (name: string) => (await v2.send(new GetConfigurationSetEventDestinationsCommand({ ConfigurationSetName: name }))).EventDestinations;
  const sdkNames = async () => {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const r = await v2.send(new ListConfigurationSetsCommand({ NextToken: token, PageSize: 1000 }));
      names.push(...(r.ConfigurationSets ?? []));
      token = r.NextToken;
    } while (token);
    return names;
  };
  const create = (name: string, session = root) => call('POST', API, { session, body: { name } });

  beforeAll(async () => {
    fixture = await startSendingFixture({ backend });
    server = fixture.server;
    v2 = server.sesv2();
    ({ accountId, region } = server.instance.config);
    receiver = await startSnsReceiver();
    const sns = server.sns();
    topicArn = (await sns.send(new CreateTopicCommand({ Name: 'console-events' }))).TopicArn!;
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'http', Endpoint: receiver.url }));
    await receiver.waitFor(() => receiver.confirmations.length === 1, 10_000);
    root = await consoleSignIn(server, server.accessKeyId, server.secretAccessKey);
  }, 60_000);
  afterAll(async () => {
    await receiver?.close();
    await fixture?.close();
  });

  it('answers no configuration set route without a session, and no change without the CSRF token', async () => {
    await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'no-session' }));
    for (const [method, path, body] of [
      ['GET', API, undefined],
      ['POST', API, { name: 'sneaky' }],
      ['GET', `${API}/no-session`, undefined],
      ['DELETE', `${API}/no-session`, undefined],
      ['PUT', `${API}/no-session/options/sending`, { sendingEnabled: false }],
      ['POST', `${API}/no-session/event-destinations`, { name: 'd', enabled: true, matchingEventTypes: ['SEND'], sns: { topicArn } }],
      ['PATCH', `${API}/no-session/event-destinations/d`, { enabled: false }],
      ['DELETE', `${API}/no-session/event-destinations/d`, undefined],
    ] as const) {
      const a = await call(method, path, { body });
      expect({ method, path, status: a.status, code: a.body.code }).toEqual({ method, path, status: 401, code: 'Unauthenticated' });
    }
    expect(await call('POST', API, { session: root, csrf: false, body: { name: 'sneaky' } })).toMatchObject({ status: 403, body: { code: 'InvalidCsrfToken' } });
    expect(await sdkNames()).not.toContain('sneaky');
    expect((await sdkSet('no-session')).SendingOptions).toEqual({ SendingEnabled: true });
  });

  it('creates sets that the SDK lists, filters them by name and pages through them; refuses bad names with SES errors', async () => {
    expect(await create('cs-alpha')).toEqual({ status: 200, body: { name: 'cs-alpha' } });
    expect((await create(' cs-beta ')).body).toEqual({ name: 'cs-beta' });
    expect(await sdkNames()).toEqual(expect.arrayContaining(['cs-alpha', 'cs-beta']));
    // A new set has SES's default options.
    const made = await sdkSet('cs-alpha');
    expect({ sending: made.SendingOptions, reputation: made.ReputationOptions?.ReputationMetricsEnabled, tls: made.DeliveryOptions?.TlsPolicy, suppression: made.SuppressionOptions }).toEqual({
      sending: { SendingEnabled: true },
      reputation: false,
      tls: 'OPTIONAL',
      suppression: undefined,
    });

    const filtered = await call('GET', `${API}?nameContains=cs-`, { session: root });
    expect(filtered.status).toBe(200);
    expect((filtered.body.items as Array<{ name: string; createdAt: string }>).map((i) => i.name)).toEqual(['cs-alpha', 'cs-beta']);
    expect((filtered.body.items as Array<{ createdAt: string }>)[0]!.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(filtered.body.nextToken).toBeUndefined();

    // Same errors as the SDK gets, and nothing created.
    const taken = await create('cs-alpha');
    const sdkTaken = await expectSdkError(v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'cs-alpha' })), 'AlreadyExistsException', 400);
    expect(taken).toEqual({ status: 409, body: { code: 'AlreadyExistsException', message: sdkTaken.message } });
    const bad = await create('no spaces!');
    expect(bad).toEqual({ status: 400, body: { code: 'BadRequestException', message: 'ConfigurationSetName must be 1 to 64 ASCII letters, digits, underscores or dashes.' } });
    expect(await create('')).toEqual({ status: 400, body: { code: 'BadRequestException', message: 'ConfigurationSetName is required.' } });
    expect(await sdkNames()).not.toContain('no spaces!');

    // Paging: 50 a page, in name order, `nextToken` for the rest.
    for (let i = 0; i < 53; i++) await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: `page-${String(i).padStart(2, '0')}` }));
    const first = await call('GET', `${API}?nameContains=page-`, { session: root });
    const firstNames = (first.body.items as Array<{ name: string }>).map((i) => i.name);
    expect(firstNames).toHaveLength(50);
    expect(typeof first.body.nextToken).toBe('string');
    const second = await call('GET', `${API}?nameContains=page-&nextToken=${encodeURIComponent(String(first.body.nextToken))}`, { session: root });
    const all = [...firstNames, ...(second.body.items as Array<{ name: string }>).map((i) => i.name)];
    expect(all).toEqual(Array.from({ length: 53 }, (_, i) => `page-${String(i).padStart(2, '0')}`));
    expect(second.body.nextToken).toBeUndefined();
  });

  it('shows a set with its options and event destinations, and deletes it', async () => {
    await create('cs-show');
    const shown = await call('GET', `${API}/cs-show`, { session: root });
    expect(shown).toEqual({
      status: 200,
      body: {
        name: 'cs-show',
        createdAt: expect.any(String),
        options: { sending: { sendingEnabled: true }, reputation: { reputationMetricsEnabled: false }, suppression: null, tracking: null, delivery: { tlsPolicy: 'OPTIONAL' } },
        eventDestinations: [],
      },
    });
    expect(await call('DELETE', `${API}/cs-show`, { session: root })).toEqual({ status: 204, body: {} });
    await expectSdkError(sdkSet('cs-show'), 'NotFoundException', 404, 'Configuration set <cs-show> does not exist.');
    expect(await call('GET', `${API}/cs-show`, { session: root })).toEqual({ status: 404, body: { code: 'NotFoundException', message: 'Configuration set <cs-show> does not exist.' } });
    expect((await call('DELETE', `${API}/cs-show`, { session: root })).status).toBe(404);
  });

  it('creates an SNS event destination the SDK sees, disables it, changes its event types and deletes it', async () => {
    await create('cs-events');
    const made = await call('POST', `${API}/cs-events/event-destinations`, { session: root, body: { name: 'to-topic', enabled: true, matchingEventTypes: ['SEND', 'DELIVERY', 'BOUNCE'], sns: { topicArn } } });
    expect(made).toEqual({ status: 200, body: { name: 'to-topic', enabled: true, matchingEventTypes: ['SEND', 'DELIVERY', 'BOUNCE'], sns: { topicArn } } });
    expect(await sdkDestinations('cs-events')).toEqual([{ Name: 'to-topic', Enabled: true, MatchingEventTypes: ['SEND', 'DELIVERY', 'BOUNCE'], SnsDestination: { TopicArn: topicArn } }]);
    expect((await call('GET', `${API}/cs-events`, { session: root })).body.eventDestinations).toEqual([made.body]);

    // Disable: only Enabled changes.
    const off = await call('PATCH', `${API}/cs-events/event-destinations/to-topic`, { session: root, body: { enabled: false } });
    expect(off).toEqual({ status: 200, body: { name: 'to-topic', enabled: false, matchingEventTypes: ['SEND', 'DELIVERY', 'BOUNCE'], sns: { topicArn } } });
    expect(await sdkDestinations('cs-events')).toEqual([{ Name: 'to-topic', Enabled: false, MatchingEventTypes: ['SEND', 'DELIVERY', 'BOUNCE'], SnsDestination: { TopicArn: topicArn } }]);

    // Event types: only they change (still disabled).
    await call('PATCH', `${API}/cs-events/event-destinations/to-topic`, { session: root, body: { matchingEventTypes: ['COMPLAINT'] } });
    expect(await sdkDestinations('cs-events')).toEqual([{ Name: 'to-topic', Enabled: false, MatchingEventTypes: ['COMPLAINT'], SnsDestination: { TopicArn: topicArn } }]);

    // The other kinds the console offers: an EventBridge bus and CloudWatch dimensions.
    const bus = `arn:aws:events:${region}:${accountId}:event-bus/default`;
    expect((await call('POST', `${API}/cs-events/event-destinations`, { session: root, body: { name: 'to-bus', enabled: true, matchingEventTypes: ['OPEN'], eventBridge: { eventBusArn: bus } } })).status).toBe(200);
    const cw = { name: 'to-metrics', enabled: false, matchingEventTypes: ['CLICK'], cloudWatch: { dimensions: [{ name: 'campaign', source: 'MESSAGE_TAG', defaultValue: 'none' }] } };
    expect(await call('POST', `${API}/cs-events/event-destinations`, { session: root, body: cw })).toEqual({ status: 200, body: cw });
    expect((await sdkDestinations('cs-events'))!.slice(1)).toEqual([
      { Name: 'to-bus', Enabled: true, MatchingEventTypes: ['OPEN'], EventBridgeDestination: { EventBusArn: bus } },
      { Name: 'to-metrics', Enabled: false, MatchingEventTypes: ['CLICK'], CloudWatchDestination: { DimensionConfigurations: [{ DimensionName: 'campaign', DimensionValueSource: 'MESSAGE_TAG', DefaultDimensionValue: 'none' }] } },
    ]);

    expect(await call('DELETE', `${API}/cs-events/event-destinations/to-topic`, { session: root })).toEqual({ status: 204, body: {} });
    expect((await sdkDestinations('cs-events'))!.map((d) => d.Name)).toEqual(['to-bus', 'to-metrics']);
    expect(await call('DELETE', `${API}/cs-events/event-destinations/to-topic`, { session: root })).toEqual({
      status: 404,
      body: { code: 'NotFoundException', message: 'No EventDestination found for cs-events: it has no event destination named to-topic.' },
    });
    expect((await call('PATCH', `${API}/cs-events/event-destinations/to-topic`, { session: root, body: { enabled: true } })).status).toBe(404);
  });

  it("refuses an invalid event destination with SES's error (the SDK's, word for word) and creates nothing", async () => {
    await create('cs-invalid');
    const cases: Array<{ console: Record<string, unknown>; sdk: Record<string, unknown>; message: string }> = [
      {
        console: { name: 'bad-arn', enabled: true, matchingEventTypes: ['SEND'], sns: { topicArn: 'arn:aws:sns:nowhere' } },
        sdk: { Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: 'arn:aws:sns:nowhere' } },
        message: `Invalid SNS topic ARN <arn:aws:sns:nowhere>: use arn:aws:sns:${region}:${accountId}:<topic name>.`,
      },
      {
        console: { name: 'no-topic', enabled: true, matchingEventTypes: ['SEND'], sns: { topicArn: `arn:aws:sns:${region}:${accountId}:missing` } },
        sdk: { Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: `arn:aws:sns:${region}:${accountId}:missing` } },
        message: `SNS topic <arn:aws:sns:${region}:${accountId}:missing> not found.`,
      },
      {
        console: { name: 'bad-type', enabled: true, matchingEventTypes: ['SEND', 'OPENED'], sns: { topicArn } },
        sdk: { Enabled: true, MatchingEventTypes: ['SEND', 'OPENED'], SnsDestination: { TopicArn: topicArn } },
        message: 'Invalid MatchingEventTypes value <OPENED>: use SEND, REJECT, BOUNCE, COMPLAINT, DELIVERY, OPEN, CLICK, RENDERING_FAILURE, DELIVERY_DELAY, SUBSCRIPTION.',
      },
      {
        console: { name: 'no-types', enabled: true, matchingEventTypes: [], sns: { topicArn } },
        sdk: { Enabled: true, MatchingEventTypes: [], SnsDestination: { TopicArn: topicArn } },
        message: 'MatchingEventTypes must list at least one event type.',
      },
      {
        console: { name: 'no-target', enabled: true, matchingEventTypes: ['SEND'] },
        sdk: { Enabled: true, MatchingEventTypes: ['SEND'] },
        message: 'An event destination needs exactly one of SnsDestination, EventBridgeDestination, CloudWatchDestination and KinesisFirehoseDestination.',
      },
      {
        console: { name: 'bad name', enabled: true, matchingEventTypes: ['SEND'], sns: { topicArn } },
        sdk: { Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: topicArn } },
        message: 'Invalid event destination name <bad name>: use 1 to 64 ASCII letters, digits, underscores or dashes.',
      },
    ];
    for (const c of cases) {
      const a = await call('POST', `${API}/cs-invalid/event-destinations`, { session: root, body: c.console });
      expect(a).toEqual({ status: 400, body: { code: 'BadRequestException', message: c.message } });
      await expectSdkError(
        v2.send(new CreateConfigurationSetEventDestinationCommand({ ConfigurationSetName: 'cs-invalid', EventDestinationName: String(c.console.name), EventDestination: c.sdk as never })),
        'BadRequestException',
        400,
        c.message,
      );
    }
    expect(await sdkDestinations('cs-invalid')).toEqual([]);

    // An update with a bad value leaves the destination as it was.
    await call('POST', `${API}/cs-invalid/event-destinations`, { session: root, body: { name: 'good', enabled: true, matchingEventTypes: ['SEND'], sns: { topicArn } } });
    const badUpdate = await call('PATCH', `${API}/cs-invalid/event-destinations/good`, { session: root, body: { enabled: 'no', matchingEventTypes: ['DELIVERY'] } });
    expect(badUpdate).toEqual({ status: 400, body: { code: 'BadRequestException', message: 'Enabled must be true or false.' } });
    expect(await sdkDestinations('cs-invalid')).toEqual([{ Name: 'good', Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: topicArn } }]);
    // A destination on a set that does not exist.
    expect(await call('POST', `${API}/no-such-set/event-destinations`, { session: root, body: { name: 'x', enabled: true, matchingEventTypes: ['SEND'], sns: { topicArn } } })).toEqual({
      status: 404,
      body: { code: 'NotFoundException', message: 'Configuration set <no-such-set> does not exist.' },
    });
  });

  it('puts each option group, as the SDK then reads it; bad values change nothing', async () => {
    await create('cs-options');
    const put = (group: string, body: unknown) => call('PUT', `${API}/cs-options/options/${group}`, { session: root, body });
    expect(await put('sending', { sendingEnabled: false })).toEqual({ status: 204, body: {} });
    expect(await put('reputation', { reputationMetricsEnabled: true })).toEqual({ status: 204, body: {} });
    expect((await put('suppression', { suppressedReasons: ['BOUNCE'] })).status).toBe(204);
    expect((await put('tracking', { customRedirectDomain: 'track.example.com', httpsPolicy: 'REQUIRE' })).status).toBe(204);
    expect((await put('delivery', { tlsPolicy: 'REQUIRE', maxDeliverySeconds: 600 })).status).toBe(204);
    const s = await sdkSet('cs-options');
    expect({ sending: s.SendingOptions, reputation: s.ReputationOptions?.ReputationMetricsEnabled, suppression: s.SuppressionOptions, tracking: s.TrackingOptions, delivery: s.DeliveryOptions }).toEqual({
      sending: { SendingEnabled: false },
      reputation: true,
      suppression: { SuppressedReasons: ['BOUNCE'] },
      tracking: { CustomRedirectDomain: 'track.example.com', HttpsPolicy: 'REQUIRE' },
      delivery: { TlsPolicy: 'REQUIRE', MaxDeliverySeconds: 600 },
    });
    expect((await call('GET', `${API}/cs-options`, { session: root })).body.options).toEqual({
      sending: { sendingEnabled: false },
      reputation: { reputationMetricsEnabled: true },
      suppression: { suppressedReasons: ['BOUNCE'] },
      tracking: { customRedirectDomain: 'track.example.com', httpsPolicy: 'REQUIRE' },
      delivery: { tlsPolicy: 'REQUIRE', maxDeliverySeconds: 600 },
    });
    // A paused set refuses sends, as SES does.
    await expectSdkError(
      v2.send(new SendEmailCommand({ FromEmailAddress: 'a@sender.test', Destination: { ToAddresses: ['b@dest.test'] }, ConfigurationSetName: 'cs-options', Content: { Simple: { Subject: { Data: 's' }, Body: { Text: { Data: 't' } } } } })),
      'SendingPausedException',
      400,
    );

    // Bad values: SES's messages, and the options stay as they were.
    const before = await sdkSet('cs-options');
    const sdkBadTls = await expectSdkError(v2.send(new PutConfigurationSetDeliveryOptionsCommand({ ConfigurationSetName: 'cs-options', TlsPolicy: 'SOMETIMES' as never })), 'BadRequestException', 400);
    expect(await put('delivery', { tlsPolicy: 'SOMETIMES' })).toEqual({ status: 400, body: { code: 'BadRequestException', message: sdkBadTls.message } });
    expect(await put('delivery', { tlsPolicy: 'REQUIRE', maxDeliverySeconds: 5 })).toEqual({ status: 400, body: { code: 'BadRequestException', message: 'MaxDeliverySeconds must be an integer from 300 to 50400.' } });
    expect(await put('suppression', { suppressedReasons: ['BOUNCE', 'SPAM'] })).toEqual({ status: 400, body: { code: 'BadRequestException', message: 'SuppressedReasons must be a list of BOUNCE and COMPLAINT.' } });
    expect(await put('sending', { sendingEnabled: 'yes' })).toEqual({ status: 400, body: { code: 'BadRequestException', message: 'SendingEnabled must be true or false.' } });
    expect(await put('tracking', { customRedirectDomain: 'track.example.com', httpsPolicy: 'ALWAYS' })).toEqual({ status: 400, body: { code: 'BadRequestException', message: 'HttpsPolicy must be REQUIRE, REQUIRE_OPEN_ONLY or OPTIONAL.' } });
    expect((await put('colour', { colour: 'blue' })).status).toBe(404);
    const after = await sdkSet('cs-options');
    expect(after).toMatchObject({ SendingOptions: before.SendingOptions, SuppressionOptions: before.SuppressionOptions, TrackingOptions: before.TrackingOptions, DeliveryOptions: before.DeliveryOptions });

    // Removing the suppression override and the tracking options, as SES v2 does without their members.
    expect((await put('suppression', { suppressedReasons: null })).status).toBe(204);
    expect((await put('tracking', { customRedirectDomain: '' })).status).toBe(204);
    const cleared = await sdkSet('cs-options');
    expect({ suppression: cleared.SuppressionOptions, tracking: cleared.TrackingOptions }).toEqual({ suppression: undefined, tracking: undefined });
    // An empty list is an override that suppresses nothing.
    await put('suppression', { suppressedReasons: [] });
    expect((await sdkSet('cs-options')).SuppressionOptions).toEqual({ SuppressedReasons: [] });
  });

  it("refuses a key whose policy lacks the action with SES's AccessDenied, and changes nothing", async () => {
    await create('cs-guarded');
    await call('POST', `${API}/cs-guarded/event-destinations`, { session: root, body: { name: 'guarded', enabled: true, matchingEventTypes: ['SEND'], sns: { topicArn } } });
    const s = await keySession(server, { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ses:SendEmail'], Resource: '*' }] }, 'sender only');
    const denied = (a: ConsoleAnswer, action: string) => {
      expect(a.status).toBe(403);
      expect(a.body.code).toBe('AccessDenied');
      expect(String(a.body.message)).toContain(`is not authorized to perform: ${action} on resource: `);
    };
    denied(await call('GET', API, { session: s }), 'ses:ListConfigurationSets');
    denied(await create('cs-intruder', s), 'ses:CreateConfigurationSet');
    denied(await call('GET', `${API}/cs-guarded`, { session: s }), 'ses:GetConfigurationSet');
    denied(await call('PUT', `${API}/cs-guarded/options/sending`, { session: s, body: { sendingEnabled: false } }), 'ses:PutConfigurationSetSendingOptions');
    denied(await call('POST', `${API}/cs-guarded/event-destinations`, { session: s, body: { name: 'other', enabled: true, matchingEventTypes: ['SEND'], sns: { topicArn } } }), 'ses:CreateConfigurationSetEventDestination');
    denied(await call('PATCH', `${API}/cs-guarded/event-destinations/guarded`, { session: s, body: { enabled: false } }), 'ses:UpdateConfigurationSetEventDestination');
    denied(await call('DELETE', `${API}/cs-guarded/event-destinations/guarded`, { session: s }), 'ses:DeleteConfigurationSetEventDestination');
    denied(await call('DELETE', `${API}/cs-guarded`, { session: s }), 'ses:DeleteConfigurationSet');

    // A read-only key reads, and is refused each change by that change's own action.
    const ro = await keySession(server, { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ses:Get*', 'ses:List*'], Resource: '*' }] }, 'read only');
    expect((await call('GET', `${API}/cs-guarded`, { session: ro })).status).toBe(200);
    denied(await call('PUT', `${API}/cs-guarded/options/reputation`, { session: ro, body: { reputationMetricsEnabled: true } }), 'ses:PutConfigurationSetReputationOptions');

    expect(await sdkNames()).not.toContain('cs-intruder');
    const set = await sdkSet('cs-guarded');
    expect({ sending: set.SendingOptions, reputation: set.ReputationOptions?.ReputationMetricsEnabled }).toEqual({ sending: { SendingEnabled: true }, reputation: false });
    expect(await sdkDestinations('cs-guarded')).toEqual([{ Name: 'guarded', Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: topicArn } }]);
  });

  it("publishes a send's events to the SNS destination made in the console", async () => {
    await create('cs-publish');
    await call('POST', `${API}/cs-publish/event-destinations`, { session: root, body: { name: 'to-app', enabled: true, matchingEventTypes: ['SEND', 'DELIVERY'], sns: { topicArn } } });
    const { MessageId } = await v2.send(
      new SendEmailCommand({
        FromEmailAddress: 'orders@sender.test',
        Destination: { ToAddresses: ['someone@dest.test'] },
        ConfigurationSetName: 'cs-publish',
        Content: { Simple: { Subject: { Data: 'Through the console set' }, Body: { Text: { Data: 'Hello' } } } },
      }),
    );
    const mine = () => receiver.notifications().filter((n) => (n.mail as { messageId: string }).messageId === MessageId);
    await receiver.waitFor(() => mine().length >= 2, 15_000);
    expect(mine().map((n) => n.eventType).sort()).toEqual(['Delivery', 'Send']);
    for (const n of mine()) expect((n.mail as { tags: Record<string, string[]> }).tags['ses:configuration-set']).toEqual(['cs-publish']);
  });
});
