/**
 * DKIM key material (RFC 6376 §3.6.1): key generation, the public-key TXT value, and parsing of
 * keys users bring (BYODKIM), in the formats SES accepts.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

/** A DKIM key pair: private key as PKCS#8 PEM, public key as base64 SPKI DER (the `p=` value). */
export interface DkimKeyPair {
  privateKeyPem: string;
  publicKeyBase64: string;
  bits: number;
}

/** Generates an RSA key pair off the event loop (libuv thread pool). */
export async function generateRsaKeyPair(bits: 1024 | 2048): Promise<DkimKeyPair> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyBase64: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    bits,
  };
}

/** The TXT record value to publish at `<selector>._domainkey.<domain>`. */
export function dkimTxtValue(publicKeyBase64: string): string {
  return `v=DKIM1; k=rsa; p=${publicKeyBase64}`;
}

/**
 * Parses a BYODKIM private key as SES takes it: the base64 body of a PEM (PKCS#1 or PKCS#8), or a
 * whole PEM. RSA only, 1024 to 2048 bits. Throws with a message fit for the user.
 */
export function parseRsaPrivateKey(input: string): DkimKeyPair {
  const text = input.trim();
  let key: KeyObject | undefined;
  const attempts = text.includes('-----BEGIN')
    ? [text]
    : [wrapPem(text, 'PRIVATE KEY'), wrapPem(text, 'RSA PRIVATE KEY')];
  for (const pem of attempts) {
    try {
      key = createPrivateKey({ key: pem, format: 'pem' });
      break;
    } catch {
      /* try the next form */
    }
  }
  if (!key) throw new Error('DomainSigningPrivateKey is not a base64-encoded RSA private key (PKCS#1 or PKCS#8)');
  if (key.asymmetricKeyType !== 'rsa') throw new Error('DomainSigningPrivateKey must be an RSA key');
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 1024 || bits > 2048) throw new Error(`DomainSigningPrivateKey must be 1024 to 2048 bits; this key has ${bits}`);
  return {
    privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyBase64: createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('base64'),
    bits,
  };
}

function wrapPem(body: string, label: string): string {
  const clean = body.replace(/\s+/g, '');
  const lines = clean.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * Extracts the `p=` value from a DKIM TXT record (tags per RFC 6376 §3.6.1), or undefined when the
 * record has none. Whitespace inside the value is ignored, as the RFC allows folding.
 */
export function publicKeyFromTxt(record: string): string | undefined {
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === 'p') return part.slice(eq + 1).replace(/\s+/g, '');
  }
  return undefined;
}
