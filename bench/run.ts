/**
 * `npm run bench [-- --quick] [-- --profile] [-- --only=1,2] [-- --rounds=N] [-- --messages=N]`
 *
 * Measures BENCHMARKS.md §1 (API accept rate against the HTTP ceiling) and §2 (end-to-end relay rate
 * against Postfix), alternating reference and Sesame round by round (A B A B A B), and writes
 * bench/results/<date>.json and bench/results/<date>.md (the table is printed too). Everything runs
 * on loopback on this machine, the load generator included: its CPU time is reported beside the
 * servers'. `--quick` sends 2,000 messages per round instead of 20,000 (a few minutes in all);
 * `--profile` runs every Sesame child under `node --cpu-prof` (profiles in bench/results/profiles/,
 * summarise one with `node --import tsx bench/profile-summary.ts <file>`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestDnsServer } from '../test/helpers/dns-server.ts';
import { fire, presignSendEmail, sendEmailJson, textBody, type LoadResult } from './lib/load.ts';
import { postfixUnavailable, startPostfix, type Postfix, type PostfixRound } from './lib/postfix.ts';
import { median, processCpuSeconds } from './lib/proc.ts';
import { BENCH_KEY, startSesameChild, verifySenderDomain, type SesameChild } from './lib/sesame.ts';
import { startSink, type Sink } from './lib/sink.ts';

// The pinned SDK (used only to create identities) warns about Node 20 on every client; noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const args = process.argv.slice(2);
const opt = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const QUICK = args.includes('--quick');
const PROFILE = args.includes('--profile');
const SECTIONS = new Set((opt('only') ?? '1,2').split(','));
const ROUNDS = Number(opt('rounds') ?? 3);
const MESSAGES = Number(opt('messages') ?? (QUICK ? 2_000 : 20_000));
const WARMUP = Math.min(500, MESSAGES);
const CONCURRENCY = 64;
const SOURCE_SESSIONS = 20;
const BODY_BYTES = 2_000;
const SENDER = 'sender.bench.test';
const DEST = 'dest.bench.test';
/** Longest wait for a load to reach the sink: generous, it only guards against a hang. */
const DELIVERY_TIMEOUT_MS = 60_000 + MESSAGES * 25;

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
const fmt = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

/** One measured run of a load against a server. */
interface Round {
  round: number;
  system: string;
  messages: number;
  ok: number;
  failures: Record<string, number>;
  seconds: number;
  rate: number;
  p50ms?: number;
  p99ms?: number;
  serverCpuSeconds?: number;
  generatorCpuSeconds?: number;
  sinkCpuSeconds?: number;
  /** §1 Sesame: how long after the last 200 the sink had every message. §2: the accept phase. */
  extra?: Record<string, number | undefined>;
}

const makeBody = (i: number) => sendEmailJson(`bench@${SENDER}`, `r${i}@${DEST}`, `bench message ${i}`, textBody(BODY_BYTES, `m${i}`));

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

async function startCeiling(): Promise<{ proc: ChildProcess; port: number; stop: () => Promise<void> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'http-ceiling.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, BENCH_ACCESS_KEY_ID: BENCH_KEY.accessKeyId, BENCH_SECRET_ACCESS_KEY: BENCH_KEY.secretAccessKey, BENCH_REGION: BENCH_KEY.region },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`http-ceiling exited with ${code}`)));
  });
  return {
    proc,
    port,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
    },
  };
}

/** Fires a load at a server process and reads its CPU time around the run. */
async function measureHttp(system: string, round: number, port: number, pid: number, reqs: Awaited<ReturnType<typeof presignSendEmail>>): Promise<{ round: Round; load: LoadResult }> {
  const cpu0 = processCpuSeconds(pid);
  const load = await fire(port, reqs, CONCURRENCY);
  const cpu1 = processCpuSeconds(pid);
  return {
    load,
    round: {
      round,
      system,
      messages: reqs.length,
      ok: load.ok,
      failures: load.failures,
      seconds: load.seconds,
      rate: load.rate,
      p50ms: load.p50ms,
      p99ms: load.p99ms,
      serverCpuSeconds: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined,
      generatorCpuSeconds: load.generatorCpuSeconds,
    },
  };
}

/** §1: SendEmail accept rate, Sesame against the HTTP ceiling. */
async function section1(dns: TestDnsServer, sink: Sink, profileDir: string | undefined) {
  log(`§1: API accept rate, ${MESSAGES} × SendEmail (${BODY_BYTES}-byte text), ${CONCURRENCY} concurrent keep-alive connections, ${ROUNDS} rounds each`);
  const ceiling = await startCeiling();
  const sesame = await startSesameChild({ dns, sinkPort: sink.port, profileDir });
  const rounds: Round[] = [];
  try {
    await verifySenderDomain(sesame, dns, SENDER, 'RSA_2048_BIT');
    let expectedAtSink = sink.count();
    // Warm-up (JIT, connection set-up, SQLite pages), not measured.
    await fire(ceiling.port, await presignSendEmail(BENCH_KEY, ceiling.port, WARMUP, makeBody), CONCURRENCY);
    const warm = await fire(sesame.port, await presignSendEmail(BENCH_KEY, sesame.port, WARMUP, makeBody), CONCURRENCY);
    expectedAtSink += warm.ok;
    await sink.waitForCount(expectedAtSink, DELIVERY_TIMEOUT_MS);
    for (let r = 1; r <= ROUNDS; r++) {
      // Signed per round: a SigV4 date must stay within 15 minutes of the server's clock.
      const refReqs = await presignSendEmail(BENCH_KEY, ceiling.port, MESSAGES, makeBody);
      const ref = await measureHttp('HTTP ceiling', r, ceiling.port, ceiling.proc.pid!, refReqs);
      rounds.push(ref.round);
      log(`  round ${r} HTTP ceiling: ${fmt(ref.round.rate)} req/s (p99 ${fmt(ref.round.p99ms, 1)} ms)`);

      const sesReqs = await presignSendEmail(BENCH_KEY, sesame.port, MESSAGES, makeBody);
      const sinkCpu0 = sink.cpuSeconds();
      const ses = await measureHttp('Sesame', r, sesame.port, sesame.pid, sesReqs);
      expectedAtSink += ses.load.ok;
      // Let the queue drain before the next round so that the reference never competes with it.
      let drainSeconds: number | undefined;
      try {
        const at = await sink.waitForCount(expectedAtSink, DELIVERY_TIMEOUT_MS);
        drainSeconds = (at - ses.load.endedAt) / 1000;
      } catch (err) {
        log(`  ${(err as Error).message}`);
        expectedAtSink = sink.count();
      }
      const sinkCpu1 = sink.cpuSeconds();
      ses.round.sinkCpuSeconds = sinkCpu0 !== undefined && sinkCpu1 !== undefined ? sinkCpu1 - sinkCpu0 : undefined;
      ses.round.extra = { drainAfterLastAcceptSeconds: drainSeconds };
      rounds.push(ses.round);
      log(`  round ${r} Sesame: ${fmt(ses.round.rate)} req/s (p99 ${fmt(ses.round.p99ms, 1)} ms, failures ${JSON.stringify(ses.round.failures)}); queue drained ${fmt(drainSeconds, 1)} s after the last 200`);
    }
  } finally {
    await sesame.stop();
    await ceiling.stop();
  }
  const refMedian = median(rounds.filter((x) => x.system !== 'Sesame').map((x) => x.rate));
  const sesMedian = median(rounds.filter((x) => x.system === 'Sesame').map((x) => x.rate));
  return { rounds, referenceMedian: refMedian, sesameMedian: sesMedian, ratio: sesMedian / refMedian, target: 0.5 };
}

/** One §2 Sesame round: a fresh node, an RSA-2048 domain, N messages from the first request to the last at the sink. */
async function sesameRelayRound(r: number, dns: TestDnsServer, sink: Sink, profileDir: string | undefined): Promise<Round> {
  const s: SesameChild = await startSesameChild({ dns, sinkPort: sink.port, profileDir });
  try {
    await verifySenderDomain(s, dns, SENDER, 'RSA_2048_BIT');
    const reqs = await presignSendEmail(BENCH_KEY, s.port, MESSAGES, makeBody);
    const base = sink.count();
    const cpu0 = s.cpuSeconds();
    const sinkCpu0 = sink.cpuSeconds();
    const gen0 = process.cpuUsage();
    const all = sink.waitForCount(base + MESSAGES, DELIVERY_TIMEOUT_MS);
    all.catch(() => undefined);
    const load = await fire(s.port, reqs, CONCURRENCY);
    let doneAt: number;
    try {
      doneAt = load.ok === MESSAGES ? await all : await sink.waitForCount(base + load.ok, DELIVERY_TIMEOUT_MS);
    } catch (err) {
      log(`  ${(err as Error).message}`);
      doneAt = performance.now();
    }
    const gen = process.cpuUsage(gen0);
    const cpu1 = s.cpuSeconds();
    const sinkCpu1 = sink.cpuSeconds();
    const delivered = sink.count() - base;
    const seconds = (doneAt - load.startedAt) / 1000;
    return {
      round: r,
      system: 'Sesame',
      messages: MESSAGES,
      ok: Math.min(delivered, load.ok),
      failures: load.failures,
      seconds,
      rate: Math.min(delivered, load.ok) / seconds,
      p50ms: load.p50ms,
      p99ms: load.p99ms,
      serverCpuSeconds: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined,
      generatorCpuSeconds: (gen.user + gen.system) / 1e6,
      sinkCpuSeconds: sinkCpu0 !== undefined && sinkCpu1 !== undefined ? sinkCpu1 - sinkCpu0 : undefined,
      extra: { acceptSeconds: load.seconds, acceptRate: load.rate, delivered },
    };
  } finally {
    await s.stop();
  }
}

/** §2: end-to-end relay rate, Sesame (DKIM RSA-2048) against Postfix (no signing), same sink. */
async function section2(dns: TestDnsServer, sink: Sink, profileDir: string | undefined) {
  log(`§2: end-to-end relay rate, ${MESSAGES} × ${BODY_BYTES}-byte messages to ${sink.kind}, ${ROUNDS} rounds each`);
  let postfix: Postfix | undefined;
  let unavailable = postfixUnavailable();
  if (!unavailable) {
    try {
      postfix = await startPostfix(sink);
    } catch (err) {
      unavailable = `Postfix could not be started: ${(err as Error).message}`;
    }
  }
  if (unavailable) log(`  Postfix reference unavailable: ${unavailable}`);
  const rounds: Round[] = [];
  try {
    for (let r = 1; r <= ROUNDS; r++) {
      if (postfix) {
        const p: PostfixRound = await postfix.relay(MESSAGES, SOURCE_SESSIONS, BODY_BYTES, sink, DELIVERY_TIMEOUT_MS);
        rounds.push({
          round: r,
          system: 'Postfix',
          messages: MESSAGES,
          ok: MESSAGES,
          failures: {},
          seconds: p.e2eSeconds,
          rate: p.e2eRate,
          serverCpuSeconds: p.postfixCpuSeconds,
          generatorCpuSeconds: p.sourceCpuSeconds,
          sinkCpuSeconds: p.sinkCpuSeconds,
          extra: { acceptSeconds: p.acceptSeconds, acceptRate: p.acceptRate },
        });
        log(`  round ${r} Postfix: ${fmt(p.e2eRate)} msg/s end to end (accepting ${fmt(p.acceptRate)} msg/s)`);
      }
      const s = await sesameRelayRound(r, dns, sink, profileDir);
      rounds.push(s);
      log(`  round ${r} Sesame: ${fmt(s.rate)} msg/s end to end (accepting ${fmt(s.extra?.acceptRate)} msg/s, failures ${JSON.stringify(s.failures)})`);
    }
  } finally {
    await postfix?.stop();
  }
  const refMedian = postfix ? median(rounds.filter((x) => x.system === 'Postfix').map((x) => x.rate)) : NaN;
  const sesMedian = median(rounds.filter((x) => x.system === 'Sesame').map((x) => x.rate));
  return {
    rounds,
    referenceMedian: refMedian,
    sesameMedian: sesMedian,
    ratio: sesMedian / refMedian,
    target: 2,
    postfix: postfix ? { version: postfix.version, postconf: postfix.settings, load: `smtp-source -s ${SOURCE_SESSIONS} -m ${MESSAGES} -l ${BODY_BYTES} -f bench@${SENDER} -t to@${DEST} 127.0.0.1:25` } : { unavailable },
  };
}

function roundsTable(title: string, rounds: Round[]): string {
  const lines = [
    `### ${title}`,
    '',
    '| round | system | msgs ok | wall s | msg/s | p50 ms | p99 ms | server CPU s (cores) | load generator CPU s (cores) | sink CPU s | notes |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of rounds) {
    const cores = (cpu?: number) => (cpu === undefined ? '–' : `${fmt(cpu, 2)} (${fmt(cpu / r.seconds, 2)})`);
    const notes: string[] = [];
    if (Object.keys(r.failures).length > 0) notes.push(`failures ${JSON.stringify(r.failures)}`);
    for (const [k, v] of Object.entries(r.extra ?? {})) if (v !== undefined) notes.push(`${k}=${fmt(v, k.endsWith('Seconds') ? 2 : 0)}`);
    lines.push(
      `| ${r.round} | ${r.system} | ${fmt(r.ok)} | ${fmt(r.seconds, 2)} | ${fmt(r.rate)} | ${fmt(r.p50ms, 1)} | ${fmt(r.p99ms, 1)} | ${cores(r.serverCpuSeconds)} | ${cores(r.generatorCpuSeconds)} | ${fmt(r.sinkCpuSeconds, 2)} | ${notes.join('; ')} |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const started = new Date();
  const date = started.toISOString().slice(0, 10);
  const resultsDir = join(HERE, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const profileDir = PROFILE ? join(resultsDir, 'profiles', started.toISOString().replace(/[:.]/g, '-')) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });

  const meta = {
    date: started.toISOString(),
    mode: QUICK ? 'quick' : 'full',
    commit: commit(),
    node: process.version,
    cores: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    messageBytes: BODY_BYTES,
    messagesPerRound: MESSAGES,
    warmupMessages: WARMUP,
    rounds: ROUNDS,
    httpConcurrency: CONCURRENCY,
    smtpSourceSessions: SOURCE_SESSIONS,
    loadGenerator:
      'the bench process itself: SES v2 SendEmail (Simple, one recipient, 2,000-byte text body) pre-signed with @smithy/signature-v4 before each timed run, sent with node:http keep-alive (Agent maxSockets = concurrency); Postfix is fed by smtp-source',
    sesame: 'node bin/sesame.js serve (child process), embedded SQLite in a fresh temp data dir, SESAME_LOG_LEVEL=warn, sender domain verified with Easy DKIM RSA_2048_BIT, MX of the destination domain = the sink on loopback (test DNS server in the bench process)',
    httpCeiling: `bench/http-ceiling.ts (child process): Fastify ${packageVersion('fastify')}, raw-buffer body parser as in Sesame, POST /v2/email/outbound-emails → parseAuthorization + verifySignature (src/lib/sigv4.ts) → constant 200 JSON`,
    packages: Object.fromEntries(['fastify', 'better-sqlite3', 'kysely', 'mailauth', 'nodemailer', '@smithy/signature-v4'].map((p) => [p, packageVersion(p)])),
    profiles: profileDir,
  };
  log(`commit ${meta.commit}, Node ${meta.node}, ${meta.cores} cores, load average ${meta.loadAverageAtStart.join(' ')}`);

  const dns = await TestDnsServer.start();
  dns.set(DEST, 'MX', [{ priority: 10, exchange: `mx.${DEST}` }]);
  dns.set(`mx.${DEST}`, 'A', ['127.0.0.1']);
  const sink = await startSink();
  log(`sink: ${sink.kind} on port ${sink.port}`);
  let s1: Awaited<ReturnType<typeof section1>> | undefined;
  let s2: Awaited<ReturnType<typeof section2>> | undefined;
  try {
    if (SECTIONS.has('1')) s1 = await section1(dns, sink, profileDir);
    if (SECTIONS.has('2')) s2 = await section2(dns, sink, profileDir);
  } finally {
    await sink.close();
    await dns.close();
  }

  const summary: string[] = [
    `## Sesame benchmarks ${meta.date} (${meta.mode})`,
    '',
    `commit \`${meta.commit}\`, Node ${meta.node}, ${meta.cores} × ${meta.cpuModel ?? 'CPU'}, load average at start ${meta.loadAverageAtStart.join(' ')}.`,
    `${MESSAGES.toLocaleString('en-US')} messages of ${BODY_BYTES.toLocaleString('en-US')} bytes per round, ${ROUNDS} rounds each, alternating reference and Sesame; medians.`,
    `Load generator on the same machine (${meta.loadGenerator}); its CPU is in the round tables. Sink: ${sink.kind} (\`${sink.config}\`).`,
    '',
    '| § | measure | reference | reference median | Sesame median | Sesame / reference | target | met |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | --- |',
  ];
  if (s1) {
    summary.push(`| 1 | API accept rate, msg/s (${CONCURRENCY} keep-alive clients) | HTTP ceiling (Fastify + SigV4) | ${fmt(s1.referenceMedian)} | ${fmt(s1.sesameMedian)} | ${fmt(s1.ratio, 3)} | ≥ ${s1.target} | ${s1.ratio >= s1.target ? 'yes' : `no (${fmt((s1.ratio / s1.target) * 100)} % of target)`} |`);
  }
  if (s2) {
    const ref = 'unavailable' in s2.postfix ? `Postfix: unavailable (${s2.postfix.unavailable})` : `Postfix ${s2.postfix.version} relay, no signing`;
    const met = Number.isNaN(s2.ratio) ? 'n/a' : s2.ratio >= s2.target ? 'yes' : `no (${fmt((s2.ratio / s2.target) * 100)} % of target)`;
    summary.push(`| 2 | end-to-end relay rate, msg/s (first request → last at the sink; Sesame signs DKIM RSA-2048) | ${ref} | ${fmt(s2.referenceMedian)} | ${fmt(s2.sesameMedian)} | ${fmt(s2.ratio, 3)} | ≥ ${s2.target} | ${met} |`);
  }
  summary.push('');
  if (s1) summary.push(roundsTable('§1 rounds (HTTP ceiling vs Sesame accept; Sesame drains to the sink between rounds)', s1.rounds), '');
  if (s2) {
    summary.push(roundsTable('§2 rounds (Postfix: generator = smtp-source, server = master and its children; Sesame: a fresh node per round)', s2.rounds), '');
    if (!('unavailable' in s2.postfix)) summary.push(`Postfix configuration (\`postconf -e\`): ${s2.postfix.postconf.map((x) => `\`${x}\``).join(', ')}; load: \`${s2.postfix.load}\`.`, '');
  }
  const md = summary.join('\n');
  const stamp = date;
  writeFileSync(join(resultsDir, `${stamp}.json`), `${JSON.stringify({ meta, sink: { kind: sink.kind, config: sink.config }, s1, s2 }, null, 2)}\n`);
  writeFileSync(join(resultsDir, `${stamp}.md`), `${md}\n`);
  process.stdout.write(`${md}\n`);
  log(`wrote bench/results/${stamp}.json and bench/results/${stamp}.md`);
}

await main();
