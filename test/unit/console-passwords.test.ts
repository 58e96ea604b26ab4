/**
 * Console users' password hashes (src/core/console/passwords.ts): scrypt with its parameters
 * stored beside salt and key, so a hash made with other parameters still verifies; anything that is
 * not such a hash, or asks for absurd parameters, never matches.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generatePassword, hashPassword, verifyAgainstDummy, verifyPassword } from '../../src/core/console/passwords.ts';

describe('console password hashes', () => {
  it('hashes with scrypt N=32768,r=8,p=1 and a fresh 16-byte salt, and verifies only the right password', async () => {
    const h = await hashPassword('correct horse battery staple');
    expect(h).toMatch(/^scrypt\$N=32768,r=8,p=1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(await hashPassword('correct horse battery staple')).not.toBe(h);
    expect(await verifyPassword('correct horse battery staple', h)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', h)).toBe(false);
    expect(await verifyPassword('', h)).toBe(false);
  });

  it('verifies a hash made with other parameters, as stored with it', async () => {
    const salt = randomBytes(16);
    const key = scryptSync('older password', salt, 32, { N: 16384, r: 8, p: 1 });
    const stored = `scrypt$N=16384,r=8,p=1$${salt.toString('base64')}$${key.toString('base64')}`;
    expect(await verifyPassword('older password', stored)).toBe(true);
    expect(await verifyPassword('other password', stored)).toBe(false);
  });

  it('never matches a malformed hash or one with parameters out of bounds', async () => {
    const salt = randomBytes(16).toString('base64');
    for (const stored of ['', 'plain text', 'scrypt$N=32768,r=8,p=1$$', `scrypt$N=1000,r=8,p=1$${salt}$AAAA`, `scrypt$N=4194304,r=8,p=1$${salt}$AAAA`, `scrypt$N=32768,r=64,p=1$${salt}$AAAA`, `bcrypt$N=32768,r=8,p=1$${salt}$AAAA`]) {
      expect(await verifyPassword('x', stored), stored).toBe(false);
    }
    expect(await verifyAgainstDummy('anything')).toBe(false);
  });

  it('generates 24-character passwords from 144 random bits', () => {
    const a = generatePassword();
    expect(a).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(generatePassword()).not.toBe(a);
  });
});
