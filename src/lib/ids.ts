/**
 * Identifiers in the shapes AWS uses, so that clients which validate or log them see familiar forms.
 */
import { randomBytes, randomUUID } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function randomChars(alphabet: string, n: number): string {
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[bytes[i]! % alphabet.length];
  return s;
}

/** An access key id: `AKIA` + 16 base32 characters, as IAM issues them. */
export function newAccessKeyId(): string {
  return `AKIA${randomChars(BASE32, 16)}`;
}

/** A 40-character secret access key (base64 alphabet, as IAM's). */
export function newSecretAccessKey(): string {
  return randomBytes(30).toString('base64');
}

/** A request id, sent in `x-amzn-RequestId` and v1 `<RequestId>`. */
export function newRequestId(): string {
  return randomUUID();
}

/** A 32-character lower-case token (Easy DKIM selectors, verification tokens). */
export function newToken(length = 32): string {
  return randomChars('abcdefghijklmnopqrstuvwxyz234567', length);
}

/**
 * An SES MessageId: 16 hex digits whose last 12 are the epoch milliseconds, a UUID, and `-000000`
 * (`0100018f…-7cb9f704-7531-4e53-89a1-5fa9744f5eb6-000000`, SES developer guide examples).
 */
export function newMessageId(nowMs: number): string {
  return `0100${nowMs.toString(16).padStart(12, '0')}-${randomUUID()}-000000`;
}
