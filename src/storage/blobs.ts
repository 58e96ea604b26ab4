/**
 * BlobStore implementations. On the embedded default, one file per blob under `<data dir>/blobs/`,
 * written to a temporary name, flushed, renamed and the directory flushed, so a blob a row names is
 * on disk whole (the rename is atomic). On PostgreSQL, rows of the `blobs` table, so that every node
 * sharing the database reads them.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { BlobStore } from './ports.ts';
import type { Database } from './sql/tables.ts';

const newId = () => randomBytes(16).toString('hex');
const ID = /^[0-9a-f]{32}$/;

async function collect(data: Buffer | AsyncIterable<Buffer>): Promise<Buffer> {
  if (Buffer.isBuffer(data)) return data;
  const chunks: Buffer[] = [];
  for await (const c of data) chunks.push(c);
  return Buffer.concat(chunks);
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
    const id = newId();
    const { dir, file } = this.path(id);
    if (!this.made.has(dir)) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      this.made.add(dir);
    }
    const tmp = `${file}.tmp`;
    const f = await open(tmp, 'w', 0o600);
    let size = 0;
    try {
      if (Buffer.isBuffer(data)) {
        await f.writeFile(data);
        size = data.length;
      } else {
        for await (const chunk of data) {
          await f.write(chunk);
          size += chunk.length;
        }
      }
      await f.sync();
    } catch (err) {
      await f.close();
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

  async stream(id: string): Promise<AsyncIterable<Buffer> | undefined> {
    if (!ID.test(id)) return undefined;
    const { file } = this.path(id);
    try {
      await stat(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return createReadStream(file, { highWaterMark: 256 * 1024 });
  }

  async delete(id: string): Promise<void> {
    if (!ID.test(id)) return;
    await rm(this.path(id).file, { force: true });
  }
}

/** Blobs as rows (PostgreSQL). */
export class SqlBlobStore implements BlobStore {
  constructor(private readonly db: Kysely<Database>) {}

  async put(data: Buffer | AsyncIterable<Buffer>): Promise<{ id: string; size: number }> {
    const bytes = await collect(data);
    const id = newId();
    await this.db.insertInto('blobs').values({ id, data: bytes, created_at: Date.now() }).execute();
    return { id, size: bytes.length };
  }

  async get(id: string): Promise<Buffer | undefined> {
    const r = await this.db.selectFrom('blobs').select('data').where('id', '=', id).executeTakeFirst();
    return r ? Buffer.from(r.data) : undefined;
  }

  async stream(id: string): Promise<AsyncIterable<Buffer> | undefined> {
    const b = await this.get(id);
    return b ? (async function* () { yield b; })() : undefined;
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('blobs').where('id', '=', id).execute();
  }
}
