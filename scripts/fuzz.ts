/**
 * `npm run fuzz [-- --cases=1000000] [-- --seed=N] [-- --only=name,name]`: the long fuzz run
 * (BENCHMARKS R3). The cases are shared among the targets by weight; the in-process targets
 * (test/fuzz/targets.ts) run directly, the end-to-end ones (test/fuzz/server-targets.ts) against a
 * whole Sesame server on loopback with a verified sender and a sink. Each target replays its corpus
 * first; a failure is shrunk, added to test/fuzz/corpus/, and makes the run exit 1. Prints a table
 * of cases, time, and what failed, and writes it to bench/results/fuzz-<date>.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSendingFixture } from '../test/helpers/fixtures.ts';
import { fuzz, type TargetReport } from '../test/fuzz/runner.ts';
import { apiSendTarget, smtpSessionTarget } from '../test/fuzz/server-targets.ts';
import { TARGETS, type FuzzTarget } from '../test/fuzz/targets.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const args = process.argv.slice(2);
const opt = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const TOTAL = Number(opt('cases') ?? 1_000_000);
const SEED = opt('seed') !== undefined ? Number(opt('seed')) : undefined;
const ONLY = opt('only')?.split(',');
const log = (s: string) => process.stderr.write(`[fuzz] ${s}\n`);

const fixture = await startSendingFixture({ env: { SESAME_LOG_LEVEL: 'fatal', SESAME_SMTP_MAX_CONNECTIONS_PER_IP: '100' } });
const reports: TargetReport[] = [];
try {
  const all: FuzzTarget[] = [...TARGETS, apiSendTarget(fixture.server) as FuzzTarget, smtpSessionTarget(fixture.server) as FuzzTarget];
  const targets = all.filter((t) => !ONLY || ONLY.includes(t.name));
  const weight = targets.reduce((n, t) => n + t.weight, 0);
  for (const t of targets) {
    const cases = Math.max(1, Math.round((TOTAL * t.weight) / weight));
    log(`${t.name}: ${cases.toLocaleString('en-US')} cases …`);
    const r = await fuzz(t, { cases, seed: SEED, save: true });
    reports.push(r);
    log(`${t.name}: ${r.cases.toLocaleString('en-US')} cases in ${(r.ms / 1000).toFixed(1)} s (seed ${r.seed})${r.failure ? ` FAILED: ${r.failure.error}` : ''}`);
  }
  const health = await fetch(`${fixture.server.url}/health`);
  if (health.status !== 200) throw new Error(`the server is not healthy after the run: ${health.status}`);
} finally {
  await fixture.close();
}

const total = reports.reduce((n, r) => n + r.cases + r.corpusCases, 0);
const failed = reports.filter((r) => r.failure);
const lines = [
  `## Fuzz run ${new Date().toISOString()}`,
  '',
  `${total.toLocaleString('en-US')} cases in all (corpus included); ${failed.filter((r) => !r.failure!.hang).length} crashes (property failures), ${failed.filter((r) => r.failure!.hang).length} hangs; Node ${process.version}.`,
  '',
  '| target | cases | corpus | seconds | seed | result |',
  '| --- | ---: | ---: | ---: | ---: | --- |',
  ...reports.map((r) => `| ${r.target} | ${r.cases.toLocaleString('en-US')} | ${r.corpusCases} | ${(r.ms / 1000).toFixed(1)} | ${r.seed} | ${r.failure ? `${r.failure.hang ? 'HANG' : 'FAIL'}: ${r.failure.error.replace(/\|/g, '\\|').slice(0, 200)}` : 'ok'} |`),
  '',
];
process.stdout.write(`${lines.join('\n')}\n`);
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `fuzz-${new Date().toISOString().slice(0, 10)}.md`), `${lines.join('\n')}\n`);
process.exit(failed.length > 0 ? 1 : 0);
