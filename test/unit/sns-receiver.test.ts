// Self-test of test/helpers/sns-receiver.ts: signed, tampered and mislabelled deliveries, subscription
// confirmation, certificate caching, loopback-only fetching, failure status and restart on the same port.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSelfSignedCertificate } from '../../src/lib/self-signed-certificate.ts';
import { signSnsMessage } from '../../src/lib/sns-signature.ts';
import { startSnsReceiver, type SnsReceiver } from '../helpers/sns-receiver.ts';

/** The signing key and the self-signed RSA certificate served at SigningCertURL. */
let privateKeyPem: string;
let certificatePem: string;
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:events';

/** The tiny server standing in for SNS's certificate and confirmation endpoints. */
let tiny: Server;
let tinyUrl: string;
const tinyRequests: string[] = [];

beforeAll(async () => {
  ({ key: privateKeyPem, cert: certificatePem } = await createSelfSignedCertificate('127.0.0.1', { keyType: 'rsa' }));
  tiny = createServer((req, res) => {
    tinyRequests.push(`${req.method} ${req.url}`);
    if (req.url === '/cert.pem') res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(certificatePem);
    else if (req.url?.startsWith('/confirm')) res.writeHead(200, { 'content-type': 'text/xml' }).end('<ConfirmSubscriptionResponse/>');
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => tiny.listen(0, '127.0.0.1', resolve));
  tinyUrl = `http://127.0.0.1:${(tiny.address() as AddressInfo).port}`;
});

afterAll(async () => {
  tiny.closeAllConnections();
  await new Promise((resolve) => tiny.close(resolve));
});

let counter = 0;
function notification(message: unknown, extra: Record<string, string> = {}): Record<string, string> {
  const m: Record<string, string> = {
    Type: 'Notification',
    MessageId: `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`,
    TopicArn: TOPIC,
    Message: JSON.stringify(message),
    Timestamp: new Date().toISOString(),
    SignatureVersion: '2',
    SigningCertURL: `${tinyUrl}/cert.pem`,
    UnsubscribeURL: `${tinyUrl}/unsubscribe`,
    ...extra,
  };
  return { ...m, Signature: signSnsMessage(m, privateKeyPem) };
}

/** POSTs `body` as SNS does (JSON in a text/plain body, message type in a header). */
async function deliver(receiver: SnsReceiver, body: Record<string, string>, type = body.Type): Promise<number> {
  const res = await fetch(receiver.url, {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': type ?? '', 'x-amz-sns-message-id': body.MessageId ?? '' },
    body: JSON.stringify(body),
  });
  await res.text();
  return res.status;
}

describe('SNS receiver', () => {
  it('verifies a signed Notification and rejects a tampered one', async () => {
    await using receiver = await startSnsReceiver();
    expect(receiver.url).toBe(`http://127.0.0.1:${receiver.port}/`);
    const good = notification({ eventType: 'Delivery', mail: { messageId: 'a' } });
    expect(await deliver(receiver, good)).toBe(200);
    const tampered = { ...notification({ eventType: 'Open' }), Message: JSON.stringify({ eventType: 'Click' }) };
    expect(await deliver(receiver, tampered)).toBe(200);

    expect(receiver.messages.map((m) => [m.type, m.verified])).toEqual([
      ['Notification', true],
      ['Notification', false],
    ]);
    expect(receiver.messages[0]!.body).toEqual(good);
    expect(receiver.messages[0]!.headers['x-amz-sns-message-id']).toBe(good.MessageId);
    expect(receiver.messages[0]!.receivedAt).toBeInstanceOf(Date);
    expect(receiver.messages[1]!.error).toBe('signature does not verify');
    // Only verified notifications count.
    expect(receiver.notifications()).toEqual([{ eventType: 'Delivery', mail: { messageId: 'a' } }]);
  });

  it('fetches each certificate URL once', async () => {
    await using receiver = await startSnsReceiver();
    const before = tinyRequests.filter((r) => r === 'GET /cert.pem').length;
    await deliver(receiver, notification({ n: 1 }));
    await deliver(receiver, notification({ n: 2 }));
    expect(receiver.notifications()).toEqual([{ n: 1 }, { n: 2 }]);
    expect(tinyRequests.filter((r) => r === 'GET /cert.pem').length - before).toBe(1);
  });

  it('confirms a SubscriptionConfirmation by visiting its SubscribeURL before answering', async () => {
    await using receiver = await startSnsReceiver();
    const m: Record<string, string> = {
      Type: 'SubscriptionConfirmation',
      MessageId: '11111111-0000-4000-8000-000000000001',
      Token: 'tok123',
      TopicArn: TOPIC,
      Message: `You have chosen to subscribe to the topic ${TOPIC}.`,
      SubscribeURL: `${tinyUrl}/confirm?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=tok123`,
      Timestamp: new Date().toISOString(),
      SignatureVersion: '2',
      SigningCertURL: `${tinyUrl}/cert.pem`,
    };
    expect(await deliver(receiver, { ...m, Signature: signSnsMessage(m, privateKeyPem) })).toBe(200);
    expect(receiver.messages.map((r) => [r.type, r.verified])).toEqual([['SubscriptionConfirmation', true]]);
    expect(receiver.confirmations).toEqual([{ url: m.SubscribeURL, status: 200, body: '<ConfirmSubscriptionResponse/>' }]);
    expect(tinyRequests).toContain(`GET /confirm?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=tok123`);
    expect(receiver.notifications()).toEqual([]);
  });

  it('does not confirm an unverified confirmation, nor any when autoConfirm is off', async () => {
    const m: Record<string, string> = {
      Type: 'SubscriptionConfirmation',
      MessageId: '11111111-0000-4000-8000-000000000002',
      Token: 'tok456',
      TopicArn: TOPIC,
      Message: 'subscribe?',
      SubscribeURL: `${tinyUrl}/confirm?Token=tok456`,
      Timestamp: new Date().toISOString(),
      SignatureVersion: '2',
      SigningCertURL: `${tinyUrl}/cert.pem`,
    };
    const signed = { ...m, Signature: signSnsMessage(m, privateKeyPem) };
    {
      await using receiver = await startSnsReceiver();
      await deliver(receiver, { ...signed, Token: 'forged' });
      expect(receiver.messages[0]!.verified).toBe(false);
      expect(receiver.confirmations).toEqual([]);
    }
    {
      await using receiver = await startSnsReceiver({ autoConfirm: false });
      await deliver(receiver, signed);
      expect(receiver.messages[0]!.verified).toBe(true);
      expect(receiver.confirmations).toEqual([]);
    }
    expect(tinyRequests.filter((r) => r.includes('tok456'))).toEqual([]);
  });

  it('rejects a message whose x-amz-sns-message-type header differs from its Type', async () => {
    await using receiver = await startSnsReceiver();
    await deliver(receiver, notification({ n: 1 }), 'SubscriptionConfirmation');
    expect(receiver.messages[0]!.verified).toBe(false);
    expect(receiver.messages[0]!.error).toMatch(/x-amz-sns-message-type/);
  });

  it('refuses to fetch a certificate or SubscribeURL from a host that is not loopback', async () => {
    await using receiver = await startSnsReceiver();
    await deliver(receiver, notification({ n: 1 }, { SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem' }));
    expect(receiver.messages[0]!.verified).toBe(false);
    expect(receiver.messages[0]!.error).toMatch(/^refusing SigningCertURL https:\/\/sns\.us-east-1\.amazonaws\.com\//);

    const m: Record<string, string> = {
      Type: 'SubscriptionConfirmation',
      MessageId: '11111111-0000-4000-8000-000000000003',
      Token: 't',
      TopicArn: TOPIC,
      Message: 'subscribe?',
      SubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t',
      Timestamp: new Date().toISOString(),
      SignatureVersion: '2',
      SigningCertURL: `${tinyUrl}/cert.pem`,
    };
    await deliver(receiver, { ...m, Signature: signSnsMessage(m, privateKeyPem) });
    expect(receiver.messages[1]!.verified).toBe(true);
    expect(receiver.messages[1]!.error).toMatch(/^confirmation failed: refusing SubscribeURL/);
    expect(receiver.confirmations).toEqual([]);
  });

  it('records bodies that are not JSON as unverified', async () => {
    await using receiver = await startSnsReceiver();
    const res = await fetch(receiver.url, { method: 'POST', headers: { 'x-amz-sns-message-type': 'Notification' }, body: 'not json' });
    expect(res.status).toBe(200);
    expect(receiver.messages).toHaveLength(1);
    expect(receiver.messages[0]).toMatchObject({ type: '', body: {}, verified: false });
  });

  it('answers with the status set by setStatus', async () => {
    await using receiver = await startSnsReceiver();
    receiver.setStatus(500);
    expect(await deliver(receiver, notification({ n: 1 }))).toBe(500);
    receiver.setStatus(200);
    expect(await deliver(receiver, notification({ n: 2 }))).toBe(200);
    // Recorded either way: the failure status is about what the sender sees.
    expect(receiver.messages.map((m) => m.verified)).toEqual([true, true]);
  });

  it('can stop and listen again on the same port', async () => {
    const first = await startSnsReceiver();
    const port = first.port;
    await deliver(first, notification({ n: 1 }));
    await first.close();
    await expect(deliver(first, notification({ n: 2 }))).rejects.toThrow();
    await using second = await startSnsReceiver({ port });
    expect(second.url).toBe(first.url);
    await deliver(second, notification({ n: 3 }));
    expect(second.notifications()).toEqual([{ n: 3 }]);
  });

  it('waitFor resolves when the condition holds and otherwise says what arrived', async () => {
    await using receiver = await startSnsReceiver();
    const waiting = receiver.waitFor((msgs) => msgs.some((m) => m.verified), 2_000);
    await deliver(receiver, notification({ n: 1 }));
    await waiting;
    await deliver(receiver, { ...notification({ n: 2 }), Subject: 'forged' });
    const err = await receiver.waitFor((msgs) => msgs.length > 5, 100).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/condition not met within 100 ms; 2 messages arrived:/);
    expect(err!.message).toMatch(/#1 Notification \S+ verified=false \(signature does not verify\) \{"n":2\}/);
  });
});
