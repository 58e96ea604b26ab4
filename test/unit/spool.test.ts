/**
 * DATA spooling (core/spool.ts through the SMTP edge's readData): up to the threshold a message
 * stays one Buffer; beyond it, it goes to the BlobStore as it arrives, with its first bytes in
 * memory; a refused, oversized or abandoned message leaves no file behind.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Spooler, isSpooled } from '../../src/core/spool.ts';
import { readData } from '../../src/frontends/smtp/data.ts';
import { FileBlobStore } from '../../src/storage/blobs.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function store() {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-spool-'));
  dirs.push(dir);
  return { dir, blobs: new FileBlobStore(dir) };
}

const files = (dir: string) => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);

/** Writes `chunks` into a DATA stream read with a spooler of threshold `from`. */
async function read(blobs: FileBlobStore, chunks: Buffer[], max: number, from: number, end = true) {
  const s = new PassThrough();
  const done = readData(s, max, new Spooler(blobs, from));
  for (const c of chunks) s.write(c);
  if (end) s.end();
  else s.destroy();
  return done;
}

const lines = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`line ${String(i).padStart(6, '0')} of the message body\r\n`));

describe('spooling DATA', () => {
  it('keeps a message up to the threshold in memory, and spools a larger one with its head in memory', async () => {
    const { dir, blobs } = store();
    const small = await read(blobs, lines(10), 1 << 20, 4096);
    expect(small.kind === 'message' && Buffer.isBuffer(small.data)).toBe(true);
    expect(files(dir)).toEqual([]);
    const chunks = lines(2000);
    const whole = Buffer.concat(chunks);
    const big = await read(blobs, chunks, 1 << 20, 4096);
    if (big.kind !== 'message' || !isSpooled(big.data)) throw new Error(`not spooled: ${big.kind}`);
    expect(big.data.size).toBe(whole.length);
    expect(big.data.head.equals(whole.subarray(0, 4096))).toBe(true);
    expect((await blobs.get(big.data.blobId))!.equals(whole)).toBe(true);
    expect(files(dir)).toEqual([big.data.blobId]);
  });

  it.each([
    ['too long', [...lines(2000)], 10_000, 'too-long'],
    ['a bare LF after spooling began', [...lines(500), Buffer.from('smuggled\n.\n'), ...lines(10)], 1 << 20, 'bare-newline'],
    ['a bare CR at the very end', [...lines(500), Buffer.from('end\r')], 1 << 20, 'bare-newline'],
  ] as const)('%s: refused, and the spool is gone', async (_name, chunks, max, kind) => {
    const { dir, blobs } = store();
    const r = await read(blobs, [...chunks], max, 4096);
    expect(r.kind).toBe(kind);
    expect(files(dir)).toEqual([]);
  });

  it('a client that goes away mid-DATA leaves nothing', async () => {
    const { dir, blobs } = store();
    const r = await read(blobs, lines(2000), 1 << 20, 4096, false);
    expect(r.kind).toBe('aborted');
    // The removal may finish just after the answer: wait for the directory to empty.
    for (let i = 0; i < 50 && files(dir).length > 0; i++) await new Promise((ok) => setTimeout(ok, 20));
    expect(files(dir)).toEqual([]);
  });
});
