/**
 * The floor under every durable acknowledgement on this machine: how long one fdatasync of a small
 * append takes on the disk of a directory (default: the system temp dir), as a distribution.
 * `node --import tsx bench/fsync-latency.ts [dir] [count=500]`
 * An acceptance that waits for its flush (Sesame, Postfix) cannot answer faster than this; §5's p99
 * is read against its p99.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = await mkdtemp(join(process.argv[2] ?? tmpdir(), 'sesame-fsync-'));
const count = Number(process.argv[3] ?? 500);
const fh = await open(join(dir, 'probe'), 'a');
const block = Buffer.alloc(4096, 1);
const ms: number[] = [];
try {
  for (let i = 0; i < count; i++) {
    await fh.write(block);
    const t = performance.now();
    await fh.datasync();
    ms.push(performance.now() - t);
  }
} finally {
  await fh.close();
  await rm(dir, { recursive: true, force: true });
}
ms.sort((a, b) => a - b);
const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!.toFixed(2);
process.stdout.write(`fdatasync of a 4 KiB append, ${count} times in ${dir}: p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms, max ${ms.at(-1)!.toFixed(2)} ms\n`);
