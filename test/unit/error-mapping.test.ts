import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/errors.ts';
import { V1_ERRORS } from '../../src/frontends/ses-v1/errors.ts';
import { V2_ERRORS } from '../../src/frontends/ses-v2/errors.ts';

describe('error catalogue', () => {
  it.each(ERROR_CODES)('%s is mapped on every wire format', (code) => {
    expect(V2_ERRORS[code], `v2 mapping for ${code}`).toBeDefined();
    expect(V1_ERRORS[code], `v1 mapping for ${code}`).toBeDefined();
    expect(V2_ERRORS[code].status).toBeGreaterThanOrEqual(400);
    expect(V1_ERRORS[code].status).toBeGreaterThanOrEqual(400);
  });

  it('maps no code that core does not have', () => {
    expect(Object.keys(V2_ERRORS).sort()).toEqual([...ERROR_CODES].sort());
    expect(Object.keys(V1_ERRORS).sort()).toEqual([...ERROR_CODES].sort());
  });
});
