import { describe, expect, it } from 'vitest';
import { ERROR_CODES, SesError } from '../../src/core/errors.ts';
import { V1_ERRORS } from '../../src/frontends/ses-v1/errors.ts';
import { V2_ERRORS } from '../../src/frontends/ses-v2/errors.ts';
import { replyForError, SMTP_ERRORS } from '../../src/frontends/smtp/replies.ts';

describe('error catalogue', () => {
  it.each(ERROR_CODES)('%s is mapped on every wire format', (code) => {
    expect(V2_ERRORS[code], `v2 mapping for ${code}`).toBeDefined();
    expect(V1_ERRORS[code], `v1 mapping for ${code}`).toBeDefined();
    expect(SMTP_ERRORS[code], `SMTP mapping for ${code}`).toBeDefined();
    expect(V2_ERRORS[code].status).toBeGreaterThanOrEqual(400);
    expect(V1_ERRORS[code].status).toBeGreaterThanOrEqual(400);
    // An SMTP refusal is a 4xx (try again) or 5xx (do not) reply, on one line.
    expect(SMTP_ERRORS[code].code).toBeGreaterThanOrEqual(400);
    expect(SMTP_ERRORS[code].code).toBeLessThan(600);
    const reply = replyForError(new SesError(code, 'what\r\nwent wrong'));
    expect(reply.text).not.toMatch(/[\r\n]/);
    expect(reply.text.length).toBeGreaterThan(0);
  });

  it('maps no code that core does not have', () => {
    expect(Object.keys(V2_ERRORS).sort()).toEqual([...ERROR_CODES].sort());
    expect(Object.keys(V1_ERRORS).sort()).toEqual([...ERROR_CODES].sort());
    expect(Object.keys(SMTP_ERRORS).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('words SMTP replies as SES does', () => {
    const r = (code: (typeof ERROR_CODES)[number], message: string) => {
      const x = replyForError(new SesError(code, message));
      return `${x.code} ${x.text}`;
    };
    expect(r('MessageRejected', 'Email address is not verified.')).toBe('554 Message rejected: Email address is not verified.');
    expect(r('AccessDenied', 'User: x is not authorized')).toBe('554 Access denied: User: x is not authorized');
    expect(r('TooManyRequestsException', 'Maximum sending rate exceeded.')).toBe('454 Throttling failure: Maximum sending rate exceeded.');
    expect(r('InvalidClientTokenId', 'The security token included in the request is invalid.')).toBe('535 Authentication Credentials Invalid');
    expect(r('MissingAuthenticationToken', 'x')).toBe('530 Authentication required');
    expect(r('InternalServiceErrorException', 'boom')).toBe('451 Temporary service failure');
    expect(r('MessageRejected', 'y'.repeat(1000))).toMatch(/^554 Message rejected: y+\.\.\.$/);
  });
});
