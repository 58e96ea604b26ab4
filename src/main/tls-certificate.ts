/**
 * The TLS certificate of the SMTP listeners: the operator's PEM files (SESAME_TLS_CERT and
 * SESAME_TLS_KEY), or else a self-signed certificate for SESAME_HOSTNAME created once in the data
 * dir and re-created when it expires within a day or no longer names the hostname. The generated
 * private key is stored sealed with the master key (`tls-key.sealed`), like every other secret at
 * rest (ADR 0004); the certificate is public (`tls-cert.pem`). Both files are mode 0600.
 * Composition-root code: it reads and writes files.
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Config } from '../config/schema.ts';
import type { SecretBox } from '../lib/secretbox.ts';
import { createSelfSignedCertificate } from '../lib/self-signed-certificate.ts';
import type { Logger } from '../observability/logger.ts';

/** PEM key and certificate, and where they came from. */
export interface TlsCredentials {
  key: string;
  cert: string;
  source: 'configured' | 'generated' | 'data-dir';
  /** Path of the certificate file. */
  certPath: string;
}

/** File names of the generated pair inside the data dir. */
export const GENERATED_CERT = 'tls-cert.pem';
export const GENERATED_KEY = 'tls-key.sealed';

/** Loads the configured pair, or the generated one (creating it when needed). Throws readable errors. */
export async function loadTlsCredentials(config: Pick<Config, 'tlsCert' | 'tlsKey' | 'dataDir' | 'hostname'>, box: SecretBox, logger: Logger, now = new Date()): Promise<TlsCredentials> {
  if (config.tlsCert || config.tlsKey) {
    if (!config.tlsCert || !config.tlsKey) throw new Error('SESAME_TLS_CERT and SESAME_TLS_KEY must be set together');
    const cert = readPem(config.tlsCert, 'SESAME_TLS_CERT');
    const key = readPem(config.tlsKey, 'SESAME_TLS_KEY');
    try {
      createSecureContext({ key, cert });
    } catch (err) {
      throw new Error(`SESAME_TLS_CERT / SESAME_TLS_KEY (${config.tlsCert}, ${config.tlsKey}) cannot be used: ${(err as Error).message}`);
    }
    return { key, cert, source: 'configured', certPath: config.tlsCert };
  }
  const certPath = join(config.dataDir, GENERATED_CERT);
  const keyPath = join(config.dataDir, GENERATED_KEY);
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, 'utf8');
    const key = openKey(box, readFileSync(keyPath, 'utf8'), cert);
    if (key !== undefined && usable(cert, key, config.hostname, now)) return { key, cert, source: 'data-dir', certPath };
  }
  const pair = await createSelfSignedCertificate(config.hostname, { now });
  mkdirSync(config.dataDir, { recursive: true });
  // Write beside, then rename: a crash never leaves half a key, and the key is never readable by others.
  for (const [path, text] of [
    [keyPath, box.seal(pair.key, keyAad(pair.cert))],
    [certPath, pair.cert],
  ] as const) {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  }
  const fingerprint = new X509Certificate(pair.cert).fingerprint256;
  logger.info(
    { code: 'TLS_CERTIFICATE_GENERATED', path: certPath, hostname: config.hostname, fingerprint256: fingerprint },
    `created a self-signed TLS certificate for ${config.hostname} in ${certPath} (set SESAME_TLS_CERT and SESAME_TLS_KEY to use a trusted one)`,
  );
  return { ...pair, source: 'generated', certPath };
}

/** The sealed key is bound to its certificate: a key moved beside another certificate does not open. */
function keyAad(cert: string): string {
  return `tls-key:${new X509Certificate(cert).fingerprint256}`;
}

/** The stored key, or undefined when it does not open (another master key, another certificate). */
function openKey(box: SecretBox, sealed: string, cert: string): string | undefined {
  try {
    return box.open(sealed.trim(), keyAad(cert));
  } catch {
    return undefined;
  }
}

function readPem(path: string, variable: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${variable}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/** A stored pair is kept while it is valid for more than a day, names the hostname, and matches. */
function usable(cert: string, key: string, hostname: string, now: Date): boolean {
  try {
    const x = new X509Certificate(cert);
    if (new Date(x.validTo).getTime() < now.getTime() + 86_400_000) return false;
    if (!(isIP(hostname) ? x.checkIP(hostname) : x.checkHost(hostname))) return false;
    createSecureContext({ key, cert });
    return true;
  } catch {
    return false;
  }
}
