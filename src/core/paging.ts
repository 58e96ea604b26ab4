/**
 * Opaque NextTokens for name-ordered listings: the last name returned, base64url-encoded. A token
 * that does not decode back to itself, or holds control characters, is refused as SES refuses a
 * token it did not issue.
 */
import type { NamedRecord, NamedRepository } from '../storage/ports.ts';
import { badRequest } from './errors.ts';

/** The token that resumes a listing after `lastName`. */
export function encodeNextToken(lastName: string): string {
  return Buffer.from(lastName, 'utf8').toString('base64url');
}

/** The name a token resumes after, or undefined for no token; throws BadRequest for a forged one. */
export function decodeNextToken(token: string | undefined): string | undefined {
  if (token === undefined || token === '') return undefined;
  const after = Buffer.from(token, 'base64url').toString('utf8');
  // eslint-disable-next-line no-control-regex
  if (!after || /[\x00-\x1f\x7f]/.test(after) || encodeNextToken(after) !== token) throw badRequest('Invalid NextToken.', 'InvalidParameterValue');
  return after;
}

/** Checks a PageSize / MaxItems value against SES's bounds. */
export function pageSize(value: number | undefined, fallback: number, max: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > max) throw badRequest(`PageSize must be an integer from 1 to ${max}.`);
  return n;
}

/**
 * Reads one page of a name-ordered repository keeping only rows that pass `keep`, in batches until
 * the page is full, looking one row ahead so that NextToken is given only when more follow.
 */
export async function filteredPage<T extends { name: string }>(
  read: (after: string | undefined, limit: number) => Promise<T[]>,
  token: string | undefined,
  size: number,
  keep: (row: T) => boolean,
  batchSize = 500,
): Promise<{ items: T[]; nextToken?: string }> {
  let after = decodeNextToken(token);
  const items: T[] = [];
  for (;;) {
    const batch = await read(after, batchSize);
    for (const row of batch) {
      if (!keep(row)) continue;
      if (items.length === size) return { items, nextToken: encodeNextToken(items[items.length - 1]!.name) };
      items.push(row);
    }
    if (batch.length < batchSize) return { items };
    after = batch[batch.length - 1]!.name;
  }
}

/** Reads one page of a name-ordered repository, looking one row ahead to know whether more follow. */
export async function page<T extends { name: string }>(
  read: (after: string | undefined, limit: number) => Promise<T[]>,
  token: string | undefined,
  size: number,
): Promise<{ items: T[]; nextToken?: string }> {
  const rows = await read(decodeNextToken(token), size + 1);
  const items = rows.slice(0, size);
  const last = items[items.length - 1];
  return { items, nextToken: rows.length > size && last ? encodeNextToken(last.name) : undefined };
}

/** Every record of an account in a named repository, in name order (for small operator lists). */
export async function allNamed(repo: NamedRepository, accountId: string): Promise<NamedRecord[]> {
  const out: NamedRecord[] = [];
  let after: string | undefined;
  for (;;) {
    const batch = await repo.list(accountId, { after, limit: 500 });
    out.push(...batch);
    if (batch.length < 500) return out;
    after = batch[batch.length - 1]!.name;
  }
}
