/**
 * SES SMTP credentials: the SMTP password is derived from an IAM secret access key, so
 * SMTP clients authenticate with (access key id, derived password) and never see the secret.
 *
 * Spec: "Obtaining Amazon SES SMTP credentials" → "Convert existing AWS credentials",
 * SES Developer Guide (docs.aws.amazon.com/ses/latest/dg/smtp-credentials.html).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deriveSigningKey } from './sigv4.ts';

/** Fixed date AWS uses in the derivation; SMTP passwords do not expire with the calendar. */
const SMTP_DATE = '11111111';
/** Fixed "message" signed with the SigV4 key, per the AWS algorithm. */
const SMTP_MESSAGE = 'SendRawEmail';
/** Version byte prefixed to the HMAC (version 4 of the SES SMTP password scheme). */
const SMTP_VERSION = 0x04;

/** Derive the SES SMTP password for `secretAccessKey` in `region` (base64 of 0x04 ‖ HMAC). */
export function deriveSmtpPassword(secretAccessKey: string, region: string): string {
  // kDate … kTerminal is exactly the SigV4 signing-key chain with date 11111111 and service "ses".
  const kTerminal = deriveSigningKey(secretAccessKey, SMTP_DATE, region, 'ses');
  const kMessage = createHmac('sha256', kTerminal).update(SMTP_MESSAGE, 'utf8').digest();
  return Buffer.concat([Buffer.from([SMTP_VERSION]), kMessage]).toString('base64');
}

/** Check an SMTP AUTH password against the one derived from the secret, in constant time. */
export function verifySmtpPassword(secretAccessKey: string, region: string, candidate: string): boolean {
  const expected = Buffer.from(deriveSmtpPassword(secretAccessKey, region), 'utf8');
  const given = Buffer.from(candidate, 'utf8');
  // The expected length (44 chars) is public, so an early length exit leaks nothing secret.
  if (given.length !== expected.length) return false;
  return timingSafeEqual(given, expected);
}
