/**
 * The key that signs SNS deliveries (SignatureVersion 2, SHA256withRSA) and its certificate, served
 * at `SigningCertURL` so that subscribers verify every message as they verify SNS's. Created once in
 * the data dir: an RSA-2048 key stored sealed with the master key (`sns-signing-key.sealed`, like
 * every other secret at rest, ADR 0004) and a self-signed certificate (`sns-signing-cert.pem`),
 * re-created when it expires within 30 days. Nodes behind one public URL must share both files (they
 * open only with the shared master key). Composition-root code: it reads and writes files.
 */
import { createHash, createPrivateKey, createSign, X509Certificate, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SnsSigner } from '../core/index.ts';
import type { SecretBox } from '../lib/secretbox.ts';
import { createSelfSignedCertificate } from '../lib/self-signed-certificate.ts';
import type { Logger } from '../observability/logger.ts';

/** File names inside the data dir. */
export const SNS_SIGNING_CERT = 'sns-signing-cert.pem';
export const SNS_SIGNING_KEY = 'sns-signing-key.sealed';

/** The loaded signing material. */
export interface SnsSigning {
  signer: SnsSigner;
  /** The PEM certificate served at SigningCertURL. */
  certPem: string;
  /** The path under the public URL where the certificate is served (`/SimpleNotificationService-<hex>.pem`). */
  certPath: string;
  /** The PEM private key (handed to the worker thread, which signs with the same pair; ADR 0019). */
  keyPem: string;
}

/** Certificates are replaced this long before they expire, so that a subscriber never fetches an expired one. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

/**
 * Loads the signing key and certificate from the data dir, creating them when missing, unreadable
 * (another master key) or about to expire. `publicUrl` is read at each use (SESAME_PUBLIC_URL may be
 * known only after the HTTP port is bound).
 */
export async function loadSnsSigning(config: { dataDir: string; hostname: string }, box: SecretBox, publicUrl: () => string, logger: Logger, now = new Date()): Promise<SnsSigning> {
  const certFile = join(config.dataDir, SNS_SIGNING_CERT);
  const keyFile = join(config.dataDir, SNS_SIGNING_KEY);
  let pair: { cert: string; key: string } | undefined;
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile, 'utf8');
    const key = openKey(box, readFileSync(keyFile, 'utf8'), cert);
    if (key !== undefined && usable(cert, key, now)) pair = { cert, key };
  }
  if (!pair) {
    pair = await createSelfSignedCertificate(config.hostname, { now, keyType: 'rsa', days: 397 });
    mkdirSync(config.dataDir, { recursive: true });
    // Write beside, then rename: a crash never leaves half a key, and the key is never readable by others.
    for (const [path, text] of [
      [keyFile, box.seal(pair.key, keyAad(pair.cert))],
      [certFile, pair.cert],
    ] as const) {
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, text, { mode: 0o600 });
      chmodSync(tmp, 0o600);
      renameSync(tmp, path);
    }
    logger.info({ code: 'SNS_SIGNING_KEY_GENERATED', path: certFile }, `created the key and certificate that sign SNS deliveries (${certFile})`);
  }
  return snsSigningFrom(pair, publicUrl);
}

/** The signing material of a pair already loaded (the worker thread gets main's; it never writes one). */
export function snsSigningFrom(pair: { cert: string; key: string }, publicUrl: () => string): SnsSigning {
  const key: KeyObject = createPrivateKey(pair.key);
  const certPath = `/SimpleNotificationService-${certificateId(pair.cert)}.pem`;
  return {
    certPem: pair.cert,
    certPath,
    keyPem: pair.key,
    signer: {
      certUrl: () => `${publicUrl().replace(/\/+$/, '')}${certPath}`,
      sign: (stringToSign) => createSign('RSA-SHA256').update(stringToSign, 'utf8').sign(key, 'base64'),
    },
  };
}

/** The first 32 hex digits of the certificate's SHA-256 fingerprint (SNS names its certificates by a 32-hex id). */
export function certificateId(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex').slice(0, 32);
}

/** The sealed key is bound to its certificate: a key moved beside another certificate does not open. */
function keyAad(cert: string): string {
  return `sns-signing-key:${new X509Certificate(cert).fingerprint256}`;
}

function openKey(box: SecretBox, sealed: string, cert: string): string | undefined {
  try {
    return box.open(sealed.trim(), keyAad(cert));
  } catch {
    return undefined;
  }
}

/** A stored pair is kept while it is RSA, matches, and stays valid for more than RENEW_BEFORE_MS. */
function usable(cert: string, key: string, now: Date): boolean {
  try {
    const x = new X509Certificate(cert);
    if (new Date(x.validTo).getTime() < now.getTime() + RENEW_BEFORE_MS) return false;
    return x.publicKey.asymmetricKeyType === 'rsa' && x.checkPrivateKey(createPrivateKey(key));
  } catch {
    return false;
  }
}
