/**
 * Limits shared across nodes (ADR 0014) on one PostgreSQL schema opened by several Storage instances,
 * as several nodes open it: the storage port's buckets, slots and strikes never give out more than
 * they hold however the takers race, and core's SharedBuckets (tokens leased ahead per node) and
 * DomainLimits (connection slots) keep the installation-wide rate and cap. Needs
 * SESAME_TEST_DATABASE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainLimits } from '../../src/core/delivery/limits.ts';
import { SharedBuckets } from '../../src/core/sending/rate-limiter.ts';
import { openPostgresStorage } from '../../src/storage/postgres/index.ts';
import type { Storage } from '../../src/storage/ports.ts';
import { freshPostgresSchema } from '../helpers/server.ts';

const NODES = 3;

describe.skipIf(!process.env.SESAME_TEST_DATABASE_URL)('limits shared by several storages on one PostgreSQL schema', () => {
  let nodes: Storage[] = [];
  let url = '';
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const schema = await freshPostgresSchema();
    drop = schema.drop;
    url = schema.url;
    nodes = await Promise.all(Array.from({ length: NODES }, () => openPostgresStorage(schema.url, { poolSize: 4 })));
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await drop?.();
  });

  it('concurrent takes from every node never take more than the bucket holds', async () => {
    const now = Date.now();
    for (const [round, [min, max]] of [
      [1, 1],
      [1, 5],
      [3, 7],
    ].entries()) {
      const key = `race-${round}`;
      const grants = await Promise.all(Array.from({ length: 150 }, (_, i) => nodes[i % NODES]!.limits.takeTokens(key, 50, 50, min!, max!, now)));
      const taken = grants.reduce((n, g) => n + g.taken, 0);
      // The clock does not move: exactly the burst is given out (the last takes may find fewer than min).
      expect(taken).toBeLessThanOrEqual(50);
      expect(taken).toBeGreaterThan(50 - min!);
      expect(grants.every((g) => g.left >= 0)).toBe(true);
    }
  });

  it('concurrent slot acquisitions from every node never hold more than N; releases free them for the others', async () => {
    const now = Date.now();
    const got = await Promise.all(Array.from({ length: 30 }, (_, i) => nodes[i % NODES]!.limits.acquireSlot('conn:cap', 2, `owner-${i}`, now, 60_000).then((slot) => ({ slot, owner: `owner-${i}` }))));
    const held = got.filter((g) => g.slot !== undefined);
    expect(held.length).toBeGreaterThanOrEqual(1);
    expect(held.length).toBeLessThanOrEqual(2);
    expect(await nodes[2]!.limits.heldSlots('conn:cap', now)).toBe(held.length);
    for (const h of held) await nodes[0]!.limits.releaseSlot('conn:cap', h.slot!, h.owner);
    expect(await nodes[1]!.limits.acquireSlot('conn:cap', 2, 'late', now, 60_000)).toBeDefined();
  });

  it('strikes recorded on different nodes add up to one lockout', async () => {
    const st = { windowMs: 60_000, max: 5, lockoutMs: 30_000 };
    const now = Date.now();
    const r = await Promise.all(Array.from({ length: 5 }, (_, i) => nodes[i % NODES]!.limits.strike('auth:client', now, st)));
    expect(r.map((x) => x.failures).sort()).toEqual([1, 2, 3, 4, 5]);
    for (const n of nodes) expect(await n.limits.lockedUntil('auth:client')).toBe(now + 30_000);
  });

  it('SharedBuckets on every node hold the installation to the rate, leasing ahead, within 10 %', async () => {
    const rate = 100;
    const buckets = nodes.map((n) => new SharedBuckets(n.limits));
    // Empty the bucket first, so that what follows is the refill rate alone.
    await nodes[0]!.limits.takeTokens('rate:hammer', rate, rate, 0, rate, Date.now());
    const start = Date.now();
    const until = start + 2000;
    let accepted = 0;
    let asked = 0;
    await Promise.all(
      Array.from({ length: NODES * 4 }, async (_, i) => {
        while (Date.now() < until) {
          asked++;
          const wait = await buckets[i % NODES]!.take('rate:hammer', rate, rate, 1, Date.now());
          if (wait === 0) accepted++;
          else await new Promise((r) => setTimeout(r, Math.min(wait, 5)));
        }
      }),
    );
    const elapsed = (Date.now() - start) / 1000;
    const achieved = accepted / elapsed;
    console.log(`SharedBuckets: ${accepted} taken of ${asked} asked in ${elapsed.toFixed(2)} s = ${achieved.toFixed(1)}/s (rate ${rate}/s)`);
    expect(achieved).toBeLessThanOrEqual(rate * 1.1);
    expect(achieved).toBeGreaterThanOrEqual(rate * 0.9);
  });

  it('DomainLimits on every node never open more than the cap of connections together', async () => {
    const limits = nodes.map((n, i) => new DomainLimits({ connections: 2, rates: {} }, { limits: n.limits, owner: `node-${i}`, now: Date.now }));
    let open = 0;
    let maxOpen = 0;
    let done = 0;
    await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        for (let k = 0; k < 3; k++) {
          const release = await limits[i % NODES]!.acquireWithin('cap.test', 20_000);
          expect(release).toBeDefined();
          open++;
          maxOpen = Math.max(maxOpen, open);
          await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
          open--;
          done++;
          release!();
        }
      }),
    );
    for (const l of limits) l.close();
    expect(done).toBe(36);
    expect(maxOpen).toBe(2);
  });

  it('a slot held while its lease is renewed stays held; when its node dies it frees up as the lease expires', async () => {
    // The node that will die has a storage of its own: closing it ends the renewals, as a kill would.
    const dying = await openPostgresStorage(url, { poolSize: 1 });
    const dead = new DomainLimits({ connections: 1, rates: {} }, { limits: dying.limits, owner: 'dead', now: Date.now, slotTtlMs: 600 });
    const alive = new DomainLimits({ connections: 1, rates: {} }, { limits: nodes[1]!.limits, owner: 'alive', now: Date.now, slotTtlMs: 600 });
    const held = await dead.acquireWithin('dies.test', 1000);
    expect(held).toBeDefined();
    // Renewed every 200 ms: still held after three lifetimes.
    expect(await alive.acquireWithin('dies.test', 1800)).toBeUndefined();
    await dying.close();
    expect(await alive.acquireWithin('dies.test', 100)).toBeUndefined();
    const started = Date.now();
    const release = await alive.acquireWithin('dies.test', 5000);
    expect(release).toBeDefined();
    expect(Date.now() - started).toBeLessThan(2000);
    release!();
    alive.close();
    dead.close();
  });
});
