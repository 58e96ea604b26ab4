/**
 * Configuration-set event destinations and v1 tracking options through the real AWS SDKs
 * (@aws-sdk/client-sesv2 and @aws-sdk/client-ses) against a whole server: create, get, update and
 * delete for each of the four target kinds (SNS topic, EventBridge bus, CloudWatch dimensions,
 * Firehose stream), the 10-destination quota, every validation error as the SDK user sees it,
 * destinations surviving every option change, and the v1 actions with DescribeConfigurationSet. On
 * SQLite, and on PostgreSQL when SESAME_TEST_DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateConfigurationSetCommand,
  CreateConfigurationSetEventDestinationCommand,
  DeleteConfigurationSetCommand,
  DeleteConfigurationSetEventDestinationCommand,
  GetConfigurationSetCommand,
  GetConfigurationSetEventDestinationsCommand,
  PutConfigurationSetDeliveryOptionsCommand,
  PutConfigurationSetReputationOptionsCommand,
  PutConfigurationSetSendingOptionsCommand,
  PutConfigurationSetSuppressionOptionsCommand,
  PutConfigurationSetTrackingOptionsCommand,
  UpdateConfigurationSetEventDestinationCommand,
  type EventDestinationDefinition,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import {
  CreateConfigurationSetEventDestinationCommand as V1CreateDestination,
  CreateConfigurationSetTrackingOptionsCommand,
  DeleteConfigurationSetEventDestinationCommand as V1DeleteDestination,
  DeleteConfigurationSetTrackingOptionsCommand,
  DescribeConfigurationSetCommand,
  PutConfigurationSetDeliveryOptionsCommand as V1PutDeliveryOptions,
  UpdateConfigurationSetEventDestinationCommand as V1UpdateDestination,
  UpdateConfigurationSetSendingEnabledCommand,
  UpdateConfigurationSetTrackingOptionsCommand,
  type EventType as V1EventType,
  type SESClient,
} from '@aws-sdk/client-ses';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { expectSdkError } from '../helpers/aws-wire.ts';
import { startTestServer, testBackends, type TestServer } from '../helpers/server.ts';

/** Creates an SNS topic through Sesame's SNS API with @aws-sdk/client-sns; returns its ARN. */
const createTopic = async (server: TestServer, name: string): Promise<string> => (await server.sns().send(new CreateTopicCommand({ Name: name }))).TopicArn!;

describe.each(testBackends())('configuration set event destinations (%s)', (backend) => {
  let server: TestServer;
  let v2: SESv2Client;
  let v1: SESClient;
  let accountId: string;
  let region: string;
  let topicArn: string;
  let otherTopicArn: string;
  /** A name per test, so that tests share the server without sharing sets. */
  let n = 0;
  const newSet = async () => {
    const name = `set-${++n}`;
    await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: name }));
    return name;
  };
  const list = async (set: string) => (await v2.send(new GetConfigurationSetEventDestinationsCommand({ ConfigurationSetName: set }))).EventDestinations;
  const create = (set: string, name: string, def: EventDestinationDefinition) =>
    v2.send(new CreateConfigurationSetEventDestinationCommand({ ConfigurationSetName: set, EventDestinationName: name, EventDestination: def }));
  const update = (set: string, name: string, def: EventDestinationDefinition) =>
    v2.send(new UpdateConfigurationSetEventDestinationCommand({ ConfigurationSetName: set, EventDestinationName: name, EventDestination: def }));
  const remove = (set: string, name: string) => v2.send(new DeleteConfigurationSetEventDestinationCommand({ ConfigurationSetName: set, EventDestinationName: name }));
  const stream = (name: string) => `arn:aws:firehose:${region}:${accountId}:deliverystream/${name}`;
  const role = () => `arn:aws:iam::${accountId}:role/ses-firehose`;
  const bus = (name: string) => `arn:aws:events:${region}:${accountId}:event-bus/${name}`;

  beforeAll(async () => {
    server = await startTestServer({ backend });
    v2 = server.sesv2();
    v1 = server.ses();
    ({ accountId, region } = server.instance.config);
    topicArn = await createTopic(server, 'ses-events');
    otherTopicArn = await createTopic(server, 'ses-events-2');
    const now = Date.now();
    // A registered event bus, as `sesame event-buses create orders --url …` stores it.
    await server.instance.storage.eventBuses.create({ accountId, name: 'orders', data: { url: 'http://127.0.0.1:9/hook' }, createdAt: now, updatedAt: now });
  });
  afterAll(() => server?.close());

  // ------------------------------------------------------------------------------------------
  // The four target kinds
  // ------------------------------------------------------------------------------------------

  it('creates, gets, updates and deletes an SNS destination', async () => {
    const set = await newSet();
    expect(await list(set)).toEqual([]);
    await create(set, 'to-sns', { Enabled: true, MatchingEventTypes: ['SEND', 'BOUNCE', 'COMPLAINT'], SnsDestination: { TopicArn: topicArn } });
    expect(await list(set)).toEqual([{ Name: 'to-sns', Enabled: true, MatchingEventTypes: ['SEND', 'BOUNCE', 'COMPLAINT'], SnsDestination: { TopicArn: topicArn } }]);

    await update(set, 'to-sns', { Enabled: false, MatchingEventTypes: ['DELIVERY', 'DELIVERY_DELAY'], SnsDestination: { TopicArn: otherTopicArn } });
    expect(await list(set)).toEqual([{ Name: 'to-sns', Enabled: false, MatchingEventTypes: ['DELIVERY', 'DELIVERY_DELAY'], SnsDestination: { TopicArn: otherTopicArn } }]);

    await remove(set, 'to-sns');
    expect(await list(set)).toEqual([]);
  });

  it('creates, gets, updates and deletes EventBridge destinations (the default bus and registered buses)', async () => {
    const set = await newSet();
    await create(set, 'default-bus', { Enabled: true, MatchingEventTypes: ['DELIVERY'], EventBridgeDestination: { EventBusArn: bus('default') } });
    await create(set, 'orders-bus', { Enabled: true, MatchingEventTypes: ['OPEN', 'CLICK'], EventBridgeDestination: { EventBusArn: bus('orders') } });
    expect(await list(set)).toEqual([
      { Name: 'default-bus', Enabled: true, MatchingEventTypes: ['DELIVERY'], EventBridgeDestination: { EventBusArn: bus('default') } },
      { Name: 'orders-bus', Enabled: true, MatchingEventTypes: ['OPEN', 'CLICK'], EventBridgeDestination: { EventBusArn: bus('orders') } },
    ]);

    await update(set, 'default-bus', { Enabled: true, MatchingEventTypes: ['SUBSCRIPTION'], EventBridgeDestination: { EventBusArn: bus('orders') } });
    expect((await list(set))![0]).toEqual({ Name: 'default-bus', Enabled: true, MatchingEventTypes: ['SUBSCRIPTION'], EventBridgeDestination: { EventBusArn: bus('orders') } });

    await expectSdkError(
      create(set, 'unknown-bus', { Enabled: true, MatchingEventTypes: ['SEND'], EventBridgeDestination: { EventBusArn: bus('billing') } }),
      'BadRequestException',
      400,
      'Event bus <billing> is not registered: register its webhook with `sesame event-buses create billing --url URL`, or use the default bus.',
    );
    await expectSdkError(
      create(set, 'wrong-region', { Enabled: true, MatchingEventTypes: ['SEND'], EventBridgeDestination: { EventBusArn: `arn:aws:events:eu-west-1:${accountId}:event-bus/default` } }),
      'BadRequestException',
      400,
      `Invalid event bus ARN <arn:aws:events:eu-west-1:${accountId}:event-bus/default>: use arn:aws:events:${region}:${accountId}:event-bus/<bus name>.`,
    );

    await remove(set, 'default-bus');
    await remove(set, 'orders-bus');
    expect(await list(set)).toEqual([]);
  });

  it('creates, gets, updates and deletes a CloudWatch destination', async () => {
    const set = await newSet();
    const dims = [
      { DimensionName: 'campaign', DimensionValueSource: 'MESSAGE_TAG' as const, DefaultDimensionValue: 'none' },
      { DimensionName: 'ses:from-domain', DimensionValueSource: 'MESSAGE_TAG' as const, DefaultDimensionValue: 'unknown.example' },
      { DimensionName: 'X-Mailer', DimensionValueSource: 'EMAIL_HEADER' as const, DefaultDimensionValue: 'ann@example.org' },
    ];
    await create(set, 'metrics', { Enabled: true, MatchingEventTypes: ['SEND', 'DELIVERY', 'BOUNCE'], CloudWatchDestination: { DimensionConfigurations: dims } });
    expect(await list(set)).toEqual([{ Name: 'metrics', Enabled: true, MatchingEventTypes: ['SEND', 'DELIVERY', 'BOUNCE'], CloudWatchDestination: { DimensionConfigurations: dims } }]);

    const link = [{ DimensionName: 'link', DimensionValueSource: 'LINK_TAG' as const, DefaultDimensionValue: 'no_tag' }];
    await update(set, 'metrics', { Enabled: true, MatchingEventTypes: ['CLICK'], CloudWatchDestination: { DimensionConfigurations: link } });
    expect(await list(set)).toEqual([{ Name: 'metrics', Enabled: true, MatchingEventTypes: ['CLICK'], CloudWatchDestination: { DimensionConfigurations: link } }]);

    await remove(set, 'metrics');
    expect(await list(set)).toEqual([]);
  });

  it('creates, gets, updates and deletes a Kinesis Firehose destination', async () => {
    const set = await newSet();
    await create(set, 'stream', { Enabled: true, MatchingEventTypes: ['SEND', 'REJECT', 'RENDERING_FAILURE'], KinesisFirehoseDestination: { DeliveryStreamArn: stream('ses.events-1'), IamRoleArn: role() } });
    expect(await list(set)).toEqual([
      { Name: 'stream', Enabled: true, MatchingEventTypes: ['SEND', 'REJECT', 'RENDERING_FAILURE'], KinesisFirehoseDestination: { DeliveryStreamArn: stream('ses.events-1'), IamRoleArn: role() } },
    ]);

    // A role of another account is only stored, as SES stores it.
    const otherRole = 'arn:aws:iam::123456789012:role/path/firehose-writer';
    await update(set, 'stream', { Enabled: true, MatchingEventTypes: ['COMPLAINT'], KinesisFirehoseDestination: { DeliveryStreamArn: stream('other'), IamRoleArn: otherRole } });
    expect((await list(set))![0]!.KinesisFirehoseDestination).toEqual({ DeliveryStreamArn: stream('other'), IamRoleArn: otherRole });

    await remove(set, 'stream');
    expect(await list(set)).toEqual([]);
  });

  it('keeps what an update leaves out, replaces the target with one of another kind, and defaults Enabled to false', async () => {
    const set = await newSet();
    await create(set, 'd', { MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: topicArn } });
    expect((await list(set))![0]!.Enabled).toBe(false);

    await update(set, 'd', { Enabled: true });
    expect(await list(set)).toEqual([{ Name: 'd', Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: topicArn } }]);

    await update(set, 'd', { CloudWatchDestination: { DimensionConfigurations: [{ DimensionName: 'c', DimensionValueSource: 'MESSAGE_TAG', DefaultDimensionValue: 'x' }] } });
    expect(await list(set)).toEqual([
      { Name: 'd', Enabled: true, MatchingEventTypes: ['SEND'], CloudWatchDestination: { DimensionConfigurations: [{ DimensionName: 'c', DimensionValueSource: 'MESSAGE_TAG', DefaultDimensionValue: 'x' }] } },
    ]);
  });

  // ------------------------------------------------------------------------------------------
  // Quota, names, existence
  // ------------------------------------------------------------------------------------------

  it('allows at most 10 destinations per set (LimitExceededException)', async () => {
    const set = await newSet();
    for (let i = 1; i <= 10; i++) await create(set, `d${i}`, { Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: topicArn } });
    await expectSdkError(
      create(set, 'd11', { Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: topicArn } }),
      'LimitExceededException',
      400,
      `Configuration set <${set}> already has 10 event destinations, the most a configuration set can have.`,
    );
    expect((await list(set))!.map((d) => d.Name)).toEqual(['d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7', 'd8', 'd9', 'd10']);
    await remove(set, 'd3');
    await create(set, 'd11', { Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: topicArn } });
    expect(await list(set)).toHaveLength(10);
  });

  it('refuses duplicate names, unknown destinations and unknown sets', async () => {
    const set = await newSet();
    const def: EventDestinationDefinition = { Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: topicArn } };
    await create(set, 'dup', def);
    await expectSdkError(create(set, 'dup', def), 'AlreadyExistsException', 400, `Event destination dup already exists in configuration set <${set}>.`);
    await expectSdkError(update(set, 'nope', def), 'NotFoundException', 404, `No EventDestination found for ${set}: it has no event destination named nope.`);
    await expectSdkError(remove(set, 'nope'), 'NotFoundException', 404, `No EventDestination found for ${set}: it has no event destination named nope.`);
    for (const call of [() => create('no-such-set', 'x', def), () => update('no-such-set', 'x', def), () => remove('no-such-set', 'x'), () => list('no-such-set')]) {
      await expectSdkError(call(), 'NotFoundException', 404, 'Configuration set <no-such-set> does not exist.');
    }
    await expectSdkError(create(set, 'has space', def), 'BadRequestException', 400, 'Invalid event destination name <has space>: use 1 to 64 ASCII letters, digits, underscores or dashes.');
    await expectSdkError(create(set, 'x'.repeat(65), def), 'BadRequestException', 400, /^Invalid event destination name/);
    // A deleted and recreated set starts without destinations.
    await v2.send(new DeleteConfigurationSetCommand({ ConfigurationSetName: set }));
    await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: set }));
    expect(await list(set)).toEqual([]);
  });

  // ------------------------------------------------------------------------------------------
  // Validation, as the SDK user sees it
  // ------------------------------------------------------------------------------------------

  it('refuses invalid definitions with BadRequestException and a message that says what to fix', async () => {
    const set = await newSet();
    const sns = { TopicArn: topicArn };
    const bad = async (def: EventDestinationDefinition, message: string | RegExp) => expectSdkError(create(set, 'bad', def), 'BadRequestException', 400, message);

    await bad({ Enabled: true, SnsDestination: sns }, 'MatchingEventTypes is required: list at least one event type.');
    await bad({ Enabled: true, MatchingEventTypes: [], SnsDestination: sns }, 'MatchingEventTypes must list at least one event type.');
    await bad(
      { Enabled: true, MatchingEventTypes: ['SEND', 'OPENED' as never], SnsDestination: sns },
      'Invalid MatchingEventTypes value <OPENED>: use SEND, REJECT, BOUNCE, COMPLAINT, DELIVERY, OPEN, CLICK, RENDERING_FAILURE, DELIVERY_DELAY, SUBSCRIPTION.',
    );
    const exactlyOne = 'An event destination needs exactly one of SnsDestination, EventBridgeDestination, CloudWatchDestination and KinesisFirehoseDestination.';
    await bad({ Enabled: true, MatchingEventTypes: ['SEND'] }, exactlyOne);
    await bad({ Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: sns, EventBridgeDestination: { EventBusArn: bus('default') } }, exactlyOne);
    await bad(
      { Enabled: true, MatchingEventTypes: ['SEND'], PinpointDestination: { ApplicationArn: `arn:aws:mobiletargeting:${region}:${accountId}:apps/abc` } },
      'PinpointDestination is not supported: Sesame has no Amazon Pinpoint. Use SnsDestination, EventBridgeDestination, CloudWatchDestination or KinesisFirehoseDestination.',
    );

    // SNS: the ARN's form, then the topic's existence in this account and region (SES: "SNS topic <arn> not found.").
    await bad({ Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: 'ses-events' } }, `Invalid SNS topic ARN <ses-events>: use arn:aws:sns:${region}:${accountId}:<topic name>.`);
    await bad({ Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: {} as never }, 'SnsDestination.TopicArn is required.');
    const missing = `arn:aws:sns:${region}:${accountId}:no-such-topic`;
    await bad({ Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: missing } }, `SNS topic <${missing}> not found.`);
    const elsewhere = `arn:aws:sns:${region}:123456789012:ses-events`;
    await bad({ Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: elsewhere } }, `SNS topic <${elsewhere}> not found.`);
    const otherRegion = `arn:aws:sns:eu-west-1:${accountId}:ses-events`;
    await bad({ Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: otherRegion } }, `SNS topic <${otherRegion}> not found.`);

    // Firehose.
    await bad({ Enabled: true, MatchingEventTypes: ['SEND'], KinesisFirehoseDestination: { DeliveryStreamArn: stream('s'), IamRoleArn: undefined } }, 'KinesisFirehoseDestination.IamRoleArn is required.');
    await bad({ Enabled: true, MatchingEventTypes: ['SEND'], KinesisFirehoseDestination: { DeliveryStreamArn: undefined, IamRoleArn: role() } }, 'KinesisFirehoseDestination.DeliveryStreamArn is required.');
    await bad(
      { Enabled: true, MatchingEventTypes: ['SEND'], KinesisFirehoseDestination: { DeliveryStreamArn: stream('bad/name'), IamRoleArn: role() } },
      `Invalid delivery stream ARN <${stream('bad/name')}>: use arn:aws:firehose:${region}:${accountId}:deliverystream/<name>, the name 1 to 64 ASCII letters, digits, underscores, periods or dashes.`,
    );
    await bad({ Enabled: true, MatchingEventTypes: ['SEND'], KinesisFirehoseDestination: { DeliveryStreamArn: stream('x'.repeat(65)), IamRoleArn: role() } }, /^Invalid delivery stream ARN/);
    await bad(
      { Enabled: true, MatchingEventTypes: ['SEND'], KinesisFirehoseDestination: { DeliveryStreamArn: stream('s'), IamRoleArn: `arn:aws:iam::${accountId}:user/bob` } },
      `Invalid IAM role ARN <arn:aws:iam::${accountId}:user/bob>: use arn:aws:iam::<account>:role/<name>.`,
    );

    // CloudWatch.
    const cw = (dims: unknown[]) => ({ Enabled: true, MatchingEventTypes: ['SEND' as const], CloudWatchDestination: { DimensionConfigurations: dims as never } });
    const dim = (name: string, source = 'MESSAGE_TAG', value = 'v') => ({ DimensionName: name, DimensionValueSource: source, DefaultDimensionValue: value });
    await bad(cw([]), 'CloudWatchDestination.DimensionConfigurations must list 1 to 10 dimensions.');
    await bad(cw(Array.from({ length: 11 }, (_, i) => dim(`d${i}`))), 'CloudWatchDestination.DimensionConfigurations must list 1 to 10 dimensions.');
    await bad(cw([dim('has space')]), 'Invalid DimensionName <has space>: use 1 to 256 ASCII letters, digits, underscores, dashes or colons.');
    await bad(cw([dim('n'.repeat(257))]), /^Invalid DimensionName/);
    await bad(cw([dim('a'), dim('a')]), 'DimensionName <a> is given more than once.');
    await bad(cw([dim('a', 'messageTag')]), 'Invalid DimensionValueSource <messageTag> of dimension a: use MESSAGE_TAG, EMAIL_HEADER, LINK_TAG.');
    await bad(cw([dim('a', 'MESSAGE_TAG', 'a:b')]), 'Invalid DefaultDimensionValue <a:b> of dimension a: use 1 to 256 ASCII letters, digits, underscores, dashes, at signs or periods.');
    await bad(cw([dim('a', 'MESSAGE_TAG', '')]), /^Invalid DefaultDimensionValue <>/);

    // The same checks on update; nothing was created by any of the refused calls.
    await create(set, 'ok', { Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: sns });
    await expectSdkError(update(set, 'ok', { SnsDestination: { TopicArn: missing } }), 'BadRequestException', 400, `SNS topic <${missing}> not found.`);
    await expectSdkError(update(set, 'ok', { MatchingEventTypes: [] }), 'BadRequestException', 400, 'MatchingEventTypes must list at least one event type.');
    await expectSdkError(update(set, 'ok', { PinpointDestination: { ApplicationArn: 'x' } }), 'BadRequestException', 400, /^PinpointDestination is not supported/);
    expect(await list(set)).toEqual([{ Name: 'ok', Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: sns }]);
  });

  // ------------------------------------------------------------------------------------------
  // Options changes keep destinations
  // ------------------------------------------------------------------------------------------

  it('keeps the destinations through every option change, v2 and v1', async () => {
    const set = await newSet();
    await create(set, 'a', { Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: topicArn } });
    await create(set, 'b', { Enabled: false, MatchingEventTypes: ['BOUNCE'], KinesisFirehoseDestination: { DeliveryStreamArn: stream('s'), IamRoleArn: role() } });
    const before = await list(set);
    expect(before).toHaveLength(2);

    await v2.send(new PutConfigurationSetDeliveryOptionsCommand({ ConfigurationSetName: set, TlsPolicy: 'REQUIRE', MaxDeliverySeconds: 600 }));
    await v2.send(new PutConfigurationSetSendingOptionsCommand({ ConfigurationSetName: set, SendingEnabled: false }));
    await v2.send(new PutConfigurationSetReputationOptionsCommand({ ConfigurationSetName: set, ReputationMetricsEnabled: true }));
    await v2.send(new PutConfigurationSetSuppressionOptionsCommand({ ConfigurationSetName: set, SuppressedReasons: ['BOUNCE'] }));
    await v2.send(new PutConfigurationSetTrackingOptionsCommand({ ConfigurationSetName: set, CustomRedirectDomain: 'track.example.com' }));
    expect(await list(set)).toEqual(before);
    await v2.send(new PutConfigurationSetTrackingOptionsCommand({ ConfigurationSetName: set }));
    await v2.send(new PutConfigurationSetSuppressionOptionsCommand({ ConfigurationSetName: set }));
    await v1.send(new V1PutDeliveryOptions({ ConfigurationSetName: set, DeliveryOptions: { TlsPolicy: 'Optional' } }));
    await v1.send(new UpdateConfigurationSetSendingEnabledCommand({ ConfigurationSetName: set, Enabled: true }));
    await v1.send(new CreateConfigurationSetTrackingOptionsCommand({ ConfigurationSetName: set, TrackingOptions: { CustomRedirectDomain: 'links.example.com' } }));
    expect(await list(set)).toEqual(before);

    // And the options are what the changes made them.
    const got = await v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: set }));
    expect(got.DeliveryOptions).toEqual({ TlsPolicy: 'OPTIONAL', MaxDeliverySeconds: 600 });
    expect(got.SendingOptions).toEqual({ SendingEnabled: true });
    expect(got.ReputationOptions?.ReputationMetricsEnabled).toBe(true);
    expect(got.SuppressionOptions).toBeUndefined();
    expect(got.TrackingOptions).toEqual({ CustomRedirectDomain: 'links.example.com' });

    // Changing destinations keeps the options.
    await remove(set, 'a');
    const after = await v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: set }));
    expect({ ...after, $metadata: undefined }).toEqual({ ...got, $metadata: undefined });
  });

  it('reads a set stored before event destinations existed as having none, and can add to it', async () => {
    const now = Date.now();
    const data = { delivery: { tlsPolicy: 'OPTIONAL' }, sending: { sendingEnabled: true }, reputation: { reputationMetricsEnabled: false } };
    await server.instance.storage.configurationSets.create({ accountId, name: 'legacy', data, createdAt: now, updatedAt: now });
    expect(await list('legacy')).toEqual([]);
    await v2.send(new PutConfigurationSetSendingOptionsCommand({ ConfigurationSetName: 'legacy', SendingEnabled: false }));
    expect(await list('legacy')).toEqual([]);
    await create('legacy', 'first', { Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: topicArn } });
    expect((await list('legacy'))!.map((d) => d.Name)).toEqual(['first']);
    expect((await v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'legacy' }))).SendingOptions).toEqual({ SendingEnabled: false });
    const v1View = await v1.send(new DescribeConfigurationSetCommand({ ConfigurationSetName: 'legacy', ConfigurationSetAttributeNames: ['eventDestinations'] }));
    expect(v1View.EventDestinations!.map((d) => d.Name)).toEqual(['first']);
  });

  // ------------------------------------------------------------------------------------------
  // SES v1
  // ------------------------------------------------------------------------------------------

  it('v1: creates, describes, updates and deletes destinations in v1 shapes', async () => {
    const set = await newSet();
    await v1.send(
      new V1CreateDestination({
        ConfigurationSetName: set,
        EventDestination: { Name: 'v1-sns', Enabled: true, MatchingEventTypes: ['send', 'bounce', 'renderingFailure'], SNSDestination: { TopicARN: topicArn } },
      }),
    );
    await v1.send(
      new V1CreateDestination({
        ConfigurationSetName: set,
        EventDestination: {
          Name: 'v1-cw',
          Enabled: true,
          MatchingEventTypes: ['open', 'click'],
          CloudWatchDestination: {
            DimensionConfigurations: [
              { DimensionName: 'campaign', DimensionValueSource: 'messageTag', DefaultDimensionValue: 'none' },
              { DimensionName: 'link', DimensionValueSource: 'linkTag', DefaultDimensionValue: 'none' },
            ],
          },
        },
      }),
    );
    await v1.send(
      new V1CreateDestination({
        ConfigurationSetName: set,
        EventDestination: { Name: 'v1-fh', MatchingEventTypes: ['delivery'], KinesisFirehoseDestination: { IAMRoleARN: role(), DeliveryStreamARN: stream('v1') } },
      }),
    );
    // Created through v2: v1 has no EventBridge shape, so it is listed without a target.
    await create(set, 'v2-bus', { Enabled: true, MatchingEventTypes: ['COMPLAINT'], EventBridgeDestination: { EventBusArn: bus('default') } });

    // The v2 view of v1-created destinations.
    expect((await list(set))![0]).toEqual({ Name: 'v1-sns', Enabled: true, MatchingEventTypes: ['SEND', 'BOUNCE', 'RENDERING_FAILURE'], SnsDestination: { TopicArn: topicArn } });

    const described = await v1.send(new DescribeConfigurationSetCommand({ ConfigurationSetName: set, ConfigurationSetAttributeNames: ['eventDestinations'] }));
    expect(described.ConfigurationSet).toEqual({ Name: set });
    expect(described.EventDestinations).toEqual([
      { Name: 'v1-sns', Enabled: true, MatchingEventTypes: ['send', 'bounce', 'renderingFailure'], SNSDestination: { TopicARN: topicArn } },
      {
        Name: 'v1-cw',
        Enabled: true,
        MatchingEventTypes: ['open', 'click'],
        CloudWatchDestination: {
          DimensionConfigurations: [
            { DimensionName: 'campaign', DimensionValueSource: 'messageTag', DefaultDimensionValue: 'none' },
            { DimensionName: 'link', DimensionValueSource: 'linkTag', DefaultDimensionValue: 'none' },
          ],
        },
      },
      { Name: 'v1-fh', Enabled: false, MatchingEventTypes: ['delivery'], KinesisFirehoseDestination: { IAMRoleARN: role(), DeliveryStreamARN: stream('v1') } },
      { Name: 'v2-bus', Enabled: true, MatchingEventTypes: ['complaint'] },
    ]);
    // Only the asked-for parts.
    const bare = await v1.send(new DescribeConfigurationSetCommand({ ConfigurationSetName: set }));
    expect(bare.EventDestinations).toBeUndefined();

    await v1.send(
      new V1UpdateDestination({
        ConfigurationSetName: set,
        EventDestination: { Name: 'v1-sns', Enabled: false, MatchingEventTypes: ['complaint'], SNSDestination: { TopicARN: otherTopicArn } },
      }),
    );
    await v1.send(new V1DeleteDestination({ ConfigurationSetName: set, EventDestinationName: 'v1-cw' }));
    const after = await v1.send(new DescribeConfigurationSetCommand({ ConfigurationSetName: set, ConfigurationSetAttributeNames: ['eventDestinations'] }));
    expect(after.EventDestinations!.map((d) => d.Name)).toEqual(['v1-sns', 'v1-fh', 'v2-bus']);
    expect(after.EventDestinations![0]).toEqual({ Name: 'v1-sns', Enabled: false, MatchingEventTypes: ['complaint'], SNSDestination: { TopicARN: otherTopicArn } });
  });

  it('v1: refuses with the v1 error codes', async () => {
    const set = await newSet();
    const def = { Name: 'x', Enabled: true, MatchingEventTypes: ['send' as V1EventType], SNSDestination: { TopicARN: topicArn } };
    await v1.send(new V1CreateDestination({ ConfigurationSetName: set, EventDestination: def }));
    await expectSdkError(v1.send(new V1CreateDestination({ ConfigurationSetName: set, EventDestination: def })), 'EventDestinationAlreadyExistsException', 400, `Event destination x already exists in configuration set <${set}>.`);
    await expectSdkError(
      v1.send(new V1DeleteDestination({ ConfigurationSetName: set, EventDestinationName: 'nope' })),
      'EventDestinationDoesNotExistException',
      400,
      `No EventDestination found for ${set}: it has no event destination named nope.`,
    );
    await expectSdkError(
      v1.send(new V1UpdateDestination({ ConfigurationSetName: set, EventDestination: { ...def, Name: 'nope' } })),
      'EventDestinationDoesNotExistException',
      400,
      `No EventDestination found for ${set}: it has no event destination named nope.`,
    );
    await expectSdkError(
      v1.send(new V1CreateDestination({ ConfigurationSetName: 'no-such-set', EventDestination: def })),
      'ConfigurationSetDoesNotExistException',
      400,
      'Configuration set <no-such-set> does not exist.',
    );
    const missing = `arn:aws:sns:${region}:${accountId}:nothing-here`;
    await expectSdkError(
      v1.send(new V1CreateDestination({ ConfigurationSetName: set, EventDestination: { ...def, Name: 'y', SNSDestination: { TopicARN: missing } } })),
      'InvalidSNSDestinationException',
      400,
      `SNS topic <${missing}> not found.`,
    );
    await expectSdkError(
      v1.send(new V1CreateDestination({ ConfigurationSetName: set, EventDestination: { ...def, Name: 'y', SNSDestination: undefined, KinesisFirehoseDestination: { IAMRoleARN: role(), DeliveryStreamARN: 'stream' } } })),
      'InvalidFirehoseDestinationException',
      400,
      /^Invalid delivery stream ARN <stream>/,
    );
    await expectSdkError(
      v1.send(
        new V1CreateDestination({
          ConfigurationSetName: set,
          EventDestination: { ...def, Name: 'y', SNSDestination: undefined, CloudWatchDestination: { DimensionConfigurations: [{ DimensionName: 'a', DimensionValueSource: 'MESSAGE_TAG' as never, DefaultDimensionValue: 'v' }] } },
        }),
      ),
      'InvalidCloudWatchDestinationException',
      400,
      'Invalid DimensionValueSource <MESSAGE_TAG> of dimension a: use messageTag, emailHeader or linkTag.',
    );
    await expectSdkError(
      v1.send(
        new V1CreateDestination({
          ConfigurationSetName: set,
          EventDestination: { ...def, Name: 'y', SNSDestination: undefined, CloudWatchDestination: { DimensionConfigurations: [{ DimensionName: 'a', DimensionValueSource: 'messageTag', DefaultDimensionValue: 'a b' }] } },
        }),
      ),
      'InvalidCloudWatchDestinationException',
      400,
      /^Invalid DefaultDimensionValue <a b>/,
    );
    // v1's EventType has no deliveryDelay or subscription (SES refuses them on the v1 API).
    await expectSdkError(
      v1.send(new V1CreateDestination({ ConfigurationSetName: set, EventDestination: { ...def, Name: 'y', MatchingEventTypes: ['deliveryDelay' as V1EventType] } })),
      'ValidationError',
      400,
      "1 validation error detected: Value '[deliveryDelay]' at 'eventDestination.matchingEventTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [send, reject, bounce, complaint, delivery, open, click, renderingFailure]]",
    );
    for (let i = 2; i <= 10; i++) await v1.send(new V1CreateDestination({ ConfigurationSetName: set, EventDestination: { ...def, Name: `x${i}` } }));
    await expectSdkError(v1.send(new V1CreateDestination({ ConfigurationSetName: set, EventDestination: { ...def, Name: 'x11' } })), 'LimitExceededException', 400);
  });

  it('v1: creates, updates and deletes tracking options; DescribeConfigurationSet returns them', async () => {
    const set = await newSet();
    const describe = async () => (await v1.send(new DescribeConfigurationSetCommand({ ConfigurationSetName: set, ConfigurationSetAttributeNames: ['trackingOptions', 'eventDestinations'] })));
    expect((await describe()).TrackingOptions).toBeUndefined();
    await expectSdkError(
      v1.send(new UpdateConfigurationSetTrackingOptionsCommand({ ConfigurationSetName: set, TrackingOptions: { CustomRedirectDomain: 'a.example.com' } })),
      'TrackingOptionsDoesNotExistException',
      400,
      `Configuration set <${set}> has no tracking options; use CreateConfigurationSetTrackingOptions.`,
    );
    await expectSdkError(v1.send(new DeleteConfigurationSetTrackingOptionsCommand({ ConfigurationSetName: set })), 'TrackingOptionsDoesNotExistException', 400);
    await expectSdkError(
      v1.send(new CreateConfigurationSetTrackingOptionsCommand({ ConfigurationSetName: set, TrackingOptions: {} })),
      'InvalidTrackingOptionsException',
      400,
      'TrackingOptions.CustomRedirectDomain is required.',
    );

    await v1.send(new CreateConfigurationSetTrackingOptionsCommand({ ConfigurationSetName: set, TrackingOptions: { CustomRedirectDomain: 'a.example.com' } }));
    const d = await describe();
    expect(d.TrackingOptions).toEqual({ CustomRedirectDomain: 'a.example.com' });
    expect(d.EventDestinations).toEqual([]);
    await expectSdkError(
      v1.send(new CreateConfigurationSetTrackingOptionsCommand({ ConfigurationSetName: set, TrackingOptions: { CustomRedirectDomain: 'b.example.com' } })),
      'TrackingOptionsAlreadyExistsException',
      400,
      `Tracking options already exist for configuration set <${set}>; use UpdateConfigurationSetTrackingOptions.`,
    );

    // Update keeps a HttpsPolicy set through v2 (v1 cannot see it).
    await v2.send(new PutConfigurationSetTrackingOptionsCommand({ ConfigurationSetName: set, CustomRedirectDomain: 'a.example.com', HttpsPolicy: 'REQUIRE' }));
    await v1.send(new UpdateConfigurationSetTrackingOptionsCommand({ ConfigurationSetName: set, TrackingOptions: { CustomRedirectDomain: 'b.example.com' } }));
    expect((await v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: set }))).TrackingOptions).toEqual({ CustomRedirectDomain: 'b.example.com', HttpsPolicy: 'REQUIRE' });
    expect((await describe()).TrackingOptions).toEqual({ CustomRedirectDomain: 'b.example.com' });

    await v1.send(new DeleteConfigurationSetTrackingOptionsCommand({ ConfigurationSetName: set }));
    expect((await describe()).TrackingOptions).toBeUndefined();
    expect((await v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: set }))).TrackingOptions).toBeUndefined();
    await expectSdkError(
      v1.send(new CreateConfigurationSetTrackingOptionsCommand({ ConfigurationSetName: 'no-such-set', TrackingOptions: { CustomRedirectDomain: 'a.example.com' } })),
      'ConfigurationSetDoesNotExistException',
      400,
      'Configuration set <no-such-set> does not exist.',
    );
  });
});
