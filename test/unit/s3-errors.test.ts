/**
 * The S3 front end's error tables: every code of core's catalogue has an S3 form, every S3 code an
 * HTTP status (S3 API reference, "List of error codes"), and S3's own codes keep a catalogue code so
 * that the other front ends can still answer them.
 */
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/errors.ts';
import { ObjectStoreError, S3_ERROR_CODES } from '../../src/core/receiving/object-store.ts';
import { S3_CATALOGUE, S3_STATUS } from '../../src/frontends/s3/errors.ts';

describe('S3 error mapping', () => {
  it.each(ERROR_CODES)('catalogue code %s has an S3 code', (code) => {
    expect(S3_CATALOGUE[code], `S3 mapping for ${code}`).toBeDefined();
    expect(S3_STATUS[S3_CATALOGUE[code]]).toBeGreaterThanOrEqual(400);
  });

  it('maps no code that core does not have, and gives every S3 code a status', () => {
    expect(Object.keys(S3_CATALOGUE).sort()).toEqual([...ERROR_CODES].sort());
    expect(Object.keys(S3_STATUS).sort()).toEqual([...S3_ERROR_CODES].sort());
  });

  it("uses S3's statuses for the codes SDK users branch on", () => {
    expect(S3_STATUS.NoSuchBucket).toBe(404);
    expect(S3_STATUS.NoSuchKey).toBe(404);
    expect(S3_STATUS.BucketAlreadyOwnedByYou).toBe(409);
    expect(S3_STATUS.BucketNotEmpty).toBe(409);
    expect(S3_STATUS.InvalidBucketName).toBe(400);
    expect(S3_STATUS.AccessDenied).toBe(403);
    expect(S3_STATUS.SignatureDoesNotMatch).toBe(403);
    expect(S3_STATUS.InvalidAccessKeyId).toBe(403);
    expect(S3_STATUS.InvalidRange).toBe(416);
    expect(S3_CATALOGUE.InvalidClientTokenId).toBe('InvalidAccessKeyId');
    expect(S3_CATALOGUE.MissingAuthenticationToken).toBe('AccessDenied');
  });

  it.each(S3_ERROR_CODES)('S3 code %s is also a catalogue code for the other front ends', (code) => {
    const e = new ObjectStoreError(code, 'm');
    expect(ERROR_CODES).toContain(e.code);
    expect(e.v1Code).toBe(code);
  });
});
