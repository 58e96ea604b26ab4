import { createSocket } from 'node:dgram';
import { promises as dnsPromises } from 'node:dns';
import { createServer } from 'node:net';
import { Packet, UDPClient } from 'dns2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestDnsServer } from '../helpers/dns-server.ts';

/** A fresh Node (c-ares) resolver pointed only at `srv`, with a short timeout and no retries. */
function resolverFor(srv: TestDnsServer): dnsPromises.Resolver {
  const resolver = new dnsPromises.Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([srv.address]);
  return resolver;
}

/** A printable ASCII string of exactly `length` bytes, distinct per `seed`. */
function ascii(length: number, seed: string): string {
  return `${seed}=`.padEnd(length, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
}

/** Resolves to the error code a promise rejects with. */
async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
  throw new Error('expected the lookup to fail');
}

/** Resolves once `port` can be bound on 127.0.0.1 for both UDP and TCP (then releases it). */
async function bindBoth(port: number): Promise<void> {
  const udp = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((resolve) => udp.close(() => resolve()));
  const tcp = createServer();
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((resolve) => tcp.close(() => resolve()));
}

describe('TestDnsServer', () => {
  let srv: TestDnsServer;
  let resolver: dnsPromises.Resolver;

  beforeEach(async () => {
    srv = await TestDnsServer.start();
    resolver = resolverFor(srv);
  });
  afterEach(async () => {
    await srv.close();
  });

  it('listens on loopback and reports its address as host:port', () => {
    expect(srv.host).toBe('127.0.0.1');
    expect(srv.port).toBeGreaterThan(0);
    expect(srv.address).toBe(`127.0.0.1:${srv.port}`);
  });

  it('answers A and AAAA queries', async () => {
    srv.set('mail.example.com', 'A', ['192.0.2.1', '192.0.2.2']);
    srv.set('mail.example.com', 'AAAA', ['2001:db8::1']);
    expect((await resolver.resolve4('mail.example.com')).sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(await resolver.resolve6('mail.example.com')).toEqual(['2001:db8::1']);
    expect(await resolver.resolve4('mail.example.com', { ttl: true })).toContainEqual({
      address: '192.0.2.1',
      ttl: 60,
    });
  });

  it('answers MX queries in the order the records were set', async () => {
    const mx = [
      { exchange: 'mx1.example.com', priority: 10 },
      { exchange: 'mx2.example.com', priority: 20 },
      { exchange: 'backup.example.net', priority: 30 },
    ];
    srv.set('example.com', 'MX', mx);
    expect(await resolver.resolveMx('example.com')).toEqual(mx);
  });

  it('splits a 410-byte TXT value into 255-byte character-strings, which join back to it (over UDP)', async () => {
    const dkim = `v=DKIM1; k=rsa; p=${ascii(410 - 18, 'MIIB')}`;
    expect(dkim).toHaveLength(410);
    srv.set('sel._domainkey.example.com', 'TXT', [dkim]);
    const records = await resolver.resolveTxt('sel._domainkey.example.com');
    expect(records).toHaveLength(1);
    expect(records[0]?.map((chunk) => chunk.length)).toEqual([255, 155]);
    expect(records[0]?.join('')).toBe(dkim);
    expect(srv.queries).toEqual([{ name: 'sel._domainkey.example.com', type: 'TXT', transport: 'udp' }]);
  });

  it('uses a string[] TXT value as the chunk list', async () => {
    srv.set('chunks.example.com', 'TXT', [['v=spf1 ', 'include:_spf.example.net ', '-all']]);
    expect(await resolver.resolveTxt('chunks.example.com')).toEqual([
      ['v=spf1 ', 'include:_spf.example.net ', '-all'],
    ]);
    expect(() => srv.set('x.example.com', 'TXT', [['a'.repeat(256)]])).toThrow(RangeError);
  });

  it('resolves a ~1,300-byte TXT answer: UDP is truncated (TC) and the resolver retries over TCP', async () => {
    const values = [
      `v=DKIM1; k=rsa; p=${ascii(410 - 18, 'MIIB')}`,
      `v=spf1 ${ascii(300, 'include:_spf.example.net')} -all`,
      ascii(580, 'google-site-verification'),
    ];
    const total = values.reduce((sum, value) => sum + value.length, 0);
    expect(total).toBeGreaterThanOrEqual(1_290);
    srv.set('big.example.com', 'TXT', values);
    const records = await resolver.resolveTxt('big.example.com');
    expect(records.map((chunks) => chunks.join('')).sort()).toEqual([...values].sort());
    expect(srv.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('honours an EDNS0 payload size: a client advertising 4096 bytes gets the big answer over UDP, with an OPT', async () => {
    // Node's resolver sends no EDNS0, so use dns2's client, which sends an OPT (4096 bytes) when given a client subnet.
    const values = [ascii(700, 'a'), ascii(600, 'b')];
    srv.set('big.example.com', 'TXT', values);
    const query = UDPClient({ dns: '127.0.0.1', port: srv.port, timeout: 2_000, retryOverTCP: false });
    const response = await query('big.example.com', 'TXT', Packet.CLASS.IN, { clientIp: '127.0.0.1/32' });
    expect(response.header.tc).toBe(0);
    expect(response.header.aa).toBe(1);
    expect(response.answers.map((rr) => [rr.data].flat().join('')).sort()).toEqual(values);
    expect(response.additionals.find((rr) => rr.type === Packet.TYPE.EDNS)?.class).toBe(1232);
    expect(srv.queries).toEqual([{ name: 'big.example.com', type: 'TXT', transport: 'udp' }]);
  });

  it('answers NXDOMAIN for an unknown name and NODATA for a known name without the asked type', async () => {
    srv.set('example.com', 'A', ['192.0.2.1']);
    expect(await errorCode(resolver.resolve4('nope.example.com'))).toBe('ENOTFOUND');
    expect(await errorCode(resolver.resolveTxt('example.com'))).toBe('ENODATA');
    expect(await errorCode(resolver.resolveMx('example.com'))).toBe('ENODATA');
  });

  it('fails every query for a name as told: SERVFAIL, REFUSED, TIMEOUT; null restores answers', async () => {
    srv.set('flaky.example.com', 'A', ['192.0.2.7']);
    srv.setFailure('flaky.example.com', 'SERVFAIL');
    expect(await errorCode(resolver.resolve4('flaky.example.com'))).toBe('ESERVFAIL');
    srv.setFailure('flaky.example.com', 'REFUSED');
    expect(await errorCode(resolver.resolve4('flaky.example.com'))).toBe('EREFUSED');
    srv.setFailure('FLAKY.example.com.', 'TIMEOUT');
    const started = Date.now();
    expect(await errorCode(resolver.resolveTxt('flaky.example.com'))).toBe('ETIMEOUT');
    expect(Date.now() - started).toBeLessThan(3_000);
    // A failure mode applies even to names with no records.
    srv.setFailure('ghost.example.com', 'SERVFAIL');
    expect(await errorCode(resolver.resolveMx('ghost.example.com'))).toBe('ESERVFAIL');
    srv.setFailure('flaky.example.com', null);
    expect(await resolverFor(srv).resolve4('flaky.example.com')).toEqual(['192.0.2.7']);
  });

  it('follows a CNAME to the target records of the asked type', async () => {
    srv.set('www.example.com', 'CNAME', ['web.example.net.']);
    srv.set('web.example.net', 'A', ['192.0.2.80']);
    srv.set('web.example.net', 'TXT', ['hello']);
    srv.set('sel._domainkey.example.com', 'CNAME', ['sel.dkim.example.org']);
    srv.set('sel.dkim.example.org', 'TXT', ['v=DKIM1; p=abc']);
    expect(await resolver.resolve4('www.example.com')).toEqual(['192.0.2.80']);
    expect(await resolver.resolveTxt('www.example.com')).toEqual([['hello']]);
    expect(await resolver.resolveCname('www.example.com')).toEqual(['web.example.net']);
    expect(await resolver.resolveTxt('sel._domainkey.example.com')).toEqual([['v=DKIM1; p=abc']]);
    // The target lacks MX: the answer is the CNAME alone with NOERROR, which c-ares turns into an empty list.
    expect(await resolver.resolveMx('www.example.com')).toEqual([]);
  });

  it('matches names case-insensitively and ignores a trailing dot', async () => {
    srv.set('MiXeD.Example.COM.', 'A', ['192.0.2.9']);
    expect(await resolver.resolve4('mixed.example.com')).toEqual(['192.0.2.9']);
    expect(await resolver.resolve4('MIXED.EXAMPLE.COM.')).toEqual(['192.0.2.9']);
    expect(srv.queries.every((q) => q.name === 'mixed.example.com' && q.type === 'A')).toBe(true);
  });

  it('set replaces a name+type, add appends, remove deletes one type or the whole name', async () => {
    srv.set('r.example.com', 'A', ['192.0.2.1']);
    srv.set('r.example.com', 'A', ['192.0.2.2']);
    srv.add('r.example.com', 'A', '192.0.2.3');
    srv.add('r.example.com', 'TXT', 'one');
    expect((await resolverFor(srv).resolve4('r.example.com')).sort()).toEqual(['192.0.2.2', '192.0.2.3']);
    srv.remove('r.example.com', 'A');
    expect(await errorCode(resolverFor(srv).resolve4('r.example.com'))).toBe('ENODATA');
    expect(await resolverFor(srv).resolveTxt('r.example.com')).toEqual([['one']]);
    srv.remove('R.example.com.');
    expect(await errorCode(resolverFor(srv).resolveTxt('r.example.com'))).toBe('ENOTFOUND');
  });

  it('rejects values that do not fit the record type', () => {
    expect(() => srv.set('a.example.com', 'A', ['not-an-ip'])).toThrow(TypeError);
    expect(() => srv.set('a.example.com', 'AAAA', ['192.0.2.1'])).toThrow(TypeError);
    expect(() => srv.set('a.example.com', 'MX', ['mx.example.com'])).toThrow(TypeError);
    expect(() => srv.set('a.example.com', 'MX', [{ exchange: 'mx', priority: 70_000 }])).toThrow(TypeError);
    expect(() => srv.set('a.example.com', 'CNAME', ['b.example.com', 'c.example.com'])).toThrow(RangeError);
  });

  it('logs the queries it sees', async () => {
    srv.set('example.com', 'MX', [{ exchange: 'mx.example.com', priority: 5 }]);
    await resolver.resolveMx('example.com');
    await errorCode(resolver.resolveTxt('_dmarc.example.com'));
    expect(srv.queries).toEqual([
      { name: 'example.com', type: 'MX', transport: 'udp' },
      { name: '_dmarc.example.com', type: 'TXT', transport: 'udp' },
    ]);
  });
});

describe('TestDnsServer lifecycle', () => {
  it('frees its UDP and TCP port on close(), and close() is idempotent', async () => {
    const srv = await TestDnsServer.start();
    srv.set('big.example.com', 'TXT', [ascii(700, 'a'), ascii(700, 'b')]);
    // The resolver's TCP fallback may leave a connection open; close() must not wait for it.
    expect(await resolverFor(srv).resolveTxt('big.example.com')).toHaveLength(2);
    const { port } = srv;
    const started = Date.now();
    await srv.close();
    await srv.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    await bindBoth(port);
  });

  it('runs two servers at once on different ports with separate records', async () => {
    const one = await TestDnsServer.start();
    const two = await TestDnsServer.start();
    try {
      expect(one.port).not.toBe(two.port);
      one.set('example.com', 'A', ['192.0.2.1']);
      two.set('example.com', 'A', ['198.51.100.2']);
      const [a, b] = await Promise.all([
        resolverFor(one).resolve4('example.com'),
        resolverFor(two).resolve4('example.com'),
      ]);
      expect(a).toEqual(['192.0.2.1']);
      expect(b).toEqual(['198.51.100.2']);
      expect(one.queries).toHaveLength(1);
      expect(two.queries).toHaveLength(1);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('closes via Symbol.asyncDispose', async () => {
    let port = 0;
    {
      await using srv = await TestDnsServer.start();
      port = srv.port;
      srv.set('example.com', 'A', ['192.0.2.1']);
      expect(await resolverFor(srv).resolve4('example.com')).toEqual(['192.0.2.1']);
    }
    await bindBoth(port);
  });
});
