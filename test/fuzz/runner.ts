/**
 * Runs fuzz targets with fast-check and keeps the corpus: every counterexample a run finds is
 * written to corpus/<target>.json (after shrinking), and every run replays the corpus first, so a
 * crash once found stays a regression case after it is fixed.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { HANG_MS, type FuzzTarget } from './targets.ts';

/** Where the corpus lives. */
export const CORPUS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'corpus');

/** What one target's run found. */
export interface TargetReport {
  target: string;
  cases: number;
  corpusCases: number;
  seed: number;
  ms: number;
  /** The shrunk failing input and what went wrong, if anything did. */
  failure?: { input: unknown; error: string; hang: boolean };
}

/** JSON with Buffers (and other byte arrays) as {"$b64": …}. */
export function encode(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $b64: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return v.map(encode);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encode(x)]));
  return v;
}

/** The inverse of encode. */
export function decode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$b64 === 'string' && Object.keys(o).length === 1) return Buffer.from(o.$b64, 'base64');
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decode(x)]));
  }
  return v;
}

/** The stored regression inputs of a target. */
export function corpus(target: string): unknown[] {
  const file = join(CORPUS_DIR, `${target}.json`);
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as unknown[]).map(decode);
}

function remember(target: string, input: unknown): void {
  mkdirSync(CORPUS_DIR, { recursive: true });
  const file = join(CORPUS_DIR, `${target}.json`);
  const list = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as unknown[]) : [];
  const e = encode(input);
  if (!list.some((x) => JSON.stringify(x) === JSON.stringify(e))) list.push(e);
  writeFileSync(file, `${JSON.stringify(list, null, 1)}\n`);
}

/** Runs the check of one input, turning a slow one into a failure. */
async function timed<T>(t: FuzzTarget<T>, v: T): Promise<void> {
  const start = performance.now();
  await t.check(v);
  const ms = performance.now() - start;
  if (ms > HANG_MS) throw new Error(`hang: one case took ${Math.round(ms)} ms (limit ${HANG_MS} ms)`);
}

/** Replays the corpus, then runs `cases` generated cases; a failure is shrunk and (with `save`) added to the corpus. */
export async function fuzz<T>(t: FuzzTarget<T>, o: { cases: number; seed?: number; save?: boolean }): Promise<TargetReport> {
  const start = performance.now();
  const seed = o.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const stored = corpus(t.name) as T[];
  for (const input of stored) {
    try {
      await timed(t, input);
    } catch (err) {
      return { target: t.name, cases: 0, corpusCases: stored.length, seed, ms: performance.now() - start, failure: { input, error: String(err instanceof Error ? err.message : err), hang: /^hang:/.test(String((err as Error)?.message)) } };
    }
  }
  const details = await fc.check(
    fc.asyncProperty(t.arbitrary, (v) => timed(t, v)),
    { numRuns: o.cases, seed, timeout: HANG_MS * 2, markInterruptAsFailure: true },
  );
  const report: TargetReport = { target: t.name, cases: details.numRuns, corpusCases: stored.length, seed, ms: performance.now() - start };
  if (details.failed) {
    const input = details.counterexample?.[0];
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance ?? 'timeout');
    report.failure = { input, error, hang: /^hang:|timeout/i.test(error) };
    if (o.save && details.counterexample) remember(t.name, input);
  }
  return report;
}
