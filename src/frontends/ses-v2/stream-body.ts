/**
 * SendEmail's request body, streamed instead of buffered (BENCHMARKS §6): a 40 MB raw message is
 * 53 MB of base64 inside JSON, and buffering, parsing and decoding it held several copies at once.
 *
 * The body is hashed (SigV4) as it arrives; the string at `Content.Raw.Data` is base64-decoded on
 * the fly into a core spooler (so the message goes to the BlobStore and only its head stays in
 * memory); the rest of the JSON is kept (it is small) and parsed by `parseJsonBody` once the
 * request is authenticated, with the streamed string replaced by a `StreamedData`. Every answer
 * is the one the buffered path gave: the same JSON errors, the same base64 check (see `base64` in
 * operations/content.ts, whose rule `Base64Decoder` follows), the same 413.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { badRequest, type MessageBytes, type SpoolService, type Spooler } from '../../core/index.ts';
import { JsonStringExtractor, type StreamedStringSink } from '../../lib/json-stream.ts';
import { parseJsonBody, type Body } from './validate.ts';

/** Where SendEmail carries a raw message. */
const RAW_DATA_PATH = ['Content', 'Raw', 'Data'];
/** What stands for the streamed string in the rest of the JSON (as JSON text, and parsed). */
const PLACEHOLDER_JSON = '\\u0000sesame:streamed-raw-data';
const PLACEHOLDER = '\u0000sesame:streamed-raw-data';
/** Decoded bytes gathered before one spooler write. */
const WRITE_BYTES = 256 * 1024;

/**
 * `Content.Raw.Data` of a streamed request: the decoded message, or undefined when the string was
 * not valid base64. Whoever passes `bytes` to core marks it `handedOver` (core then owns a spooled
 * message); otherwise the request's `release` drops it.
 */
export class StreamedData {
  handedOver = false;
  constructor(readonly bytes: MessageBytes | undefined) {}
}

/** A request body larger than the limit (answered as Fastify answers one: status 413). */
export class BodyTooLargeError extends Error {
  readonly statusCode = 413;
  readonly code = 'FST_ERR_CTP_BODY_TOO_LARGE';
  constructor() {
    super('Request body is too large');
  }
}

const ALPHABET_RUN = /^[A-Za-z0-9+/]*$/;
const WHITESPACE = /\s/;

const enum B {
  /** Base64 characters (and CR, LF). */
  Body,
  /** After one `=`. */
  Pad1,
  /** After two `=`. */
  Pad2,
  /** In the whitespace that may end the text. */
  Trail,
  Invalid,
}

const isAlphabet = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;

/**
 * A base64 decoder fed in pieces that accepts exactly the texts that `base64` in
 * operations/content.ts accepts (`/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/`) and gives the bytes that
 * `Buffer.from(text, 'base64')` gives for them: the alphabet characters decoded in groups of four,
 * a last group of two or three giving one or two bytes, a lone last character nothing.
 */
export class Base64Decoder {
  private state = B.Body;
  private carry = '';

  /** False once the text can no longer be valid. */
  get valid(): boolean {
    return this.state !== B.Invalid;
  }

  /** Takes the next characters; decoded bytes are appended to `out`. Returns `valid`. */
  write(s: string, out: Buffer[]): boolean {
    if (this.state === B.Invalid) return false;
    if (this.state === B.Body && ALPHABET_RUN.test(s)) {
      this.take(s, out);
      return true;
    }
    let run = '';
    let start = 0;
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (this.state === B.Body) {
        if (isAlphabet(c)) continue;
        run += s.slice(start, k);
        start = k + 1;
        if (c === 0x0d || c === 0x0a) continue;
        if (c === 0x3d) this.state = B.Pad1;
        else if (WHITESPACE.test(s[k]!)) this.state = B.Trail;
        else this.state = B.Invalid;
      } else if (c === 0x3d && this.state === B.Pad1) {
        this.state = B.Pad2;
      } else if (WHITESPACE.test(s[k]!)) {
        this.state = B.Trail;
      } else {
        this.state = B.Invalid;
      }
      if (this.state === B.Invalid) return false;
    }
    if (this.state === B.Body) run += s.slice(start);
    this.take(run, out);
    return true;
  }

  /** The text ended: the bytes of a last partial group. */
  end(out: Buffer[]): void {
    if (this.state !== B.Invalid && this.carry.length >= 2) out.push(Buffer.from(this.carry, 'base64'));
    this.carry = '';
  }

  private take(s: string, out: Buffer[]): void {
    if (s.length === 0) return;
    const all = this.carry.length > 0 ? this.carry + s : s;
    const whole = all.length - (all.length % 4);
    if (whole > 0) out.push(Buffer.from(whole === all.length ? all : all.slice(0, whole), 'base64'));
    this.carry = all.slice(whole);
  }
}

/** One string found at `Content.Raw.Data` (a later one replaces it, as JSON.parse keeps the last). */
interface Occurrence {
  decoder: Base64Decoder;
  /** Undefined when not spooling (the request cannot authenticate, or the base64 is bad). */
  spooler: Spooler | undefined;
  out: Buffer[];
  outBytes: number;
}

/** Decodes the strings at the path into spoolers. */
class RawDataSink implements StreamedStringSink {
  current: Occurrence | undefined;
  /** Spoolers to abort (superseded occurrences, bad base64). */
  private dropped: Spooler[] = [];

  constructor(private readonly spool: SpoolService | undefined) {}

  open(): void {
    if (this.current?.spooler) this.dropped.push(this.current.spooler);
    this.current = { decoder: new Base64Decoder(), spooler: this.spool?.spooler(), out: [], outBytes: 0 };
  }

  text(s: string): void {
    const c = this.current!;
    if (!c.spooler) return; // nothing will be sent; the answer is an error whatever the text
    const before = c.out.length;
    if (!c.decoder.write(s, c.out)) {
      this.dropped.push(c.spooler);
      c.spooler = undefined;
      c.out = [];
      c.outBytes = 0;
      return;
    }
    for (let k = before; k < c.out.length; k++) c.outBytes += c.out[k]!.length;
  }

  close(): void {
    const c = this.current!;
    if (!c.spooler) return;
    const before = c.out.length;
    c.decoder.end(c.out);
    for (let k = before; k < c.out.length; k++) c.outBytes += c.out[k]!.length;
  }

  /** Whether there is enough for `flush` to do now. */
  due(): boolean {
    return this.dropped.length > 0 || (this.current?.spooler !== undefined && this.current.outBytes >= WRITE_BYTES);
  }

  /** Aborts dropped spoolers and writes the decoded bytes gathered so far (one write at a time). */
  async flush(): Promise<void> {
    while (this.dropped.length > 0) await this.dropped.pop()!.abort();
    const c = this.current;
    if (!c?.spooler || c.outBytes === 0) return;
    const b = c.out.length === 1 ? c.out[0]! : Buffer.concat(c.out, c.outBytes);
    c.out = [];
    c.outBytes = 0;
    await c.spooler.write(b);
  }

  /** Drops everything not yet finished. */
  async abort(): Promise<void> {
    if (this.current?.spooler) {
      this.dropped.push(this.current.spooler);
      this.current.spooler = undefined;
    }
    await this.flush();
  }
}

/** A SendEmail body that was read: its hash now, its value once the request is authenticated. */
export interface StreamedBody {
  /** SHA-256 (hex) of the exact bytes received. */
  sha256: string;
  /**
   * The JSON body, as `parseJsonBody` gives it, with `Content.Raw.Data` a `StreamedData` when it
   * was a string (call once, after authentication: a spooled message is flushed to the BlobStore here).
   */
  parse(): Promise<Body>;
  /** Drops what was spooled unless it was handed over to core. Idempotent; never throws. */
  release(): Promise<void>;
}

/** Options of `readSendEmailBody`. */
export interface ReadOptions {
  /** Largest body in bytes (BodyTooLargeError beyond). */
  limit: number;
  /** Where the message is spooled; undefined reads, hashes and checks the body without keeping it. */
  spool: SpoolService | undefined;
  /** Told when dropping a spooled message fails (a leftover blob). */
  onReleaseError?: (err: unknown) => void;
}

/**
 * Reads a SendEmail request body from `source` (undefined: an empty body). Throws BodyTooLargeError
 * past the limit and the stream's error (status 400) when the client goes away; nothing is left
 * spooled then.
 */
export async function readSendEmailBody(source: Readable | undefined, o: ReadOptions): Promise<StreamedBody> {
  const hash = createHash('sha256');
  const sink = new RawDataSink(o.spool);
  const extractor = new JsonStringExtractor(RAW_DATA_PATH, sink, PLACEHOLDER_JSON);
  if (source) {
    try {
      await consume(source, o.limit, (chunk) => {
        hash.update(chunk);
        extractor.write(chunk);
        return sink.due() ? sink.flush() : undefined;
      });
    } catch (err) {
      await sink.abort().catch((e: unknown) => o.onReleaseError?.(e));
      throw err;
    }
  }
  const { rest, invalid } = extractor.end();
  let data: StreamedData | undefined;
  let released = false;
  // Dropping what is refused must not change the answer.
  const drop = () => sink.abort().catch((e: unknown) => o.onReleaseError?.(e));
  return {
    sha256: hash.digest('hex'),
    async parse() {
      if (invalid) {
        await drop();
        throw badRequest('The request body is not valid JSON.');
      }
      let body: Body;
      try {
        body = parseJsonBody(rest);
      } catch (err) {
        await drop();
        throw err;
      }
      const holder = rawHolder(body);
      const c = sink.current;
      if (!holder || !c) {
        await drop();
        return body;
      }
      if (!c.decoder.valid) {
        await drop();
        holder.Data = data = new StreamedData(undefined);
        return body;
      }
      if (!c.spooler) throw new Error('the raw message was not spooled');
      await sink.flush();
      const spooler = c.spooler;
      c.spooler = undefined;
      try {
        holder.Data = data = new StreamedData(await spooler.finish());
      } catch (err) {
        await spooler.abort().catch(() => {});
        throw err;
      }
      return body;
    },
    async release() {
      if (released) return;
      released = true;
      try {
        await sink.abort();
        if (data?.bytes && !data.handedOver) await o.spool!.discard(data.bytes);
      } catch (err) {
        o.onReleaseError?.(err);
      }
    },
  };
}

/** `body.Content.Raw` when its `Data` is the placeholder (objects all the way, as `obj` requires). */
function rawHolder(body: Body): Body | undefined {
  const isObj = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);
  const content = body.Content;
  if (!isObj(content)) return undefined;
  const raw = content.Raw;
  if (!isObj(raw)) return undefined;
  return raw.Data === PLACEHOLDER ? raw : undefined;
}

/**
 * SendEmail bodies declared at most this long are read whole and parsed as any other operation's
 * (JSON.parse, a base64 string decoded by the handler): the same answers, without the streaming
 * extractor's byte-by-byte walk, which cost the common small request more than it saved.
 */
export const BUFFER_BODIES_UP_TO = 64 * 1024;

/** Reads all of `source` (at most `limit` bytes; BodyTooLargeError beyond, the stream's error when the client goes away). */
export async function readWholeBody(source: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await consume(source, limit, (chunk) => {
    chunks.push(chunk);
    return undefined;
  });
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/**
 * Feeds `source` to `onChunk` chunk by chunk, pausing while a returned promise is pending; stops
 * reading (and drains what still comes, as Fastify does) past `limit` bytes or on an error.
 */
function consume(source: Readable, limit: number, onChunk: (chunk: Buffer) => Promise<void> | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let received = 0;
    let done = false;
    let ended = false;
    let working = false;
    const queue: Buffer[] = [];
    const stop = (err?: unknown) => {
      if (done) return;
      done = true;
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      source.off('close', onClose);
      // A socket error after the answer is nobody's concern.
      source.on('error', () => {});
      if (err === undefined) resolve();
      else {
        source.resume();
        reject(err);
      }
    };
    const pump = () => {
      while (!done && !working && queue.length > 0) {
        let p: Promise<void> | undefined;
        try {
          p = onChunk(queue.shift()!);
        } catch (err) {
          stop(err);
          return;
        }
        if (p) {
          working = true;
          source.pause();
          p.then(
            () => {
              working = false;
              if (done) return;
              if (!ended) source.resume();
              pump();
            },
            (err: unknown) => {
              working = false;
              stop(err);
            },
          );
        }
      }
      if (!done && !working && ended && queue.length === 0) stop();
    };
    const onData = (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += b.length;
      if (received > limit) {
        stop(new BodyTooLargeError());
        return;
      }
      queue.push(b);
      pump();
    };
    const onEnd = () => {
      ended = true;
      pump();
    };
    const onError = (err: Error & { statusCode?: number }) => {
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
      stop(err);
    };
    const onClose = () => {
      if (!ended) stop(Object.assign(new Error('the request was aborted before its body ended'), { statusCode: 400 }));
    };
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onError);
    source.on('close', onClose);
    source.resume();
  });
}
