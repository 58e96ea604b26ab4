/**
 * SendEmail's streamed body (src/frontends/ses-v2/stream-body.ts): the base64 decoder accepts and
 * decodes exactly what the buffered path's `base64` check and `Buffer.from(…, 'base64')` did,
 * however the text is cut; a body read from a stream hashes its exact bytes, spools the decoded
 * message (nothing of it left behind when refused), and parses to what `parseJsonBody` gives.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSpooled, SpoolService, type MessageBytes } from '../../src/core/index.ts';
import { base64 } from '../../src/frontends/ses-v2/operations/content.ts';
import { Base64Decoder, BodyTooLargeError, readSendEmailBody, StreamedData } from '../../src/frontends/ses-v2/stream-body.ts';
import { parseJsonBody } from '../../src/frontends/ses-v2/validate.ts';
import { FileBlobStore } from '../../src/storage/blobs.ts';
import { parseAuthorization, verifySignature } from '../../src/lib/sigv4.ts';
import { signHeaders } from '../helpers/aws-wire.ts';

/** What the buffered path made of a `Content.Raw.Data` string: its bytes, or the error message. */
function buffered(text: string): Buffer | string {
  try {
    return base64(text, 'Content.Raw.Data');
  } catch (err) {
    return (err as Error).message;
  }
}

/** The same through the streaming decoder, the text cut at `cuts`. */
function streamed(text: string, cuts: number[]): Buffer | string {
  const d = new Base64Decoder();
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, text.length]) {
    const piece = text.slice(at, c);
    at = c;
    if (piece.length > 0 && !d.write(piece, out)) return 'Content.Raw.Data must be base64-encoded.';
  }
  d.end(out);
  return Buffer.concat(out);
}

const everyCut = (s: string) => [[], ...Array.from({ length: s.length + 1 }, (_, k) => [k]), Array.from({ length: Math.max(0, s.length - 1) }, (_, k) => k + 1)];

describe('Base64Decoder', () => {
  const samples = [
    '',
    'QQ',
    'Q',
    'QUJD',
    'QUJDR',
    'QUJDRA',
    'QUJDRA=',
    'QUJDRA==',
    'QUJDRA===',
    'QUJD=',
    'QUI==',
    'QR==',
    'QUJD\r\nRA==\r\n',
    'QU\nJD\rRA',
    'QUJDRA== \t\r\n',
    'QUJDRA==\u00a0\u2028\ufeff\u3000',
    'QUJDRA\u000b',
    'QUJD RA==',
    'QUJD\tRA',
    'QUJDRA==x',
    'QUJDRA=\nA',
    '=QUJD',
    '==',
    '=',
    '   ',
    'QUJD-_',
    'QUJD.',
    'QUJDé',
    'QUJD😀',
    'QUJD\u0000',
    'QUJDRA\u00a0=',
    'QUJDRAAA+/+/',
  ];
  for (const s of samples) {
    it(`${JSON.stringify(s)}: as the buffered path, at every cut`, () => {
      const want = buffered(s);
      for (const cuts of everyCut(s)) expect(streamed(s, cuts), `cuts ${cuts.join(',')}`).toEqual(want);
    });
  }

  it('agrees with the buffered path on generated texts', () => {
    const unit = fc.constantFrom(...'ABCQRZabqz0189+/'.split(''), '=', '\r', '\n', ' ', '\t', '\u00a0', '\u3000', '\ufeff', '-', '_', 'é', '\u0000', '\ud83d');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 5 }), (s, rawCuts) => {
        const cuts = [...new Set(rawCuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
        expect(streamed(s, cuts)).toEqual(buffered(s));
      }),
      { numRuns: 5000 },
    );
    // Valid texts of real messages, wrapped or not, cut anywhere.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 5 }), (bytes, wrap, rawCuts) => {
        let s = Buffer.from(bytes).toString('base64');
        if (wrap) s = s.replace(/.{1,76}/g, '$&\r\n');
        const cuts = [...new Set(rawCuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
        expect(streamed(s, cuts)).toEqual(Buffer.from(bytes));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('readSendEmailBody', () => {
  let dir: string;
  let spool: SpoolService;
  let blobs: FileBlobStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sesame-stream-body-'));
    blobs = new FileBlobStore(dir);
    spool = new SpoolService(blobs);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** Every file under the blob directory (committed blobs and temporary ones). */
  const files = async () => (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);

  /** The body as a stream of pieces of `size` bytes. */
  const source = (body: Buffer, size = 65_536) => Readable.from((function* () {
    for (let at = 0; at < body.length; at += size) yield body.subarray(at, at + size);
  })());

  const bytesOf = async (m: MessageBytes) => (isSpooled(m) ? (await blobs.get(m.blobId))! : m);

  it('spools a large message, hashes the exact bytes and parses the rest as parseJsonBody does', async () => {
    const message = randomBytes(3 * 1024 * 1024 + 7);
    const encoded = message.toString('base64').replace(/.{1,76}/g, '$&\r\n').replace(/\//g, '\\/').replace(/\r\n/g, '\\r\\n');
    const text = `{"FromEmailAddress":"a@b.test","Destination":{"ToAddresses":["x@y.test"]},"Content":{"Raw":{"Data":"${encoded}"}},"EmailTags":[{"Name":"n","Value":"ü"}]}`;
    const body = Buffer.from(text);
    for (const size of [1, 7, 65_536, 1_000_003]) {
      if (size === 1 && body.length > 200_000) continue; // covered by the small body below
      const r = await readSendEmailBody(source(body, size), { limit: 56 * 1024 * 1024, spool });
      expect(r.sha256).toBe(createHash('sha256').update(body).digest('hex'));
      const parsed = await r.parse();
      const data = (parsed.Content as { Raw: { Data: unknown } }).Raw.Data;
      expect(data).toBeInstanceOf(StreamedData);
      const bytes = (data as StreamedData).bytes!;
      expect(isSpooled(bytes)).toBe(true);
      if (isSpooled(bytes)) {
        expect(bytes.size).toBe(message.length);
        expect(bytes.head.equals(message.subarray(0, bytes.head.length))).toBe(true);
      }
      expect((await bytesOf(bytes)).equals(message)).toBe(true);
      // The rest is what the buffered path parses, but for the streamed member.
      const whole = parseJsonBody(body);
      (whole.Content as { Raw: { Data: unknown } }).Raw.Data = data;
      expect(parsed).toEqual(whole);
      // Not handed over: released means deleted.
      await r.release();
      expect(await files()).toEqual([]);
    }
  });

  it('keeps a message handed over to core', async () => {
    const message = randomBytes(2 * 1024 * 1024);
    const r = await readSendEmailBody(source(Buffer.from(JSON.stringify({ Content: { Raw: { Data: message.toString('base64') } } }))), { limit: 1e9, spool });
    const data = ((await r.parse()).Content as { Raw: { Data: StreamedData } }).Raw.Data;
    data.handedOver = true;
    await r.release();
    expect(await files()).toHaveLength(1);
    expect((await bytesOf(data.bytes!)).equals(message)).toBe(true);
  });

  it('gives a small message as a Buffer, cut at every byte', async () => {
    const message = Buffer.from('Subject: hi\r\n\r\nhello ✓\r\n');
    const body = Buffer.from(`{ "Content" : { "Raw" : { "Data" : "${message.toString('base64').replace('+', '\\u002B')}" } } }`);
    const r = await readSendEmailBody(source(body, 1), { limit: 1e6, spool });
    const data = ((await r.parse()).Content as { Raw: { Data: StreamedData } }).Raw.Data;
    expect(Buffer.isBuffer(data.bytes)).toBe(true);
    expect(data.bytes).toEqual(message);
    await r.release();
    expect(await files()).toEqual([]);
  });

  it('marks bad base64 found midway and leaves nothing spooled', async () => {
    const good = randomBytes(2 * 1024 * 1024).toString('base64');
    const text = `{"Content":{"Raw":{"Data":"${good.slice(0, 1_800_000)}!${good.slice(1_800_000)}"}}}`;
    const r = await readSendEmailBody(source(Buffer.from(text)), { limit: 1e9, spool });
    const data = ((await r.parse()).Content as { Raw: { Data: StreamedData } }).Raw.Data;
    expect(data).toBeInstanceOf(StreamedData);
    expect(data.bytes).toBeUndefined();
    expect(await files()).toEqual([]);
    await r.release();
  });

  it('refuses bad JSON after the string, with parseJsonBody’s error, and leaves nothing spooled', async () => {
    const good = randomBytes(2 * 1024 * 1024).toString('base64');
    for (const text of [`{"Content":{"Raw":{"Data":"${good}"}}},`, `{"Content":{"Raw":{"Data":"${good}\u0001"}}}`, `{"Content":{"Raw":{"Data":"${good}`, `["Content",{"Raw":{"Data":"${good}"}}]`]) {
      const r = await readSendEmailBody(source(Buffer.from(text)), { limit: 1e9, spool });
      let want: string | undefined;
      try {
        parseJsonBody(Buffer.from(text));
      } catch (err) {
        want = (err as Error).message;
      }
      await expect(r.parse()).rejects.toThrow(want);
      await r.release();
      expect(await files()).toEqual([]);
    }
  });

  it('drops an earlier Data replaced by a later one', async () => {
    const a = randomBytes(1_500_000);
    const b = randomBytes(1_600_000);
    const r = await readSendEmailBody(source(Buffer.from(`{"Content":{"Raw":{"Data":"${a.toString('base64')}","Data":"${b.toString('base64')}"}}}`)), { limit: 1e9, spool });
    const data = ((await r.parse()).Content as { Raw: { Data: StreamedData } }).Raw.Data;
    expect((await bytesOf(data.bytes!)).equals(b)).toBe(true);
    expect(await files()).toHaveLength(1);
    await r.release();
    expect(await files()).toEqual([]);
  });

  it('drops a Data whose Content was replaced', async () => {
    const a = randomBytes(1_500_000);
    const r = await readSendEmailBody(source(Buffer.from(`{"Content":{"Raw":{"Data":"${a.toString('base64')}"}},"Content":{"Simple":{}}}`)), { limit: 1e9, spool });
    expect(await r.parse()).toEqual({ Content: { Simple: {} } });
    expect(await files()).toEqual([]);
    await r.release();
  });

  it('stops at the limit with a 413 and leaves nothing spooled', async () => {
    const body = Buffer.from(JSON.stringify({ Content: { Raw: { Data: randomBytes(3 * 1024 * 1024).toString('base64') } } }));
    const err = await readSendEmailBody(source(body), { limit: 2 * 1024 * 1024, spool }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BodyTooLargeError);
    expect((err as BodyTooLargeError).statusCode).toBe(413);
    expect(await files()).toEqual([]);
    // Exactly at the limit is fine.
    const r = await readSendEmailBody(source(body), { limit: body.length, spool });
    await r.release();
  });

  it('passes on a broken upload as a 400, leaving nothing spooled', async () => {
    const chunk = Buffer.from(`{"Content":{"Raw":{"Data":"${randomBytes(1_500_000).toString('base64')}`);
    const broken = new Readable({
      read() {
        this.push(chunk);
        setImmediate(() => this.destroy(new Error('aborted')));
      },
    });
    const err = await readSendEmailBody(broken, { limit: 1e9, spool }).catch((e: unknown) => e);
    expect((err as { statusCode?: number }).statusCode).toBe(400);
    expect(await files()).toEqual([]);
  });

  it('reads without spooling when told to (a request that cannot authenticate)', async () => {
    const body = Buffer.from(JSON.stringify({ Content: { Raw: { Data: randomBytes(3 * 1024 * 1024).toString('base64') } } }));
    const r = await readSendEmailBody(source(body), { limit: 1e9, spool: undefined });
    expect(r.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(await files()).toEqual([]);
    await r.release();
  });

  it('reads an empty or absent body as {}', async () => {
    expect(await (await readSendEmailBody(undefined, { limit: 10, spool })).parse()).toEqual({});
    const r = await readSendEmailBody(Readable.from([]), { limit: 10, spool });
    expect(r.sha256).toBe(createHash('sha256').update('').digest('hex'));
    expect(await r.parse()).toEqual({});
  });
});

describe('SigV4 with a body hashed while streamed', () => {
  it('verifies with bodySha256 as with the body, and refuses a wrong one', async () => {
    const creds = { accessKeyId: 'AKIASTREAMTEST', secretAccessKey: 'secret/key+1' };
    const body = JSON.stringify({ Content: { Raw: { Data: 'QUJD' } } });
    const headers = await signHeaders('http://127.0.0.1:8080', { method: 'POST', path: '/v2/email/outbound-emails', headers: { 'content-type': 'application/json' }, body }, creds, { applyChecksum: false });
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    const req = { method: 'POST', path: '/v2/email/outbound-emails', query: '', headers: lower, body: Buffer.from(body) };
    const auth = parseAuthorization(req);
    const now = new Date(Date.parse(lower['x-amz-date']!.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')));
    const whole = verifySignature(req, auth, creds.secretAccessKey, { now });
    const streamed = verifySignature({ ...req, body: Buffer.alloc(0), bodySha256: createHash('sha256').update(body).digest('hex') }, auth, creds.secretAccessKey, { now });
    expect(streamed.signature).toBe(whole.signature);
    expect(lower['x-amz-content-sha256']).toBeUndefined(); // as the SES SDKs sign
    expect(() => verifySignature({ ...req, bodySha256: createHash('sha256').update(`${body} `).digest('hex') }, auth, creds.secretAccessKey, { now })).toThrow(/signature we calculated does not match/);
  });
});
