// Verifies src/lib/smtp-password.ts against the SES SMTP password derivation
// (SES Developer Guide, "Obtaining Amazon SES SMTP credentials").
import { describe, it, expect } from 'vitest';
import { deriveSmtpPassword, verifySmtpPassword } from '../../src/lib/smtp-password.ts';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const US_EAST_1 = 'BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9';
const US_WEST_2 = 'BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd';

describe('deriveSmtpPassword', () => {
  it('matches the published test vector for us-east-1', () => {
    expect(deriveSmtpPassword(SECRET, 'us-east-1')).toBe(US_EAST_1);
  });

  it('matches the published test vector for us-west-2', () => {
    expect(deriveSmtpPassword(SECRET, 'us-west-2')).toBe(US_WEST_2);
  });

  it('is version 4: 33 bytes, the first being 0x04', () => {
    const raw = Buffer.from(deriveSmtpPassword(SECRET, 'eu-west-1'), 'base64');
    expect(raw.length).toBe(33);
    expect(raw[0]).toBe(0x04);
  });
});

describe('verifySmtpPassword', () => {
  it('accepts the derived password for the same region', () => {
    expect(verifySmtpPassword(SECRET, 'us-east-1', US_EAST_1)).toBe(true);
    expect(verifySmtpPassword(SECRET, 'us-west-2', US_WEST_2)).toBe(true);
  });

  it('rejects a password derived for another region', () => {
    expect(verifySmtpPassword(SECRET, 'us-east-1', US_WEST_2)).toBe(false);
  });

  it('rejects a password derived from another secret', () => {
    expect(verifySmtpPassword(`${SECRET}x`, 'us-east-1', US_EAST_1)).toBe(false);
  });

  it('rejects near misses and wrong lengths', () => {
    expect(verifySmtpPassword(SECRET, 'us-east-1', US_EAST_1.slice(0, -1) + 'A')).toBe(false);
    expect(verifySmtpPassword(SECRET, 'us-east-1', US_EAST_1.slice(0, -1))).toBe(false);
    expect(verifySmtpPassword(SECRET, 'us-east-1', `${US_EAST_1}=`)).toBe(false);
    expect(verifySmtpPassword(SECRET, 'us-east-1', '')).toBe(false);
    expect(verifySmtpPassword(SECRET, 'us-east-1', SECRET)).toBe(false);
  });
});
