/** Per-destination shaping: connection slots handed over in order, token-bucket rates, and the rate syntax. */
import { describe, expect, it } from 'vitest';
import { DomainLimits } from '../../src/core/delivery/limits.ts';
import { parseDomainRates } from '../../src/lib/rates.ts';

describe('DomainLimits', () => {
  it('gives at most N connection slots per domain and hands a freed slot to the next waiter', async () => {
    const limits = new DomainLimits({ connections: 2, rates: {} });
    const a = await limits.acquire('x.test');
    const b = await limits.acquire('x.test');
    const other = await limits.acquire('y.test'); // another domain is not held up
    let third = false;
    const c = limits.acquire('x.test').then((release) => {
      third = true;
      return release;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBe(false);
    a();
    a(); // releasing twice frees one slot only
    const releaseC = await c;
    expect(third).toBe(true);
    let fourth = false;
    void limits.acquire('x.test').then(() => (fourth = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(fourth).toBe(false);
    b();
    await new Promise((r) => setTimeout(r, 0));
    expect(fourth).toBe(true);
    releaseC();
    other();
  });

  it('lets a burst of one second through, then one message per 1/rate, per domain', () => {
    const limits = new DomainLimits({ connections: 1, rates: { 'slow.test': 2, '*': 100 } });
    const t = 1_000_000;
    expect(limits.take('slow.test', t)).toBe(0);
    expect(limits.take('slow.test', t)).toBe(0);
    expect(limits.take('slow.test', t)).toBe(500);
    expect(limits.take('slow.test', t + 499)).toBeGreaterThan(0);
    expect(limits.take('slow.test', t + 500)).toBe(0);
    for (let i = 0; i < 100; i++) expect(limits.take('fast.test', t)).toBe(0);
    expect(limits.take('fast.test', t)).toBe(10);
    expect(new DomainLimits({ connections: 1, rates: {} }).take('any.test', t)).toBe(0);
  });
});

describe('parseDomainRates', () => {
  it('reads a single default rate and per-domain rates in s, m and h', () => {
    expect(parseDomainRates('50/s')).toEqual({ '*': 50 });
    expect(parseDomainRates('Gmail.com=20/s, example.org=300/m,*=3600/h')).toEqual({ 'gmail.com': 20, 'example.org': 5, '*': 1 });
  });
  it('refuses what is not a rate, with a message that says why', () => {
    expect(() => parseDomainRates('fast')).toThrow('"fast" is not a rate');
    expect(() => parseDomainRates('a.test=0/s')).toThrow('not a rate');
    expect(() => parseDomainRates('a.test=1/s,a.test=2/s')).toThrow('given twice');
    expect(() => parseDomainRates('a b=1/s')).toThrow('not a domain name');
    expect(() => parseDomainRates(' , ')).toThrow('at least one rate');
  });
});
