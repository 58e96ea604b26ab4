/**
 * The built-in object store through the real @aws-sdk/client-s3 (path-style, endpoint = Sesame's HTTP
 * URL) against a running server: buckets, objects, listings with prefixes, delimiters and paging, a
 * 40 MB round trip, ranges and conditions, objects encrypted with the master key (put by the receipt
 * action's core call, and by the SDK with server-side encryption) that read back plain while the bytes
 * at rest do not hold the plaintext, presigned URLs, the signed streaming upload other SDKs use, and
 * every refusal as an SDK user sees it (exception name, status, message). The SNS front end's
 * unauthenticated `GET /` links and Sesame's own paths keep working beside it. On SQLite, and on
 * PostgreSQL when SESAME_TEST_DATABASE_URL is set.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { expectSdkError, sendRaw, Sha256, UUID } from '../helpers/aws-wire.ts';
import { startTestServer, testBackends, type TestServer } from '../helpers/server.ts';

type Credentials = { accessKeyId: string; secretAccessKey: string };

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const ERROR_DOC = /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Error><Code>/;

async function bodyOf(out: { Body?: unknown }): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of out.Body as AsyncIterable<Uint8Array>) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** Every file under a directory (the SQLite backend's blob files). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

describe.each(testBackends())('object store over @aws-sdk/client-s3 (%s)', (backend) => {
  let server: TestServer;
  let s3: S3Client;
  const clients: S3Client[] = [];

  const client = (credentials: Credentials = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, region = 'us-east-1') => {
    const c = new S3Client({ endpoint: server.url, region, forcePathStyle: true, credentials, maxAttempts: 1 });
    clients.push(c);
    return c;
  };
  const signer = (service = 's3', region = 'us-east-1', credentials?: Credentials) =>
    new SignatureV4({ credentials: credentials ?? { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, region, service, sha256: Sha256, uriEscapePath: false, applyChecksum: false });

  beforeAll(async () => {
    server = await startTestServer({ backend });
    s3 = client();
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server?.close();
  });

  describe('buckets', () => {
    it('creates, lists, heads, locates and deletes buckets', async () => {
      const created = await s3.send(new CreateBucketCommand({ Bucket: 'inbound-mail' }));
      expect(created.Location).toBe('/inbound-mail');
      await s3.send(new CreateBucketCommand({ Bucket: 'archive.example.com' }));
      const listed = await s3.send(new ListBucketsCommand({}));
      const names = listed.Buckets!.map((b) => b.Name);
      expect(names).toEqual([...names].sort());
      expect(names).toEqual(expect.arrayContaining(['archive.example.com', 'inbound-mail']));
      const b = listed.Buckets!.find((x) => x.Name === 'inbound-mail')!;
      expect(b.CreationDate).toBeInstanceOf(Date);
      expect(Math.abs(b.CreationDate!.getTime() - Date.now())).toBeLessThan(60_000);
      expect(b.BucketRegion).toBe('us-east-1');
      expect(listed.Owner?.ID).toBe('000000000000');
      expect(listed.$metadata.requestId).toMatch(UUID);

      // us-east-1 keeps S3's legacy answer: re-creating a bucket you own is 200 and changes nothing.
      await s3.send(new CreateBucketCommand({ Bucket: 'inbound-mail' }));
      const head = await s3.send(new HeadBucketCommand({ Bucket: 'inbound-mail' }));
      expect(head.BucketRegion).toBe('us-east-1');
      // An empty LocationConstraint is us-east-1, as S3 answers.
      expect((await s3.send(new GetBucketLocationCommand({ Bucket: 'inbound-mail' }))).LocationConstraint).toBeUndefined();

      const page = await s3.send(new ListBucketsCommand({ MaxBuckets: 1 }));
      expect(page.Buckets!.map((x) => x.Name)).toEqual([names[0]]);
      expect(page.ContinuationToken).toBeTruthy();
      const rest = await s3.send(new ListBucketsCommand({ MaxBuckets: 100, ContinuationToken: page.ContinuationToken }));
      expect(rest.Buckets!.map((x) => x.Name)).toEqual(names.slice(1));
      expect((await s3.send(new ListBucketsCommand({ Prefix: 'arch' }))).Buckets!.map((x) => x.Name)).toEqual(['archive.example.com']);

      await s3.send(new DeleteBucketCommand({ Bucket: 'archive.example.com' }));
      expect((await s3.send(new ListBucketsCommand({}))).Buckets!.map((x) => x.Name)).not.toContain('archive.example.com');
      await expectSdkError(s3.send(new HeadBucketCommand({ Bucket: 'archive.example.com' })), 'NotFound', 404);
    });

    it('refuses names outside S3 bucket naming rules with InvalidBucketName', async () => {
      for (const name of ['ab', 'a'.repeat(64), 'under_score', 'has..dots', '192.168.5.4', 'xn--punycode', 'sthree-x', 'ends-s3alias', '-leading', 'trailing-']) {
        const err = await expectSdkError(s3.send(new CreateBucketCommand({ Bucket: name })), 'InvalidBucketName', 400, 'The specified bucket is not valid.');
        expect((err as unknown as { BucketName?: string }).BucketName).toBe(name);
      }
    });

    it('refuses a LocationConstraint of another region, and a missing bucket with NoSuchBucket', async () => {
      await expectSdkError(
        s3.send(new CreateBucketCommand({ Bucket: 'elsewhere', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })),
        'IllegalLocationConstraintException',
        400,
        /eu-west-1 location constraint is incompatible/,
      );
      await expectSdkError(s3.send(new DeleteBucketCommand({ Bucket: 'no-such-bucket' })), 'NoSuchBucket', 404, 'The specified bucket does not exist');
      await expectSdkError(s3.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' })), 'NoSuchBucket', 404);
      await expectSdkError(s3.send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'k', Body: 'x' })), 'NoSuchBucket', 404);
      await expectSdkError(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' })), 'NoSuchBucket', 404);
      await expectSdkError(s3.send(new DeleteObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' })), 'NoSuchBucket', 404);
    });

    it('refuses to delete a bucket that holds objects (BucketNotEmpty), then deletes it once empty', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'not-empty' }));
      await s3.send(new PutObjectCommand({ Bucket: 'not-empty', Key: 'one', Body: '1' }));
      await expectSdkError(s3.send(new DeleteBucketCommand({ Bucket: 'not-empty' })), 'BucketNotEmpty', 409, 'The bucket you tried to delete is not empty');
      await s3.send(new DeleteObjectCommand({ Bucket: 'not-empty', Key: 'one' }));
      await s3.send(new DeleteBucketCommand({ Bucket: 'not-empty' }));
    });
  });

  describe('objects', () => {
    beforeAll(async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'objects' }));
    });

    it('puts, gets and heads an object with its type, metadata and standard headers', async () => {
      const body = 'From: ann@example.org\r\nSubject: hi\r\n\r\nhello\r\n';
      const put = await s3.send(
        new PutObjectCommand({ Bucket: 'objects', Key: 'inbox/a b+c~é.eml', Body: Buffer.from(body), ContentType: 'message/rfc822', Metadata: { source: 'mx', 'Mixed-Case': 'v' }, CacheControl: 'no-cache', ContentDisposition: 'attachment; filename="a.eml"' }),
      );
      expect(put.ETag).toBe(`"${md5(body)}"`);

      const got = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'inbox/a b+c~é.eml' }));
      expect((await bodyOf(got)).toString()).toBe(body);
      expect(got.ETag).toBe(`"${md5(body)}"`);
      expect(got.ContentType).toBe('message/rfc822');
      expect(got.ContentLength).toBe(Buffer.byteLength(body));
      expect(got.Metadata).toEqual({ source: 'mx', 'mixed-case': 'v' });
      expect(got.CacheControl).toBe('no-cache');
      expect(got.ContentDisposition).toBe('attachment; filename="a.eml"');
      expect(got.LastModified).toBeInstanceOf(Date);
      expect(Math.abs(got.LastModified!.getTime() - Date.now())).toBeLessThan(60_000);
      expect(got.ServerSideEncryption).toBeUndefined();

      const head = await s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'inbox/a b+c~é.eml' }));
      expect({ etag: head.ETag, length: head.ContentLength, type: head.ContentType, meta: head.Metadata, modified: head.LastModified }).toEqual({
        etag: got.ETag,
        length: got.ContentLength,
        type: 'message/rfc822',
        meta: { source: 'mx', 'mixed-case': 'v' },
        modified: got.LastModified,
      });
    });

    it('replaces an object put again under the same key, and stores string, byte and streamed bodies', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'replace-me', Body: 'first version' }));
      await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'replace-me', Body: new Uint8Array(Buffer.from('second')) }));
      expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'replace-me' })))).toString()).toBe('second');
      // A stream body goes out as aws-chunked STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer.
      const parts = [randomBytes(70_000), randomBytes(1), randomBytes(200_000)];
      const all = Buffer.concat(parts);
      const put = await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'streamed', Body: Readable.from(parts), ContentLength: all.length }));
      expect(put.ETag).toBe(`"${md5(all)}"`);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'streamed' }));
      expect((await bodyOf(got)).equals(all)).toBe(true);
      expect(got.ContentEncoding).toBeUndefined();
      // An empty object.
      await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'empty', Body: '' }));
      const empty = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'empty' }));
      expect((await bodyOf(empty)).length).toBe(0);
      expect(empty.ETag).toBe(`"${md5('')}"`);
    });

    it('serves byte ranges (206 with Content-Range), and refuses one beyond the end with InvalidRange', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'digits', Body: '0123456789' }));
      const r = async (range: string) => {
        const out = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'digits', Range: range }));
        return { status: out.$metadata.httpStatusCode, range: out.ContentRange, length: out.ContentLength, body: (await bodyOf(out)).toString() };
      };
      expect(await r('bytes=2-4')).toEqual({ status: 206, range: 'bytes 2-4/10', length: 3, body: '234' });
      expect(await r('bytes=7-')).toEqual({ status: 206, range: 'bytes 7-9/10', length: 3, body: '789' });
      expect(await r('bytes=-2')).toEqual({ status: 206, range: 'bytes 8-9/10', length: 2, body: '89' });
      expect(await r('bytes=5-100')).toEqual({ status: 206, range: 'bytes 5-9/10', length: 5, body: '56789' });
      await expectSdkError(s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'digits', Range: 'bytes=10-' })), 'InvalidRange', 416, 'The requested range is not satisfiable');
    });

    it('honours If-None-Match (304) and If-Match (412)', async () => {
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'digits' }));
      // A 304 has no body (as from S3), so the SDK can only name it by its status.
      await expectSdkError(s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'digits', IfNoneMatch: head.ETag })), 'Unknown', 304);
      await expectSdkError(s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'digits', IfModifiedSince: head.LastModified })), 'Unknown', 304);
      await expectSdkError(s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'digits', IfMatch: '"0000"' })), 'PreconditionFailed', 412);
      expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'digits', IfMatch: head.ETag })))).toString()).toBe('0123456789');
    });

    it('deletes objects, answering 204 whether or not the key exists', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'to-delete', Body: 'x' }));
      const del = await s3.send(new DeleteObjectCommand({ Bucket: 'objects', Key: 'to-delete' }));
      expect(del.$metadata.httpStatusCode).toBe(204);
      expect((await s3.send(new DeleteObjectCommand({ Bucket: 'objects', Key: 'to-delete' }))).$metadata.httpStatusCode).toBe(204);
      await expectSdkError(s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'to-delete' })), 'NoSuchKey', 404, 'The specified key does not exist.');
      await expectSdkError(s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'to-delete' })), 'NotFound', 404);
    });

    it('checks Content-MD5 and additional checksums, and keeps nothing that fails them', async () => {
      await expectSdkError(
        s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'bad-md5', Body: 'hello', ContentMD5: Buffer.from(md5('other'), 'hex').toString('base64') })),
        'BadDigest',
        400,
        'The Content-MD5 you specified did not match what we received.',
      );
      await expectSdkError(s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'bad-crc', Body: 'hello', ChecksumCRC32: 'AAAAAA==' })), 'BadDigest', 400, /CRC32 you specified did not match/);
      await expectSdkError(s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'bad-md5' })), 'NotFound', 404);
      await expectSdkError(s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'bad-crc' })), 'NotFound', 404);
      await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'good-md5', Body: 'hello', ContentMD5: Buffer.from(md5('hello'), 'hex').toString('base64'), ChecksumAlgorithm: 'SHA256' }));
    });

    it('round-trips a 40 MB object, streamed back', async () => {
      const big = randomBytes(40 * 1024 * 1024);
      const put = await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'big/40mb.bin', Body: big }));
      expect(put.ETag).toBe(`"${md5(big)}"`);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'big/40mb.bin' }));
      expect(got.ContentLength).toBe(big.length);
      const h = createHash('sha256');
      let n = 0;
      for await (const c of got.Body as AsyncIterable<Uint8Array>) {
        h.update(c);
        n += c.length;
      }
      expect(n).toBe(big.length);
      expect(h.digest('hex')).toBe(sha256(big));
      const tail = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'big/40mb.bin', Range: `bytes=${big.length - 5}-` }));
      expect((await bodyOf(tail)).equals(big.subarray(big.length - 5))).toBe(true);
      await s3.send(new DeleteObjectCommand({ Bucket: 'objects', Key: 'big/40mb.bin' }));
    }, 120_000);
  });

  describe('listing', () => {
    const keys = ['a.txt', 'photos/2024/01.jpg', 'photos/2024/02.jpg', 'photos/2025/01.jpg', 'photos/index.html', 'photos/zz/deep/x', 'z'];

    beforeAll(async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'listing' }));
      for (const k of keys) await s3.send(new PutObjectCommand({ Bucket: 'listing', Key: k, Body: k }));
    });

    it('lists every key in order with S3 fields', async () => {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: 'listing' }));
      expect(out.Contents!.map((c) => c.Key)).toEqual(keys);
      expect(out.KeyCount).toBe(keys.length);
      expect(out.IsTruncated).toBe(false);
      expect(out.NextContinuationToken).toBeUndefined();
      expect(out.MaxKeys).toBe(1000);
      expect(out.Name).toBe('listing');
      const first = out.Contents![0]!;
      expect(first).toMatchObject({ Key: 'a.txt', ETag: `"${md5('a.txt')}"`, Size: 5, StorageClass: 'STANDARD' });
      expect(first.LastModified).toBeInstanceOf(Date);
    });

    it('filters by prefix and rolls keys up to CommonPrefixes at the delimiter', async () => {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'photos/', Delimiter: '/' }));
      expect(out.Contents!.map((c) => c.Key)).toEqual(['photos/index.html']);
      expect(out.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['photos/2024/', 'photos/2025/', 'photos/zz/']);
      expect(out.KeyCount).toBe(4);
      expect(out.Prefix).toBe('photos/');
      expect(out.Delimiter).toBe('/');
      const top = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/' }));
      expect(top.Contents!.map((c) => c.Key)).toEqual(['a.txt', 'z']);
      expect(top.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['photos/']);
      const none = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'nothing/' }));
      expect(none.Contents).toBeUndefined();
      expect(none.KeyCount).toBe(0);
    });

    it('pages with MaxKeys and continuation tokens, with and without a delimiter, and starts after StartAfter', async () => {
      const walk = async (extra: { Delimiter?: string; Prefix?: string }) => {
        const seen: string[] = [];
        let token: string | undefined;
        let pages = 0;
        for (;;) {
          const out: ListObjectsV2CommandOutput = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', MaxKeys: 2, ContinuationToken: token, ...extra }));
          pages++;
          expect(out.KeyCount).toBeLessThanOrEqual(2);
          seen.push(...(out.Contents ?? []).map((c) => c.Key!), ...(out.CommonPrefixes ?? []).map((p) => `prefix:${p.Prefix}`));
          if (!out.IsTruncated) break;
          expect(out.NextContinuationToken).toBeTruthy();
          token = out.NextContinuationToken;
        }
        return { seen, pages };
      };
      expect(await walk({})).toEqual({ seen: keys, pages: 4 });
      const rolled = await walk({ Prefix: 'photos/', Delimiter: '/' });
      expect(rolled.seen.sort()).toEqual(['photos/index.html', 'prefix:photos/2024/', 'prefix:photos/2025/', 'prefix:photos/zz/'].sort());
      expect(rolled.pages).toBe(2);
      const after = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', StartAfter: 'photos/2025/01.jpg' }));
      expect(after.Contents!.map((c) => c.Key)).toEqual(['photos/index.html', 'photos/zz/deep/x', 'z']);
      expect(after.StartAfter).toBe('photos/2025/01.jpg');
      await expectSdkError(s3.send(new ListObjectsV2Command({ Bucket: 'listing', ContinuationToken: 'bm90LWEtdG9rZW4' })), 'InvalidArgument', 400, 'The continuation token provided is incorrect');
    });

    it('serves the original ListObjects (v1) with Marker and NextMarker', async () => {
      const first = await s3.send(new ListObjectsCommand({ Bucket: 'listing', Delimiter: '/', MaxKeys: 2 }));
      expect(first.Contents!.map((c) => c.Key)).toEqual(['a.txt']);
      expect(first.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['photos/']);
      expect(first.IsTruncated).toBe(true);
      expect(first.NextMarker).toBe('photos/');
      const second = await s3.send(new ListObjectsCommand({ Bucket: 'listing', Delimiter: '/', MaxKeys: 2, Marker: first.NextMarker }));
      expect(second.Contents!.map((c) => c.Key)).toEqual(['z']);
      expect(second.CommonPrefixes).toBeUndefined();
      expect(second.IsTruncated).toBe(false);
    });

    it('url-encodes keys when asked (encoding-type=url), as S3', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'listing', Key: 'with space/and&amp', Body: 'x' }));
      const raw = await sendRaw(server.url, await signedRequest({ method: 'GET', path: '/listing', query: { 'list-type': '2', prefix: 'with space/', 'encoding-type': 'url' } }));
      expect(raw.status).toBe(200);
      expect(raw.body).toContain('<Key>with%20space/and%26amp</Key>');
      expect(raw.body).toContain('<Prefix>with%20space/</Prefix>');
      expect(raw.body).toContain('<EncodingType>url</EncodingType>');
      await s3.send(new DeleteObjectCommand({ Bucket: 'listing', Key: 'with space/and&amp' }));
    });
  });

  describe('encryption at rest', () => {
    const plaintext = `From: someone@example.org\r\nTo: support@example.com\r\nSubject: secret ${randomBytes(8).toString('hex')}\r\n\r\nThe launch code is ${randomBytes(16).toString('hex')}.\r\n`;
    const marker = plaintext.slice(plaintext.indexOf('The launch code'));

    beforeAll(async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'sealed' }));
    });

    /** The bytes the backend keeps for an object: its blob, through storage and (SQLite) as a file in the data dir. */
    async function atRest(key: string): Promise<Buffer[]> {
      const row = await server.instance.storage.objects.get('000000000000', 'sealed', key);
      expect(row).toBeDefined();
      const stored = await server.instance.storage.blobs.get(row!.blobId);
      expect(stored).toBeDefined();
      const out = [stored!];
      if (backend === 'sqlite') {
        const files = (await filesUnder(join(server.dataDir, 'blobs'))).filter((f) => f.endsWith(row!.blobId));
        expect(files).toHaveLength(1);
        out.push(await readFile(files[0]!));
      }
      return out;
    }

    it('reads an object encrypted by the receipt action (core putObject with encrypt) back plain through the SDK', async () => {
      const stored = await server.instance.core.objectStore.putObject('000000000000', 'sealed', 'inbound/msg-1', Buffer.from(plaintext), { contentType: 'message/rfc822', encrypt: true });
      expect(stored).toMatchObject({ size: Buffer.byteLength(plaintext), etag: md5(plaintext), encrypted: true });
      for (const bytes of await atRest('inbound/msg-1')) {
        expect(bytes.length).toBe(Buffer.byteLength(plaintext));
        expect(bytes.includes(Buffer.from(marker))).toBe(false);
        expect(bytes.includes(Buffer.from('Subject: secret'))).toBe(false);
      }
      const got = await s3.send(new GetObjectCommand({ Bucket: 'sealed', Key: 'inbound/msg-1' }));
      expect((await bodyOf(got)).toString()).toBe(plaintext);
      expect(got.ServerSideEncryption).toBe('AES256');
      expect(got.ContentType).toBe('message/rfc822');
      expect(got.ETag).toBe(`"${md5(plaintext)}"`);
      expect(got.Metadata).toEqual({});
      const part = await s3.send(new GetObjectCommand({ Bucket: 'sealed', Key: 'inbound/msg-1', Range: 'bytes=0-4' }));
      expect((await bodyOf(part)).toString()).toBe('From:');
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'sealed', Key: 'inbound/msg-1' }))).ServerSideEncryption).toBe('AES256');
    });

    it('seals an object the SDK puts with ServerSideEncryption, and streams one back', async () => {
      const big = Buffer.concat([Buffer.from(marker), randomBytes(3 * 1024 * 1024), Buffer.from(marker)]);
      const put = await s3.send(new PutObjectCommand({ Bucket: 'sealed', Key: 'sdk-sse', Body: big, ServerSideEncryption: 'AES256' }));
      expect(put.ServerSideEncryption).toBe('AES256');
      for (const bytes of await atRest('sdk-sse')) expect(bytes.includes(Buffer.from(marker))).toBe(false);
      expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: 'sealed', Key: 'sdk-sse' })))).equals(big)).toBe(true);
    });

    it.runIf(backend === 'sqlite')('refuses to return bytes that were tampered with at rest', async () => {
      await server.instance.core.objectStore.putObject('000000000000', 'sealed', 'tampered', Buffer.from(plaintext), { encrypt: true });
      const row = await server.instance.storage.objects.get('000000000000', 'sealed', 'tampered');
      const file = (await filesUnder(join(server.dataDir, 'blobs'))).find((f) => f.endsWith(row!.blobId))!;
      const bytes = await readFile(file);
      bytes[3] = bytes[3]! ^ 0xff;
      await writeFile(file, bytes);
      const principal = await server.instance.core.accounts.rootPrincipal();
      await expect(server.instance.core.objectStore.getObject(principal, 'sealed', 'tampered')).rejects.toThrow(/integrity check/);
    });
  });

  describe('authorization and authentication', () => {
    beforeAll(async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'guarded' }));
      await s3.send(new PutObjectCommand({ Bucket: 'guarded', Key: 'public/readme', Body: 'readable' }));
    });

    it('refuses a key without s3 permissions (the default ses:* policy) with AccessDenied', async () => {
      const key = await server.instance.core.accounts.createKey({ description: 'ses only' });
      const c = client({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
      const err = await expectSdkError(c.send(new ListBucketsCommand({})), 'AccessDenied', 403, /is not authorized to perform: s3:ListAllMyBuckets/);
      expect(err.message).toContain(key.accessKeyId);
      await expectSdkError(c.send(new GetObjectCommand({ Bucket: 'guarded', Key: 'public/readme' })), 'AccessDenied', 403, /s3:GetObject on resource: arn:aws:s3:::guarded\/public\/readme/);
      await expectSdkError(c.send(new PutObjectCommand({ Bucket: 'guarded', Key: 'x', Body: 'x' })), 'AccessDenied', 403);
      // HEAD errors have no body (as from S3): the SDK names a 404 NotFound and anything else by status only.
      await expectSdkError(c.send(new HeadObjectCommand({ Bucket: 'guarded', Key: 'public/readme' })), 'Unknown', 403);
    });

    it('lets a policy grant s3 actions on a prefix, and hides missing keys from a key that may not list', async () => {
      const key = await server.instance.core.accounts.createKey({
        description: 'read public/',
        policy: { Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::guarded/public/*' }] },
      });
      const c = client({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
      expect((await bodyOf(await c.send(new GetObjectCommand({ Bucket: 'guarded', Key: 'public/readme' })))).toString()).toBe('readable');
      await expectSdkError(c.send(new GetObjectCommand({ Bucket: 'guarded', Key: 'private/x' })), 'AccessDenied', 403);
      // Without s3:ListBucket, a missing key is AccessDenied, not NoSuchKey (as S3), so keys cannot be probed.
      await expectSdkError(c.send(new GetObjectCommand({ Bucket: 'guarded', Key: 'public/missing' })), 'AccessDenied', 403, /s3:ListBucket/);
      await expectSdkError(c.send(new ListObjectsV2Command({ Bucket: 'guarded' })), 'AccessDenied', 403);
    });

    it('refuses a wrong secret, an unknown key and another region with S3 codes', async () => {
      await expectSdkError(
        client({ accessKeyId: server.accessKeyId, secretAccessKey: 'wrong-secret' }).send(new ListBucketsCommand({})),
        'SignatureDoesNotMatch',
        403,
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      );
      await expectSdkError(
        client({ accessKeyId: server.accessKeyId, secretAccessKey: 'wrong-secret' }).send(new PutObjectCommand({ Bucket: 'guarded', Key: 'nope', Body: 'x' })),
        'SignatureDoesNotMatch',
        403,
      );
      await expectSdkError(
        client({ accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'x' }).send(new ListBucketsCommand({})),
        'InvalidAccessKeyId',
        403,
        'The AWS Access Key Id you provided does not exist in our records.',
      );
      await expectSdkError(client(undefined, 'eu-west-1').send(new ListBucketsCommand({})), 'AuthorizationHeaderMalformed', 400, /the region 'eu-west-1' is wrong; expecting 'us-east-1'/);
      await expectSdkError(s3.send(new HeadObjectCommand({ Bucket: 'guarded', Key: 'nope' })), 'NotFound', 404);
    });

    it('answers errors as S3 XML documents with the request id', async () => {
      const raw = await sendRaw(server.url, await signedRequest({ method: 'GET', path: '/guarded/missing-key' }));
      expect(raw.status).toBe(404);
      expect(raw.headers['content-type']).toBe('application/xml');
      expect(raw.body).toMatch(ERROR_DOC);
      const requestId = raw.headers['x-amz-request-id'] as string;
      expect(requestId).toMatch(UUID);
      expect(raw.body).toContain('<Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>missing-key</Key><Resource>/guarded/missing-key</Resource>');
      expect(raw.body).toContain(`<RequestId>${requestId}</RequestId>`);
      expect(raw.headers['x-amz-id-2']).toBeTruthy();
      const tampered = await signedRequest({ method: 'GET', path: '/guarded/public/readme' });
      const forged = await sendRaw(server.url, { ...tampered, path: '/guarded/public/other' });
      expect(forged.status).toBe(403);
      expect(forged.body).toContain('<Code>SignatureDoesNotMatch</Code>');
      const unsupported = await sendRaw(server.url, await signedRequest({ method: 'GET', path: '/guarded', query: { acl: '' } }));
      expect(unsupported.status).toBe(501);
      expect(unsupported.body).toContain('<Code>NotImplemented</Code>');
      const badUri = await sendRaw(server.url, await signedRequest({ method: 'GET', path: '/guarded/%zz' }));
      expect(badUri.status).toBe(400);
      expect(badUri.body).toContain('<Code>InvalidURI</Code>');
    });

    it('stores any Content-Type as given, and refuses an announced oversize upload before reading it', async () => {
      const u = new URL(server.url);
      const put = async (headers: Record<string, string>, body: string) => {
        const s = await signer().sign({ method: 'PUT', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: '/guarded/odd-type', query: {}, headers: { host: u.host, ...headers }, body });
        return sendRaw(server.url, { method: 'PUT', path: '/guarded/odd-type', headers: s.headers as Record<string, string>, body });
      };
      const odd = await put({ 'content-type': 'not a media type', 'x-amz-content-sha256': sha256('x') }, 'x');
      expect(odd.status).toBe(200);
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'guarded', Key: 'odd-type' }))).ContentType).toBe('not a media type');
      const huge = await put({ 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(6 * 1024 ** 3) }, '1\r\nx\r\n0\r\n\r\n');
      expect(huge.status).toBe(400);
      expect(huge.body).toContain('<Code>EntityTooLarge</Code>');
    });

    it('serves presigned GET URLs until they expire', async () => {
      const u = new URL(server.url);
      const presign = async (key: string, expiresIn: number, signingDate?: Date) => {
        const req = await signer().presign(
          { method: 'GET', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: `/guarded/${key}`, query: {}, headers: { host: u.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
          { expiresIn, signingDate },
        );
        const qs = Object.entries(req.query!).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
        return `${server.url}${req.path}?${qs}`;
      };
      const ok = await fetch(await presign('public/readme', 60));
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe('readable');
      expect(ok.headers.get('etag')).toBe(`"${md5('readable')}"`);
      const expired = await fetch(await presign('public/readme', 60, new Date(Date.now() - 3_600_000)));
      expect(expired.status).toBe(403);
      const text = await expired.text();
      expect(text).toContain('<Code>AccessDenied</Code><Message>Request has expired</Message>');
      const forged = await fetch((await presign('public/readme', 60)).replace('public/readme', 'public/other'));
      expect(forged.status).toBe(403);
      expect(await forged.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    });

    it('accepts the signed streaming upload (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) and refuses a tampered chunk', async () => {
      const content = randomBytes(150_000);
      const upload = async (tamper: boolean) => {
        const u = new URL(server.url);
        const chunkSize = 65_536;
        const chunks: Buffer[] = [];
        for (let i = 0; i < content.length; i += chunkSize) chunks.push(content.subarray(i, i + chunkSize));
        chunks.push(Buffer.alloc(0));
        const encodedLength = chunks.reduce((n, c) => n + c.length.toString(16).length + ';chunk-signature='.length + 64 + 2 + c.length + 2, 0);
        const headers: Record<string, string> = {
          host: u.host,
          'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': String(content.length),
          'content-length': String(encodedLength),
        };
        const signedReq = await signer().sign({ method: 'PUT', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: '/guarded/streamed-signed', query: {}, headers });
        const h = signedReq.headers as Record<string, string>;
        const seed = /Signature=([0-9a-f]{64})/.exec(h.authorization!)![1]!;
        const date = h['x-amz-date']!;
        const scope = `${date.slice(0, 8)}/us-east-1/s3/aws4_request`;
        const k = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
        const signingKey = k(k(k(k(`AWS4${server.secretAccessKey}`, date.slice(0, 8)), 'us-east-1'), 's3'), 'aws4_request');
        let previous = seed;
        const wire: Buffer[] = [];
        for (const c of chunks) {
          const sig = createHmac('sha256', signingKey).update(['AWS4-HMAC-SHA256-PAYLOAD', date, scope, previous, sha256(''), sha256(c)].join('\n')).digest('hex');
          previous = sig;
          const data = tamper && c.length > 0 ? Buffer.from(c).fill(0, 0, 1) : c;
          wire.push(Buffer.from(`${c.length.toString(16)};chunk-signature=${sig}\r\n`), data, Buffer.from('\r\n'));
        }
        const body = Buffer.concat(wire);
        expect(body.length).toBe(encodedLength);
        return sendRaw(server.url, { method: 'PUT', path: '/guarded/streamed-signed', headers: h, body });
      };
      const bad = await upload(true);
      expect(bad.status).toBe(403);
      expect(bad.body).toContain('<Code>SignatureDoesNotMatch</Code>');
      await expectSdkError(s3.send(new HeadObjectCommand({ Bucket: 'guarded', Key: 'streamed-signed' })), 'NotFound', 404);
      const good = await upload(false);
      expect(good.status).toBe(200);
      expect(good.headers.etag).toBe(`"${md5(content)}"`);
      expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: 'guarded', Key: 'streamed-signed' })))).equals(content)).toBe(true);
    });
  });

  describe('beside the other front ends', () => {
    it('leaves the SNS links on GET / and Sesame paths to their owners, whatever the bucket names', async () => {
      const link = await fetch(`${server.url}/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:000000000000:none&Token=x`);
      expect(await link.text()).toContain('<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">');
      await s3.send(new CreateBucketCommand({ Bucket: 'health' }));
      await s3.send(new PutObjectCommand({ Bucket: 'health', Key: 'check', Body: 'bucket named health' }));
      expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: 'health', Key: 'check' })))).toString()).toBe('bucket named health');
      const health = await fetch(`${server.url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok' });
      // A request signed for another service is not the object store's.
      const ses = await sendRaw(server.url, await signedRequest({ method: 'GET', path: '/health' }, 'ses'));
      expect(ses.body).toContain('"status"');
    });
  });

  /** A raw request signed with the root key (the SDK's signer, S3's rules). */
  async function signedRequest(req: { method: string; path: string; query?: Record<string, string> }, service = 's3') {
    const u = new URL(server.url);
    const s = await signer(service).sign({
      method: req.method,
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: req.path,
      query: req.query ?? {},
      headers: { host: u.host, 'x-amz-content-sha256': sha256('') },
    });
    return { method: req.method, path: req.path, query: req.query, headers: s.headers as Record<string, string> };
  }
});

describe('object store outside us-east-1', () => {
  it('answers BucketAlreadyOwnedByYou (409) for a bucket created twice, as S3 does outside us-east-1', async () => {
    await using server = await startTestServer({ env: { SESAME_REGION: 'eu-west-1' } });
    const s3 = new S3Client({ endpoint: server.url, region: 'eu-west-1', forcePathStyle: true, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, maxAttempts: 1 });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'twice', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
      await expectSdkError(s3.send(new CreateBucketCommand({ Bucket: 'twice' })), 'BucketAlreadyOwnedByYou', 409, 'Your previous request to create the named bucket succeeded and you already own it.');
      expect((await s3.send(new GetBucketLocationCommand({ Bucket: 'twice' }))).LocationConstraint).toBe('eu-west-1');
    } finally {
      s3.destroy();
    }
  });
});
