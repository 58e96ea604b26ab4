/**
 * The durable queue on both backends: group enqueue is all-or-nothing, leases are exclusive (also
 * across two PostgreSQL connections racing), a lost lease applies nothing, and counters add up.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgresStorage } from '../../src/storage/postgres/index.ts';
import { openSqliteStorage } from '../../src/storage/sqlite/index.ts';
import type { EnqueueItem, Storage } from '../../src/storage/ports.ts';
import { freshPostgresSchema, testBackends } from '../helpers/server.ts';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function open(backend: 'sqlite' | 'postgres'): Promise<{ a: Storage; b: Storage }> {
  if (backend === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'sesame-queue-'));
    const a = await openSqliteStorage(join(dir, 'q.db'));
    cleanups.push(async () => {
      await a.close();
      await rm(dir, { recursive: true, force: true });
    });
    return { a, b: a };
  }
  const schema = await freshPostgresSchema();
  const a = await openPostgresStorage(schema.url);
  const b = await openPostgresStorage(schema.url);
  cleanups.push(async () => {
    await a.close();
    await b.close();
    await schema.drop();
  });
  return { a, b };
}

function item(id: string, rcpts: string[], now: number): EnqueueItem {
  return {
    message: { messageId: id, accountId: '000000000000', mailFrom: `${id}@bounce.test`, body: Buffer.from(`Subject: ${id}\r\n\r\nbody\r\n`), configurationSet: null, createdAt: now, expiresAt: now + 3_600_000, meta: { id } },
    recipients: rcpts.map((r) => ({ messageId: id, rcpt: r, domain: r.split('@')[1]!, state: 'queued', attempts: 0, nextAttemptAt: now, leaseOwner: null, leaseExpiresAt: null, lastResponse: null, updatedAt: now })),
    events: [{ messageId: id, accountId: '000000000000', type: 'Send', createdAt: now, payload: { eventType: 'Send' } }],
  };
}

describe.each(testBackends())('queue storage (%s)', (backend) => {
  it('enqueues in one transaction, all or nothing', async () => {
    const { a } = await open(backend);
    const now = Date.now();
    await a.queue.enqueue([item('m1', ['x@a.test', 'y@b.test'], now), item('m2', ['z@a.test'], now)]);
    expect((await a.queue.stats()).queued).toBe(3);
    expect(await a.queue.sentSince('000000000000', now - 1000)).toBe(3);
    // A duplicate message id fails the whole batch, including the new message in it.
    await expect(a.queue.enqueue([item('m3', ['q@a.test'], now), item('m1', ['x@a.test'], now)])).rejects.toThrow();
    expect(await a.queue.message('m3')).toBeUndefined();
    expect((await a.queue.stats()).queued).toBe(3);
    expect((await a.queue.body('m1'))?.head.toString()).toContain('Subject: m1');
    expect((await a.queue.events('m1')).map((e) => e.type)).toEqual(['Send']);
  });

  it('stores every row of a large batch (written in several multi-row statements), with the counters summed', async () => {
    const { a } = await open(backend);
    const now = Date.now();
    // 87 messages = 64 + 16 + 4 + 1 + 1 + 1 rows per statement; 174 recipients; a second account
    // and a system message (not counted toward the quota) in the same batch.
    const items = Array.from({ length: 87 }, (_, i) => item(`big${String(i).padStart(3, '0')}`, [`r${i}@a.test`, `s${i}@b.test`], now));
    items[5] = { ...items[5]!, message: { ...items[5]!.message, accountId: '111111111111', requireTls: true, configurationSet: 'cs1', meta: { n: 5, text: 'naïve ✓' } } };
    items[6] = { ...items[6]!, countTowardQuota: false };
    await a.queue.enqueue(items);
    expect((await a.queue.stats()).queued).toBe(174);
    expect(await a.queue.sentSince('000000000000', now - 1000)).toBe(170);
    expect(await a.queue.sentSince('111111111111', now - 1000)).toBe(2);
    for (const i of [0, 5, 63, 64, 79, 80, 84, 85, 86]) {
      const id = `big${String(i).padStart(3, '0')}`;
      const m = await a.queue.message(id);
      expect(m?.messageId).toBe(id);
      expect((await a.queue.body(id))?.head.toString()).toBe(`Subject: ${id}\r\n\r\nbody\r\n`);
      expect((await a.queue.recipients(id)).map((r) => r.rcpt).sort()).toEqual([`r${i}@a.test`, `s${i}@b.test`]);
      expect((await a.queue.events(id)).map((e) => e.type)).toEqual(['Send']);
    }
    const five = await a.queue.message('big005');
    expect(five).toMatchObject({ accountId: '111111111111', requireTls: true, configurationSet: 'cs1', meta: { n: 5, text: 'naïve ✓' } });
    // A second batch adds to the same quota bucket.
    await a.queue.enqueue([item('after', ['t@a.test'], now)]);
    expect(await a.queue.sentSince('000000000000', now - 1000)).toBe(171);
  });

  it('leases exclusively, honours lease owners, and re-leases expired leases', async () => {
    const { a, b } = await open(backend);
    const now = Date.now();
    const items = Array.from({ length: 40 }, (_, i) => item(`L${i}`, [`r${i}@x.test`], now));
    await a.queue.enqueue(items);
    const [l1, l2] = await Promise.all([a.queue.lease('w1', now, 60_000, 25), b.queue.lease('w2', now, 60_000, 25)]);
    const keys1 = l1.map((r) => r.messageId);
    const keys2 = l2.map((r) => r.messageId);
    expect(keys1.length + keys2.length).toBe(40);
    expect(new Set([...keys1, ...keys2]).size).toBe(40);
    expect(l1[0]).toMatchObject({ accountId: '000000000000', leaseOwner: 'w1' });
    expect(await a.queue.lease('w3', now, 60_000, 10)).toEqual([]);

    // w2 completes one of w1's recipients: nothing applies, no event is written.
    const stolen = l1[0]!;
    expect(await b.queue.complete('w2', [{ update: { messageId: stolen.messageId, rcpt: stolen.rcpt, state: 'delivered', attempts: 1, nextAttemptAt: now, lastResponse: '250 ok' }, events: [{ messageId: stolen.messageId, accountId: '000000000000', type: 'Delivery', createdAt: now, payload: {} }] }])).toBe(0);
    expect((await a.queue.events(stolen.messageId)).map((e) => e.type)).toEqual(['Send']);
    expect(await a.queue.complete('w1', [{ update: { messageId: stolen.messageId, rcpt: stolen.rcpt, state: 'delivered', attempts: 1, nextAttemptAt: now, lastResponse: '250 ok' }, events: [{ messageId: stolen.messageId, accountId: '000000000000', type: 'Delivery', createdAt: now, payload: {} }] }])).toBe(1);
    expect((await a.queue.events(stolen.messageId)).map((e) => e.type)).toEqual(['Send', 'Delivery']);

    // Leases expire: after 60 s the rest can be leased again by someone else.
    const again = await a.queue.lease('w4', now + 61_000, 60_000, 100);
    expect(again.length).toBe(39);
    await a.queue.release('w4');
    expect((await a.queue.lease('w5', now + 61_000, 60_000, 100)).length).toBe(39);
  });

  it('respects next attempt times and retryNow', async () => {
    const { a } = await open(backend);
    const now = Date.now();
    const it1 = item('later', ['a@later.test'], now);
    it1.recipients[0]!.nextAttemptAt = now + 300_000;
    await a.queue.enqueue([it1]);
    expect(await a.queue.lease('w', now, 1000, 10)).toEqual([]);
    expect(await a.queue.retryNow('later', now)).toBe(1);
    expect((await a.queue.lease('w', now, 1000, 10)).map((r) => r.rcpt)).toEqual(['a@later.test']);
  });
});
