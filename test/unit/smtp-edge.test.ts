/** Pure parts of the SMTP submission edge: line rules across chunk boundaries, control headers, the brakes, the certificate. */
import { X509Certificate } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { createSecureContext } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { findBareNewline, readData } from '../../src/frontends/smtp/data.ts';
import { AuthThrottle, clientKey, ConnectionLimiter } from '../../src/frontends/smtp/limits.ts';
import { parseTags, readSesHeaders } from '../../src/frontends/smtp/ses-headers.ts';
import { createSelfSignedCertificate } from '../../src/lib/self-signed-certificate.ts';

async function read(chunks: string[], max = 1000) {
  const s = new PassThrough();
  const done = readData(s, max);
  for (const c of chunks) s.write(Buffer.from(c, 'latin1'));
  s.end();
  return done;
}

describe('DATA line rules', () => {
  it('accepts CRLF lines, however the chunks split them', async () => {
    expect(await read(['a\r', '\nb\r\n'])).toEqual({ kind: 'message', data: Buffer.from('a\r\nb\r\n') });
    expect(await read(['a\r\n', 'b\r', '\n'])).toMatchObject({ kind: 'message' });
  });

  it.each([
    ['bare LF', ['a\nb\r\n'], 'LF', 1],
    ['bare CR', ['a\rb\r\n'], 'CR', 1],
    ['CR then a chunk without LF', ['a\r', 'b\r\n'], 'CR', 2],
    ['LF at a chunk start without CR', ['ab', '\nc\r\n'], 'LF', 2],
    ['LF "." LF', ['x\r\n\n.\nMAIL FROM:<a@b.c>\r\n'], 'LF', 3],
    ['CR at the very end', ['a\r\nb\r'], 'CR', 4],
  ])('refuses a %s', async (_name, chunks, which, offset) => {
    expect(await read(chunks as string[])).toEqual({ kind: 'bare-newline', which, offset });
  });

  it('reports whichever bare newline comes first', () => {
    expect(findBareNewline(Buffer.from('ab\rc\nd'), -1)).toEqual({ which: 'CR', index: 2 });
    expect(findBareNewline(Buffer.from('ab\nc\rd'), -1)).toEqual({ which: 'LF', index: 2 });
    expect(findBareNewline(Buffer.from('\n'), 0x0d)).toBeUndefined();
  });

  it('refuses a message over the limit and drops its bytes', async () => {
    expect(await read(['x'.repeat(600), `${'y'.repeat(600)}\r\n`])).toEqual({ kind: 'too-long', bytes: 1202 });
  });
});

describe('X-SES-* headers', () => {
  it('reads the configuration set, tags and list-management options', () => {
    const msg = Buffer.from('From: a@b.test\r\nX-SES-CONFIGURATION-SET: set1\r\nX-SES-MESSAGE-TAGS: a=1, b=two\r\nX-SES-MESSAGE-TAGS: c=3\r\nX-SES-LIST-MANAGEMENT-OPTIONS: list; topic=t\r\n\r\nbody');
    expect(readSesHeaders(msg)).toEqual({ hasFrom: true, configurationSetName: 'set1', tags: [{ name: 'a', value: '1' }, { name: 'b', value: 'two' }, { name: 'c', value: '3' }], listManagement: 'list; topic=t' });
    expect(readSesHeaders(Buffer.from('To: x@y.test\r\n\r\n'))).toEqual({ hasFrom: false, tags: [] });
    expect(readSesHeaders(Buffer.from('not a header block'))).toEqual({ hasFrom: false, tags: [] });
  });

  it('refuses tags that are not name=value', () => {
    expect(() => parseTags('a=1, oops')).toThrow(/Invalid X-SES-MESSAGE-TAGS header/);
    expect(parseTags(' , a = 1 ,')).toEqual([{ name: 'a', value: '1' }]);
  });
});

describe('limits', () => {
  it('counts IPv4 per address and IPv6 per /64', () => {
    expect(clientKey('192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2::99')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
  });

  it('admits connections up to the per-client and total limits', () => {
    const l = new ConnectionLimiter({ total: 3, perClient: 2 });
    expect([l.admit('a'), l.admit('a'), l.admit('a'), l.admit('b'), l.admit('c')]).toEqual(['ok', 'ok', 'per-client', 'ok', 'total']);
    l.release('a');
    expect(l.admit('c')).toBe('ok');
    expect(l.size).toBe(3);
  });

  it('delays failures after the third, locks out at the limit, and forgets after the window', () => {
    let now = 0;
    const t = new AuthThrottle({ maxFailures: 5, lockoutMs: 1000, delayStepMs: 100 }, () => now);
    const delays = [1, 2, 3, 4].map(() => t.fail('x').delayMs);
    expect(delays).toEqual([0, 0, 0, 100]);
    expect(t.lockedOut('x')).toBe(false);
    expect(t.fail('x')).toEqual({ delayMs: 200, lockedOut: true, failures: 5 });
    expect(t.lockedOut('x')).toBe(true);
    expect(t.lockedOut('y')).toBe(false);
    now = 1001;
    expect(t.lockedOut('x')).toBe(false);
    now = 5000;
    expect(t.fail('x').failures).toBe(1); // failures older than the window are forgotten
  });
});

describe('self-signed certificate', () => {
  it('is a valid X.509 certificate for the hostname that node TLS accepts', async () => {
    const { key, cert } = await createSelfSignedCertificate('mta.example.test');
    const x = new X509Certificate(cert);
    expect(x.subject).toBe('CN=mta.example.test');
    expect(x.checkHost('mta.example.test')).toBe('mta.example.test');
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.ca).toBe(false);
    expect(new Date(x.validTo).getTime()).toBeGreaterThan(Date.now() + 800 * 86_400_000);
    expect(() => createSecureContext({ key, cert })).not.toThrow();
    expect(new X509Certificate((await createSelfSignedCertificate('127.0.0.1')).cert).checkIP('127.0.0.1')).toBe('127.0.0.1');
  });
});
