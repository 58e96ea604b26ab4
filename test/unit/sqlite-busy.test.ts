/**
 * Two connections on one SQLite file (the node's and its worker thread's, ADR 0019): a write that
 * finds the other connection holding the write lock waits for it without blocking the event loop,
 * then succeeds; one that waits longer than its limit fails with SQLITE_BUSY, having changed nothing.
 */
import BetterSqlite3 from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStorage, whenNotBusy } from '../../src/storage/sqlite/index.ts';
import type { Storage } from '../../src/storage/ports.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SQLite writes while another connection holds the write lock', () => {
  let dir: string;
  let storage: Storage;
  let other: BetterSqlite3.Database;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sesame-busy-'));
    storage = await openSqliteStorage(join(dir, 'sesame.db'));
    other = new BetterSqlite3(join(dir, 'sesame.db'));
  });
  afterEach(async () => {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  const record = (email: string) => ({ accountId: '123456789012', email, reason: 'BOUNCE' as const, lastUpdateTime: 1, messageId: null, feedbackId: null });

  it('waits for the lock with timers (the event loop keeps running), then commits', async () => {
    other.exec('BEGIN IMMEDIATE');
    let done = false;
    const put = storage.suppression.put(record('a@example.com')).then(() => (done = true));
    // Timers fire while the write waits: the thread is not asleep in SQLite's busy handler.
    let ticks = 0;
    for (let i = 0; i < 5; i++) {
      await sleep(5);
      ticks++;
    }
    expect(ticks).toBe(5);
    expect(done).toBe(false);
    other.exec('COMMIT');
    await put;
    expect(done).toBe(true);
    expect(await storage.suppression.get('123456789012', 'a@example.com')).toMatchObject({ reason: 'BOUNCE' });
  });

  it('a transaction begins only once it holds the write lock, so it never fails half-way', async () => {
    other.exec('BEGIN IMMEDIATE');
    other.prepare("INSERT INTO suppressed_destinations (account_id, email, reason, last_update_time, message_id, feedback_id) VALUES ('123456789012', 'b@example.com', 'COMPLAINT', 2, NULL, NULL)").run();
    // putMany writes in a transaction: it must wait for the other's commit and then see its row.
    const many = storage.suppression.putMany([record('b@example.com'), record('c@example.com')]);
    await sleep(20);
    other.exec('COMMIT');
    await many;
    expect(await storage.suppression.get('123456789012', 'b@example.com')).toMatchObject({ reason: 'BOUNCE' });
    expect(await storage.suppression.get('123456789012', 'c@example.com')).toMatchObject({ reason: 'BOUNCE' });
  });

  it('gives up with SQLITE_BUSY after its limit, and the statement changed nothing', async () => {
    const mine = new BetterSqlite3(join(dir, 'sesame.db'));
    mine.pragma('busy_timeout = 0');
    try {
      other.exec('BEGIN IMMEDIATE');
      const started = performance.now();
      const attempt = whenNotBusy(
        async () => mine.prepare("INSERT INTO suppressed_destinations (account_id, email, reason, last_update_time, message_id, feedback_id) VALUES ('123456789012', 'd@example.com', 'BOUNCE', 1, NULL, NULL)").run(),
        60,
      );
      await expect(attempt).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
      expect(performance.now() - started).toBeGreaterThanOrEqual(60);
      other.exec('ROLLBACK');
      expect(await storage.suppression.get('123456789012', 'd@example.com')).toBeUndefined();
    } finally {
      mine.close();
    }
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    const failing = whenNotBusy(async () => {
      calls++;
      throw Object.assign(new Error('constraint'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    });
    await expect(failing).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    expect(calls).toBe(1);
  });
});
