/**
 * Identity notification settings through the real AWS SDKs against a whole server: the v1 actions
 * SetIdentityNotificationTopic, SetIdentityHeadersInNotificationsEnabled,
 * SetIdentityFeedbackForwardingEnabled and GetIdentityNotificationAttributes, and the v2 operations
 * PutEmailIdentityFeedbackAttributes and PutEmailIdentityConfigurationSetAttributes: SES's rule that
 * forwarding can be turned off only with Bounce and Complaint topics set, unknown topics and
 * identities, and the errors as the SDK user sees them. On SQLite, and on PostgreSQL when
 * SESAME_TEST_DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GetIdentityNotificationAttributesCommand,
  SetIdentityFeedbackForwardingEnabledCommand,
  SetIdentityHeadersInNotificationsEnabledCommand,
  SetIdentityNotificationTopicCommand,
  type NotificationType,
  type SESClient,
} from '@aws-sdk/client-ses';
import {
  CreateConfigurationSetCommand,
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  PutEmailIdentityConfigurationSetAttributesCommand,
  PutEmailIdentityFeedbackAttributesCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { expectSdkError } from '../helpers/aws-wire.ts';
import { startTestServer, testBackends, type TestServer } from '../helpers/server.ts';

/** Creates an SNS topic through Sesame's SNS API with @aws-sdk/client-sns; returns its ARN. */
const createTopic = async (server: TestServer, name: string): Promise<string> => (await server.sns().send(new CreateTopicCommand({ Name: name }))).TopicArn!;

describe.each(testBackends())('identity notifications (%s)', (backend) => {
  let server: TestServer;
  let v1: SESClient;
  let v2: SESv2Client;
  let accountId: string;
  let region: string;
  let bounces: string;
  let complaints: string;
  let deliveries: string;
  let n = 0;
  /** A fresh domain identity per test (pending verification: the settings do not need it verified). */
  const newDomain = async () => {
    const domain = `n${++n}.example.com`;
    await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: domain, DkimSigningAttributes: { NextSigningKeyLength: 'RSA_1024_BIT' } }));
    return domain;
  };
  const attributes = async (...identities: string[]) => (await v1.send(new GetIdentityNotificationAttributesCommand({ Identities: identities }))).NotificationAttributes;
  const setTopic = (identity: string, type: NotificationType, topic?: string) => v1.send(new SetIdentityNotificationTopicCommand({ Identity: identity, NotificationType: type, SnsTopic: topic }));
  const setForwarding = (identity: string, enabled: boolean) => v1.send(new SetIdentityFeedbackForwardingEnabledCommand({ Identity: identity, ForwardingEnabled: enabled }));
  const defaults = { ForwardingEnabled: true, HeadersInBounceNotificationsEnabled: false, HeadersInComplaintNotificationsEnabled: false, HeadersInDeliveryNotificationsEnabled: false };

  beforeAll(async () => {
    server = await startTestServer({ backend });
    v1 = server.ses();
    v2 = server.sesv2();
    ({ accountId, region } = server.instance.config);
    bounces = await createTopic(server, 'bounces');
    complaints = await createTopic(server, 'complaints');
    deliveries = await createTopic(server, 'deliveries');
  });
  afterAll(() => server?.close());

  it('GetIdentityNotificationAttributes: defaults for known identities, unknown ones left out', async () => {
    const domain = await newDomain();
    await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'ann@n-address.example.com' }));
    expect(await attributes(domain, 'ann@n-address.example.com', 'unknown.example.com', 'not an identity')).toEqual({
      [domain]: defaults,
      'ann@n-address.example.com': defaults,
    });
    expect(await attributes()).toEqual({});
  });

  it('SetIdentityNotificationTopic sets and clears each type; an identity may be named by its ARN', async () => {
    const domain = await newDomain();
    await setTopic(domain, 'Bounce', bounces);
    await setTopic(domain, 'Complaint', complaints);
    await setTopic(`arn:aws:ses:${region}:${accountId}:identity/${domain}`, 'Delivery', deliveries);
    expect(await attributes(domain)).toEqual({ [domain]: { ...defaults, BounceTopic: bounces, ComplaintTopic: complaints, DeliveryTopic: deliveries } });

    await setTopic(domain, 'Delivery');
    await setTopic(domain, 'Bounce', complaints);
    expect(await attributes(domain)).toEqual({ [domain]: { ...defaults, BounceTopic: complaints, ComplaintTopic: complaints } });
    await setTopic(domain, 'Bounce');
    await setTopic(domain, 'Complaint');
    expect(await attributes(domain)).toEqual({ [domain]: defaults });
  });

  it('SetIdentityNotificationTopic refuses unknown topics, bad types and unknown identities', async () => {
    const domain = await newDomain();
    const missing = `arn:aws:sns:${region}:${accountId}:no-such-topic`;
    await expectSdkError(setTopic(domain, 'Bounce', missing), 'InvalidParameterValue', 400, `SNS topic <${missing}> not found.`);
    const otherAccount = `arn:aws:sns:${region}:123456789012:bounces`;
    await expectSdkError(setTopic(domain, 'Bounce', otherAccount), 'InvalidParameterValue', 400, `SNS topic <${otherAccount}> not found.`);
    await expectSdkError(setTopic(domain, 'Bounce', 'bounces'), 'InvalidParameterValue', 400, `Invalid SNS topic ARN <bounces>: use arn:aws:sns:${region}:${accountId}:<topic name>.`);
    await expectSdkError(setTopic(domain, 'Open' as NotificationType, bounces), 'InvalidParameterValue', 400, 'Invalid notification type: Open. Valid values are: Bounce, Complaint, Delivery.');
    // SES v1 answers MessageRejected for an identity it does not have.
    await expectSdkError(setTopic('unknown.example.com', 'Bounce', bounces), 'MessageRejected', 400, 'Identity unknown.example.com is not verified or does not exist.');
    await expectSdkError(
      setTopic(`arn:aws:ses:eu-west-1:${accountId}:identity/${domain}`, 'Bounce', bounces),
      'InvalidParameterValue',
      400,
      `Invalid identity ARN <arn:aws:ses:eu-west-1:${accountId}:identity/${domain}>: use arn:aws:ses:${region}:${accountId}:identity/<identity>.`,
    );
    expect(await attributes(domain)).toEqual({ [domain]: defaults });
  });

  it('SetIdentityHeadersInNotificationsEnabled sets the flag of each type', async () => {
    const domain = await newDomain();
    const headers = (type: NotificationType, enabled: boolean) => v1.send(new SetIdentityHeadersInNotificationsEnabledCommand({ Identity: domain, NotificationType: type, Enabled: enabled }));
    await headers('Bounce', true);
    await headers('Delivery', true);
    expect(await attributes(domain)).toEqual({ [domain]: { ...defaults, HeadersInBounceNotificationsEnabled: true, HeadersInDeliveryNotificationsEnabled: true } });
    await headers('Bounce', false);
    await headers('Complaint', true);
    await headers('Complaint', true);
    expect(await attributes(domain)).toEqual({ [domain]: { ...defaults, HeadersInComplaintNotificationsEnabled: true, HeadersInDeliveryNotificationsEnabled: true } });
    await expectSdkError(headers('Sent' as NotificationType, true), 'InvalidParameterValue', 400, 'Invalid notification type: Sent. Valid values are: Bounce, Complaint, Delivery.');
    await expectSdkError(
      v1.send(new SetIdentityHeadersInNotificationsEnabledCommand({ Identity: 'unknown@example.com', NotificationType: 'Bounce', Enabled: true })),
      'MessageRejected',
      400,
      'Identity unknown@example.com is not verified or does not exist.',
    );
  });

  it('feedback forwarding can be disabled only with Bounce and Complaint topics, and those topics stay while it is', async () => {
    const domain = await newDomain();
    await expectSdkError(
      setForwarding(domain, false),
      'InvalidParameterValue',
      400,
      `Feedback forwarding can only be disabled when Amazon SNS topics are set for both Bounce and Complaint notifications; identity ${domain} has neither a Bounce nor a Complaint topic. Set them with SetIdentityNotificationTopic first.`,
    );
    await setTopic(domain, 'Bounce', bounces);
    await expectSdkError(
      setForwarding(domain, false),
      'InvalidParameterValue',
      400,
      `Feedback forwarding can only be disabled when Amazon SNS topics are set for both Bounce and Complaint notifications; identity ${domain} has no Complaint topic. Set it with SetIdentityNotificationTopic first.`,
    );
    // A Delivery topic does not count.
    await setTopic(domain, 'Delivery', deliveries);
    await expectSdkError(setForwarding(domain, false), 'InvalidParameterValue', 400, /has no Complaint topic/);
    await setTopic(domain, 'Complaint', complaints);
    await setForwarding(domain, false);
    expect((await attributes(domain))![domain]!.ForwardingEnabled).toBe(false);
    expect((await v2.send(new GetEmailIdentityCommand({ EmailIdentity: domain }))).FeedbackForwardingStatus).toBe(false);

    // While forwarding is off, the Bounce and Complaint topics cannot be removed (the Delivery one can).
    await expectSdkError(
      setTopic(domain, 'Complaint'),
      'InvalidParameterValue',
      400,
      `Feedback forwarding is disabled for identity ${domain}, so it needs an Amazon SNS topic for Complaint notifications; enable feedback forwarding (SetIdentityFeedbackForwardingEnabled) before removing the topic.`,
    );
    await setTopic(domain, 'Delivery');
    await setTopic(domain, 'Bounce', complaints); // changing a topic is fine

    await setForwarding(domain, true);
    await setTopic(domain, 'Complaint');
    expect(await attributes(domain)).toEqual({ [domain]: { ...defaults, BounceTopic: complaints } });
    await expectSdkError(setForwarding('unknown.example.com', false), 'MessageRejected', 400, 'Identity unknown.example.com is not verified or does not exist.');
  });

  it('v2 PutEmailIdentityFeedbackAttributes follows the same rule', async () => {
    const domain = await newDomain();
    const put = (enabled?: boolean, identity = domain) => v2.send(new PutEmailIdentityFeedbackAttributesCommand({ EmailIdentity: identity, EmailForwardingEnabled: enabled }));
    await expectSdkError(put(false), 'BadRequestException', 400, /^Feedback forwarding can only be disabled when Amazon SNS topics are set for both Bounce and Complaint notifications/);
    // Absent means false, as for any rest-json boolean SES reads.
    await expectSdkError(put(undefined), 'BadRequestException', 400, /^Feedback forwarding can only be disabled/);
    await setTopic(domain, 'Bounce', bounces);
    await setTopic(domain, 'Complaint', complaints);
    await put(false);
    expect((await v2.send(new GetEmailIdentityCommand({ EmailIdentity: domain }))).FeedbackForwardingStatus).toBe(false);
    await put(true);
    expect((await v2.send(new GetEmailIdentityCommand({ EmailIdentity: domain }))).FeedbackForwardingStatus).toBe(true);
    expect((await attributes(domain))![domain]!.ForwardingEnabled).toBe(true);
    await expectSdkError(put(true, 'unknown.example.com'), 'NotFoundException', 404, 'Email identity unknown.example.com does not exist.');
  });

  it('v2 PutEmailIdentityConfigurationSetAttributes sets and clears the default configuration set', async () => {
    const domain = await newDomain();
    await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'identity-default' }));
    const put = (set?: string, identity = domain) => v2.send(new PutEmailIdentityConfigurationSetAttributesCommand({ EmailIdentity: identity, ConfigurationSetName: set }));
    const current = async () => (await v2.send(new GetEmailIdentityCommand({ EmailIdentity: domain }))).ConfigurationSetName;

    expect(await current()).toBeUndefined();
    await put('identity-default');
    expect(await current()).toBe('identity-default');
    await expectSdkError(put('no-such-set'), 'NotFoundException', 404, 'Configuration set <no-such-set> does not exist.');
    expect(await current()).toBe('identity-default');
    await put();
    expect(await current()).toBeUndefined();
    await expectSdkError(put('identity-default', 'unknown.example.com'), 'NotFoundException', 404, 'Email identity unknown.example.com does not exist.');

    // CreateEmailIdentity takes the same member.
    await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'with-set.example.com', ConfigurationSetName: 'identity-default', DkimSigningAttributes: { NextSigningKeyLength: 'RSA_1024_BIT' } }));
    expect((await v2.send(new GetEmailIdentityCommand({ EmailIdentity: 'with-set.example.com' }))).ConfigurationSetName).toBe('identity-default');
    await expectSdkError(
      v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'no-set.example.com', ConfigurationSetName: 'no-such-set' })),
      'NotFoundException',
      404,
      'Configuration set <no-such-set> does not exist.',
    );
  });
});
