// Verifies src/lib/sns-signature.ts: the string to sign against the SNS Developer Guide's examples,
// a sign/verify round trip with a fresh RSA key, tampering, and real messages signed by Amazon SNS
// (SignatureVersion 1 and 2) with Amazon's own signing certificate.
import { describe, expect, it } from 'vitest';
import { createSign, generateKeyPairSync } from 'node:crypto';
import { signSnsMessage, snsStringToSign, verifySnsMessage } from '../../src/lib/sns-signature.ts';
import { createSelfSignedCertificate } from '../../src/lib/self-signed-certificate.ts';

// A bare RSA key pair for most cases (verifySnsMessage takes a public key PEM as well as a
// certificate); the certificate path is covered by our own self-signed RSA certificate and by
// Amazon's real one below.
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicKeyPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherPublicKeyPem = other.publicKey.export({ type: 'spki', format: 'pem' }).toString();

const notification = {
  Type: 'Notification',
  MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
  TopicArn: 'arn:aws:sns:us-west-2:123456789012:MyTopic',
  Subject: 'My First Message',
  Message: 'Hello world!\nsecond line',
  Timestamp: '2012-05-02T00:54:06.655Z',
  SignatureVersion: '2',
  SigningCertURL: 'https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem',
  UnsubscribeURL: 'https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0',
};

function signed(m: Record<string, string | undefined>): Record<string, string | undefined> {
  return { ...m, Signature: signSnsMessage(m, privateKeyPem) };
}

describe('snsStringToSign', () => {
  it('builds the Notification string of the SNS Developer Guide example', () => {
    const m = {
      Type: 'Notification',
      MessageId: '4d4dc071-ddbf-465d-bba8-08f81c89da64',
      TopicArn: 'arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P',
      Subject: 'My subject',
      Message: 'My Test Message',
      Timestamp: '2019-01-31T04:37:04.321Z',
      SignatureVersion: '1',
      Signature: 'ignored',
      UnsubscribeURL: 'https://example.invalid/ignored',
    };
    expect(snsStringToSign(m)).toBe(
      'Message\nMy Test Message\n' +
        'MessageId\n4d4dc071-ddbf-465d-bba8-08f81c89da64\n' +
        'Subject\nMy subject\n' +
        'Timestamp\n2019-01-31T04:37:04.321Z\n' +
        'TopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\n' +
        'Type\nNotification\n',
    );
  });

  it('builds the SubscriptionConfirmation string of the SNS Developer Guide example', () => {
    const m = {
      Type: 'SubscriptionConfirmation',
      MessageId: '3d891288-136d-417f-bc05-901c108273ee',
      Token: '233...',
      TopicArn: 'arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P',
      Message: 'My Test Message',
      SubscribeURL:
        'https://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P&Token=233...',
      Timestamp: '2019-01-31T19:25:13.719Z',
      SignatureVersion: '1',
    };
    expect(snsStringToSign(m)).toBe(
      'Message\nMy Test Message\n' +
        'MessageId\n3d891288-136d-417f-bc05-901c108273ee\n' +
        'SubscribeURL\nhttps://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P&Token=233...\n' +
        'Timestamp\n2019-01-31T19:25:13.719Z\n' +
        'Token\n233...\n' +
        'TopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\n' +
        'Type\nSubscriptionConfirmation\n',
    );
  });

  it('uses the confirmation names for an UnsubscribeConfirmation too', () => {
    const m = { Type: 'UnsubscribeConfirmation', MessageId: 'id', Token: 't', TopicArn: 'arn', Message: 'm', SubscribeURL: 'u', Timestamp: 'ts' };
    expect(snsStringToSign(m)).toBe('Message\nm\nMessageId\nid\nSubscribeURL\nu\nTimestamp\nts\nToken\nt\nTopicArn\narn\nType\nUnsubscribeConfirmation\n');
  });

  it('leaves Subject out of a Notification that has none', () => {
    const { Subject: _, ...m } = notification;
    const s = snsStringToSign(m);
    expect(s).not.toContain('Subject');
    expect(s).toBe(
      'Message\nHello world!\nsecond line\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nTimestamp\n2012-05-02T00:54:06.655Z\n' +
        'TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n',
    );
  });

  it('throws on an unknown Type or a missing required name', () => {
    expect(() => snsStringToSign({ ...notification, Type: 'Other' })).toThrow(/type/);
    expect(() => snsStringToSign({ ...notification, TopicArn: undefined })).toThrow(/TopicArn/);
    expect(() => snsStringToSign({ ...notification, Type: 'SubscriptionConfirmation' })).toThrow(/SubscribeURL/);
  });
});

describe('signSnsMessage and verifySnsMessage', () => {
  it('verifies a message it signed (SignatureVersion 2) with the public key', () => {
    const m = signed(notification);
    expect(m.Signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(m.Signature!, 'base64')).toHaveLength(256);
    expect(verifySnsMessage(m, publicKeyPem)).toBe(true);
  });

  it('verifies with a self-signed RSA certificate, as subscribers fetch it from SigningCertURL', async () => {
    const pair = await createSelfSignedCertificate('sns.localhost', { keyType: 'rsa' });
    expect(pair.cert).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    const m = { ...notification, Signature: signSnsMessage(notification, pair.key) };
    expect(verifySnsMessage(m, pair.cert)).toBe(true);
    expect(verifySnsMessage({ ...m, Message: 'tampered' }, pair.cert)).toBe(false);
    expect(verifySnsMessage(signed(notification), pair.cert)).toBe(false);
  });

  it('signs SHA256withRSA over the string to sign', () => {
    const expected = createSign('RSA-SHA256').update(snsStringToSign(notification)).sign(privateKeyPem, 'base64');
    expect(signSnsMessage(notification, privateKeyPem)).toBe(expected);
  });

  it('verifies a Notification without Subject and a SubscriptionConfirmation', () => {
    const { Subject: _, ...noSubject } = notification;
    expect(verifySnsMessage(signed(noSubject), publicKeyPem)).toBe(true);
    const confirmation = {
      Type: 'SubscriptionConfirmation',
      MessageId: 'f3f2fc87-c426-4c2f-9044-b55890c0939c',
      Token: 'tok',
      TopicArn: notification.TopicArn,
      Message: 'You have chosen to subscribe.',
      SubscribeURL: 'http://127.0.0.1:1/?Action=ConfirmSubscription&Token=tok',
      Timestamp: notification.Timestamp,
      SignatureVersion: '2',
    };
    expect(verifySnsMessage(signed(confirmation), publicKeyPem)).toBe(true);
    expect(verifySnsMessage({ ...signed(confirmation), Token: 'other' }, publicKeyPem)).toBe(false);
  });

  it('ignores fields outside the string to sign', () => {
    const m = signed(notification);
    expect(verifySnsMessage({ ...m, UnsubscribeURL: 'http://elsewhere.invalid/' }, publicKeyPem)).toBe(true);
  });

  it('rejects a tampered Message or Subject, a removed or added Subject, and another key', () => {
    const m = signed(notification);
    expect(verifySnsMessage({ ...m, Message: 'Hello world?\nsecond line' }, publicKeyPem)).toBe(false);
    expect(verifySnsMessage({ ...m, Subject: 'My First Message!' }, publicKeyPem)).toBe(false);
    const { Subject: _, ...withoutSubject } = m;
    expect(verifySnsMessage(withoutSubject, publicKeyPem)).toBe(false);
    const { Subject: __, ...noSubject } = notification;
    expect(verifySnsMessage({ ...signed(noSubject), Subject: 'added' }, publicKeyPem)).toBe(false);
    expect(verifySnsMessage(m, otherPublicKeyPem)).toBe(false);
  });

  it('accepts SignatureVersion 1 (SHA1withRSA) and rejects any other version', () => {
    const v1 = { ...notification, SignatureVersion: '1' };
    const sha1 = createSign('RSA-SHA1').update(snsStringToSign(v1)).sign(privateKeyPem, 'base64');
    expect(verifySnsMessage({ ...v1, Signature: sha1 }, publicKeyPem)).toBe(true);
    // A SHA256 signature announced as version 1 (and the reverse) must not verify.
    expect(verifySnsMessage({ ...v1, Signature: signSnsMessage(notification, privateKeyPem) }, publicKeyPem)).toBe(false);
    expect(verifySnsMessage({ ...notification, Signature: sha1 }, publicKeyPem)).toBe(false);
    const m = signed(notification);
    expect(verifySnsMessage({ ...m, SignatureVersion: '3' }, publicKeyPem)).toBe(false);
    expect(verifySnsMessage({ ...m, SignatureVersion: undefined }, publicKeyPem)).toBe(false);
    expect(() => signSnsMessage(v1, privateKeyPem)).toThrow(/SignatureVersion/);
  });

  it('returns false on bad input instead of throwing', async () => {
    const m = signed(notification);
    expect(verifySnsMessage({ ...m, Signature: undefined }, publicKeyPem)).toBe(false);
    expect(verifySnsMessage({ ...m, Signature: '' }, publicKeyPem)).toBe(false);
    expect(verifySnsMessage({ ...m, Signature: 'not base64 at all!' }, publicKeyPem)).toBe(false);
    expect(verifySnsMessage({ ...m, Signature: 42 }, publicKeyPem)).toBe(false);
    expect(verifySnsMessage({ ...m, Type: 'Other' }, publicKeyPem)).toBe(false);
    expect(verifySnsMessage({ ...m, Message: undefined }, publicKeyPem)).toBe(false);
    expect(verifySnsMessage({ ...m, Message: 7 }, publicKeyPem)).toBe(false);
    expect(verifySnsMessage(m, 'not a pem')).toBe(false);
    expect(verifySnsMessage(m, '')).toBe(false);
    // A well-formed certificate whose key is not RSA (ECDSA P-256) cannot carry an SNS signature.
    const ec = await createSelfSignedCertificate('localhost');
    expect(verifySnsMessage(m, ec.cert)).toBe(false);
    const ecSigned = { ...notification, Signature: createSign('SHA256').update(snsStringToSign(notification)).sign(ec.key, 'base64') };
    expect(verifySnsMessage(ecSigned, ec.cert)).toBe(false);
  });
});

// Real messages that Amazon SNS delivered and signed in March 2026, with the certificate at their
// SigningCertURL; test resources of the AWS SDK for Java v2 (Apache-2.0),
// services-custom/sns-message-manager/src/test/resources/.../sns/internal/.
const AWS_SNS_CERT = `-----BEGIN CERTIFICATE-----
MIIFxTCCBK2gAwIBAgIQBkyRNHAyygLkObkxH5ju+zANBgkqhkiG9w0BAQsFADA8
MQswCQYDVQQGEwJVUzEPMA0GA1UEChMGQW1hem9uMRwwGgYDVQQDExNBbWF6b24g
UlNBIDIwNDggTTAxMB4XDTI1MTExMDAwMDAwMFoXDTI2MTAxNDIzNTk1OVowHDEa
MBgGA1UEAxMRc25zLmFtYXpvbmF3cy5jb20wggEiMA0GCSqGSIb3DQEBAQUAA4IB
DwAwggEKAoIBAQChbVNQ+DEaT5WN+l+bg0iEeF666Z6LDFc1KJr4lNl0odcXQSsk
KsZYCMVdp4I/Ikk9zWyckRTMkmQGYimpD+bTsMCP5C/sJIU0E9Y2OXjjl5Videkq
qnRL9VdE5N41Rvks7S/5MpYcSmCsmaHfwcv82Gvx2zm9CrA5Xu7K2ZqhzRQPCRSP
mHTHQr4ED63ujE+qTpPgQZ0TvgmcrAc08Z75Z7Zzs17aTNc3YhAtQx9WowN8uiHk
kgc+ONNdtwKvWZNmnbmxMHYtYc291WCP1K1Nh4TV5XNyjIebzQKDrqTCN0ItAr1x
e6Bl3BYS3SG9XHAy0q3ekITzQsKypcuaK6dTAgMBAAGjggLhMIIC3TAfBgNVHSME
GDAWgBSBuA5jiokSGOX6OztQlZ/m5ZAThTAdBgNVHQ4EFgQUBQEUzzzuVJAKzAlR
d0Q//W6HvZUwHAYDVR0RBBUwE4IRc25zLmFtYXpvbmF3cy5jb20wEwYDVR0gBAww
CjAIBgZngQwBAgEwDgYDVR0PAQH/BAQDAgWgMBMGA1UdJQQMMAoGCCsGAQUFBwMB
MDsGA1UdHwQ0MDIwMKAuoCyGKmh0dHA6Ly9jcmwucjJtMDEuYW1hem9udHJ1c3Qu
Y29tL3IybTAxLmNybDB1BggrBgEFBQcBAQRpMGcwLQYIKwYBBQUHMAGGIWh0dHA6
Ly9vY3NwLnIybTAxLmFtYXpvbnRydXN0LmNvbTA2BggrBgEFBQcwAoYqaHR0cDov
L2NydC5yMm0wMS5hbWF6b250cnVzdC5jb20vcjJtMDEuY2VyMAwGA1UdEwEB/wQC
MAAwggF/BgorBgEEAdZ5AgQCBIIBbwSCAWsBaQB3ANdtfRDRp/V3wsfpX9cAv/mC
yTNaZeHQswFzF8DIxWl3AAABmnAb33MAAAQDAEgwRgIhANXAgMEZWU326cqxqwnf
ntD0XcBjRbmvVMOp3hZ8boPXAiEAkI3NTMXcdLCChHak1ipOae7K7r3spMGUMk6Q
cEUKqBEAdgDCMX5XRRmjRe5/ON6ykEHrx8IhWiK/f9W1rXaa2Q5SzQAAAZpwG9+u
AAAEAwBHMEUCIQD+Qyok8NYaFuQkccW+XIMmxHxj6Yka2wjtg6UN/tbU5wIgcp4z
8MyC/dUfeLRuHAt0owtVgEu7xXqrMBOYlbXrfC4AdgDLOPcViXyEoURfW8Hd+8lu
8ppZzUcKaQWFsMsUwxRY5wAAAZpwG9+yAAAEAwBHMEUCIQCmu1jQUG9A2br7OqwM
FvQXtBX10yIvvDa6a2Ov1Zgg6gIgKlqRvN6WhX0pSHAN2bKmjRwIUI3X9kjS/A/m
DYULaV4wDQYJKoZIhvcNAQELBQADggEBAIbTQWQhqrG6SzwLq79tKCpI0aL0xlD+
/jrGPxpwTlK7rtAArHiEVh/bsmwLYRlIxPBiU+NE/kqeT0lhJA6/e3X3KRmnpJ6u
Z70PJGYwmZbSRsFom0vGFBMncX0qYx1iD0dooPeAkkSnM5j81rBh+FepV3HfF+tA
9gaglWLsU7Z/A0fdn9D32UPreVHloOut5EyEinvXRUAWZco9CRloyEXJr7Mxq9MZ
vYOK+5wuSPHnPij+fGlQsPxEgoTnCmU03PqNS49kL13jjEnYYdijqL+4rfHtuZbc
4hlVoZfttwg8wD3m5brhQ+GkBBNYN8HFtdVy/BnFi+SPJqv6BgB3Y00=
-----END CERTIFICATE-----
`;

const CERT_URL = 'https://sns.us-west-2.amazonaws.com/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem';
const TOPIC = 'arn:aws:sns:us-west-2:131990247566:dongie-standard-topic';
const UNSUBSCRIBE = `https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${TOPIC}:b24e11a2-06bd-4e73-aa29-0ed2de3b41b5`;

const awsMessages: Record<string, Record<string, string>> = {
  'Notification with Subject (v1)': {
    Type: 'Notification',
    MessageId: '26858270-545e-5848-82a2-e05566af3dcf',
    TopicArn: TOPIC,
    Subject: 'My message subject',
    Message: 'Hello! This message has a subject.',
    Timestamp: '2026-03-06T19:53:21.424Z',
    SignatureVersion: '1',
    Signature:
      'jvNSgHVOF9KUOKI3bmQZhURD0kDN6txhfjiyuvnV95Dw6b2SRa7nq3AhM8agP0KUCIrRgKHqUlN6K2XBA35Lzkx1eI5RT0oXIN00pvvzGxSz0ddnuSGmDJM7bd/b1vl2RlLjz+KvkhzEtspxLnxjLsGl2EpOmztt+um7owb4475sOLdGTx1QiFV/8HqB2J0DyjeWdRZvu7Xpsf1Yd2rgmijFoz8x89Vw8pIksjczr4q16pxdh/XKWjbN2uPoC+3EeYdljL8KUvLYH9ueHSs5E9qq2iLdze4+FtANnE73XRvvSGE0KI+FGOvz1igest6qon3g1/CVy4mq3n19TsCSmA==',
    SigningCertURL: CERT_URL,
    UnsubscribeURL: UNSUBSCRIBE,
  },
  'Notification without Subject (v1)': {
    Type: 'Notification',
    MessageId: 'c0e5a280-53c9-5a98-93bb-c0a560b3d192',
    TopicArn: TOPIC,
    Message: 'This notification has no subject.',
    Timestamp: '2026-03-06T19:55:38.903Z',
    SignatureVersion: '1',
    Signature:
      'h5/2kLNyPKvMH+ipOA1kueaA1GLFlcKbO/9o6GbH7BtKk/8lM8krPFDrV+Lwuq8yZDXTxeSXHR8pG1w9MkKQ3VlsHhMigy+5ejIsb+ZfpkDDO6dOACbkTg1twy9tLeKCyPfU01OokKTR6jlKJGCgXXDQm5Q1Fs4NfUz22xGqteycG1GIioqq2Hvd1PLsDkcoyUAhciugGFcZKIGjUbBtdhMTPFX1ed8iH+Y/p6o/eD0G2i614oRSXYRJyV2iNpl54LCCiCrAafAJAM5NXAJJq9CWyTjxHFC18FnPqSukW1/6Qa502oujhPJ/pyl+6mMBoF6LjnpbIyR8/Gmm+RY6fg==',
    SigningCertURL: CERT_URL,
    UnsubscribeURL: UNSUBSCRIBE,
  },
  'Notification (v2)': {
    Type: 'Notification',
    MessageId: '9d2c5580-b61d-550c-8583-37a582870907',
    TopicArn: TOPIC,
    Message: 'This message uses signature version 2.',
    Timestamp: '2026-03-06T20:00:26.893Z',
    SignatureVersion: '2',
    Signature:
      'kGNJ7FIM5DJxRv9bdoSJBty2WHpADFWrJ0ZQU/A2sALy6tBE5hqfUvPRlklTJ+PACFMguoFOO7W6ac/Bs4gR+JBRFhx4598X8/HWzrmaLrtB2f7nzViHbpzYN+u+OewXhxjj2lNsu0bLKv6fogkACytDIOhjZylbfJoPphDYAB7T3Ila7u+K3m2wLHH4k1cPYKyBf5FI/kAoQAVsY6qFHeb6CWfHsdM98I2gwyEvwJSzW0iyYBfqckmthQwH3Ex53jrhQlZylXFDYmstSJAdvbLeGqIUxKyk+O25wYgBjbbbeR+2qE2UCGEQrk1Bq018wmTxdHZmDhoBjJXiGmFkfg==',
    SigningCertURL: CERT_URL,
    UnsubscribeURL: UNSUBSCRIBE,
  },
  'SubscriptionConfirmation (v1)': {
    Type: 'SubscriptionConfirmation',
    MessageId: 'f3f2fc87-c426-4c2f-9044-b55890c0939c',
    Token:
      '2336412f37fb687f5d51e6e2425929f52e8e353134fe72d55ef8b330217d82da14007cbccefffd35b695feb8f0294d01fd9644f41e1ddfad261519a2c0bac743ff375eeb64530147d2da57f3acc54739da14c8dbd48a9d58ce996eff0d498ea6b4b9f58720d8959b52b99b8de148081720d7da17434e376614a00c992e7823e4',
    TopicArn: TOPIC,
    Message: `You have chosen to subscribe to the topic ${TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
    SubscribeURL: `https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=2336412f37fb687f5d51e6e2425929f52e8e353134fe72d55ef8b330217d82da14007cbccefffd35b695feb8f0294d01fd9644f41e1ddfad261519a2c0bac743ff375eeb64530147d2da57f3acc54739da14c8dbd48a9d58ce996eff0d498ea6b4b9f58720d8959b52b99b8de148081720d7da17434e376614a00c992e7823e4`,
    Timestamp: '2026-03-06T19:31:32.895Z',
    SignatureVersion: '1',
    Signature:
      'Ce2Ax8UbEq0RrVH7gsjP9WZ9bzif7dUkAY4OH99Pv7FSrvs8cK+uiH3a6ig54rXWUnZRUejk8K6KeK5Q80O9iJp8KbPRKdQ0PkJ3YASdabhfK0e7evC05YR2pFoS6nNaqNzT7HrR1d1Z9iLoFxluo2Dzb7kWVB7e9jp/y+ZBXRzRIaZgscM84kahBc6QgXOFJA1/PFA4cB5qaa6tBcUFtTE63o9vJ4wMmKk93W9MoszC+dNJeVFr8VHmt3toR+3JauBCZnGdgXgsDhni4PduSfWJJxEpuOK41iYf1hW+xFNFFsv46siTFiHdHiYDfI7/VlaY4spMgkq3EndRr7rHzQ==',
    SigningCertURL: CERT_URL,
  },
  'UnsubscribeConfirmation (v2)': {
    Type: 'UnsubscribeConfirmation',
    MessageId: '0b71e34e-42c3-486a-9e32-b1928ec994b5',
    Token:
      '2336412f37fb687f5d51e6e2425929f52e8e353134fd0284eae5672847af082a982c7dd18215a1485e04e559716f8b42054594757f42dee2d63c46fd3a0fa59b4d688de03db956f8bf9f8cb3167587a28b74c5d325e6a7594d24a43ac534de2dfca614ca89cebd490342c721c30a76ea03def13673437a6a3e450642580119d0',
    TopicArn: TOPIC,
    Message: `You have chosen to deactivate subscription ${TOPIC}:b24e11a2-06bd-4e73-aa29-0ed2de3b41b5.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.`,
    SubscribeURL: `https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=2336412f37fb687f5d51e6e2425929f52e8e353134fd0284eae5672847af082a982c7dd18215a1485e04e559716f8b42054594757f42dee2d63c46fd3a0fa59b4d688de03db956f8bf9f8cb3167587a28b74c5d325e6a7594d24a43ac534de2dfca614ca89cebd490342c721c30a76ea03def13673437a6a3e450642580119d0`,
    Timestamp: '2026-03-06T20:02:25.038Z',
    SignatureVersion: '2',
    Signature:
      'RLW/cGWZAdY96iEcvXGmAZQ851DUyWehJIUMHT3Qa0/kX7Wu2QimI44TfE8d9hTqyYFreA6ln4AS67m225DuySpBeiUBtzB/ibiU7jdZmfSiT/I/RTEU3eD0lHHZIYW0M7HAlhHyaSXdcSAbtfnhMBMION93IVl6UOR4kWYdJaJ17/u3by3zlSRs8wCIpj06S6BzuzxrINZPJl+NKZYCVdMlrjuT4etX/UfZkC0Tjchpmu/CQcuimAgswlesm8cVue0WqNPXkOr8h7HmsiGVXPN1jjkYKf2/tVJyBxur/lSksMopER8wtAIsrqY1caAZSI8YJkIndg/b+7eCwkjTBA==',
    SigningCertURL: CERT_URL,
  },
};

describe('messages signed by Amazon SNS', () => {
  for (const [name, m] of Object.entries(awsMessages)) {
    it(`verifies ${name} with the certificate at its SigningCertURL`, () => {
      expect(verifySnsMessage(m, AWS_SNS_CERT)).toBe(true);
      expect(verifySnsMessage({ ...m, Message: `${m.Message} ` }, AWS_SNS_CERT)).toBe(false);
      expect(verifySnsMessage({ ...m, Timestamp: '2026-03-06T20:00:00.000Z' }, AWS_SNS_CERT)).toBe(false);
      expect(verifySnsMessage(m, publicKeyPem)).toBe(false);
    });
  }
});
