/**
 * IAM-style policy documents on access keys, evaluated as IAM does for identity-based policies: an
 * explicit Deny wins, otherwise any matching Allow allows, otherwise the request is implicitly
 * denied. Supported: Effect, Action/NotAction, Resource/NotResource with `*` and `?` wildcards, and
 * Condition with the String* operators (optionally `ForAllValues:`/`ForAnyValue:` and `IfExists`).
 */
import { badRequest } from '../errors.ts';

/** One statement after validation. */
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string[];
  NotAction?: string[];
  Resource?: string[];
  NotResource?: string[];
  Condition?: Record<string, Record<string, string[]>>;
}

/** A validated policy document. */
export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement[];
}

/** What a request asks for: the action (`ses:SendEmail`), the resource ARN and condition keys. */
export interface AuthorizationRequest {
  action: string;
  resource: string;
  /** Condition keys such as `ses:FromAddress` (one value or several, like `ses:Recipients`). */
  context?: Record<string, string | string[] | undefined>;
}

/** The policy of a root key: everything allowed. */
export const ALLOW_ALL: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['*'], Resource: ['*'] }] };

const OPERATORS = ['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike'];

function toList(v: unknown, field: string): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw badRequest(`Policy ${field} must be a string or a list of strings`, 'InvalidPolicy');
}

/** Parses and validates a policy document given as JSON text or object; throws BadRequest with the reason. */
export function parsePolicy(input: unknown): PolicyDocument {
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input);
    } catch {
      throw badRequest('Policy is not valid JSON', 'InvalidPolicy');
    }
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw badRequest('Policy must be a JSON object', 'InvalidPolicy');
  const d = doc as Record<string, unknown>;
  const rawStatements = Array.isArray(d.Statement) ? d.Statement : d.Statement ? [d.Statement] : [];
  if (rawStatements.length === 0) throw badRequest('Policy needs at least one Statement', 'InvalidPolicy');
  const statements = rawStatements.map((s: unknown, i): PolicyStatement => {
    if (!s || typeof s !== 'object') throw badRequest(`Policy Statement ${i + 1} must be an object`, 'InvalidPolicy');
    const st = s as Record<string, unknown>;
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') throw badRequest(`Policy Statement ${i + 1}: Effect must be "Allow" or "Deny"`, 'InvalidPolicy');
    if ((st.Action === undefined) === (st.NotAction === undefined)) throw badRequest(`Policy Statement ${i + 1}: give exactly one of Action or NotAction`, 'InvalidPolicy');
    if (st.Resource !== undefined && st.NotResource !== undefined) throw badRequest(`Policy Statement ${i + 1}: give at most one of Resource or NotResource`, 'InvalidPolicy');
    const out: PolicyStatement = { Effect: st.Effect };
    if (typeof st.Sid === 'string') out.Sid = st.Sid;
    if (st.Action !== undefined) out.Action = toList(st.Action, 'Action');
    if (st.NotAction !== undefined) out.NotAction = toList(st.NotAction, 'NotAction');
    out.Resource = st.Resource !== undefined ? toList(st.Resource, 'Resource') : st.NotResource !== undefined ? undefined : ['*'];
    if (st.NotResource !== undefined) out.NotResource = toList(st.NotResource, 'NotResource');
    if (st.Condition !== undefined) {
      if (!st.Condition || typeof st.Condition !== 'object') throw badRequest(`Policy Statement ${i + 1}: Condition must be an object`, 'InvalidPolicy');
      const cond: Record<string, Record<string, string[]>> = {};
      for (const [op, block] of Object.entries(st.Condition as Record<string, unknown>)) {
        const base = op.replace(/^(ForAllValues|ForAnyValue):/, '').replace(/IfExists$/, '');
        if (!OPERATORS.includes(base)) throw badRequest(`Policy Statement ${i + 1}: condition operator ${op} is not supported (use ${OPERATORS.join(', ')})`, 'InvalidPolicy');
        if (!block || typeof block !== 'object') throw badRequest(`Policy Statement ${i + 1}: condition ${op} must map keys to values`, 'InvalidPolicy');
        cond[op] = {};
        for (const [k, v] of Object.entries(block as Record<string, unknown>)) cond[op][k] = toList(v, `Condition ${op} ${k}`);
      }
      out.Condition = cond;
    }
    return out;
  });
  return { Version: typeof d.Version === 'string' ? d.Version : undefined, Statement: statements };
}

/** Glob match with `*` (any run) and `?` (one character), as IAM's ARN and action matching. */
function glob(pattern: string, value: string, ignoreCase: boolean): boolean {
  const re = new RegExp(
    `^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`,
    ignoreCase ? 'is' : 's',
  );
  return re.test(value);
}

function conditionHolds(op: string, key: string, expected: string[], context: AuthorizationRequest['context']): boolean {
  const raw = context?.[key];
  const ifExists = op.endsWith('IfExists');
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) {
    // A missing key: IfExists passes; ForAllValues over an empty set is vacuously true (IAM).
    return ifExists || op.startsWith('ForAllValues:') || /Not/.test(op);
  }
  const values = Array.isArray(raw) ? raw : [raw];
  const base = op.replace(/^(ForAllValues|ForAnyValue):/, '').replace(/IfExists$/, '');
  const one = (v: string): boolean => {
    switch (base) {
      case 'StringEquals':
        return expected.includes(v);
      case 'StringNotEquals':
        return !expected.includes(v);
      case 'StringEqualsIgnoreCase':
        return expected.some((e) => e.toLowerCase() === v.toLowerCase());
      case 'StringNotEqualsIgnoreCase':
        return !expected.some((e) => e.toLowerCase() === v.toLowerCase());
      case 'StringLike':
        return expected.some((e) => glob(e, v, false));
      case 'StringNotLike':
        return !expected.some((e) => glob(e, v, false));
      default:
        return false;
    }
  };
  if (op.startsWith('ForAnyValue:')) return values.some(one);
  // ForAllValues and single-valued keys: every value must satisfy the operator.
  return values.every(one);
}

function statementMatches(st: PolicyStatement, req: AuthorizationRequest): boolean {
  const actionHit = st.Action ? st.Action.some((a) => glob(a, req.action, true)) : !st.NotAction!.some((a) => glob(a, req.action, true));
  if (!actionHit) return false;
  const resourceHit = st.Resource ? st.Resource.some((r) => glob(r, req.resource, false)) : !st.NotResource!.some((r) => glob(r, req.resource, false));
  if (!resourceHit) return false;
  for (const [op, block] of Object.entries(st.Condition ?? {})) {
    for (const [key, expected] of Object.entries(block)) {
      if (!conditionHolds(op, key, expected, req.context)) return false;
    }
  }
  return true;
}

/** Evaluates a policy: 'allow', 'explicit-deny' or 'implicit-deny'. */
export function evaluatePolicy(policy: PolicyDocument, req: AuthorizationRequest): 'allow' | 'explicit-deny' | 'implicit-deny' {
  let allowed = false;
  for (const st of policy.Statement) {
    if (!statementMatches(st, req)) continue;
    if (st.Effect === 'Deny') return 'explicit-deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'implicit-deny';
}
