/**
 * Message bytes that need not sit in memory. A message up to SPOOL_FROM_BYTES is a Buffer, as
 * before; a larger one is spooled into the BlobStore while it arrives (SMTP DATA, an API request
 * body) and core reads only its head in memory: the header block is parsed from the head, and the
 * DKIM hash, the queue and delivery stream the rest from the blob. A 40 MB message then costs a
 * few MB of memory on its way through instead of several copies of itself (BENCHMARKS §6).
 */
import { Readable } from 'node:stream';
import type { BlobRange, BlobStore, BlobWriter, StoredBody } from '../storage/ports.ts';

/** Messages larger than this are spooled to the BlobStore by the front ends. */
export const SPOOL_FROM_BYTES = 1024 * 1024;

/** A message in the BlobStore, with its first bytes in memory. */
export interface SpooledMessage {
  kind: 'spooled';
  /** The blob holding the whole message. */
  blobId: string;
  size: number;
  /** The first min(size, SPOOL_FROM_BYTES) bytes: the header block of any sane message. */
  head: Buffer;
}

/** A message's bytes: in memory, or spooled. */
export type MessageBytes = Buffer | SpooledMessage;

export function isSpooled(m: MessageBytes): m is SpooledMessage {
  return !Buffer.isBuffer(m);
}

export function sizeOf(m: MessageBytes): number {
  return isSpooled(m) ? m.size : m.length;
}

/** The whole message in memory (for the rare paths that need it: HTML rewriting for tracking). */
export async function readAll(blobs: BlobStore, m: MessageBytes): Promise<Buffer> {
  if (!isSpooled(m)) return m;
  const b = await blobs.get(m.blobId);
  if (!b) throw new Error(`spooled message ${m.blobId} is missing from the blob store`);
  return b;
}

/** `head` followed by the blob range, as one stream; undefined when the blob is gone. */
export async function streamBody(blobs: BlobStore, head: Buffer, range: BlobRange | null): Promise<Readable | undefined> {
  if (!range) return Readable.from([head], { objectMode: false });
  const rest = await blobs.stream(range.id, range.offset);
  if (!rest) return undefined;
  return Readable.from(
    (async function* () {
      if (head.length > 0) yield head;
      yield* rest;
    })(),
    { objectMode: false },
  );
}

/** A stored message body as a stream (delivery); undefined when its blob is gone. */
export function storedBodyStream(blobs: BlobStore, b: StoredBody): Promise<Readable | undefined> {
  return streamBody(blobs, b.head, b.blob);
}

/**
 * Collects a message as it arrives: in memory up to SPOOL_FROM_BYTES, then into a blob (the bytes
 * held so far first). `write` resolves once the chunk is taken (the caller pauses its source
 * meanwhile); `finish` flushes the blob and gives the message; `abort` drops everything.
 */
export class Spooler {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private writer: BlobWriter | undefined;
  private head: Buffer | undefined;
  private closed = false;
  /** The last write to the blob, which abort waits for (the writer may not even exist before it). */
  private pending: Promise<void> | undefined;
  private aborting: Promise<void> | undefined;

  constructor(
    private readonly blobs: BlobStore | undefined,
    private readonly fromBytes = SPOOL_FROM_BYTES,
  ) {}

  get size(): number {
    return this.bytes;
  }

  /** Takes a chunk; returns a promise only when the chunk went to the blob (wait for it before the next). */
  write(chunk: Buffer): Promise<void> | undefined {
    if (this.closed) throw new Error('spooler is closed');
    this.bytes += chunk.length;
    if (this.writer) return (this.pending = this.writer.write(chunk));
    this.chunks.push(chunk);
    if (!this.blobs || this.bytes <= this.fromBytes) return undefined;
    return (this.pending = this.startSpooling());
  }

  private async startSpooling(): Promise<void> {
    const all = Buffer.concat(this.chunks, this.bytes);
    this.chunks = [];
    this.head = Buffer.from(all.subarray(0, this.fromBytes));
    this.writer = await this.blobs!.writer();
    await this.writer.write(all);
  }

  /** The message: a Buffer, or spooled and durable. */
  async finish(): Promise<MessageBytes> {
    this.closed = true;
    if (!this.writer) {
      const b = Buffer.concat(this.chunks, this.bytes);
      this.chunks = [];
      return b;
    }
    const { id, size } = await this.writer.commit();
    return { kind: 'spooled', blobId: id, size, head: this.head! };
  }

  /** Drops what was collected (a refused or abandoned message). */
  abort(): Promise<void> {
    this.closed = true;
    this.chunks = [];
    // Every caller waits for the same removal.
    this.aborting ??= (async () => {
      await this.pending?.catch(() => {});
      await this.writer?.abort();
    })();
    return this.aborting;
  }
}

/** Removes a spooled message nobody will keep (a refused send); a Buffer needs nothing. */
export async function discard(blobs: BlobStore, m: MessageBytes): Promise<void> {
  if (isSpooled(m)) await blobs.delete(m.blobId);
}

/** What the front ends use to spool what they receive (core owns the BlobStore). */
export class SpoolService {
  constructor(private readonly blobs: BlobStore) {}

  /** A spooler for one arriving message. */
  spooler(): Spooler {
    return new Spooler(this.blobs);
  }

  /** Drops a spooled message that was refused. */
  discard(m: MessageBytes): Promise<void> {
    return discard(this.blobs, m);
  }
}
