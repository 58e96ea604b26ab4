/**
 * BlobStore implementations. On the embedded default, one file per blob under `<data dir>/blobs/`,
 * written to a temporary name, flushed, renamed and the directory flushed, so a blob a row names is
 * on disk whole (the rename is atomic). On PostgreSQL, 1 MiB chunks in rows of `blob_chunks`, so
 * that every node sharing the database reads them and no blob is ever held whole in memory.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { BlobStore, BlobWriter } from './ports.ts';
import type { Database } from './sql/tables.ts';

const newId = () => randomBytes(16).toString('hex');
const ID = /^[0-9a-f]{32}$/;

/** Writes `data` through a writer: committed when all of it is written, aborted otherwise. */
async function putThrough(w: BlobWriter, data: Buffer | AsyncIterable<Buffer>): Promise<{ id: string; size: number }> {
  try {
    if (Buffer.isBuffer(data)) await w.write(data);
    else for await (const chunk of data) await w.write(chunk);
  } catch (err) {
    await w.abort();
    throw err;
  }
  return w.commit();
}

/** Blobs as files under `dir`. */
export class FileBlobStore implements BlobStore {
  private readonly made = new Set<string>();
  constructor(private readonly dir: string) {}

  private path(id: string): { dir: string; file: string } {
    const dir = join(this.dir, id.slice(0, 2));
    return { dir, file: join(dir, id) };
  }

  async put(data: Buffer | AsyncIterable<Buffer>): Promise<{ id: string; size: number }> {
    return putThrough(await this.writer(), data);
  }

  async writer(): Promise<BlobWriter> {
    const id = newId();
    const { dir, file } = this.path(id);
    if (!this.made.has(dir)) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      this.made.add(dir);
    }
    const tmp = `${file}.tmp`;
    const f: FileHandle = await open(tmp, 'w', 0o600);
    let size = 0;
    let done = false;
    return {
      async write(chunk: Buffer) {
        if (done) throw new Error('blob writer is closed');
        // FileHandle.write may write less than asked; writeFile appends the whole chunk.
        await f.writeFile(chunk);
        size += chunk.length;
      },
      async commit() {
        if (done) throw new Error('blob writer is closed');
        done = true;
        try {
          await f.sync();
        } catch (err) {
          await f.close().catch(() => {});
          await rm(tmp, { force: true });
          throw err;
        }
        await f.close();
        await rename(tmp, file);
        // The rename is durable only once the directory entry is flushed.
        const d = await open(dir, 'r');
        try {
          await d.sync();
        } finally {
          await d.close();
        }
        return { id, size };
      },
      async abort() {
        if (done) return;
        done = true;
        await f.close().catch(() => {});
        await rm(tmp, { force: true });
      },
    };
  }

  async get(id: string): Promise<Buffer | undefined> {
    if (!ID.test(id)) return undefined;
    try {
      return await readFile(this.path(id).file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async stream(id: string, start = 0): Promise<AsyncIterable<Buffer> | undefined> {
    if (!ID.test(id)) return undefined;
    const { file } = this.path(id);
    try {
      await stat(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return createReadStream(file, { highWaterMark: 256 * 1024, start });
  }

  async delete(id: string): Promise<void> {
    if (!ID.test(id)) return;
    await rm(this.path(id).file, { force: true });
  }
}

/** Bytes per row of `blob_chunks`: every chunk but a blob's last is exactly this long. */
const CHUNK = 1024 * 1024;

/**
 * Blobs as rows (PostgreSQL): chunk rows written as the bytes arrive, each its own commit, so a
 * spooled message never sits whole in memory; a blob is complete once its writer commits (only
 * then does a row name it). Blobs of the first schema (`blobs`, one row each) are still read.
 */
export class SqlBlobStore implements BlobStore {
  constructor(private readonly db: Kysely<Database>) {}

  async put(data: Buffer | AsyncIterable<Buffer>): Promise<{ id: string; size: number }> {
    return putThrough(await this.writer(), data);
  }

  async writer(): Promise<BlobWriter> {
    const db = this.db;
    const id = newId();
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let seq = 0;
    let size = 0;
    let done = false;
    const flush = async (all: boolean) => {
      while (pendingBytes >= CHUNK || (all && pendingBytes > 0)) {
        const joined = Buffer.concat(pending, pendingBytes);
        const take = Math.min(CHUNK, joined.length);
        await db.insertInto('blob_chunks').values({ id, seq, data: joined.subarray(0, take), created_at: Date.now() }).execute();
        seq++;
        pending = take < joined.length ? [joined.subarray(take)] : [];
        pendingBytes = joined.length - take;
      }
    };
    return {
      async write(chunk: Buffer) {
        if (done) throw new Error('blob writer is closed');
        pending.push(chunk);
        pendingBytes += chunk.length;
        size += chunk.length;
        if (pendingBytes >= CHUNK) await flush(false);
      },
      async commit() {
        if (done) throw new Error('blob writer is closed');
        done = true;
        await flush(true);
        if (seq === 0) await db.insertInto('blob_chunks').values({ id, seq: 0, data: Buffer.alloc(0), created_at: Date.now() }).execute();
        return { id, size };
      },
      async abort() {
        if (done) return;
        done = true;
        pending = [];
        await db.deleteFrom('blob_chunks').where('id', '=', id).execute();
      },
    };
  }

  async get(id: string): Promise<Buffer | undefined> {
    const rows = await this.db.selectFrom('blob_chunks').select('data').where('id', '=', id).orderBy('seq').execute();
    if (rows.length > 0) return Buffer.concat(rows.map((r) => Buffer.from(r.data)));
    const r = await this.db.selectFrom('blobs').select('data').where('id', '=', id).executeTakeFirst();
    return r ? Buffer.from(r.data) : undefined;
  }

  async stream(id: string, start = 0): Promise<AsyncIterable<Buffer> | undefined> {
    const first = await this.db.selectFrom('blob_chunks').select('seq').where('id', '=', id).limit(1).executeTakeFirst();
    if (!first) {
      const whole = await this.get(id);
      return whole ? (async function* () { yield whole.subarray(start); })() : undefined;
    }
    const db = this.db;
    return (async function* () {
      // Chunks are CHUNK long but the last, so `start` falls in chunk start / CHUNK.
      for (let seq = Math.floor(start / CHUNK), skip = start % CHUNK; ; seq++, skip = 0) {
        const r = await db.selectFrom('blob_chunks').select('data').where('id', '=', id).where('seq', '=', seq).executeTakeFirst();
        if (!r) return;
        const data = Buffer.from(r.data);
        if (skip < data.length) yield skip > 0 ? data.subarray(skip) : data;
      }
    })();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('blob_chunks').where('id', '=', id).execute();
    await this.db.deleteFrom('blobs').where('id', '=', id).execute();
  }

  /**
   * Writes a blob under a given id, chunked as `writer()` chunks (`sesame migrate` keeps the ids that
   * rows name). On a transaction's Kysely the chunks commit with it; the caller ensures the id is new.
   */
  async putWithId(id: string, data: Buffer | AsyncIterable<Buffer>): Promise<{ id: string; size: number }> {
    if (!ID.test(id)) throw new Error(`not a blob id: ${id}`);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let seq = 0;
    let size = 0;
    const insert = async (bytes: Buffer) => {
      await this.db.insertInto('blob_chunks').values({ id, seq, data: bytes, created_at: Date.now() }).execute();
      seq++;
    };
    for await (const chunk of Buffer.isBuffer(data) ? [data] : data) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      size += chunk.length;
      while (pendingBytes >= CHUNK) {
        const joined = Buffer.concat(pending, pendingBytes);
        await insert(joined.subarray(0, CHUNK));
        pending = [joined.subarray(CHUNK)];
        pendingBytes = joined.length - CHUNK;
      }
    }
    // The last chunk (possibly empty: an empty blob is one empty chunk, as writer() stores it).
    if (pendingBytes > 0 || seq === 0) await insert(Buffer.concat(pending, pendingBytes));
    return { id, size };
  }
}
