/**
 * DKIM signing (RFC 6376) with mailauth, and composing of messages built from parts (nodemailer's
 * MailComposer), on worker threads.
 *
 * Why threads: a 2 KB message costs about 0.3 ms to import its PEM key (mailauth parses the key
 * for every message and takes no KeyObject) and 0.25 ms for the RSA-2048 signature, on the event
 * loop that also reads requests and commits the queue. On worker threads that work runs beside the
 * event loop, on the machine's other cores, and a large message's canonicalisation no longer
 * stalls every other connection (ARCHITECTURE: keep CPU-heavy work off the event loop).
 *
 * Why composing there too: MailComposer streams a message out of its MIME nodes, yielding to the
 * event loop (setImmediate) several times per message. On a busy event loop each yield waits behind
 * every other ready callback, so a 0.4 ms composition took 2 ms on average and over 20 ms at the
 * 99th percentile of SendEmail under load; on the signing thread's quiet loop the yields cost
 * nothing, and the message crosses to the thread once for both.
 *
 * The worker is a small CommonJS script evaluated in the thread (no TypeScript loader is needed
 * there); it loads mailauth from the path resolved here, so it finds the same copy whatever the
 * working directory.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import MailComposer from 'nodemailer/lib/mail-composer';

/**
 * What a message is built from: nodemailer's mail options (addresses, subject, text, html, headers,
 * attachments with their content). Never `path` or `href` (they would read files or URLs).
 */
export type ComposeOptions = ConstructorParameters<typeof MailComposer>[0];

/** One DKIM signature to add. */
export interface DkimSignatureSpec {
  signingDomain: string;
  selector: string;
  /** PEM private key. */
  privateKey: string;
  algorithm: 'rsa-sha256' | 'ed25519-sha256';
  canonicalization: 'relaxed/relaxed' | 'relaxed/simple' | 'simple/relaxed' | 'simple/simple';
}

/** The outcome: the DKIM-Signature header lines to prepend, or why there are none. */
export interface DkimSignResult {
  /**
   * The message that was signed, byte for byte. Use this one afterwards: a large message is moved
   * to the signing thread and back rather than copied, which leaves the caller's Buffer empty.
   */
  message: Buffer;
  /** Header lines (each ending in CRLF) to put before the message. */
  signatures: string;
  /** mailauth's complaints (bad key, unsupported algorithm); empty when every signature was made. */
  errors: string[];
}

/** Signs messages with DKIM. */
export interface DkimSigner {
  sign(message: Buffer, specs: DkimSignatureSpec[], signTime: Date): Promise<DkimSignResult>;
  /**
   * Signs a message read from a stream (a spooled large message), in the calling thread: mailauth
   * hashes it chunk by chunk as it is read, so it is never whole in memory.
   */
  signStream(message: Readable, specs: DkimSignatureSpec[], signTime: Date): Promise<Omit<DkimSignResult, 'message'>>;
  /** Builds a message with MailComposer from `options`, then signs it as sign() does (no specs: unsigned); `message` is the built message. */
  composeAndSign(options: ComposeOptions, specs: DkimSignatureSpec[], signTime: Date): Promise<DkimSignResult>;
  /** Stops the worker threads (pending signatures are refused). */
  close(): Promise<void>;
}

const resolveModule = createRequire(import.meta.url).resolve;
const SIGN_MODULE = resolveModule('mailauth/lib/dkim/sign.js');
const COMPOSE_MODULE = resolveModule('nodemailer/lib/mail-composer');
/** mailauth's parts that its dkimSign puts together (the signing thread's shortcut, WORKER_SOURCE). */
const MAILAUTH_PARTS = { signerModule: resolveModule('mailauth/lib/dkim/dkim-signer.js'), bodyModule: resolveModule('mailauth/lib/dkim/body/index.js'), toolsModule: resolveModule('mailauth/lib/tools.js') };

/** mailauth's signer, loaded on the first signature made in this thread (a CLI command that signs nothing never loads it). */
let signer: Promise<typeof import('mailauth/lib/dkim/sign.js')> | undefined;
const dkimSign: (typeof import('mailauth/lib/dkim/sign.js'))['dkimSign'] = async (...args) => (await (signer ??= import('mailauth/lib/dkim/sign.js'))).dkimSign(...args);

/** Runs mailauth's signer in the calling thread. */
async function signHere(message: Buffer, specs: DkimSignatureSpec[], signTime: Date): Promise<DkimSignResult> {
  const first = specs[0];
  if (!first) return { message, signatures: '', errors: [] };
  // mailauth 4.13 signs only what is in signatureData (its typings also ask for the top level).
  const { signatures, errors } = await dkimSign(message, { ...first, signTime, signatureData: specs });
  return { message, signatures: signatures ?? '', errors: describeErrors(errors) };
}

async function composeAndSignHere(options: ComposeOptions, specs: DkimSignatureSpec[], signTime: Date): Promise<DkimSignResult> {
  return signHere(await new MailComposer(options).compile().build(), specs, signTime);
}

async function signStreamHere(message: Readable, specs: DkimSignatureSpec[], signTime: Date): Promise<Omit<DkimSignResult, 'message'>> {
  const first = specs[0];
  if (!first) return { signatures: '', errors: [] };
  const { signatures, errors } = await dkimSign(message, { ...first, signTime, signatureData: specs });
  return { signatures: signatures ?? '', errors: describeErrors(errors) };
}

function describeErrors(errors: unknown): string[] {
  if (!Array.isArray(errors)) return [];
  return errors.map((e: { err?: unknown; selector?: string; signingDomain?: string }) => {
    const err = e?.err instanceof Error ? e.err.message : String(e?.err ?? e);
    return e?.signingDomain ? `${e.signingDomain}/${e.selector}: ${err}` : err;
  });
}

/** The thread's script: sign what it is sent, answer with the same id. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// mailauth imports the PEM private key again for every signature (crypto.createPrivateKey from its
// tools.js), which costs about as much as the RSA signature itself. This thread exists only to
// sign, so it keeps what it imported: the same key bytes and options give back the same KeyObject
// (at most KEY_CACHE keys, oldest dropped first). Nothing else runs in this thread.
const crypto = require('node:crypto');
const importKey = crypto.createPrivateKey;
const keys = new Map();
const KEY_CACHE = 1000;
crypto.createPrivateKey = function (opts) {
  if (!opts || typeof opts !== 'object' || !Buffer.isBuffer(opts.key) || Object.keys(opts).some((k) => k !== 'key' && k !== 'format' && k !== 'type')) return importKey.apply(this, arguments);
  const k = (opts.format || '') + '|' + (opts.type || '') + '|' + opts.key.toString('latin1');
  let key = keys.get(k);
  if (key === undefined) {
    key = importKey.call(this, opts);
    if (keys.size >= KEY_CACHE) keys.delete(keys.keys().next().value);
    keys.set(k, key);
  }
  return key;
};
const { dkimSign } = require(workerData.signModule);
const { DkimSigner } = require(workerData.signerModule);
const { dkimBody } = require(workerData.bodyModule);
const { parseHeaders } = require(workerData.toolsModule);
// mailauth's dkimSign streams the message through its parser, which looks for the end of the
// header one byte at a time (an array slice per byte: ~75 KB of the ~160 KB of garbage it leaves
// for a 2 KB message). Here the message is whole in memory, so the thread does what that parser
// does with plain scans, and hands mailauth's own signer the parsed header and the body hashes of
// mailauth's own hashers, as the parser would: the same signatures, byte for byte
// (test/unit/group-commit-and-dkim.test.ts compares them with dkimSign's).
// - Line breaks, as mailauth's ensureLinebreaks reads them: a LF whose last byte before it that is
//   not a LF is not a CR becomes CR LF (in "x LF LF" both LFs do, in "CR LF LF" neither).
const crlf = (b) => {
  const bare = [];
  let prevBare = false;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) {
    prevBare = i > 0 && b[i - 1] === 10 ? prevBare : !(i > 0 && b[i - 1] === 13);
    if (prevBare) bare.push(i);
  }
  if (bare.length === 0) return b;
  const out = Buffer.allocUnsafe(b.length + bare.length);
  let from = 0;
  let to = 0;
  for (const i of bare) {
    to += b.copy(out, to, from, i);
    out[to++] = 13;
    out[to++] = 10;
    from = i + 1;
  }
  b.copy(out, to, from);
  return out;
};
// - The header ends with the first LF that follows a LF or a LF CR; -1 when it never ends.
const headerEnd = (b) => {
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) {
    if (b[i + 1] === 10) return i + 2;
    if (b[i + 1] === 13 && b[i + 2] === 10) return i + 3;
  }
  return -1;
};
const sign = async (original, options) => {
  const body = crlf(original);
  const end = headerEnd(body);
  // A header that never ends: mailauth signs nothing then (nor says why); leave that to it.
  if (end === -1) return dkimSign(original, options);
  const signer = new DkimSigner(options);
  signer.headers = parseHeaders(body.subarray(0, end));
  const rest = body.subarray(end);
  for (const [key, entry] of signer.bodyHashes) {
    const [canonicalization, hashAlgo, maxBodyLength] = key.split(':');
    const hasher = dkimBody(canonicalization, hashAlgo, maxBodyLength ? Number(maxBodyLength) : false);
    hasher.update(rest);
    entry.hasher = hasher;
    entry.hash = hasher.digest('base64');
  }
  await signer.finalize();
  return { signatures: signer.signatureHeaders.join('\\r\\n') + '\\r\\n', errors: signer.errors };
};
let MailComposer;
// Attachment contents arrive as Uint8Arrays (a Buffer's clone), which MailComposer takes as they are.
const compose = (options) => {
  MailComposer = MailComposer || require(workerData.composeModule);
  return new MailComposer(options).compile().build();
};
const describe = (errors) => Array.isArray(errors) ? errors.map((e) => {
  const err = e && e.err instanceof Error ? e.err.message : String((e && e.err) || e);
  return e && e.signingDomain ? e.signingDomain + '/' + e.selector + ': ' + err : err;
}) : [];
parentPort.on('message', ({ id, message, moved, options, specs, signTime }) => {
  const fail = (err) => parentPort.postMessage(Object.assign({ id, failure: String((err && err.message) || err) }, moved ? { message } : {}), moved ? [message.buffer] : []);
  const built = options ? Promise.resolve().then(() => compose(options)) : Promise.resolve(Buffer.from(message.buffer, message.byteOffset, message.byteLength));
  built.then((body) => {
    // A message moved here goes back the same way; a copied one stays (the caller kept its own); a
    // composed one goes to the caller, moved (copied first when it shares its memory).
    let back = moved ? message : undefined;
    if (options) back = body.byteOffset === 0 && body.buffer.byteLength === body.byteLength ? body : new Uint8Array(body);
    const answer = (r) => parentPort.postMessage(Object.assign({ id, signatures: r.signatures || '', errors: describe(r.errors) }, back ? { message: back } : {}), back ? [back.buffer] : []);
    if (specs.length === 0) return answer({});
    return sign(body, Object.assign({}, specs[0], { signTime: new Date(signTime), signatureData: specs })).then(answer);
  }).catch(fail);
});
`;

interface Job {
  /** The message sent to be signed (undefined when the thread composes it). */
  message: Buffer | undefined;
  /** The thread answers with the message: it was moved there, or composed there. */
  returned: boolean;
  resolve(r: DkimSignResult): void;
  reject(err: Error): void;
}

/** Messages from this size on are moved to the signing thread (and back) instead of copied. */
const MOVE_FROM_BYTES = 64 * 1024;

interface Slot {
  worker: Worker;
  pending: Map<number, Job>;
}

/** Signing on `threads` worker threads; a thread that dies is replaced and its jobs fail. */
class ThreadedSigner implements DkimSigner {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly threads: number) {
    for (let i = 0; i < threads; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { signModule: SIGN_MODULE, composeModule: COMPOSE_MODULE, ...MAILAUTH_PARTS } });
    // Idle threads must not keep a CLI command (or a test) alive.
    worker.unref();
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (m: { id: number; message?: Uint8Array; signatures?: string; errors?: string[]; failure?: string }) => {
      const job = slot.pending.get(m.id);
      if (!job) return;
      slot.pending.delete(m.id);
      if (slot.pending.size === 0) worker.unref();
      const message = job.returned && m.message ? Buffer.from(m.message.buffer, m.message.byteOffset, m.message.byteLength) : job.message;
      if (m.failure !== undefined || !message) job.reject(new Error(`${job.message ? 'DKIM signing' : 'Composing or DKIM signing'} failed: ${m.failure ?? 'no message came back'}`));
      else job.resolve({ message, signatures: m.signatures ?? '', errors: m.errors ?? [] });
    });
    const fail = (err: Error) => {
      for (const job of slot.pending.values()) job.reject(err);
      slot.pending.clear();
      const i = this.slots.indexOf(slot);
      if (i !== -1 && !this.closed) this.slots[i] = this.spawn();
    };
    worker.on('error', (err) => fail(err));
    worker.on('exit', (code) => fail(new Error(`DKIM signing thread exited with code ${code}`)));
    return slot;
  }

  sign(message: Buffer, specs: DkimSignatureSpec[], signTime: Date): Promise<DkimSignResult> {
    if (specs.length === 0) return Promise.resolve({ message, signatures: '', errors: [] });
    // Only a Buffer that has its memory to itself can be moved (never a slice of Node's shared pool).
    const moved = message.byteLength >= MOVE_FROM_BYTES && message.byteOffset === 0 && message.buffer.byteLength === message.byteLength;
    // Posting a Buffer view clones its whole backing store (Node's 8 KiB pool, or the request body
    // it was cut from: 0.9 ms for a 1 MiB one on the bench machine). A copy of just the message,
    // moved, costs one memcpy of its own size; the caller keeps the original.
    const payload = moved ? message : new Uint8Array(message);
    return this.post({ message, returned: moved }, { message: payload, moved, specs, signTime: signTime.getTime() }, [payload.buffer as ArrayBuffer]);
  }

  composeAndSign(options: ComposeOptions, specs: DkimSignatureSpec[], signTime: Date): Promise<DkimSignResult> {
    return this.post({ message: undefined, returned: true }, { options, moved: false, specs, signTime: signTime.getTime() }, []);
  }

  /** Hands a job to the least busy thread. */
  private post(job: Pick<Job, 'message' | 'returned'>, data: object, transfer: ArrayBuffer[]): Promise<DkimSignResult> {
    if (this.closed) return Promise.reject(new Error('DKIM signer is closed'));
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.pending.size < slot.pending.size) slot = s;
    const id = this.nextId++;
    return new Promise<DkimSignResult>((resolve, reject) => {
      slot.pending.set(id, { ...job, resolve, reject });
      // A thread with work keeps the process alive until its answer arrives.
      slot.worker.ref();
      slot.worker.postMessage({ id, ...data }, transfer);
    });
  }

  signStream(message: Readable, specs: DkimSignatureSpec[], signTime: Date): Promise<Omit<DkimSignResult, 'message'>> {
    return signStreamHere(message, specs, signTime);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

/** Signing threads for a server: one per core beyond the first (the event loop keeps that one busy), 1 to 4. */
export function defaultDkimThreads(): number {
  return Math.min(4, Math.max(1, availableParallelism() - 1));
}

/** A DKIM signer on `threads` worker threads; 0 signs in the calling thread. */
export function createDkimSigner(threads: number): DkimSigner {
  if (threads <= 0) return { sign: signHere, signStream: signStreamHere, composeAndSign: composeAndSignHere, close: async () => {} };
  return new ThreadedSigner(threads);
}
