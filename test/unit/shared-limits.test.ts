/**
 * Core's side of the limits shared across nodes (ADR 0014), over the storage port of an SQLite file
 * (the same SQL PostgreSQL runs; test/integration/shared-limits.test.ts races several nodes on
 * PostgreSQL): SharedBuckets leases ahead and refuses locally without asking the database, and
 * AuthThrottles of two nodes sharing a failure counter lock a client out together.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SharedFailureCounter } from '../../src/core/index.ts';
import { SharedBuckets } from '../../src/core/sending/rate-limiter.ts';
import { AuthThrottle } from '../../src/frontends/smtp/limits.ts';
import type { LimitRepository, Storage } from '../../src/storage/ports.ts';
import { openSqliteStorage } from '../../src/storage/sqlite/index.ts';

let storage: Storage;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sesame-limits-'));
  storage = await openSqliteStorage(join(dir, 'sesame.db'));
});
afterAll(async () => {
  await storage.close();
  await rm(dir, { recursive: true, force: true });
});

/** The storage's limits, counting the bucket round trips. */
function counting(): LimitRepository & { takes: number } {
  const l = storage.limits;
  const c = Object.create(l) as LimitRepository & { takes: number };
  c.takes = 0;
  c.takeTokens = (...args) => {
    c.takes++;
    return l.takeTokens(...args);
  };
  return c;
}

describe('SharedBuckets', () => {
  it('takes exactly what it needs when used now and then, and leases ahead (up to rate/10) while busy', async () => {
    const limits = counting();
    const b = new SharedBuckets(limits);
    const t = 1_000_000;
    // Now and then (more than a second apart): one round trip per take, nothing held back.
    for (let i = 0; i < 3; i++) expect(await b.take('k1', 100, 100, 1, t + i * 2000)).toBe(0);
    expect(limits.takes).toBe(3);
    // Busy: 100 takes within one second cost far fewer round trips (batches grow 1, 2, 4, 8, 9 ahead).
    limits.takes = 0;
    for (let i = 0; i < 100; i++) expect(await b.take('k2', 100, 100, 1, t + i)).toBe(0);
    expect(limits.takes).toBeLessThan(20);
    expect(limits.takes).toBeGreaterThanOrEqual(10);
  });

  it('never gives out more than the bucket, refuses locally until it should have refilled, and drops unused leases', async () => {
    const limits = counting();
    const b = new SharedBuckets(limits);
    const t = 2_000_000;
    let ok = 0;
    for (let i = 0; i < 30; i++) if ((await b.take('k3', 10, 10, 1, t)) === 0) ok++;
    expect(ok).toBe(10);
    // Refused: the wait is one token's time, and the next refusals do not ask the database.
    const asked = limits.takes;
    const wait = await b.take('k3', 10, 10, 1, t + 1);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(100);
    expect(limits.takes).toBe(asked);
    expect(await b.take('k3', 10, 10, 1, t + 100)).toBe(0);
    // Concurrent takers of one node share one refill in flight, and still get no more than there is.
    const results = await Promise.all(Array.from({ length: 20 }, () => b.take('k4', 5, 5, 1, t)));
    expect(results.filter((w) => w === 0)).toHaveLength(5);
  });

  it('lets a take larger than the burst go once the bucket is full', async () => {
    const b = new SharedBuckets(storage.limits);
    expect(await b.take('k5', 1, 1, 3, 3_000_000)).toBe(0);
    expect(await b.take('k5', 1, 1, 1, 3_000_000 + 1000)).toBeGreaterThan(0);
    expect(await b.take('k5', 1, 1, 1, 3_000_000 + 3000)).toBe(0);
  });
});

describe('AuthThrottle with a shared failure counter', () => {
  it('counts failures on two nodes together; a lockout started on one refuses on the other', async () => {
    let now = 5_000_000;
    const counter: SharedFailureCounter = {
      strike: (key, at, s) => storage.limits.strike(`auth:smtp:${key}`, at, s),
      lockedUntil: (key) => storage.limits.lockedUntil(`auth:smtp:${key}`),
    };
    const settings = { maxFailures: 4, lockoutMs: 1000, delayStepMs: 100 };
    const a = new AuthThrottle(settings, () => now, counter);
    const b = new AuthThrottle(settings, () => now, counter);
    expect(await a.recordFailure('198.51.100.7')).toEqual({ delayMs: 0, lockedOut: false, failures: 1 });
    expect(await b.recordFailure('198.51.100.7')).toEqual({ delayMs: 0, lockedOut: false, failures: 2 });
    expect(await a.recordFailure('198.51.100.7')).toEqual({ delayMs: 0, lockedOut: false, failures: 3 });
    expect(await a.isLockedOut('198.51.100.7')).toBe(false);
    expect(await b.recordFailure('198.51.100.7')).toEqual({ delayMs: 100, lockedOut: true, failures: 4 });
    expect(await a.isLockedOut('198.51.100.7')).toBe(true);
    expect(await b.isLockedOut('198.51.100.7')).toBe(true);
    expect(await a.isLockedOut('198.51.100.8')).toBe(false);
    now += 1001;
    expect(await a.isLockedOut('198.51.100.7')).toBe(false);
    expect(await b.isLockedOut('198.51.100.7')).toBe(false);
  });

  it('falls back to its own memory when the counter cannot be asked', async () => {
    const broken: SharedFailureCounter = { strike: () => Promise.reject(new Error('down')), lockedUntil: () => Promise.reject(new Error('down')) };
    const t = new AuthThrottle({ maxFailures: 2, lockoutMs: 1000, delayStepMs: 100 }, () => 1, broken);
    expect((await t.recordFailure('x')).lockedOut).toBe(false);
    expect((await t.recordFailure('x')).lockedOut).toBe(true);
    expect(await t.isLockedOut('x')).toBe(true);
  });
});
