/**
 * Shape checks for SES v2 JSON input: wrong types and missing required members become
 * BadRequestException with a message naming the member, before core sees the request.
 */
import { badRequest } from '../../core/index.ts';

/** A decoded JSON object body. */
export type Body = Record<string, unknown>;

/** Parses a request body as a JSON object; an empty body is `{}`. */
export function parseJsonBody(raw: Buffer): Body {
  if (raw.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badRequest('The request body must be a JSON object.');
  return v as Body;
}

/** A required or optional string member. */
export function str(body: Body, name: string, opts: { required: true; max?: number }): string;
export function str(body: Body, name: string, opts?: { required?: false; max?: number }): string | undefined;
export function str(body: Body, name: string, opts: { required?: boolean; max?: number } = {}): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    if (opts.required) throw badRequest(`${name} is required.`);
    return undefined;
  }
  if (typeof v !== 'string') throw badRequest(`${name} must be a string.`);
  if (opts.max !== undefined && v.length > opts.max) throw badRequest(`${name} must be at most ${opts.max} characters.`);
  return v;
}

/** An optional boolean member. */
export function bool(body: Body, name: string): boolean | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badRequest(`${name} must be a boolean.`);
  return v;
}

/** An optional object member. */
export function obj(body: Body, name: string): Body | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest(`${name} must be an object.`);
  return v as Body;
}

/** An optional integer query-string parameter. */
export function intParam(query: Record<string, unknown>, name: string): number | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw badRequest(`${name} must be an integer.`);
  return n;
}

/** A single-valued query-string parameter. */
export function strParam(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest(`${name} must be given once.`);
  return v;
}

/** Seconds since the epoch, as rest-json sends timestamps. */
export function epochSeconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

/** The members every POST list operation takes: `NextToken`, `PageSize` and an optional `Filter` map. */
export function listRequest(body: Body): { nextToken?: string; pageSize?: number; filter?: Body } {
  const nextToken = body.NextToken;
  if (nextToken !== undefined && nextToken !== null && typeof nextToken !== 'string') throw badRequest('NextToken must be a string.');
  const pageSize = body.PageSize;
  if (pageSize !== undefined && pageSize !== null && typeof pageSize !== 'number') throw badRequest('PageSize must be a number.');
  return { nextToken: (nextToken as string | null) ?? undefined, pageSize: (pageSize as number | null) ?? undefined, filter: obj(body, 'Filter') };
}
