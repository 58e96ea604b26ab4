/**
 * The SNS front end's error table: every code of core's catalogue has an SNS wire form, with SNS's
 * codes and statuses for the ones an SNS client names (InvalidParameter 400, NotFound 404,
 * AuthorizationError 403) and the AWS authentication codes unchanged.
 */
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/errors.ts';
import { SNS_ERRORS } from '../../src/frontends/sns/errors.ts';

describe('SNS error mapping', () => {
  it.each(ERROR_CODES)('%s is mapped', (code) => {
    expect(SNS_ERRORS[code], `SNS mapping for ${code}`).toBeDefined();
    expect(SNS_ERRORS[code].status).toBeGreaterThanOrEqual(400);
  });

  it('maps no code that core does not have', () => {
    expect(Object.keys(SNS_ERRORS).sort()).toEqual([...ERROR_CODES].sort());
  });

  it("uses SNS's codes and statuses", () => {
    expect(SNS_ERRORS.BadRequestException).toEqual({ status: 400, code: 'InvalidParameter', type: 'Sender' });
    expect(SNS_ERRORS.NotFoundException).toEqual({ status: 404, code: 'NotFound', type: 'Sender' });
    expect(SNS_ERRORS.AccessDenied).toEqual({ status: 403, code: 'AuthorizationError', type: 'Sender' });
    expect(SNS_ERRORS.InternalServiceErrorException).toEqual({ status: 500, code: 'InternalError', type: 'Receiver' });
    for (const auth of ['MissingAuthenticationToken', 'InvalidClientTokenId', 'SignatureDoesNotMatch', 'IncompleteSignature'] as const) expect(SNS_ERRORS[auth].code).toBe(auth);
  });
});
