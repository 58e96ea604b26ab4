/**
 * The bench harness works (BENCHMARKS: CI checks the harness, never speed): a tiny quick run of the
 * sections that need no Postfix (§1, §5, §6, §7; §2/§3 are skipped here) must finish, write its
 * JSON and Markdown, and report a positive rate for every reference and Sesame round. No figure is
 * compared with a target.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const out = mkdtempSync(join(tmpdir(), 'sesame-bench-harness-'));

describe('bench harness (quick, tiny)', () => {
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs §1, §5, §6 (API, SMTP and MX) and §7 and writes a report with every figure', () => {
    execFileSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--messages=300', '--rounds=1', '--only=1,5,6,7', '--depth=3000', `--out=${out}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 280_000,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    const json = readdirSync(out).find((f) => f.endsWith('.json'))!;
    const md = readFileSync(join(out, json.replace(/\.json$/, '.md')), 'utf8');
    const r = JSON.parse(readFileSync(join(out, json), 'utf8')) as {
      s1: { rounds: Array<{ system: string; rate: number; ok: number; extra?: Record<string, number> }>; referenceMedian: number; sesameMedian: number };
      s5: { rounds: Array<{ ok: number; p99ms: number; stages: Record<string, { p50ms: number; p99ms: number }>; threadCpuMsPerMessage?: { main: number; nicer: number; other: number } }> };
      s6: { ways: Record<string, { delivered: boolean; extraMB: number }> };
      s7: { rounds: Array<{ rate: number }>; depth: number };
    };
    for (const x of r.s1.rounds) expect(x.ok).toBe(300);
    expect(r.s1.referenceMedian).toBeGreaterThan(0);
    expect(r.s1.sesameMedian).toBeGreaterThan(0);
    expect(r.s5.rounds[0]!.ok).toBeGreaterThan(0);
    expect(r.s5.rounds[0]!.p99ms).toBeGreaterThan(0);
    // The node's own account of each send (sesame_send_stage_seconds) and its CPU by thread.
    expect(Object.keys(r.s5.rounds[0]!.stages).sort()).toEqual(['checks', 'sign', 'store']);
    for (const q of Object.values(r.s5.rounds[0]!.stages)) expect(q.p99ms).toBeGreaterThanOrEqual(q.p50ms);
    expect(r.s5.rounds[0]!.threadCpuMsPerMessage?.main).toBeGreaterThan(0);
    expect(r.s5.rounds[0]!.threadCpuMsPerMessage?.nicer).toBeGreaterThan(0); // the worker thread delivered
    expect(r.s1.rounds.find((x) => x.system === 'Sesame')?.extra?.mainCpuMsPerMessage).toBeGreaterThan(0);
    expect(Object.keys(r.s6.ways).sort()).toEqual(['api', 'mx', 'smtp']);
    for (const w of Object.values(r.s6.ways)) expect(w.delivered).toBe(true);
    expect(r.s7.depth).toBe(3000);
    for (const x of r.s7.rounds) expect(x.rate).toBeGreaterThan(0);
    for (const section of ['| 1 |', '| 5 |', '| 6 |', '| 7 |']) expect(md).toContain(section);
  }, 300_000);
});
