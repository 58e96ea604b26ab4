/**
 * Event publishing end to end ([events] Done-when 1, 2 and 4): an application creates a topic and
 * subscribes its own HTTP endpoint with `@aws-sdk/client-sns`, confirms through SubscribeURL and
 * checks every signature against the certificate Sesame serves; `@aws-sdk/client-sesv2` points a
 * configuration set's event destinations at the topic, an event bus webhook, CloudWatch-style
 * counters and a Firehose-style stream file. Sends that deliver, bounce (550), defer (451, then
 * 250), fail to render, and are opened and clicked each produce their events once, with SES's
 * field names and types (compared with the developer guide's examples in
 * test/fixtures/ses-event-examples.json), message tags and `ses:configuration-set` in `mail.tags`.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateTopicCommand, SubscribeCommand, type SNSClient } from '@aws-sdk/client-sns';
import {
  CreateConfigurationSetCommand,
  CreateConfigurationSetEventDestinationCommand,
  CreateEmailTemplateCommand,
  SendEmailCommand,
  type EventType,
} from '@aws-sdk/client-sesv2';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { deriveSmtpPassword } from '../../src/lib/smtp-password.ts';
import { dkimVerify, HAVE_DKIMPY } from '../helpers/dkim.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends } from '../helpers/server.ts';
import { startSnsReceiver, type SnsReceiver } from '../helpers/sns-receiver.ts';

const EXAMPLES = JSON.parse(readFileSync(new URL('../fixtures/ses-event-examples.json', import.meta.url), 'utf8')) as Record<string, Record<string, unknown>>;
const ALL_TYPES: EventType[] = ['SEND', 'REJECT', 'BOUNCE', 'COMPLAINT', 'DELIVERY', 'OPEN', 'CLICK', 'RENDERING_FAILURE', 'DELIVERY_DELAY', 'SUBSCRIPTION'];

/** Every field of `reference` is present in `actual` with the same JSON type (recursively; arrays by their first element). */
function sameShape(actual: unknown, reference: unknown, path = '$'): string[] {
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kind(actual) !== kind(reference)) return [`${path}: ${kind(actual)} instead of ${kind(reference)}`];
  if (Array.isArray(reference)) return reference.length > 0 && (actual as unknown[]).length > 0 ? sameShape((actual as unknown[])[0], reference[0], `${path}[0]`) : [];
  if (kind(reference) !== 'object') return [];
  const out: string[] = [];
  // Tag maps (mail.tags, click.linkTags) have the user's own keys: each value is a list of strings.
  if (/\.(tags|linkTags)$/.test(path)) {
    for (const [k, v] of Object.entries(actual as Record<string, unknown>)) if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) out.push(`${path}.${k}: not a list of strings`);
    return out;
  }
  for (const [k, v] of Object.entries(reference as Record<string, unknown>)) {
    if (!(k in (actual as Record<string, unknown>))) out.push(`${path}.${k}: missing`);
    else out.push(...sameShape((actual as Record<string, unknown>)[k], v, `${path}.${k}`));
  }
  return out;
}

/** A plain webhook receiver for the event bus, recording bodies and headers. */
async function startWebhook(): Promise<{ url: string; posts: Array<{ headers: IncomingHttpHeaders; body: string }>; close(): Promise<void> }> {
  const posts: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const srv: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`, posts, close: () => new Promise<void>((resolve) => srv.close(() => resolve())) };
}

describe.each(testBackends())('event publishing (%s)', (backend) => {
  let fixture: SendingFixture;
  let receiver: SnsReceiver;
  let webhook: Awaited<ReturnType<typeof startWebhook>>;
  let busSecret: string;
  let sns: SNSClient;

  beforeAll(async () => {
    // With the worker thread (SQLite's default, ADR 0019): events are published from it, and its counts reach /metrics.
    fixture = await startSendingFixture({ backend, env: { SESAME_RETRY_SCHEDULE: '200ms', SESAME_WEBHOOK_RETRY_SCHEDULE: '200ms', SESAME_WORKER_THREAD: 'true' } });
    const { server } = fixture;
    expect(server.instance.workerThread !== undefined).toBe(backend === 'sqlite');
    receiver = await startSnsReceiver();
    webhook = await startWebhook();
    sns = server.sns();

    // The application's side: a topic, its own endpoint subscribed and confirmed.
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'ses-events' }));
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: receiver.url }));
    await receiver.waitFor(() => receiver.confirmations.length === 1, 10_000);
    expect(receiver.confirmations[0]!.status).toBe(200);

    const bus = await server.instance.core.eventBuses.create(server.instance.config.accountId, 'app-bus', webhook.url);
    busSecret = bus.secret;

    const v2 = server.sesv2();
    await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'tracked' }));
    const dest = (name: string, target: Record<string, unknown>) =>
      v2.send(new CreateConfigurationSetEventDestinationCommand({ ConfigurationSetName: 'tracked', EventDestinationName: name, EventDestination: { Enabled: true, MatchingEventTypes: ALL_TYPES, ...target } }));
    await dest('to-sns', { SnsDestination: { TopicArn } });
    await dest('to-bus', { EventBridgeDestination: { EventBusArn: bus.arn } });
    await dest('to-firehose', { KinesisFirehoseDestination: { DeliveryStreamArn: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/ses-stream', IamRoleArn: 'arn:aws:iam::000000000000:role/firehose' } });
    await dest('to-metrics', {
      CloudWatchDestination: {
        DimensionConfigurations: [
          { DimensionName: 'campaign', DimensionValueSource: 'MESSAGE_TAG', DefaultDimensionValue: 'none' },
          { DimensionName: 'X-Mailer-Kind', DimensionValueSource: 'EMAIL_HEADER', DefaultDimensionValue: 'unknown' },
          { DimensionName: 'linkName', DimensionValueSource: 'LINK_TAG', DefaultDimensionValue: 'no-link' },
        ],
      },
    });
    await v2.send(new CreateEmailTemplateCommand({ TemplateName: 'greeting', TemplateContent: { Subject: 'Hello {{name}}', Text: 'Hi {{name}}' } }));
  }, 60_000);

  afterAll(async () => {
    await receiver?.close();
    await webhook?.close();
    await fixture?.close();
  });

  /** The events of one message as the subscriber received them. */
  const eventsAtSubscriber = (messageId: string) => receiver.notifications().filter((n) => (n.mail as { messageId: string }).messageId === messageId);
  const typesAtSubscriber = (messageId: string) => eventsAtSubscriber(messageId).map((n) => n.eventType as string).sort();

  const send = async (to: string, extra: Record<string, unknown> = {}) => {
    const { MessageId } = await fixture.server.sesv2().send(
      new SendEmailCommand({
        FromEmailAddress: 'Shop <orders@sender.test>',
        Destination: { ToAddresses: [to] },
        ConfigurationSetName: 'tracked',
        EmailTags: [{ Name: 'campaign', Value: 'winter' }],
        Content: {
          Simple: {
            Subject: { Data: 'Your order' },
            Body: {
              Text: { Data: 'Thanks!' },
              Html: { Data: '<html><body><p>Thanks!</p><a href="https://shop.example/orders/1?x=1&amp;y=2" ses:tags="linkName:order;">Order</a> <a ses:no-track href="https://shop.example/help">Help</a></body></html>' },
            },
            Headers: [{ Name: 'X-Mailer-Kind', Value: 'receipt' }],
          },
        },
        ...extra,
      }),
    );
    return MessageId!;
  };

  /** Checks one event against the developer guide's example of its type. */
  const expectSesShape = (event: Record<string, unknown>) => {
    const type = event.eventType as string;
    const reference = { mail: EXAMPLES.mail, ...EXAMPLES[type] };
    expect(sameShape(event, reference), `${type} event differs from SES's example`).toEqual([]);
    const tags = (event.mail as { tags: Record<string, string[]> }).tags;
    expect(tags['ses:configuration-set']).toEqual(['tracked']);
    expect(tags['ses:from-domain']).toEqual(['sender.test']);
  };

  it('publishes Send and Delivery once each, signed, to the subscriber (Done-when 1-2)', async () => {
    const id = await send('ann@dest.test');
    await receiver.waitFor(() => typesAtSubscriber(id).length >= 2, 15_000);
    // Every POST the receiver got carried a valid signature from the served certificate.
    expect(receiver.messages.filter((m) => !m.verified).map((m) => m.error)).toEqual([]);
    expect(typesAtSubscriber(id)).toEqual(['Delivery', 'Send']);
    for (const e of eventsAtSubscriber(id)) {
      expectSesShape(e);
      expect((e.mail as { tags: Record<string, string[]> }).tags.campaign).toEqual(['winter']);
    }
    const n = receiver.messages.find((m) => m.type === 'Notification')!;
    expect(n.headers['x-amz-sns-message-type']).toBe('Notification');
    expect(n.body.SignatureVersion).toBe('2');
  });

  it('a 550 produces one Bounce; a 451 then 250 one DeliveryDelay then one Delivery', async () => {
    fixture.sink.rcptReplies.set('gone@dest.test', { code: 550, message: '5.1.1 user unknown' });
    fixture.sink.rcptReplies.set('slow@dest.test', [{ code: 451, message: '4.3.0 try again later' }]);
    const bounced = await send('gone@dest.test');
    const deferred = await send('slow@dest.test');
    await receiver.waitFor(() => typesAtSubscriber(bounced).length >= 2 && typesAtSubscriber(deferred).length >= 3, 20_000);
    expect(typesAtSubscriber(bounced)).toEqual(['Bounce', 'Send']);
    expect(typesAtSubscriber(deferred)).toEqual(['Delivery', 'DeliveryDelay', 'Send']);
    const bounce = eventsAtSubscriber(bounced).find((e) => e.eventType === 'Bounce')!;
    expectSesShape(bounce);
    expect(bounce.bounce).toMatchObject({ bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: 'gone@dest.test', status: '5.1.1' }] });
    const delay = eventsAtSubscriber(deferred).find((e) => e.eventType === 'DeliveryDelay')!;
    expectSesShape(delay);
    expect(delay.deliveryDelay).toMatchObject({ delayedRecipients: [{ emailAddress: 'slow@dest.test' }] });
  });

  it('a template that cannot render produces one Rendering Failure and nothing else', async () => {
    const { MessageId } = await fixture.server.sesv2().send(
      new SendEmailCommand({
        FromEmailAddress: 'orders@sender.test',
        Destination: { ToAddresses: ['ann@dest.test'] },
        ConfigurationSetName: 'tracked',
        Content: { Template: { TemplateName: 'greeting', TemplateData: '{}' } },
      }),
    );
    await receiver.waitFor(() => typesAtSubscriber(MessageId!).length >= 1, 10_000);
    expect(typesAtSubscriber(MessageId!)).toEqual(['Rendering Failure']);
    const e = eventsAtSubscriber(MessageId!)[0]!;
    expectSesShape(e);
    expect(e.failure).toMatchObject({ templateName: 'greeting' });
  });

  it('opening (the pixel) and clicking (a rewritten link) produce one Open and one Click with IP, user agent, link and tags', async () => {
    const id = await send('reader@dest.test');
    await fixture.sink.waitFor(() => fixture.sink.to('reader@dest.test').length > 0);
    const mail = await simpleParser(fixture.sink.to('reader@dest.test')[0]!.raw);
    const html = String(mail.html);
    const pixel = /<img src="([^"]+\/t\/o\/[^"]+)"/.exec(html)?.[1];
    const links = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    expect(pixel).toBeDefined();
    // The tracked link points at Sesame; the ses:no-track link is left alone and loses its attribute.
    expect(links).toHaveLength(2);
    expect(links[0]!.startsWith(`${fixture.server.url}/t/c/${id}/0/`)).toBe(true);
    expect(links[1]).toBe('https://shop.example/help');
    expect(html).not.toContain('ses:no-track');
    expect(html).not.toContain('ses:tags');

    const ua = 'Mozilla/5.0 (Sesame test reader)';
    const p = await fetch(pixel!, { headers: { 'user-agent': ua } });
    expect(p.status).toBe(200);
    expect(p.headers.get('content-type')).toBe('image/gif');
    const c = await fetch(links[0]!, { headers: { 'user-agent': ua }, redirect: 'manual' });
    expect(c.status).toBe(302);
    expect(c.headers.get('location')).toBe('https://shop.example/orders/1?x=1&y=2');
    // A forged click URL is refused and records nothing.
    expect((await fetch(links[0]!.replace(/\/[^/]+$/, '/AAAAAAAAAAAAAAAAAAAAAA'), { redirect: 'manual' })).status).toBe(404);

    await receiver.waitFor(() => typesAtSubscriber(id).length >= 4, 15_000);
    expect(typesAtSubscriber(id)).toEqual(['Click', 'Delivery', 'Open', 'Send']);
    const open = eventsAtSubscriber(id).find((e) => e.eventType === 'Open')!;
    const click = eventsAtSubscriber(id).find((e) => e.eventType === 'Click')!;
    expectSesShape(open);
    expectSesShape(click);
    expect(open.open).toMatchObject({ ipAddress: '127.0.0.1', userAgent: ua });
    expect(click.click).toMatchObject({ ipAddress: '127.0.0.1', userAgent: ua, link: 'https://shop.example/orders/1?x=1&y=2', linkTags: { linkName: ['order'] } });
  });

  it('tracks a raw message sent over SMTP with X-SES-CONFIGURATION-SET, and its DKIM signature still verifies', async () => {
    const { server, sink } = fixture;
    const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: server.smtpPort, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: server.accessKeyId, pass: deriveSmtpPassword(server.secretAccessKey, 'us-east-1') } });
    const info = await smtp.sendMail({
      from: 'orders@sender.test',
      to: 'smtp-reader@dest.test',
      subject: 'Over SMTP',
      text: 'See https://shop.example/smtp',
      html: '<p>See <a href="https://shop.example/smtp" ses:tags="linkName:smtp">the shop</a></p>',
      headers: { 'X-SES-CONFIGURATION-SET': 'tracked', 'X-SES-MESSAGE-TAGS': 'campaign=smtp' },
    });
    smtp.close();
    const id = /^250 Ok (\S+)/.exec(info.response)![1]!;
    await sink.waitFor(() => sink.to('smtp-reader@dest.test').length > 0);
    const raw = sink.to('smtp-reader@dest.test')[0]!.raw;
    const mail = await simpleParser(raw);
    const html = String(mail.html);
    expect(html).toMatch(new RegExp(`href="${server.url}/t/c/${id}/0/[A-Za-z0-9_-]{22}"`));
    expect(html).toMatch(new RegExp(`<img src="${server.url}/t/o/${id}/[A-Za-z0-9_-]{22}\\.gif"`));
    // The text part is not rewritten.
    expect(mail.text?.trim()).toBe('See https://shop.example/smtp');
    if (HAVE_DKIMPY) expect(await dkimVerify(server, 'sender.test', raw)).toContain('pass');
    const link = /href="([^"]+)"/.exec(html)![1]!;
    const c = await fetch(link, { redirect: 'manual' });
    expect(c.headers.get('location')).toBe('https://shop.example/smtp');
    await receiver.waitFor(() => typesAtSubscriber(id).includes('Click'), 15_000);
    const click = eventsAtSubscriber(id).find((e) => e.eventType === 'Click')!;
    expect(click.click).toMatchObject({ link: 'https://shop.example/smtp', linkTags: { linkName: ['smtp'] } });
    expect((click.mail as { tags: Record<string, string[]> }).tags).toMatchObject({ campaign: ['smtp'], 'ses:configuration-set': ['tracked'] });
  });

  it('the event bus webhook, the Firehose stream file and /metrics each got every event (Done-when 4)', async () => {
    const server = fixture.server;
    const expected = receiver.notifications().length;
    // Send+Delivery, Send+Bounce, Send+DeliveryDelay+Delivery, Rendering Failure, Send+Delivery+Open+Click, Send+Delivery+Click (SMTP).
    expect(expected).toBe(15);
    // The event bus: EventBridge's envelope, one per event, each signed with the bus secret.
    await eventually(async () => webhook.posts.length >= expected, 15_000, 'event bus posts');
    for (const p of webhook.posts) {
      const sig = createHmac('sha256', busSecret).update(`${String(p.headers['x-sesame-timestamp'])}.${p.body}`).digest('hex');
      expect(p.headers['x-sesame-signature']).toBe(`v1=${sig}`);
      const env = JSON.parse(p.body) as Record<string, unknown>;
      expect(env).toMatchObject({ version: '0', source: 'aws.ses', account: server.instance.config.accountId, region: 'us-east-1' });
      expect(env['detail-type']).toMatch(/^Email /);
    }
    expect(webhook.posts.length).toBe(expected);
    // The stream file: one JSON line per event.
    const file = join(server.dataDir, 'firehose', 'ses-stream.ndjson');
    await eventually(async () => readFileSync(file, 'utf8').trim().split('\n').length >= expected, 10_000, 'stream lines');
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { eventType: string; mail: { messageId: string } });
    expect(lines).toHaveLength(expected);
    const key = (e: { eventType: unknown; mail: unknown }) => `${String(e.eventType)}/${(e.mail as { messageId: string }).messageId}`;
    expect(lines.map(key).sort()).toEqual(receiver.notifications().map((n) => key(n as { eventType: unknown; mail: unknown })).sort());
    // /metrics: counters per event type with the configured dimensions (defaults where the event has no value).
    // The worker thread (ADR 0019) hands its counts to main a quarter of a second after they change.
    let metrics = '';
    await eventually(async () => {
      metrics = await (await fetch(`${server.url}/metrics`)).text();
      return count('Send') + count('Delivery') + count('Bounce') + count('Click') >= lines.filter((l) => ['Send', 'Delivery', 'Bounce', 'Click'].includes(l.eventType)).length;
    }, 5_000, 'the counts in /metrics');
    function count(type: string) {
      return [...metrics.matchAll(new RegExp(`^sesame_ses_events_total\\{([^}]*event_type="${type}"[^}]*)\\} (\\d+)$`, 'gm'))].reduce((n, m) => n + Number(m[2]), 0);
    }
    expect(count('Send')).toBe(lines.filter((l) => l.eventType === 'Send').length);
    expect(count('Delivery')).toBe(lines.filter((l) => l.eventType === 'Delivery').length);
    expect(count('Bounce')).toBe(1);
    expect(count('Click')).toBe(2);
    expect(metrics).toMatch(/sesame_ses_events_total\{configuration_set="tracked",destination="to-metrics",event_type="Click",campaign="winter",X_Mailer_Kind="receipt",linkName="order"\} 1/);
    expect(metrics).toMatch(/sesame_ses_events_total\{configuration_set="tracked",destination="to-metrics",event_type="RenderingFailure",campaign="none",X_Mailer_Kind="unknown",linkName="no-link"\} 1/);
  });
});
