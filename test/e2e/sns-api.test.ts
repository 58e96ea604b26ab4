/**
 * The SNS-compatible Query API driven by the real @aws-sdk/client-sns against a running server:
 * topic CRUD and attributes, every refusal as an SDK user sees it (exception name, status and
 * message), and HTTP deliveries to a loopback subscriber that verifies every signature against the
 * certificate it fetches from SigningCertURL and confirms through SubscribeURL — the envelope's
 * fields, their order and the headers as SNS sends them, raw delivery, MessageStructure=json,
 * Unsubscribe (API and UnsubscribeURL) and DeleteTopic. On SQLite, and on PostgreSQL when
 * SESAME_TEST_DATABASE_URL is set.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfirmSubscriptionCommand,
  CreateTopicCommand,
  DeleteTopicCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  ListSubscriptionsCommand,
  ListTopicsCommand,
  PublishCommand,
  SetTopicAttributesCommand,
  SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { ListIdentitiesCommand } from '@aws-sdk/client-ses';
import { verifySnsMessage } from '../../src/lib/sns-signature.ts';
import { expectSdkError, offlineResolver, sendRaw, signed, UUID } from '../helpers/aws-wire.ts';
import { eventually, startTestServer, testBackends, type TestServer } from '../helpers/server.ts';
import { startSnsReceiver, type Received, type SnsReceiver } from '../helpers/sns-receiver.ts';

const ACCOUNT = '000000000000';
const arnOf = (name: string) => `arn:aws:sns:us-east-1:${ACCOUNT}:${name}`;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SUBSCRIPTION_ARN = (topic: string) => new RegExp(`^${arnOf(topic)}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`);
const NOTIFICATION_KEYS = ['Type', 'MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL', 'UnsubscribeURL'];
const CONFIRMATION_KEYS = ['Type', 'MessageId', 'Token', 'TopicArn', 'Message', 'SubscribeURL', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL'];

describe.each(testBackends())('SNS-compatible topics over @aws-sdk/client-sns (%s)', (backend) => {
  let server: TestServer;
  let sns: SNSClient;
  const receivers: SnsReceiver[] = [];

  const client = (credentials = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }) =>
    new SNSClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1 });

  async function receiver(o: { autoConfirm?: boolean } = {}): Promise<SnsReceiver> {
    const r = await startSnsReceiver(o);
    receivers.push(r);
    return r;
  }

  async function topic(name: string): Promise<string> {
    return (await sns.send(new CreateTopicCommand({ Name: name }))).TopicArn!;
  }

  /** Subscribes `rx`, waits until it has confirmed through SubscribeURL, and returns the subscription's ARN. */
  async function subscribeConfirmed(topicArn: string, rx: SnsReceiver, attributes?: Record<string, string>): Promise<string> {
    const before = rx.confirmations.length;
    const out = await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'http', Endpoint: rx.url, Attributes: attributes }));
    expect(out.SubscriptionArn).toBe('pending confirmation');
    await rx.waitFor(() => rx.confirmations.length > before);
    const c = rx.confirmations[before]!;
    expect(c.status).toBe(200);
    return /<SubscriptionArn>([^<]+)<\/SubscriptionArn>/.exec(c.body)![1]!;
  }

  /** Waits until every stored delivery is done (delivered or given up), so that absences can be asserted. */
  async function drained(): Promise<void> {
    await eventually(async () => (await server.instance.storage.webhooks.count()) === 0, 15_000, 'the webhook queue to drain');
  }

  const ofType = (rx: SnsReceiver, type: string) => rx.messages.filter((m) => m.type === type);

  beforeAll(async () => {
    server = await startTestServer({ backend, start: { resolver: offlineResolver } });
    sns = client();
  });
  afterAll(async () => {
    sns?.destroy();
    await Promise.all(receivers.map((r) => r.close()));
    await server?.close();
  });

  describe('topics', () => {
    it('creates a topic idempotently, with attributes and tags', async () => {
      const created = await sns.send(new CreateTopicCommand({ Name: 'orders', Attributes: { DisplayName: 'Orders' }, Tags: [{ Key: 'team', Value: 'shop' }] }));
      expect(created.TopicArn).toBe(arnOf('orders'));
      expect(created.$metadata.requestId).toMatch(UUID);
      // The same name again: the same ARN, with or without the same attributes and tags.
      expect((await sns.send(new CreateTopicCommand({ Name: 'orders' }))).TopicArn).toBe(arnOf('orders'));
      expect((await sns.send(new CreateTopicCommand({ Name: 'orders', Attributes: { DisplayName: 'Orders' }, Tags: [{ Key: 'team', Value: 'shop' }] }))).TopicArn).toBe(arnOf('orders'));
      await expectSdkError(
        sns.send(new CreateTopicCommand({ Name: 'orders', Attributes: { DisplayName: 'Other' } })),
        'InvalidParameterException',
        400,
        'Invalid parameter: Attributes Reason: Topic already exists with different attributes',
      );
      await expectSdkError(
        sns.send(new CreateTopicCommand({ Name: 'orders', Tags: [{ Key: 'team', Value: 'other' }] })),
        'InvalidParameterException',
        400,
        'Invalid parameter: Tags Reason: Topic already exists with different tags',
      );
      expect(await server.instance.storage.tags.list(ACCOUNT, arnOf('orders'))).toEqual([{ key: 'team', value: 'shop' }]);
    });

    it('shows and changes topic attributes', async () => {
      const arn = await topic('attrs');
      const got = (await sns.send(new GetTopicAttributesCommand({ TopicArn: arn }))).Attributes!;
      expect(got).toMatchObject({
        TopicArn: arn,
        Owner: ACCOUNT,
        DisplayName: '',
        SubscriptionsConfirmed: '0',
        SubscriptionsPending: '0',
        SubscriptionsDeleted: '0',
        SignatureVersion: '2',
      });
      expect(got.DeliveryPolicy).toBeUndefined();
      const policy = JSON.parse(got.Policy!) as { Statement: Array<{ Resource: string; Condition: unknown }> };
      expect(policy.Statement[0]!.Resource).toBe(arn);
      expect(policy.Statement[0]!.Condition).toEqual({ StringEquals: { 'AWS:SourceOwner': ACCOUNT } });
      expect(JSON.parse(got.EffectiveDeliveryPolicy!)).toHaveProperty('http.defaultHealthyRetryPolicy');

      const deliveryPolicy = JSON.stringify({ http: { defaultHealthyRetryPolicy: { numRetries: 5 } } });
      const ownPolicy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'SNS:Publish', Resource: arn }] });
      await sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName: 'DisplayName', AttributeValue: 'Shop alerts' }));
      await sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName: 'DeliveryPolicy', AttributeValue: deliveryPolicy }));
      await sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName: 'Policy', AttributeValue: ownPolicy }));
      const after = (await sns.send(new GetTopicAttributesCommand({ TopicArn: arn }))).Attributes!;
      expect(after).toMatchObject({ DisplayName: 'Shop alerts', DeliveryPolicy: deliveryPolicy, EffectiveDeliveryPolicy: deliveryPolicy, Policy: ownPolicy });

      // An empty value restores the default.
      await sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName: 'DeliveryPolicy', AttributeValue: '' }));
      expect((await sns.send(new GetTopicAttributesCommand({ TopicArn: arn }))).Attributes!.DeliveryPolicy).toBeUndefined();

      await expectSdkError(
        sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName: 'KmsMasterKeyId', AttributeValue: 'alias/aws/sns' })),
        'InvalidParameterException',
        400,
        'Invalid parameter: AttributeName Reason: Sesame does not support the topic attribute KmsMasterKeyId; the settable ones are DisplayName, Policy, DeliveryPolicy',
      );
      await expectSdkError(
        sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName: 'Policy', AttributeValue: '{not json' })),
        'InvalidParameterException',
        400,
        'Invalid parameter: Policy Reason: Policy must be a JSON object',
      );
      await expectSdkError(
        sns.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName: 'DisplayName', AttributeValue: 'x'.repeat(101) })),
        'InvalidParameterException',
        400,
        'Invalid parameter: DisplayName Reason: a DisplayName is at most 100 characters without control characters',
      );
    });

    it('lists topics 100 per page with NextToken', async () => {
      const names = Array.from({ length: 105 }, (_, i) => `page-${String(i).padStart(3, '0')}`);
      for (const n of names) await topic(n);
      const all: string[] = [];
      let NextToken: string | undefined;
      let pages = 0;
      do {
        const page = await sns.send(new ListTopicsCommand({ NextToken }));
        pages++;
        const arns = (page.Topics ?? []).map((t) => t.TopicArn!);
        if (page.NextToken) expect(arns).toHaveLength(100);
        all.push(...arns);
        NextToken = page.NextToken;
      } while (NextToken);
      expect(pages).toBeGreaterThanOrEqual(2);
      expect(all).toEqual([...all].sort());
      expect(new Set(all).size).toBe(all.length);
      for (const n of names) expect(all).toContain(arnOf(n));
      await expectSdkError(sns.send(new ListTopicsCommand({ NextToken: 'not-a-token!' })), 'InvalidParameterException', 400);
    });

    it('deletes a topic (idempotently)', async () => {
      const arn = await topic('short-lived');
      await sns.send(new DeleteTopicCommand({ TopicArn: arn }));
      await expectSdkError(sns.send(new GetTopicAttributesCommand({ TopicArn: arn })), 'NotFoundException', 404, 'Topic does not exist');
      expect((await sns.send(new ListTopicsCommand({}))).Topics!.map((t) => t.TopicArn)).not.toContain(arn);
      // SNS: deleting a topic that does not exist is not an error.
      await sns.send(new DeleteTopicCommand({ TopicArn: arn }));
    });
  });

  describe('refusals', () => {
    it('refuses bad topic names, FIFO topics and unsupported attributes', async () => {
      await expectSdkError(
        sns.send(new CreateTopicCommand({ Name: 'has space' })),
        'InvalidParameterException',
        400,
        'Invalid parameter: Topic Name Reason: topic names are 1 to 256 ASCII letters, digits, underscores and hyphens',
      );
      await expectSdkError(sns.send(new CreateTopicCommand({ Name: 'x'.repeat(257) })), 'InvalidParameterException', 400, /^Invalid parameter: Topic Name/);
      await expectSdkError(
        sns.send(new CreateTopicCommand({ Name: '' })),
        'InvalidParameterException',
        400,
        'Invalid parameter: Topic Name Reason: a topic name is required: 1 to 256 ASCII letters, digits, underscores and hyphens',
      );
      const fifo = 'Invalid parameter: Topic Name Reason: FIFO topics are not supported by Sesame; create a standard topic (a name without the .fifo suffix)';
      await expectSdkError(sns.send(new CreateTopicCommand({ Name: 'orders.fifo', Attributes: { FifoTopic: 'true' } })), 'InvalidParameterException', 400, fifo);
      await expectSdkError(sns.send(new CreateTopicCommand({ Name: 'orders2', Attributes: { FifoTopic: 'true' } })), 'InvalidParameterException', 400, fifo);
      await expectSdkError(
        sns.send(new CreateTopicCommand({ Name: 'kms', Attributes: { KmsMasterKeyId: 'alias/aws/sns' } })),
        'InvalidParameterException',
        400,
        'Invalid parameter: Attributes Reason: Sesame does not support the topic attribute KmsMasterKeyId; the supported ones are DisplayName, Policy, DeliveryPolicy',
      );
      // Nothing was created by the refused calls.
      const arns = (await sns.send(new ListTopicsCommand({}))).Topics!.map((t) => t.TopicArn);
      for (const n of ['orders.fifo', 'orders2', 'kms']) expect(arns).not.toContain(arnOf(n));
    });

    it('refuses malformed and unknown topic ARNs', async () => {
      await expectSdkError(
        sns.send(new GetTopicAttributesCommand({ TopicArn: 'orders' })),
        'InvalidParameterException',
        400,
        'Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 1',
      );
      await expectSdkError(
        sns.send(new GetTopicAttributesCommand({ TopicArn: 'arn:aws:sns:eu-west-1:000000000000:orders' })),
        'InvalidParameterException',
        400,
        'Invalid parameter: TopicArn Reason: the topic is not in this region (us-east-1)',
      );
      await expectSdkError(sns.send(new GetTopicAttributesCommand({ TopicArn: arnOf('nope') })), 'NotFoundException', 404, 'Topic does not exist');
      await expectSdkError(sns.send(new GetTopicAttributesCommand({ TopicArn: 'arn:aws:sns:us-east-1:111111111111:orders' })), 'NotFoundException', 404, 'Topic does not exist');
      await expectSdkError(sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: arnOf('nope') })), 'NotFoundException', 404, 'Topic does not exist');
      await expectSdkError(sns.send(new PublishCommand({ TopicArn: arnOf('nope'), Message: 'hi' })), 'NotFoundException', 404, 'Topic does not exist');
      await expectSdkError(sns.send(new SubscribeCommand({ TopicArn: arnOf('nope'), Protocol: 'http', Endpoint: 'http://127.0.0.1:9/' })), 'NotFoundException', 404, 'Topic does not exist');
    });

    it('refuses protocols other than http and https, and endpoints that do not match', async () => {
      const arn = await topic('protocols');
      for (const protocol of ['email', 'sqs', 'lambda', 'sms']) {
        await expectSdkError(
          sns.send(new SubscribeCommand({ TopicArn: arn, Protocol: protocol, Endpoint: 'someone@example.com' })),
          'InvalidParameterException',
          400,
          `Invalid parameter: Sesame does not support this protocol string: ${protocol} Reason: the supported protocols are http and https`,
        );
      }
      await expectSdkError(
        sns.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'https', Endpoint: 'http://127.0.0.1/hook' })),
        'InvalidParameterException',
        400,
        'Invalid parameter: Endpoint must match the specified protocol',
      );
      await expectSdkError(
        sns.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'http', Endpoint: 'not a url' })),
        'InvalidParameterException',
        400,
        'Invalid parameter: Endpoint must match the specified protocol',
      );
      await expectSdkError(
        sns.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'http', Endpoint: 'http://127.0.0.1:9/', Attributes: { FilterPolicy: '{}' } })),
        'InvalidParameterException',
        400,
        'Invalid parameter: Attributes Reason: Sesame does not support the subscription attribute FilterPolicy; the supported ones are RawMessageDelivery, DeliveryPolicy',
      );
      await expectSdkError(
        sns.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'http', Endpoint: 'http://127.0.0.1:9/', Attributes: { RawMessageDelivery: 'yes' } })),
        'InvalidParameterException',
        400,
        'Invalid parameter: Attributes Reason: RawMessageDelivery must be true or false, not yes',
      );
      expect((await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: arn }))).Subscriptions).toEqual([]);
      expect(await server.instance.storage.webhooks.count()).toBe(0);
    });

    it('refuses bad Publish input', async () => {
      const arn = await topic('publish-refusals');
      const refused = (input: ConstructorParameters<typeof PublishCommand>[0], message: string) =>
        expectSdkError(sns.send(new PublishCommand(input)), 'InvalidParameterException', 400, message);
      await refused({ TopicArn: arn, Message: '' }, 'Invalid parameter: Empty message');
      await refused({ TopicArn: arn, Message: 'x'.repeat(262_145) }, 'Invalid parameter: Message too long Reason: a message with its attributes is at most 262144 bytes; this one is 262145');
      const subjectRule = 'Invalid parameter: Subject Reason: a Subject is 1 to 100 characters without line breaks or control characters, and does not start with a space';
      await refused({ TopicArn: arn, Message: 'm', Subject: 's'.repeat(101) }, subjectRule);
      await refused({ TopicArn: arn, Message: 'm', Subject: 'line\nbreak' }, subjectRule);
      await refused({ TopicArn: arn, Message: 'm', Subject: '' }, subjectRule);
      await refused({ TopicArn: arn, Message: '{"http":"x"}', MessageStructure: 'json' }, 'Invalid parameter: Message Structure - No default entry in JSON message body');
      await refused({ TopicArn: arn, Message: 'not json', MessageStructure: 'json' }, 'Invalid parameter: Message Structure - JSON message body failed to parse');
      await refused({ TopicArn: arn, Message: 'm', MessageStructure: 'xml' }, 'Invalid parameter: MessageStructure Reason: the only MessageStructure is json, not xml');
      await refused({ Message: 'm' }, 'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter');
      await refused({ TopicArn: arn, TargetArn: arnOf('other'), Message: 'm' }, 'Invalid parameter: TopicArn or TargetArn Reason: only one of TopicArn and TargetArn may be given');
      await refused({ PhoneNumber: '+15555550100', Message: 'm' }, 'Invalid parameter: PhoneNumber Reason: Sesame does not send SMS; publish to a topic with TopicArn');
      await refused({ TopicArn: arn, Message: 'm', MessageGroupId: 'g' }, 'Invalid parameter: MessageGroupId Reason: The request includes MessageGroupId parameter that is not valid for this topic type (Sesame has no FIFO topics)');
      await refused(
        { TopicArn: arn, Message: 'm', MessageAttributes: { n: { DataType: 'Number', StringValue: 'abc' } } },
        "Invalid parameter: MessageAttributes Reason: could not cast message attribute 'n' value to number",
      );
      await refused(
        { TopicArn: arn, Message: 'm', MessageAttributes: { n: { DataType: 'Date', StringValue: 'x' } } },
        "Invalid parameter: MessageAttributes Reason: the message attribute 'n' has an invalid message attribute type; the supported type prefixes are Binary, Number and String",
      );
      // TargetArn alone is a topic ARN, as in SNS.
      expect((await sns.send(new PublishCommand({ TargetArn: arn, Message: 'to nobody' }))).MessageId).toMatch(UUID);
    });

    it('refuses a wrong confirmation token and a malformed subscription ARN', async () => {
      const arn = await topic('tokens');
      await expectSdkError(sns.send(new ConfirmSubscriptionCommand({ TopicArn: arn, Token: 'f'.repeat(256) })), 'InvalidParameterException', 400, 'Invalid token');
      await expectSdkError(sns.send(new UnsubscribeCommand({ SubscriptionArn: 'pending confirmation' })), 'InvalidParameterException', 400, 'Invalid parameter: SubscriptionArn');
    });

    it('answers keys without sns permissions with AuthorizationError, and bad signatures with the AWS auth errors', async () => {
      const key = await server.instance.core.accounts.createKey({ description: 'ses only' }); // default policy: ses:*
      const limited = client({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
      try {
        const err = await expectSdkError(limited.send(new CreateTopicCommand({ Name: 'denied' })), 'AuthorizationErrorException', 403);
        expect(err.message).toBe(
          `User: arn:aws:iam::${ACCOUNT}:user/${key.accessKeyId} is not authorized to perform: sns:CreateTopic on resource: ${arnOf('denied')} because no identity-based policy allows the sns:CreateTopic action`,
        );
        await expectSdkError(limited.send(new ListTopicsCommand({})), 'AuthorizationErrorException', 403);
      } finally {
        limited.destroy();
      }
      const forged = client({ accessKeyId: server.accessKeyId, secretAccessKey: 'wrong-secret' });
      const unknown = client({ accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'whatever' });
      try {
        await expectSdkError(forged.send(new ListTopicsCommand({})), 'SignatureDoesNotMatch', 403);
        await expectSdkError(unknown.send(new ListTopicsCommand({})), 'InvalidClientTokenId', 403, 'The security token included in the request is invalid.');
      } finally {
        forged.destroy();
        unknown.destroy();
      }
      expect((await sns.send(new ListTopicsCommand({}))).Topics!.map((t) => t.TopicArn)).not.toContain(arnOf('denied'));
    });

    it('still routes SES v1 calls on POST / by the credential scope', async () => {
      const ses = server.ses();
      const out = await ses.send(new ListIdentitiesCommand({}));
      expect(out.$metadata.httpStatusCode).toBe(200);
    });

    it('answers an unknown action or version on the sns scope in SNS XML', async () => {
      const creds = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
      const post = async (body: string) => {
        const req = await signed(server.url, { method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body }, creds, { service: 'sns' });
        return sendRaw(server.url, req);
      };
      const unknown = await post('Action=CreatePlatformApplication&Version=2010-03-31');
      expect(unknown.status).toBe(400);
      expect(unknown.body).toMatch(
        /^<ErrorResponse xmlns="http:\/\/sns\.amazonaws\.com\/doc\/2010-03-31\/"><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code><Message>The action CreatePlatformApplication is not valid for this web service\.<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>$/,
      );
      const version = await post('Action=ListTopics&Version=2010-12-01');
      expect(version.status).toBe(400);
      expect(version.body).toContain('<Code>InvalidParameter</Code><Message>Invalid parameter: Version Reason: 2010-12-01 is not supported; use 2010-03-31</Message>');
      const ok = await post('Action=ListTopics&Version=2010-03-31');
      expect(ok.status).toBe(200);
      expect(ok.body).toMatch(/^<ListTopicsResponse xmlns="http:\/\/sns\.amazonaws\.com\/doc\/2010-03-31\/"><ListTopicsResult><Topics>/);
    });
  });

  describe('deliveries', () => {
    it('confirms a subscription through SubscribeURL with a signed SubscriptionConfirmation', async () => {
      const arn = await topic('confirmations');
      const rx = await receiver();
      const subscriptionArn = await subscribeConfirmed(arn, rx);
      expect(subscriptionArn).toMatch(SUBSCRIPTION_ARN('confirmations'));

      const [m] = ofType(rx, 'SubscriptionConfirmation') as [Received];
      expect(m.verified).toBe(true);
      expect(Object.keys(m.body)).toEqual(CONFIRMATION_KEYS);
      const body = m.body as Record<string, string>;
      expect(body.TopicArn).toBe(arn);
      expect(body.MessageId).toMatch(UUID);
      expect(body.Token).toMatch(/^[0-9a-f]{256}$/);
      expect(body.Message).toBe(`You have chosen to subscribe to the topic ${arn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`);
      expect(body.SubscribeURL).toBe(`${server.url}/?Action=ConfirmSubscription&TopicArn=${arn}&Token=${body.Token}`);
      expect(body.Timestamp).toMatch(TIMESTAMP);
      expect(body.SignatureVersion).toBe('2');
      expect(m.headers).toMatchObject({
        'x-amz-sns-message-type': 'SubscriptionConfirmation',
        'x-amz-sns-message-id': body.MessageId,
        'x-amz-sns-topic-arn': arn,
        'content-type': 'text/plain; charset=UTF-8',
        'user-agent': 'Amazon Simple Notification Service Agent',
      });
      expect(m.headers['x-amz-sns-subscription-arn']).toBeUndefined();
      expect(rx.confirmations[0]!.body).toMatch(
        new RegExp(`^<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ConfirmSubscriptionResult><SubscriptionArn>${subscriptionArn}</SubscriptionArn></ConfirmSubscriptionResult><ResponseMetadata><RequestId>[0-9a-f-]{36}</RequestId></ResponseMetadata></ConfirmSubscriptionResponse>$`),
      );

      // SigningCertURL serves the RSA certificate the signature verifies with, named by its fingerprint.
      const res = await fetch(body.SigningCertURL!);
      expect(res.status).toBe(200);
      const pem = await res.text();
      const cert = new X509Certificate(pem);
      expect(cert.publicKey.asymmetricKeyType).toBe('rsa');
      expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
      const id = createHash('sha256').update(cert.raw).digest('hex').slice(0, 32);
      expect(body.SigningCertURL).toBe(`${server.url}/SimpleNotificationService-${id}.pem`);
      expect(verifySnsMessage(m.body, pem)).toBe(true);
      expect(verifySnsMessage({ ...m.body, Token: `${body.Token!.slice(0, -1)}${body.Token!.endsWith('0') ? '1' : '0'}` }, pem)).toBe(false);

      // Confirmed: listed with its ARN, counted; confirming again is idempotent.
      const listed = (await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: arn }))).Subscriptions!;
      expect(listed).toEqual([{ SubscriptionArn: subscriptionArn, Owner: ACCOUNT, Protocol: 'http', Endpoint: rx.url, TopicArn: arn }]);
      expect((await sns.send(new ConfirmSubscriptionCommand({ TopicArn: arn, Token: body.Token }))).SubscriptionArn).toBe(subscriptionArn);
      expect((await sns.send(new GetTopicAttributesCommand({ TopicArn: arn }))).Attributes).toMatchObject({ SubscriptionsConfirmed: '1', SubscriptionsPending: '0' });
      // The same endpoint subscribed again is the same subscription.
      expect((await sns.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'http', Endpoint: rx.url }))).SubscriptionArn).toBe(subscriptionArn);
      expect((await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: arn }))).Subscriptions).toHaveLength(1);
    });

    it('keeps a subscription pending until confirmed with the token (ConfirmSubscription API)', async () => {
      const arn = await topic('pending');
      const rx = await receiver({ autoConfirm: false });
      expect((await sns.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'http', Endpoint: rx.url }))).SubscriptionArn).toBe('pending confirmation');
      await rx.waitFor((ms) => ms.some((m) => m.type === 'SubscriptionConfirmation' && m.verified));
      const listed = (await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: arn }))).Subscriptions!;
      expect(listed).toEqual([{ SubscriptionArn: 'PendingConfirmation', Owner: ACCOUNT, Protocol: 'http', Endpoint: rx.url, TopicArn: arn }]);
      expect((await sns.send(new GetTopicAttributesCommand({ TopicArn: arn }))).Attributes).toMatchObject({ SubscriptionsConfirmed: '0', SubscriptionsPending: '1' });
      const all = (await sns.send(new ListSubscriptionsCommand({}))).Subscriptions!;
      expect(all.filter((s) => s.TopicArn === arn).map((s) => s.SubscriptionArn)).toEqual(['PendingConfirmation']);

      // A pending subscription gets nothing.
      await sns.send(new PublishCommand({ TopicArn: arn, Message: 'not yet' }));
      await drained();
      expect(ofType(rx, 'Notification')).toEqual([]);

      // ReturnSubscriptionArn gives the ARN of the pending subscription (and re-sends its confirmation).
      const returned = (await sns.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'http', Endpoint: rx.url, ReturnSubscriptionArn: true }))).SubscriptionArn!;
      expect(returned).toMatch(SUBSCRIPTION_ARN('pending'));
      await rx.waitFor((ms) => ms.filter((m) => m.type === 'SubscriptionConfirmation').length === 2);
      const tokens = ofType(rx, 'SubscriptionConfirmation').map((m) => m.body.Token as string);
      expect(tokens[1]).toBe(tokens[0]);

      const confirmed = await sns.send(new ConfirmSubscriptionCommand({ TopicArn: arn, Token: tokens[0] }));
      expect(confirmed.SubscriptionArn).toBe(returned);
      expect((await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: arn }))).Subscriptions!.map((s) => s.SubscriptionArn)).toEqual([returned]);
    });

    it('publishes signed Notifications with SNS fields, order and headers; Subject and MessageAttributes only when given', async () => {
      const arn = await topic('notifications');
      const rx = await receiver();
      const subscriptionArn = await subscribeConfirmed(arn, rx);

      const plain = await sns.send(new PublishCommand({ TopicArn: arn, Message: '{"hello":"world"}' }));
      expect(plain.MessageId).toMatch(UUID);
      await rx.waitFor((ms) => ms.some((m) => m.body.MessageId === plain.MessageId));
      const m1 = rx.messages.find((m) => m.body.MessageId === plain.MessageId)!;
      expect(m1.verified).toBe(true);
      expect(Object.keys(m1.body)).toEqual(NOTIFICATION_KEYS);
      expect(m1.body).toMatchObject({
        Type: 'Notification',
        TopicArn: arn,
        Message: '{"hello":"world"}',
        SignatureVersion: '2',
        UnsubscribeURL: `${server.url}/?Action=Unsubscribe&SubscriptionArn=${subscriptionArn}`,
      });
      expect(m1.body.Timestamp).toMatch(TIMESTAMP);
      expect(m1.headers).toMatchObject({
        'x-amz-sns-message-type': 'Notification',
        'x-amz-sns-message-id': plain.MessageId,
        'x-amz-sns-topic-arn': arn,
        'x-amz-sns-subscription-arn': subscriptionArn,
        'content-type': 'text/plain; charset=UTF-8',
        'user-agent': 'Amazon Simple Notification Service Agent',
      });
      expect(m1.headers['x-amz-sns-rawdelivery']).toBeUndefined();

      const rich = await sns.send(
        new PublishCommand({
          TopicArn: arn,
          Message: '{"n":2}',
          Subject: 'Order shipped',
          MessageAttributes: {
            store: { DataType: 'String', StringValue: 'berlin' },
            count: { DataType: 'Number', StringValue: '3' },
            blob: { DataType: 'Binary', BinaryValue: Buffer.from('bytes') },
            tags: { DataType: 'String.Array', StringValue: '["a","b"]' },
          },
        }),
      );
      await rx.waitFor((ms) => ms.some((m) => m.body.MessageId === rich.MessageId));
      const m2 = rx.messages.find((m) => m.body.MessageId === rich.MessageId)!;
      expect(m2.verified).toBe(true);
      expect(Object.keys(m2.body)).toEqual(['Type', 'MessageId', 'TopicArn', 'Subject', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL', 'UnsubscribeURL', 'MessageAttributes']);
      expect(m2.body.Subject).toBe('Order shipped');
      expect(m2.body.MessageAttributes).toEqual({
        store: { Type: 'String', Value: 'berlin' },
        count: { Type: 'Number', Value: '3' },
        blob: { Type: 'Binary', Value: Buffer.from('bytes').toString('base64') },
        tags: { Type: 'String.Array', Value: '["a","b"]' },
      });
      expect(rx.notifications()).toEqual([{ hello: 'world' }, { n: 2 }]);
    });

    it('sends only the message body with RawMessageDelivery=true', async () => {
      const arn = await topic('raw');
      const rx = await receiver();
      const subscriptionArn = await subscribeConfirmed(arn, rx, { RawMessageDelivery: 'true' });
      // The confirmation itself is the usual signed JSON envelope.
      expect(ofType(rx, 'SubscriptionConfirmation')[0]!.verified).toBe(true);
      const out = await sns.send(new PublishCommand({ TopicArn: arn, Message: '{"raw":true}', Subject: 'ignored in raw' }));
      await rx.waitFor((ms) => ms.some((m) => m.headers['x-amz-sns-message-id'] === out.MessageId));
      const m = rx.messages.find((x) => x.headers['x-amz-sns-message-id'] === out.MessageId)!;
      expect(m.body).toEqual({ raw: true });
      expect(m.headers).toMatchObject({
        'x-amz-sns-message-type': 'Notification',
        'x-amz-sns-topic-arn': arn,
        'x-amz-sns-subscription-arn': subscriptionArn,
        'x-amz-sns-rawdelivery': 'true',
        'content-type': 'text/plain; charset=UTF-8',
        'user-agent': 'Amazon Simple Notification Service Agent',
      });
      // A different RawMessageDelivery for the same endpoint is a different subscription request.
      await expectSdkError(
        sns.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'http', Endpoint: rx.url, Attributes: { RawMessageDelivery: 'false' } })),
        'InvalidParameterException',
        400,
        'Invalid parameter: Attributes Reason: Subscription already exists with different attributes',
      );
    });

    it('picks the http key (or default) of a MessageStructure=json message', async () => {
      const arn = await topic('structured');
      const rx = await receiver();
      await subscribeConfirmed(arn, rx);
      const out = await sns.send(
        new PublishCommand({ TopicArn: arn, MessageStructure: 'json', Message: JSON.stringify({ default: '{"for":"default"}', http: '{"for":"http"}', email: 'for email', https: 9 }) }),
      );
      await rx.waitFor((ms) => ms.some((m) => m.body.MessageId === out.MessageId));
      const m = rx.messages.find((x) => x.body.MessageId === out.MessageId)!;
      expect(m.verified).toBe(true);
      expect(m.body.Message).toBe('{"for":"http"}');

      const fallback = await sns.send(new PublishCommand({ TopicArn: arn, MessageStructure: 'json', Message: JSON.stringify({ default: '{"for":"default"}', https: 'for https' }) }));
      await rx.waitFor((ms) => ms.some((x) => x.body.MessageId === fallback.MessageId));
      expect(rx.messages.find((x) => x.body.MessageId === fallback.MessageId)!.body.Message).toBe('{"for":"default"}');
    });

    it('unsubscribes through the API and the UnsubscribeURL: an UnsubscribeConfirmation, then no more notifications', async () => {
      const arn = await topic('leaving');
      const [a, b, stays] = [await receiver(), await receiver(), await receiver()];
      const arnA = await subscribeConfirmed(arn, a);
      const arnB = await subscribeConfirmed(arn, b);
      await subscribeConfirmed(arn, stays);

      const first = await sns.send(new PublishCommand({ TopicArn: arn, Message: '{"seq":1}' }));
      for (const rx of [a, b, stays]) await rx.waitFor((ms) => ms.some((m) => m.body.MessageId === first.MessageId));

      // a: through the API.
      await sns.send(new UnsubscribeCommand({ SubscriptionArn: arnA }));
      await a.waitFor((ms) => ms.some((m) => m.type === 'UnsubscribeConfirmation'));
      const ua = ofType(a, 'UnsubscribeConfirmation')[0]!;
      expect(ua.verified).toBe(true);
      expect(Object.keys(ua.body)).toEqual(CONFIRMATION_KEYS);
      expect(ua.body.Message).toBe(`You have chosen to deactivate subscription ${arnA}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.`);
      expect(ua.headers).toMatchObject({ 'x-amz-sns-message-type': 'UnsubscribeConfirmation', 'x-amz-sns-topic-arn': arn, 'x-amz-sns-subscription-arn': arnA });

      // b: by visiting the UnsubscribeURL of a notification it received, unauthenticated, as on SNS.
      const url = b.messages.find((m) => m.body.MessageId === first.MessageId)!.body.UnsubscribeURL as string;
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^<UnsubscribeResponse xmlns="http:\/\/sns\.amazonaws\.com\/doc\/2010-03-31\/"><ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId><\/ResponseMetadata><\/UnsubscribeResponse>$/);
      await b.waitFor((ms) => ms.some((m) => m.type === 'UnsubscribeConfirmation' && m.verified && m.headers['x-amz-sns-subscription-arn'] === arnB));
      // Unsubscribing again changes nothing and is not an error (as SNS).
      await sns.send(new UnsubscribeCommand({ SubscriptionArn: arnB }));
      expect((await fetch(url)).status).toBe(200);

      const remaining = (await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: arn }))).Subscriptions!;
      expect(remaining.map((s) => s.Endpoint)).toEqual([stays.url]);
      expect((await sns.send(new GetTopicAttributesCommand({ TopicArn: arn }))).Attributes).toMatchObject({ SubscriptionsConfirmed: '1', SubscriptionsDeleted: '2' });

      const second = await sns.send(new PublishCommand({ TopicArn: arn, Message: '{"seq":2}' }));
      await stays.waitFor((ms) => ms.some((m) => m.body.MessageId === second.MessageId));
      await drained();
      for (const rx of [a, b]) {
        expect(rx.notifications()).toEqual([{ seq: 1 }]);
        expect(ofType(rx, 'UnsubscribeConfirmation')).toHaveLength(1);
      }
      expect(stays.notifications()).toEqual([{ seq: 1 }, { seq: 2 }]);
    });

    it('DeleteTopic removes its subscriptions and their pending deliveries', async () => {
      const arn = await topic('doomed');
      const rx = await receiver();
      const subscriptionArn = await subscribeConfirmed(arn, rx);
      // The endpoint fails, so the notification waits in the queue for a retry.
      rx.setStatus(503);
      const out = await sns.send(new PublishCommand({ TopicArn: arn, Message: '{"never":"delivered"}' }));
      await rx.waitFor((ms) => ms.some((m) => m.body.MessageId === out.MessageId));
      expect(await server.instance.storage.webhooks.count()).toBeGreaterThan(0);

      await sns.send(new DeleteTopicCommand({ TopicArn: arn }));
      expect(await server.instance.storage.webhooks.count()).toBe(0);
      expect((await sns.send(new ListSubscriptionsCommand({}))).Subscriptions!.map((s) => s.SubscriptionArn)).not.toContain(subscriptionArn);
      await expectSdkError(sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: arn })), 'NotFoundException', 404, 'Topic does not exist');
      await expectSdkError(sns.send(new PublishCommand({ TopicArn: arn, Message: 'gone' })), 'NotFoundException', 404, 'Topic does not exist');
      // A topic of the same name starts without subscriptions.
      await topic('doomed');
      expect((await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: arn }))).Subscriptions).toEqual([]);
    });

    it('answers bad SubscribeURL and UnsubscribeURL visits in SNS XML', async () => {
      const arn = await topic('links');
      const bad = await fetch(`${server.url}/?Action=ConfirmSubscription&TopicArn=${arn}&Token=${'0'.repeat(256)}`);
      expect(bad.status).toBe(400);
      expect(await bad.text()).toMatch(
        /^<ErrorResponse xmlns="http:\/\/sns\.amazonaws\.com\/doc\/2010-03-31\/"><Error><Type>Sender<\/Type><Code>InvalidParameter<\/Code><Message>Invalid token<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>$/,
      );
      const missing = await fetch(`${server.url}/?Action=ConfirmSubscription&TopicArn=${arnOf('no-such-topic')}&Token=abc`);
      expect(missing.status).toBe(404);
      expect(await missing.text()).toContain('<Code>NotFound</Code><Message>Topic does not exist</Message>');
      const other = await fetch(`${server.url}/?Action=Publish&TopicArn=${arn}&Message=x`);
      expect(other.status).toBe(400);
      expect(await other.text()).toContain('<Code>InvalidAction</Code>');
    });
  });
});
