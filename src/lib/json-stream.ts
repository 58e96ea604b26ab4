/**
 * Streams one string member out of a JSON document while the document arrives, so that a huge
 * string (a base64 message inside a JSON request) never sits in memory whole.
 *
 * `JsonStringExtractor` watches one member path from the root (e.g. `Content.Raw.Data`): every
 * string value found there has its characters handed to a sink in pieces, JSON escapes resolved
 * and UTF-8 decoded exactly as `JSON.parse(buffer.toString('utf8'))` would give them. Everything
 * else is kept as it came, with the streamed string's contents replaced by a short placeholder:
 * `JSON.parse` of that remainder then gives the document's value with the placeholder in place of
 * the string, and fails exactly when the whole document would (the only part it does not see is
 * the streamed string's contents, which the extractor checks itself: raw control characters and
 * bad escapes make `invalid` true).
 *
 * The extractor is a lexer, not a validator: it tracks strings, escapes and the nesting of the
 * first levels, enough to find the watched path in any valid document. In an invalid one it may
 * stream a string that is not at the path, which does not matter since the document is refused.
 */
import { StringDecoder } from 'node:string_decoder';

/** Receives the characters of each string value at the watched path. */
export interface StreamedStringSink {
  /** A string value at the path begins (a later one replaces an earlier one, as in JSON.parse). */
  open(): void;
  /** Some of its characters (UTF-16 code units, escapes resolved); never empty. */
  text(s: string): void;
  /** The string ended (not called when the document ends inside it). */
  close(): void;
}

/** What the extractor leaves once the document has ended. */
export interface ExtractedRest {
  /** The document with each streamed string's contents replaced by the placeholder (still JSON-escaped). */
  rest: Buffer;
  /** A streamed string held something JSON forbids (a raw control character, a bad escape) or never ended. */
  invalid: boolean;
  /** Bytes of the whole document. */
  bytes: number;
}

/** One container on the first levels: an object (with its current member name) or an array. */
interface Frame {
  obj: boolean;
  /** Name of the member whose value comes next or is being read; null when unknown or not wanted. */
  key: string | null;
  /** Inside an object: the next string is a member name. */
  expectKey: boolean;
}

const enum S {
  /** Between tokens (or inside a number or literal). */
  Out,
  /** Inside a string that is not streamed. */
  Str,
  /** Just after a backslash in such a string. */
  StrEsc,
  /** Inside a streamed string. */
  W,
  /** Just after a backslash in a streamed string. */
  WEsc,
  /** Inside a `\uXXXX` escape of a streamed string. */
  WHex,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** A member name longer than this (escaped) cannot be one on the path. */
const MAX_KEY_BYTES = 256;
const SIMPLE_ESCAPES: Record<number, string> = { 0x22: '"', 0x5c: '\\', 0x2f: '/', 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t' };
const CONTROL = /[\x00-\x1f]/;

export class JsonStringExtractor {
  private state = S.Out;
  private depth = 0;
  private readonly frames: Frame[] = [];
  private readonly pieces: Buffer[] = [];
  private bytes = 0;
  private invalid = false;
  /** The bytes of a member name being read on the first levels (undefined when not collecting). */
  private keyBytes: Buffer[] | undefined;
  private keyLength = 0;
  private readonly decoder = new StringDecoder('utf8');
  private hex = '';
  private readonly placeholder: Buffer;

  /**
   * @param path member names from the root object to the watched string
   * @param placeholder the characters that stand for a streamed string in the remainder, written as
   *   JSON string contents (escaped), e.g. `\\u0000streamed`
   */
  constructor(
    private readonly path: readonly string[],
    private readonly sink: StreamedStringSink,
    placeholder: string,
  ) {
    if (path.length === 0) throw new Error('the watched path must name at least one member');
    this.placeholder = Buffer.from(placeholder, 'utf8');
  }

  /** Takes the next bytes of the document. */
  write(chunk: Buffer): void {
    this.bytes += chunk.length;
    const n = chunk.length;
    /** Start of the bytes of this chunk that belong to the remainder and are not yet kept (-1: inside a streamed string). */
    let keep = this.state === S.W || this.state === S.WEsc || this.state === S.WHex ? -1 : 0;
    let i = 0;
    // Positions of the next quote and backslash at or after i (-1: none in the chunk), found lazily.
    let nextQuote = -2;
    let nextBackslash = -2;
    const findSpecial = (from: number): number => {
      if (nextQuote !== -1 && nextQuote < from) nextQuote = chunk.indexOf(QUOTE, from);
      if (nextBackslash !== -1 && nextBackslash < from) nextBackslash = chunk.indexOf(BACKSLASH, from);
      if (nextQuote < 0) return nextBackslash < 0 ? n : nextBackslash;
      return nextBackslash < 0 ? nextQuote : Math.min(nextQuote, nextBackslash);
    };
    while (i < n) {
      switch (this.state) {
        case S.Out: {
          const c = chunk[i]!;
          if (c === QUOTE) {
            this.beginString();
            if ((this.state as S) === S.W) {
              // Keep up to and including the opening quote, then the placeholder instead of the contents.
              this.keep(chunk, keep, i + 1);
              this.pieces.push(this.placeholder);
              keep = -1;
            }
          } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
            this.depth++;
            if (this.depth <= this.path.length) this.frames[this.depth - 1] = { obj: c === 0x7b, key: null, expectKey: c === 0x7b };
          } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
            if (this.depth > 0) this.depth--;
          } else if (c === 0x3a /* : */ || c === 0x2c /* , */) {
            const f = this.depth > 0 && this.depth <= this.path.length ? this.frames[this.depth - 1]! : undefined;
            if (f?.obj) f.expectKey = c === 0x2c;
          }
          i++;
          break;
        }
        case S.Str: {
          const end = findSpecial(i);
          if (this.keyBytes) this.collectKey(chunk, i, end);
          i = end;
          if (i < n) {
            if (this.keyBytes) this.collectKey(chunk, i, i + 1);
            if (chunk[i] === QUOTE) {
              this.state = S.Out;
              this.endKey();
            } else {
              this.state = S.StrEsc;
            }
            i++;
          }
          break;
        }
        case S.StrEsc:
          if (this.keyBytes) this.collectKey(chunk, i, i + 1);
          this.state = S.Str;
          i++;
          break;
        case S.W: {
          const end = findSpecial(i);
          if (end > i) this.emit(this.decoder.write(chunk.subarray(i, end)), true);
          i = end;
          if (i < n) {
            this.emit(this.decoder.end(), true);
            if (chunk[i] === QUOTE) {
              this.state = S.Out;
              this.sink.close();
              keep = i; // the closing quote belongs to the remainder
            } else {
              this.state = S.WEsc;
            }
            i++;
          }
          break;
        }
        case S.WEsc: {
          const c = chunk[i]!;
          const simple = SIMPLE_ESCAPES[c];
          if (simple !== undefined) {
            this.emit(simple);
            this.state = S.W;
          } else if (c === 0x75 /* u */) {
            this.hex = '';
            this.state = S.WHex;
          } else {
            this.invalid = true;
            this.state = S.W;
          }
          i++;
          break;
        }
        case S.WHex: {
          const c = chunk[i]!;
          const isHex = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
          if (!isHex) {
            // JSON.parse refuses the document here; read on as string contents (this byte may end the string).
            this.invalid = true;
            this.state = S.W;
            break;
          }
          this.hex += String.fromCharCode(c);
          i++;
          if (this.hex.length === 4) {
            this.emit(String.fromCharCode(parseInt(this.hex, 16)));
            this.state = S.W;
          }
          break;
        }
      }
    }
    if (keep >= 0) this.keep(chunk, keep, n);
  }

  /** The document ended: the remainder to parse, and whether a streamed string was malformed. */
  end(): ExtractedRest {
    if (this.state === S.W || this.state === S.WEsc || this.state === S.WHex) {
      this.decoder.end();
      this.invalid = true;
    }
    return { rest: Buffer.concat(this.pieces), invalid: this.invalid, bytes: this.bytes };
  }

  private keep(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    // A whole chunk is kept as it is; a slice is copied so that it does not pin the chunk.
    this.pieces.push(from === 0 && to === chunk.length ? chunk : Buffer.from(chunk.subarray(from, to)));
  }

  /** Hands characters to the sink; those read as they came (not from an escape) must not be control characters. */
  private emit(s: string, raw = false): void {
    if (s.length === 0) return;
    if (raw && CONTROL.test(s)) this.invalid = true;
    this.sink.text(s);
  }

  /** A string starts (its opening quote was just read): a member name, the watched value, or another. */
  private beginString(): void {
    const d = this.depth;
    const f = d > 0 && d <= this.path.length ? this.frames[d - 1]! : undefined;
    if (f?.obj && f.expectKey) {
      this.state = S.Str;
      this.keyBytes = [Buffer.from('"')];
      this.keyLength = 1;
      return;
    }
    if (d === this.path.length && f?.obj && !f.expectKey && this.onPath()) {
      this.state = S.W;
      this.decoder.end();
      this.sink.open();
      return;
    }
    this.state = S.Str;
  }

  /** Whether every level down to the current one is an object whose current member is on the path. */
  private onPath(): boolean {
    for (let k = 0; k < this.path.length; k++) {
      const f = this.frames[k]!;
      if (!f.obj || f.key !== this.path[k]) return false;
    }
    return true;
  }

  private collectKey(chunk: Buffer, from: number, to: number): void {
    if (to <= from || !this.keyBytes) return;
    this.keyLength += to - from;
    if (this.keyLength > MAX_KEY_BYTES) {
      // Too long to be a name on the path; the name is remembered as unknown.
      this.keyBytes = [];
      return;
    }
    this.keyBytes.push(Buffer.from(chunk.subarray(from, to)));
  }

  /** A member name ended: remember it (decoded as JSON.parse would) on its level. */
  private endKey(): void {
    const bytes = this.keyBytes;
    if (!bytes) return;
    this.keyBytes = undefined;
    const f = this.frames[this.depth - 1]!;
    f.key = null;
    if (this.keyLength > MAX_KEY_BYTES) return;
    try {
      const name: unknown = JSON.parse(Buffer.concat(bytes).toString('utf8'));
      if (typeof name === 'string') f.key = name;
    } catch {
      // Not a valid string: the document is refused anyway.
    }
  }
}
