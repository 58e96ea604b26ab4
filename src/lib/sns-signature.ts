/**
 * Amazon SNS message signatures, as SNS computes them for HTTP(S) deliveries.
 *
 * Spec: "Verifying the signatures of Amazon SNS messages" in the SNS Developer Guide
 * (docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html). The string to sign is
 * a fixed list of `Name\nValue\n` pairs in byte-sort order of the names; which names depends on the
 * message `Type`. SignatureVersion "1" is SHA1withRSA, "2" is SHA256withRSA (RSASSA-PKCS1-v1_5),
 * base64 in the `Signature` field. The AWS SDK for Java v2 `SignatureValidator` builds the same
 * string, and the real SNS messages in our unit test verify against it.
 */
import { constants, createPublicKey, createSign, verify, type KeyObject } from 'node:crypto';

/** The `Type` of a message SNS posts to an HTTP(S) subscriber. */
export type SnsMessageType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

/** Names covered by a Notification's signature; Subject only when the message has one. */
const NOTIFICATION_KEYS = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const;
/** Names covered by both confirmation types' signatures. */
const CONFIRMATION_KEYS = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const;

/** Signing algorithm per SignatureVersion; anything else is not an SNS signature. */
const ALGORITHMS: Readonly<Record<string, string>> = { '1': 'sha1', '2': 'sha256' };

/** The canonical string SNS signs for message `m`; throws if `Type` is unknown or a required name is missing. */
export function snsStringToSign(m: Readonly<Record<string, string | undefined>>): string {
  return canonical(m);
}

/** Signs `m` as SNS does with SignatureVersion "2" (SHA256withRSA) and returns the base64 `Signature`. */
export function signSnsMessage(m: Readonly<Record<string, string | undefined>>, privateKeyPem: string): string {
  // A message that announces another version would carry a signature no verifier accepts.
  if (m.SignatureVersion !== undefined && m.SignatureVersion !== '2') {
    throw new Error(`signSnsMessage signs SignatureVersion "2" only, not "${m.SignatureVersion}"`);
  }
  const signer = createSign('RSA-SHA256');
  signer.update(canonical(m), 'utf8');
  return signer.sign(privateKeyPem, 'base64');
}

/** Whether `m.Signature` is SNS's signature of `m` under the RSA key in `certificatePem` (certificate or public key PEM); never throws. */
export function verifySnsMessage(m: Readonly<Record<string, unknown>>, certificatePem: string): boolean {
  try {
    const algorithm = typeof m.SignatureVersion === 'string' ? ALGORITHMS[m.SignatureVersion] : undefined;
    if (!algorithm || typeof m.Signature !== 'string') return false;
    const signature = Buffer.from(m.Signature, 'base64');
    if (signature.length === 0) return false;
    const key: KeyObject = createPublicKey(certificatePem);
    // Both versions are RSA; an EC or Ed25519 key must not pass as "SHA256withRSA".
    if (key.asymmetricKeyType !== 'rsa') return false;
    return verify(algorithm, Buffer.from(canonical(m), 'utf8'), { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
}

function canonical(m: Readonly<Record<string, unknown>>): string {
  const type = m.Type;
  const keys =
    type === 'Notification' ? NOTIFICATION_KEYS : type === 'SubscriptionConfirmation' || type === 'UnsubscribeConfirmation' ? CONFIRMATION_KEYS : undefined;
  if (!keys) throw new Error(`not an SNS message type: ${String(type)}`);
  let out = '';
  for (const key of keys) {
    const value = m[key];
    // Subject is optional in a Notification (JSON null counts as absent); every other name is required.
    if (key === 'Subject' && (value === undefined || value === null)) continue;
    if (typeof value !== 'string') throw new Error(`SNS ${String(type)} without a string ${key}`);
    out += `${key}\n${value}\n`;
  }
  return out;
}
