/**
 * The WAL flush of the SQLite backend: every caller waits for a flush that started after its call
 * (so its commit is on disk), callers that arrive during a flush share the next one, and a failed
 * flush fails its callers only. On a real database, a write does not return before a flush.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flushWal, openSqliteStorage } from '../../src/storage/sqlite/index.ts';

/** A flush the test finishes by hand, recording when each started. */
function manualSync() {
  const started: Array<{ done: () => void; fail: (e: Error) => void }> = [];
  const sync = () =>
    new Promise<void>((resolve, reject) => {
      started.push({ done: resolve, fail: reject });
    });
  return { started, sync };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('flushWal', () => {
  it('runs one flush at a time; callers during a flush share the next one, which starts after it', async () => {
    const m = manualSync();
    const wal = flushWal('/nonexistent', m.sync);
    const order: string[] = [];
    const a = wal.flush().then(() => order.push('a'));
    await tick();
    expect(m.started).toHaveLength(1);
    // b and c commit while a's flush runs: that flush may have started before their commits.
    const b = wal.flush().then(() => order.push('b'));
    const c = wal.flush().then(() => order.push('c'));
    await tick();
    expect(m.started).toHaveLength(1);
    m.started[0]!.done();
    await a;
    await tick();
    expect(order).toEqual(['a']);
    expect(m.started).toHaveLength(2);
    m.started[1]!.done();
    await Promise.all([b, c]);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(m.started).toHaveLength(2);
  });

  it('a failed flush fails the callers waiting on it, and the next caller gets a new flush', async () => {
    const m = manualSync();
    const wal = flushWal('/nonexistent', m.sync);
    const a = wal.flush();
    await tick();
    m.started[0]!.fail(new Error('EIO'));
    await expect(a).rejects.toThrow('EIO');
    const b = wal.flush();
    await tick();
    expect(m.started).toHaveLength(2);
    m.started[1]!.done();
    await expect(b).resolves.toBeUndefined();
  });
});

describe('SQLite storage writes', () => {
  it('flushes the WAL before a write returns, and not for a read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sesame-wal-'));
    const st = await openSqliteStorage(join(dir, 'sesame.db'));
    try {
      // The real flush is fdatasync on the -wal file; count the calls through the file handle's prototype.
      const handle = await open(join(dir, 'sesame.db-wal'), 'r');
      const FileHandleProto = Object.getPrototypeOf(handle) as { datasync: () => Promise<void> };
      await handle.close();
      const original = FileHandleProto.datasync;
      let flushes = 0;
      FileHandleProto.datasync = function (this: unknown) {
        flushes++;
        return original.call(this);
      };
      try {
        await st.accounts.ensure({ id: '111122223333', createdAt: Date.now(), settings: {} });
        expect(flushes).toBeGreaterThanOrEqual(1);
        const after = flushes;
        await st.accounts.get('111122223333');
        expect(flushes).toBe(after);
      } finally {
        FileHandleProto.datasync = original;
      }
    } finally {
      await st.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
