/**
 * A self-signed X.509 v3 server certificate (RFC 5280) made with node:crypto alone: an ECDSA P-256
 * key and a certificate whose DER is assembled here, so that no `openssl` binary and no ASN.1
 * library is needed. It is what STARTTLS and implicit TLS present until the operator configures a
 * real certificate; clients that verify certificates will not trust it.
 */
import { generateKeyPair, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

/** A PEM private key (PKCS#8) and its PEM certificate. */
export interface CertificatePair {
  key: string;
  cert: string;
}

/** Options of `createSelfSignedCertificate`. */
export interface SelfSignedOptions {
  /** Days from `now` until the certificate expires (default 825, the longest validity clients accept for server certificates). */
  days?: number;
  /** Start of validity (default: now, minus an hour of clock-skew allowance). */
  now?: Date;
  /** Key type (default `ec`, ECDSA P-256); `rsa` makes an RSA-2048 key signing with sha256WithRSAEncryption (SNS's SigningCert). */
  keyType?: 'ec' | 'rsa';
}

/** Creates a key and a self-signed certificate for `hostname` (subject CN and subjectAltName). */
export async function createSelfSignedCertificate(hostname: string, options: SelfSignedOptions = {}): Promise<CertificatePair> {
  const rsa = options.keyType === 'rsa';
  const { privateKey, publicKey } = await new Promise<{ privateKey: KeyObject; publicKey: KeyObject }>((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject) => (err ? reject(err) : resolve({ publicKey, privateKey }));
    if (rsa) generateKeyPair('rsa', { modulusLength: 2048 }, done);
    else generateKeyPair('ec', { namedCurve: 'P-256' }, done);
  });
  const start = new Date((options.now ?? new Date()).getTime() - 3_600_000);
  const end = new Date(start.getTime() + (options.days ?? 825) * 86_400_000);
  // sha256WithRSAEncryption carries NULL parameters (RFC 4055 §5); ecdsa-with-SHA256 none (RFC 5758 §3.2).
  const ecdsaWithSha256 = rsa ? seq(oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00])) : seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.3'), utf8(hostname.slice(0, 64)))));
  // subjectAltName is what clients match the host name against (RFC 6125); CN alone is obsolete.
  const altName = isIP(hostname) ? tlv(0x87, ipBytes(hostname)) : tlv(0x82, Buffer.from(hostname, 'ascii'));
  const extensions = [
    extension('2.5.29.19', true, seq()), // basicConstraints: not a CA
    extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x07, 0x80]))), // keyUsage: digitalSignature
    extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage: serverAuth
    extension('2.5.29.17', false, seq(altName)),
  ];
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f; // a positive INTEGER, at most 20 octets (RFC 5280 §4.1.2.2)
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))), // [0] version v3
    integer(serial),
    ecdsaWithSha256,
    name,
    seq(time(start), time(end)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, privateKey); // DER-encoded ECDSA signature, or PKCS #1 v1.5 for RSA
  const der = seq(tbs, ecdsaWithSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const body = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cert: `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`,
  };
}

// --- DER (X.690) encoding of the few types a certificate needs ---

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content]);
}

function seq(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function set(...items: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(items));
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const group = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) group.unshift((v & 0x7f) | 0x80);
    bytes.push(...group);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** A non-negative INTEGER from big-endian bytes. */
function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && b[1]! < 0x80) b = b.subarray(1);
  if (b[0]! >= 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

function utf8(s: string): Buffer {
  return tlv(0x0c, Buffer.from(s, 'utf8'));
}

/** UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5). */
function time(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const year = d.getUTCFullYear();
  return year < 2050 ? tlv(0x17, Buffer.from(`${p(year % 100)}${rest}`)) : tlv(0x18, Buffer.from(`${year}${rest}`));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  // Expand "::" and read eight 16-bit groups.
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.from(groups.flatMap((g) => [(parseInt(g, 16) >> 8) & 0xff, parseInt(g, 16) & 0xff]));
}
