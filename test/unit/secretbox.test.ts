/** Sealed secrets at rest: opening, refusing what was tampered with, and the memo of opened secrets. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/lib/secretbox.ts';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('opens what it sealed, under the same associated data only', () => {
    const sealed = box.seal('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'access-key:AKIA1');
    expect(sealed.startsWith('v1.')).toBe(true);
    expect(box.open(sealed, 'access-key:AKIA1')).toBe('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    // Opened once, so remembered: the memo must not answer for other associated data or another key.
    expect(box.open(sealed, 'access-key:AKIA1')).toBe('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    expect(() => box.open(sealed, 'access-key:AKIA2')).toThrow();
    expect(box.open(sealed, 'access-key:AKIA1')).toBe('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'access-key:AKIA1')).toThrow();
  });

  it('refuses a sealed string that was changed, even after the original was opened', () => {
    const sealed = box.seal('dkim private key', 'dkim');
    expect(box.open(sealed, 'dkim')).toBe('dkim private key');
    const raw = Buffer.from(sealed.slice(3), 'base64');
    raw[raw.length - 1]! ^= 1;
    expect(() => box.open(`v1.${raw.toString('base64')}`, 'dkim')).toThrow();
    expect(() => box.open('plain text', 'dkim')).toThrow('not a sealed secret');
  });

  it('keeps opening correctly past the memo size (least recently used secrets are dropped)', () => {
    const sealed = Array.from({ length: 1_200 }, (_, i) => box.seal(`secret ${i}`, `n:${i}`));
    for (let round = 0; round < 2; round++) for (let i = 0; i < sealed.length; i++) expect(box.open(sealed[i]!, `n:${i}`)).toBe(`secret ${i}`);
  });
});
