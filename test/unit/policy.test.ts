import { describe, expect, it } from 'vitest';
import { ALLOW_ALL, evaluatePolicy, parsePolicy } from '../../src/core/accounts/policy.ts';
import { SesError } from '../../src/core/errors.ts';

const arn = (name: string) => `arn:aws:ses:us-east-1:000000000000:identity/${name}`;

describe('IAM-style policies', () => {
  it('allows everything with the root policy', () => {
    expect(evaluatePolicy(ALLOW_ALL, { action: 'ses:CreateEmailIdentity', resource: arn('a.test') })).toBe('allow');
  });

  it('matches actions case-insensitively with wildcards', () => {
    const p = parsePolicy({ Statement: [{ Effect: 'Allow', Action: ['ses:Send*', 'ses:Get?mailIdentity'], Resource: '*' }] });
    expect(evaluatePolicy(p, { action: 'ses:SendRawEmail', resource: '*' })).toBe('allow');
    expect(evaluatePolicy(p, { action: 'SES:sendemail', resource: '*' })).toBe('allow');
    expect(evaluatePolicy(p, { action: 'ses:GetEmailIdentity', resource: '*' })).toBe('allow');
    expect(evaluatePolicy(p, { action: 'ses:CreateEmailIdentity', resource: '*' })).toBe('implicit-deny');
  });

  it('lets an explicit Deny win over an Allow', () => {
    const p = parsePolicy({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'ses:*', Resource: '*' },
        { Effect: 'Deny', Action: 'ses:*', Resource: arn('blocked.test') },
      ],
    });
    expect(evaluatePolicy(p, { action: 'ses:SendEmail', resource: arn('ok.test') })).toBe('allow');
    expect(evaluatePolicy(p, { action: 'ses:SendEmail', resource: arn('blocked.test') })).toBe('explicit-deny');
  });

  it('supports NotAction and NotResource', () => {
    const p = parsePolicy({ Statement: { Effect: 'Allow', NotAction: 'ses:Delete*', NotResource: arn('secret.test') } });
    expect(evaluatePolicy(p, { action: 'ses:GetEmailIdentity', resource: arn('a.test') })).toBe('allow');
    expect(evaluatePolicy(p, { action: 'ses:DeleteEmailIdentity', resource: arn('a.test') })).toBe('implicit-deny');
    expect(evaluatePolicy(p, { action: 'ses:GetEmailIdentity', resource: arn('secret.test') })).toBe('implicit-deny');
  });

  it('evaluates String conditions, ForAllValues and IfExists', () => {
    const p = parsePolicy({
      Statement: [
        {
          Effect: 'Allow',
          Action: 'ses:SendEmail',
          Resource: '*',
          Condition: { StringLike: { 'ses:FromAddress': '*@example.test' }, 'ForAllValues:StringLike': { 'ses:Recipients': ['*@example.org'] } },
        },
      ],
    });
    const ok = { action: 'ses:SendEmail', resource: '*', context: { 'ses:FromAddress': 'a@example.test', 'ses:Recipients': ['x@example.org', 'y@example.org'] } };
    expect(evaluatePolicy(p, ok)).toBe('allow');
    expect(evaluatePolicy(p, { ...ok, context: { ...ok.context, 'ses:FromAddress': 'a@evil.test' } })).toBe('implicit-deny');
    expect(evaluatePolicy(p, { ...ok, context: { ...ok.context, 'ses:Recipients': ['x@example.org', 'z@other.test'] } })).toBe('implicit-deny');
    expect(evaluatePolicy(p, { action: 'ses:SendEmail', resource: '*' })).toBe('implicit-deny');
    const q = parsePolicy({ Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { StringEqualsIfExists: { 'ses:FromDisplayName': 'Shop' } } }] });
    expect(evaluatePolicy(q, { action: 'ses:SendEmail', resource: '*' })).toBe('allow');
    expect(evaluatePolicy(q, { action: 'ses:SendEmail', resource: '*', context: { 'ses:FromDisplayName': 'Other' } })).toBe('implicit-deny');
  });

  it('refuses malformed policies with a clear message', () => {
    const bad: unknown[] = [
      'not json',
      '[]',
      {},
      { Statement: [] },
      { Statement: [{ Effect: 'Maybe', Action: '*' }] },
      { Statement: [{ Effect: 'Allow' }] },
      { Statement: [{ Effect: 'Allow', Action: '*', NotAction: 'x' }] },
      { Statement: [{ Effect: 'Allow', Action: 5 }] },
      { Statement: [{ Effect: 'Allow', Action: '*', Condition: { NumericLessThan: { a: '1' } } }] },
    ];
    for (const b of bad) {
      expect(() => parsePolicy(b), JSON.stringify(b)).toThrow(SesError);
    }
  });
});
