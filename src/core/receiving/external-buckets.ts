/**
 * External buckets: buckets on an S3-compatible endpoint (AWS S3, MinIO, Ceph RGW, Garage…) that
 * the S3 receipt action writes to instead of the built-in object store. SES's S3Action names only a
 * bucket; here the operator links a bucket name of an account to an endpoint and a key pair
 * (`sesame buckets link NAME --endpoint URL …`), and a rule whose action names that bucket stores
 * received mail there, through the AWS SDK's own S3 client: a multipart upload from the message's
 * stream, so a 40 MB message is never whole in memory. The secret key is sealed with the master key.
 *
 * With `KmsKeyArn` on the action, the object is written with S3's server-side encryption under
 * that key (`x-amz-server-side-encryption: aws:kms`): the endpoint encrypts it, as SES's KMS
 * encryption leaves decryption to the bucket owner's key.
 */
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretBox } from '../../lib/secretbox.ts';
import { StorageConflictError, type Storage } from '../../storage/ports.ts';
import type { Clock } from '../clock.ts';
import { badRequest, notFound, SesError } from '../errors.ts';
import { allNamed } from '../paging.ts';
import { validBucketName } from './object-store.ts';

/** A linked bucket as the operator sees it (never the secret). */
export interface ExternalBucket {
  /** The name receipt rules use (S3Action.BucketName). */
  name: string;
  endpoint: string;
  region: string;
  /** The bucket's name at the endpoint. */
  bucket: string;
  accessKeyId: string;
  createdAt: number;
}

/** What linking a bucket takes. */
export interface ExternalBucketInput {
  endpoint: string;
  region?: string;
  bucket?: string;
  accessKeyId: string;
  secretAccessKey: string;
}

interface Stored {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretSealed: string;
}

/** Parts of a multipart upload: S3's minimum is 5 MiB; one part in flight at a time. */
const PART_BYTES = 8 * 1024 * 1024;

const aad = (accountId: string, name: string) => `external-bucket:${accountId}:${name}`;

/** Operator management of linked buckets, and writes to them. */
export class ExternalBucketsService {
  private readonly clients = new Map<string, S3Client>();

  constructor(
    private readonly storage: Storage,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  /** Links `name` of an account to a bucket at an endpoint. */
  async link(accountId: string, name: string, o: ExternalBucketInput): Promise<ExternalBucket> {
    if (!validBucketName(name)) throw badRequest(`"${name}" is not a valid bucket name (S3's rules: 3 to 63 lower-case letters, digits, dots and dashes).`);
    let u: URL;
    try {
      u = new URL(o.endpoint);
    } catch {
      throw badRequest(`"${o.endpoint}" is not a URL.`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw badRequest('The endpoint must be an http or https URL.');
    if (!o.accessKeyId || !o.secretAccessKey) throw badRequest('Give the access key id and secret access key that may write to the bucket.');
    if (await this.storage.buckets.get(accountId, name)) throw new SesError('AlreadyExistsException', `The built-in object store already has a bucket ${name}; link the endpoint under another name.`);
    const stored: Stored = {
      endpoint: u.toString().replace(/\/+$/, ''),
      region: o.region || 'us-east-1',
      bucket: o.bucket || name,
      accessKeyId: o.accessKeyId,
      secretSealed: this.box.seal(o.secretAccessKey, aad(accountId, name)),
    };
    const now = this.clock.now();
    try {
      await this.storage.externalBuckets.create({ accountId, name, data: { ...stored }, createdAt: now, updatedAt: now });
    } catch (err) {
      if (err instanceof StorageConflictError) throw new SesError('AlreadyExistsException', `Bucket ${name} is already linked; unlink it first to change it.`);
      throw err;
    }
    return view(name, stored, now);
  }

  async list(accountId: string): Promise<ExternalBucket[]> {
    return (await allNamed(this.storage.externalBuckets, accountId)).map((r) => view(r.name, r.data as unknown as Stored, r.createdAt));
  }

  async get(accountId: string, name: string): Promise<ExternalBucket | undefined> {
    const r = await this.storage.externalBuckets.get(accountId, name);
    return r ? view(r.name, r.data as unknown as Stored, r.createdAt) : undefined;
  }

  async unlink(accountId: string, name: string): Promise<void> {
    if (!(await this.storage.externalBuckets.delete(accountId, name))) throw notFound(`Bucket ${name} is not linked.`);
    for (const k of [...this.clients.keys()]) if (k.startsWith(`${accountId}/${name}/`)) this.clients.delete(k);
  }

  /**
   * Writes an object to a linked bucket from a stream of `size` bytes (a multipart upload when it
   * is over one part). Throws when the bucket is not linked or the endpoint refuses.
   */
  async put(accountId: string, name: string, key: string, body: Iterable<Buffer> | AsyncIterable<Buffer>, o: { contentType: string; kmsKeyArn?: string }): Promise<void> {
    const r = await this.storage.externalBuckets.get(accountId, name);
    if (!r) throw new Error(`bucket ${name} is not linked to an endpoint`);
    const s = r.data as unknown as Stored;
    const client = await this.client(accountId, name, r.updatedAt, s);
    // The S3 client is loaded on first use: a node that links no bucket never loads it.
    const { Upload } = await import('@aws-sdk/lib-storage');
    const upload = new Upload({
      client,
      queueSize: 1,
      partSize: PART_BYTES,
      leavePartsOnError: false,
      params: {
        Bucket: s.bucket,
        Key: key,
        Body: Readable.from(body, { objectMode: false }),
        ContentType: o.contentType,
        ...(o.kmsKeyArn ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: o.kmsKeyArn } : {}),
      },
    });
    await upload.done();
  }

  private async client(accountId: string, name: string, version: number, s: Stored): Promise<S3Client> {
    const k = `${accountId}/${name}/${version}`;
    let c = this.clients.get(k);
    if (!c) {
      const { S3Client } = await import('@aws-sdk/client-s3');
      c = new S3Client({
        endpoint: s.endpoint,
        region: s.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s.accessKeyId, secretAccessKey: this.box.open(s.secretSealed, aad(accountId, name)) },
        // Plain PUTs and parts: S3-compatible stores differ in their support of streamed trailing checksums.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 3,
      });
      this.clients.set(k, c);
    }
    return c;
  }
}

function view(name: string, s: Stored, createdAt: number): ExternalBucket {
  return { name, endpoint: s.endpoint, region: s.region, bucket: s.bucket, accessKeyId: s.accessKeyId, createdAt };
}
