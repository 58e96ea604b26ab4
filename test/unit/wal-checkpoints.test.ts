/**
 * Who checkpoints the SQLite write-ahead log (copies it into the database file, and syncs both).
 * A checkpoint blocks the thread that runs it; the node's main thread, which answers clients, leaves
 * them to its worker thread's connection (ADR 0019) and keeps only a backstop. Seen from outside: the
 * database file grows when the log is copied into it, and only then.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStorage, WAL_BACKSTOP_PAGES } from '../../src/storage/sqlite/index.ts';
import type { Storage } from '../../src/storage/ports.ts';

const PAGE = 4096;

describe('checkpoints of the write-ahead log (SQLite)', () => {
  let dir: string;
  let file: string;
  /** The main thread's connection, and the worker thread's, to the same file. */
  let node: Storage;
  let worker: Storage;
  let written = 0;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sesame-ckpt-'));
    file = join(dir, 'sesame.db');
    node = await openSqliteStorage(file);
    worker = await openSqliteStorage(file);
    written = 0;
    // What the migrations wrote, in the file: from here on the file grows only by checkpoints.
    worker.checkpointWal!();
  });
  afterEach(async () => {
    await node.close();
    await worker.close();
    await rm(dir, { recursive: true, force: true });
  });

  const size = async (path: string) => (await stat(path)).size;
  /** Frames in the write-ahead log file (a 32-byte header, then a 24-byte header and a page per frame). */
  const walFrames = async () => Math.floor(((await size(`${file}-wal`)) - 32) / (24 + PAGE));
  /** Commits one template of about 20 pages through `s`. */
  const writeOne = async (s: Storage) => {
    const at = Date.now();
    await s.templates.create({ accountId: '123456789012', name: `t${written++}`, data: { html: 'x'.repeat(20 * PAGE - 200) }, createdAt: at, updatedAt: at });
  };
  const write = async (s: Storage, templates: number) => {
    for (let i = 0; i < templates; i++) await writeOne(s);
  };
  /** Commits templates through `s` until the database file grows (a checkpoint copied the log), at most `limit`; the log's frames then. */
  const writeUntilCheckpoint = async (s: Storage, limit: number) => {
    const before = await size(file);
    for (let i = 0; i < limit; i++) {
      await writeOne(s);
      if ((await size(file)) > before) return walFrames();
    }
    return undefined;
  };

  it('as opened, a connection checkpoints when one of its commits leaves the log over 1,000 pages', async () => {
    const frames = await writeUntilCheckpoint(node, 100);
    // A template commits about 23 frames (its pages, the table's and the indexes').
    expect(frames).toBeGreaterThanOrEqual(1_000);
    expect(frames).toBeLessThan(1_050);
  });

  it('one that leaves them to the other connection does not; the other copies the log when asked', async () => {
    node.walCheckpoints!('other');
    const before = await size(file);
    await write(node, 100);
    expect(await size(file)).toBe(before);
    expect(await walFrames()).toBeGreaterThan(2_000);
    worker.checkpointWal!();
    // The templates' own pages (20 each) are new pages of the file.
    expect(await size(file)).toBeGreaterThanOrEqual(before + 2_000 * PAGE);
    // Every template is there, read through either connection.
    expect(await node.templates.count('123456789012')).toBe(100);
    expect(await worker.templates.count('123456789012')).toBe(100);
  });

  it('it still checkpoints past the backstop (the other connection stopped keeping up), and takes them back when told', async () => {
    node.walCheckpoints!('other');
    const frames = await writeUntilCheckpoint(node, 600);
    expect(frames).toBeGreaterThanOrEqual(WAL_BACKSTOP_PAGES);
    expect(frames).toBeLessThan(WAL_BACKSTOP_PAGES + 50);
    node.walCheckpoints!('self');
    const before = await size(file);
    await write(node, 100);
    expect(await size(file)).toBeGreaterThan(before);
  });
});
