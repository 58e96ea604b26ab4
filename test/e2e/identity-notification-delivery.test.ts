/**
 * What identity notifications deliver: with `SetIdentityNotificationTopic`, a bounce and a delivery
 * reach the topic's subscriber in SES's notification shape (`notificationType`, a `mail` without
 * tags, headers only when enabled); with no bounce topic, the bounce is forwarded by email to the
 * sender (feedback forwarding, on by default), and not when a topic takes it. A send without a
 * configuration set uses the identity's default set (PutEmailIdentityConfigurationSetAttributes),
 * whose name is then in `mail.tags`.
 */
import { SetIdentityHeadersInNotificationsEnabledCommand, SetIdentityNotificationTopicCommand } from '@aws-sdk/client-ses';
import { CreateConfigurationSetCommand, CreateConfigurationSetEventDestinationCommand, PutEmailIdentityConfigurationSetAttributesCommand, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { CreateTopicCommand, SubscribeCommand, type SNSClient } from '@aws-sdk/client-sns';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { routeToSink } from '../helpers/identities.ts';
import { testBackends } from '../helpers/server.ts';
import { startSnsReceiver, type SnsReceiver } from '../helpers/sns-receiver.ts';

describe.each(testBackends())('identity notifications delivered (%s)', (backend) => {
  let fixture: SendingFixture;
  let receiver: SnsReceiver;
  let sns: SNSClient;
  let topicArn: string;

  beforeAll(async () => {
    fixture = await startSendingFixture({ backend, senders: ['sender.test', 'quiet.test'], env: { SESAME_RETRY_SCHEDULE: '200ms' } });
    // The senders' own mailboxes are at the sink too, for forwarded feedback.
    routeToSink(fixture.dns, 'sender.test');
    routeToSink(fixture.dns, 'quiet.test');
    const { server } = fixture;
    receiver = await startSnsReceiver();
    sns = server.sns();
    topicArn = (await sns.send(new CreateTopicCommand({ Name: 'feedback' }))).TopicArn!;
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'http', Endpoint: receiver.url }));
    await receiver.waitFor(() => receiver.confirmations.length === 1, 10_000);
  }, 60_000);
  afterAll(async () => {
    await receiver?.close();
    await fixture?.close();
  });

  const send = async (from: string, to: string) =>
    (await fixture.server.sesv2().send(new SendEmailCommand({ FromEmailAddress: from, Destination: { ToAddresses: [to] }, Content: { Simple: { Subject: { Data: 'Hello there' }, Body: { Text: { Data: 'Hi' } } } } })))
      .MessageId!;
  const notificationsOf = (id: string) => receiver.notifications().filter((n) => (n.mail as { messageId: string }).messageId === id);

  it('bounce and delivery notifications reach the topic in SES notification shape', async () => {
    const v1 = fixture.server.ses();
    await v1.send(new SetIdentityNotificationTopicCommand({ Identity: 'sender.test', NotificationType: 'Bounce', SnsTopic: topicArn }));
    await v1.send(new SetIdentityNotificationTopicCommand({ Identity: 'sender.test', NotificationType: 'Delivery', SnsTopic: topicArn }));
    await v1.send(new SetIdentityHeadersInNotificationsEnabledCommand({ Identity: 'sender.test', NotificationType: 'Bounce', Enabled: true }));
    fixture.sink.rcptReplies.set('nobody@dest.test', { code: 550, message: '5.1.1 no such user' });
    const bounced = await send('shop@sender.test', 'nobody@dest.test');
    const delivered = await send('shop@sender.test', 'ann@dest.test');
    await receiver.waitFor(() => notificationsOf(bounced).length >= 1 && notificationsOf(delivered).length >= 1, 15_000);
    const [b] = notificationsOf(bounced);
    expect(b!.notificationType).toBe('Bounce');
    expect(b!.eventType).toBeUndefined();
    expect(b!.bounce).toMatchObject({ bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: 'nobody@dest.test' }] });
    expect(b!.mail).toMatchObject({ messageId: bounced, source: 'shop@sender.test', destination: ['nobody@dest.test'], commonHeaders: { subject: 'Hello there' } });
    expect((b!.mail as Record<string, unknown>).tags).toBeUndefined();
    const [d] = notificationsOf(delivered);
    expect(d!.notificationType).toBe('Delivery');
    // Headers were enabled for bounces only.
    expect((d!.mail as Record<string, unknown>).headers).toBeUndefined();
    expect(d!.delivery).toMatchObject({ recipients: ['ann@dest.test'] });
    // A topic takes the bounce: nothing is forwarded by email.
    expect(fixture.sink.to('shop@sender.test')).toHaveLength(0);
  });

  it('without a bounce topic the bounce is forwarded to the sender by email', async () => {
    fixture.sink.rcptReplies.set('gone@dest.test', { code: 550, message: '5.1.1 gone' });
    const id = await send('Quiet Shop <orders@quiet.test>', 'gone@dest.test');
    await fixture.sink.waitFor(() => fixture.sink.to('orders@quiet.test').length > 0, 15_000);
    const mail = await simpleParser(fixture.sink.to('orders@quiet.test')[0]!.raw);
    expect(mail.subject).toBe('Delivery Status Notification (Failure)');
    expect(mail.text).toContain('gone@dest.test');
    expect(mail.text).toContain(id);
  });

  it("a send without a set uses the identity's default configuration set", async () => {
    const v2 = fixture.server.sesv2();
    await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'house-default' }));
    await v2.send(
      new CreateConfigurationSetEventDestinationCommand({
        ConfigurationSetName: 'house-default',
        EventDestinationName: 'sns',
        EventDestination: { Enabled: true, MatchingEventTypes: ['SEND'], SnsDestination: { TopicArn: topicArn } },
      }),
    );
    await v2.send(new PutEmailIdentityConfigurationSetAttributesCommand({ EmailIdentity: 'quiet.test', ConfigurationSetName: 'house-default' }));
    const id = await send('orders@quiet.test', 'ann@dest.test');
    await receiver.waitFor(() => notificationsOf(id).some((n) => n.eventType === 'Send'), 15_000);
    const send0 = notificationsOf(id).find((n) => n.eventType === 'Send')!;
    expect((send0.mail as { tags: Record<string, string[]> }).tags['ses:configuration-set']).toEqual(['house-default']);
  });
});
