/**
 * Authenticated encryption of small secrets at rest (secret access keys, DKIM private keys) with
 * AES-256-GCM under the master key. The stored form is `v1.<base64 iv|tag|ciphertext>`, so a dump of
 * the database or the data dir never shows a secret in plain text.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'v1.';

/** How many opened secrets a box remembers (least recently used first out). */
const OPENED_MAX = 1_000;

/**
 * Encrypts and decrypts strings with one 32-byte key. Opened secrets are remembered by their sealed
 * form and associated data (a sealed string under one key and AAD always opens to the same text),
 * because the hot paths open the same few secrets for every request: an access key's secret for
 * each signed API call, a DKIM key for each signature (AES-GCM set-up was ~2 % of a send's CPU).
 */
export class SecretBox {
  readonly #key: Buffer;
  /** Sealed form → what it opened to, and under which associated data (a sealed form is unique: its IV is random). */
  readonly #opened = new Map<string, { associatedData: string; plain: string }>();

  /** @param key exactly 32 bytes */
  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error(`master key must be 32 bytes, got ${key.length}`);
    this.#key = Buffer.from(key);
  }

  /** Parses a key given as base64 (44 chars) or hex (64 chars). */
  static parseKey(text: string): Buffer {
    const t = text.trim();
    const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
    if (key.length !== 32) throw new Error('master key must decode to 32 bytes (base64 or hex)');
    return key;
  }

  /** Returns the sealed form of `plain`; a fresh random IV each time. */
  seal(plain: string, associatedData = ''): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(Buffer.from(associatedData));
    const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return PREFIX + Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
  }

  /** A 32-byte key derived from the master key for one purpose (HMAC-SHA256 of the label), so a purpose never sees the master key itself. */
  derive(label: string): Buffer {
    return createHmac('sha256', this.#key).update(`sesame:${label}`).digest();
  }

  /** Opens a sealed string; throws if it was tampered with or sealed under another key or AAD. */
  open(sealed: string, associatedData = ''): string {
    // Looked up by the sealed string itself (no key built per call: a DKIM key's sealed form is
    // ~2 KB); the same sealed form under other associated data is opened again, and fails.
    const known = this.#opened.get(sealed);
    if (known !== undefined && known.associatedData === associatedData) {
      this.#opened.delete(sealed);
      this.#opened.set(sealed, known);
      return known.plain;
    }
    const plain = this.#open(sealed, associatedData);
    this.#opened.delete(sealed);
    if (this.#opened.size >= OPENED_MAX) this.#opened.delete(this.#opened.keys().next().value!);
    this.#opened.set(sealed, { associatedData, plain });
    return plain;
  }

  #open(sealed: string, associatedData: string): string {
    if (!sealed.startsWith(PREFIX)) throw new Error('not a sealed secret');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    if (raw.length < 28) throw new Error('sealed secret is truncated');
    const d = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
    d.setAAD(Buffer.from(associatedData));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
  }
}
