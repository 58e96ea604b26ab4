/**
 * `npm run bench [-- --quick] [-- --profile] [-- --only=1,2,3,4,5,6,7,8] [-- --rounds=N] [-- --messages=N] [-- --depth=N] [-- --s4-unsigned-only] [-- --s6-ways=api,smtp,mx]`
 * (`--s4-unsigned-only`: §4 without its context systems, Postfix as Debian ships it and Sesame with a DKIM-signed message;
 * `--s6-ways=`: which of §6's big-message ways to run, default all three: e.g. `npx tsx bench/run.ts --only=6 --s6-ways=mx`)
 *
 * Measures BENCHMARKS.md §1 (API accept rate against the HTTP ceiling), §2 (end-to-end relay rate
 * against Postfix), §3 (SMTP submission accept rate against Postfix smtpd), §5 (latency at half
 * the §1 rate), §4 (inbound MX rate against Postfix smtpd → discard, smtp-source with 200 sessions and a
 * connection per message; bench/lib/section4.ts), §6 (memory) and §7 (accept rate with a deep queue against an empty one; `--depth`
 * recipients, 1,000,000 by default) and §8 (the §2 relay on PostgreSQL with one and two worker
 * nodes; SESAME_BENCH_DATABASE_URL or SESAME_TEST_DATABASE_URL, else the local server), alternating
 * reference and Sesame round by round (A B A B A B),
 * and writes bench/results/<date>.json and
 * bench/results/<date>.md (a second run on the same date adds the time: <date>-<hhmmss>; the table
 * is printed too). `--only=` picks sections (default all three). Everything runs on loopback on this
 * machine, the load generator included: its CPU time is reported beside the servers'.
 *
 * §3: the same client (bench/lib/smtp-load.ts, nodemailer's SMTPConnection, 20 sessions opened
 * before the clock and reused) sends the load to Postfix smtpd on 127.0.0.1:25 (trusted loopback, no
 * AUTH, STARTTLS with a self-signed certificate as Debian's default offers it) and to a fresh Sesame
 * node's SMTP submission port (STARTTLS + AUTH PLAIN with the bench key's SES SMTP password, From a
 * verified domain); the rate is from the first MAIL FROM to the last 250. Both relay to a §3 sink
 * that keeps Message-IDs, and every MessageId of Sesame's `250 Ok <MessageId>` is looked for there.
 *
 * `--quick` sends 2,000 messages per round instead of 20,000 (a few minutes in all);
 * `--profile` runs every Sesame child under `node --cpu-prof` (profiles in bench/results/profiles/,
 * summarise one with `node --import tsx bench/profile-summary.ts <file>`).
 *
 * Settings of the Sesame nodes can be tried without changing Sesame: `SESAME_BENCH_CHILD_ENV` (a
 * JSON object of environment variables, NODE_OPTIONS among them) and `SESAME_BENCH_NODE_ARGS` (Node
 * and V8 flags that NODE_OPTIONS does not take, such as `--interrupt-budget=16384`). Two commits are
 * compared with `SESAME_BENCH_BIN` (another checkout's `bin/sesame.js`, e.g. a `git worktree` of the
 * commit before, with node_modules linked): run the bench with and without it, alternating.
 * `SESAME_BENCH_CHILD_LOG=FILE` appends the Sesame nodes' standard output to FILE (with
 * `SESAME_BENCH_NODE_ARGS=--trace-gc`, every isolate's collections).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestDnsServer } from '../test/helpers/dns-server.ts';
import { fire, presignSendEmail, sendEmailJson, textBody, type LoadResult } from './lib/load.ts';
import { postfixUnavailable, protocolCeiling, startPostfix, type Postfix, type PostfixRound } from './lib/postfix.ts';
import { median, processCpuSeconds, sleep, threadCpuPerMessage, threadCpuSeconds, treeCpuSeconds } from './lib/proc.ts';
import { BENCH_KEY, BENCH_SMTP_CREDENTIALS, startSesameChild, verifySenderDomain, type SesameChild } from './lib/sesame.ts';
import { startSink, type Sink } from './lib/sink.ts';
import { messageIdsOf, smtpLoad, smtpMessage, type SmtpLoadOptions, type SmtpLoadResult } from './lib/smtp-load.ts';
import { section5, section6, section7, section8, type BenchContext, type Section6WayName } from './lib/sections-5-7.ts';
import { section4 } from './lib/section4.ts';
import { memoryOf } from './lib/proc.ts';

// The pinned SDK (used only to create identities) warns about Node 20 on every client; noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const args = process.argv.slice(2);
const opt = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const QUICK = args.includes('--quick');
const PROFILE = args.includes('--profile');
const SECTIONS = new Set((opt('only') ?? '1,2,3,4,5,6,7,8').split(','));
/** §8: the PostgreSQL server the nodes share (trust auth on loopback, as on this machine). */
const DATABASE_URL = process.env.SESAME_BENCH_DATABASE_URL ?? process.env.SESAME_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** §7: recipients already queued (BENCHMARKS: 1,000,000). */
const DEPTH = Number(opt('depth') ?? (QUICK ? 50_000 : 1_000_000));
const ROUNDS = Number(opt('rounds') ?? 3);
const MESSAGES = Number(opt('messages') ?? (QUICK ? 2_000 : 20_000));
const WARMUP = Math.min(500, MESSAGES);
const CONCURRENCY = 64;
const SOURCE_SESSIONS = 20;
/** §4: smtp-source sessions, one message per connection (BENCHMARKS §4: 200). */
const MX_SESSIONS = 200;
/** §3: reused SMTP sessions of the load generator. */
const SMTP_SESSIONS = 20;
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
  return { load, round: loadRound(round, system, reqs.length, load, cpu0, cpu1) };
}

/** A round from a load's figures and the server's CPU seconds before and after it. */
function loadRound(round: number, system: string, messages: number, load: LoadResult | SmtpLoadResult, cpu0: number | undefined, cpu1: number | undefined): Round {
  return {
    round,
    system,
    messages,
    ok: load.ok,
    failures: load.failures,
    seconds: load.seconds,
    rate: load.rate,
    p50ms: load.p50ms,
    p99ms: load.p99ms,
    serverCpuSeconds: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined,
    generatorCpuSeconds: load.generatorCpuSeconds,
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
      const threads0 = threadCpuSeconds(sesame.pid);
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
      // The node's CPU by thread from the round's first request until its last message is at the
      // sink, per message: compare with §5's rounds (the same split at half this rate).
      const threads = threadCpuPerMessage(threads0, threadCpuSeconds(sesame.pid), ses.load.ok);
      ses.round.extra = { drainAfterLastAcceptSeconds: drainSeconds, mainCpuMsPerMessage: threads?.main, workerThreadCpuMsPerMessage: threads?.nicer, otherThreadsCpuMsPerMessage: threads?.other };
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
    const peakRss = memoryOf(s.pid)?.peak;
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
      extra: { acceptSeconds: load.seconds, acceptRate: load.rate, delivered, peakRssMB: peakRss === undefined ? undefined : peakRss / 2 ** 20 },
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
  const ceilingNew: number[] = [];
  const ceilingReused: number[] = [];
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
      // The protocol ceiling beside them: smtp-source straight into the same sink.
      for (const reuse of [false, true]) {
        const rate = await protocolCeiling(sink.port, MESSAGES, SOURCE_SESSIONS, BODY_BYTES, reuse).catch(() => undefined);
        if (rate !== undefined) (reuse ? ceilingReused : ceilingNew).push(rate);
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
    protocolCeiling: ceilingNew.length > 0 ? { newConnectionPerMessage: median(ceilingNew), reusedConnections: median(ceilingReused), sessions: SOURCE_SESSIONS } : undefined,
    postfix: postfix ? { version: postfix.version, postconf: postfix.settings, load: `smtp-source -s ${SOURCE_SESSIONS} -m ${MESSAGES} -l ${BODY_BYTES} -f bench@${SENDER} -t to@${DEST} 127.0.0.1:25` } : { unavailable },
  };
}

/** The §3 load against one server (the message of index i is 2,000 bytes, headers included). */
function smtpLoadOptions(port: number, starttls: boolean, auth: SmtpLoadOptions['auth'], messages: number, tag: string): SmtpLoadOptions {
  return {
    host: '127.0.0.1',
    port,
    connections: SMTP_SESSIONS,
    messages,
    starttls,
    ...(auth ? { auth } : {}),
    name: 'client.bench.test',
    from: `bench@${SENDER}`,
    to: (i) => `r${i}@${DEST}`,
    message: (i) => smtpMessage(BODY_BYTES, `bench@${SENDER}`, `r${i}@${DEST}`, `${tag} ${i}`),
  };
}

/** Waits until every id is at the sink (once at least); what is missing and duplicated then. */
async function checkDelivered(sink: Sink, ids: string[], timeoutMs: number): Promise<{ delivered: number; missing: number; duplicated: number; seconds: number }> {
  const t0 = performance.now();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = sink.messageIds!();
    let missing = 0;
    let duplicated = 0;
    for (const id of ids) {
      const n = at.get(id) ?? 0;
      if (n === 0) missing++;
      else if (n > 1) duplicated++;
    }
    if (missing === 0 || Date.now() > deadline) return { delivered: ids.length - missing, missing, duplicated, seconds: (performance.now() - t0) / 1000 };
    await sleep(500);
  }
}

/** One measured §3 round: the load, the server's and the sink's CPU around it. */
async function measureSmtp(system: string, round: number, cpu: () => number | undefined, sink: Sink, o: SmtpLoadOptions): Promise<{ round: Round; load: SmtpLoadResult }> {
  const cpu0 = cpu();
  const sinkCpu0 = sink.cpuSeconds();
  const load = await smtpLoad(o);
  const cpu1 = cpu();
  const sinkCpu1 = sink.cpuSeconds();
  return {
    load,
    round: {
      ...loadRound(round, system, o.messages, load, cpu0, cpu1),
      sinkCpuSeconds: sinkCpu0 !== undefined && sinkCpu1 !== undefined ? sinkCpu1 - sinkCpu0 : undefined,
      extra: { connectSeconds: load.connectSeconds, reconnects: load.reconnects || undefined },
    },
  };
}

/**
 * §3: SMTP submission accept rate (first MAIL FROM → last 250), Sesame (AUTH PLAIN over STARTTLS)
 * against Postfix smtpd (trusted loopback, no AUTH; STARTTLS when it offers it), same client, same
 * sink. Both deliver to a §3 sink that keeps every Message-ID, so that each MessageId Sesame
 * answered `250 Ok <MessageId>` with is looked for at the sink. Between rounds each system's queue
 * drains to the sink, so that no round competes with the previous one's deliveries.
 */
async function section3(dns: TestDnsServer, profileDir: string | undefined) {
  log(`§3: SMTP submission accept rate, ${MESSAGES} × ${BODY_BYTES}-byte messages over ${SMTP_SESSIONS} reused sessions, ${ROUNDS} rounds each`);
  const sink = await startSink(false, true);
  log(`  §3 sink: ${sink.kind} on port ${sink.port}, keeping Message-IDs`);
  let postfix: Postfix | undefined;
  let unavailable = postfixUnavailable();
  if (!unavailable) {
    try {
      postfix = await startPostfix(sink, { tls: true });
    } catch (err) {
      unavailable = `Postfix could not be started: ${(err as Error).message}`;
    }
  }
  if (unavailable) log(`  Postfix reference unavailable: ${unavailable}`);
  let postfixTls = postfix?.tls ?? false;
  let postfixTlsNote = postfix?.tlsUnavailable;
  let sesame: SesameChild | undefined;
  const rounds: Round[] = [];
  const sesameCheck = { acknowledged: 0, delivered: 0, missing: 0, duplicated: 0 };
  const tlsCipher: { postfix?: string; sesame?: string } = {};
  let sesameError: string | undefined;
  let sesameLog: string[] | undefined;
  try {
    // Postfix first: it needs no Sesame, and its warm-up tells whether STARTTLS works with it.
    let expected = sink.count();
    if (postfix) {
      try {
        const w = await smtpLoad(smtpLoadOptions(25, postfixTls, undefined, WARMUP, 'warm-up postfix'));
        expected += w.ok;
      } catch (err) {
        if (!postfixTls) throw err;
        postfixTlsNote = `STARTTLS with Postfix failed (${(err as Error).message}); Postfix measured in plaintext`;
        log(`  ${postfixTlsNote}`);
        postfixTls = false;
        const w = await smtpLoad(smtpLoadOptions(25, false, undefined, WARMUP, 'warm-up postfix'));
        expected += w.ok;
      }
      await sink.waitForCount(expected, DELIVERY_TIMEOUT_MS).catch((err: Error) => log(`  ${err.message}`));
    }
    try {
      sesame = await startSesameChild({ dns, sinkPort: sink.port, profileDir, waitForSmtp: true });
      await verifySenderDomain(sesame, dns, SENDER, 'RSA_2048_BIT');
      const base = sink.count();
      const w = await smtpLoad(smtpLoadOptions(sesame.smtpPort, true, BENCH_SMTP_CREDENTIALS, WARMUP, 'warm-up sesame'));
      if (w.ok === 0) throw new Error(`Sesame accepted none of ${WARMUP} warm-up messages: ${JSON.stringify(w.failures)}`);
      expected = base + w.ok;
      await sink.waitForCount(expected, DELIVERY_TIMEOUT_MS).catch((err: Error) => log(`  ${err.message}`));
    } catch (err) {
      sesameError = (err as Error).message;
      log(`  Sesame SMTP submission unavailable: ${sesameError.split('\n')[0]}`);
      await sesame?.stop();
      sesame = undefined;
    }
    for (let r = 1; r <= ROUNDS; r++) {
      if (postfix) {
        const masterPid = postfix.masterPid();
        const base = sink.count();
        const p = await measureSmtp('Postfix', r, () => (masterPid ? treeCpuSeconds(masterPid) : undefined), sink, smtpLoadOptions(25, postfixTls, undefined, MESSAGES, `postfix r${r}`));
        tlsCipher.postfix ??= p.load.tlsCipher;
        try {
          const at = await sink.waitForCount(base + p.load.ok, DELIVERY_TIMEOUT_MS);
          p.round.extra = { ...p.round.extra, drainAfterLastAcceptSeconds: (at - p.load.endedAt) / 1000 };
        } catch (err) {
          log(`  ${(err as Error).message}`);
        }
        rounds.push(p.round);
        log(`  round ${r} Postfix: ${fmt(p.round.rate)} msg/s accepted (p99 ${fmt(p.round.p99ms, 1)} ms, failures ${JSON.stringify(p.round.failures)}${postfixTls ? ', STARTTLS' : ', plaintext'})`);
      }
      if (sesame) {
        const s = sesame;
        const base = sink.count();
        const m = await measureSmtp('Sesame', r, () => s.cpuSeconds(), sink, smtpLoadOptions(s.smtpPort, true, BENCH_SMTP_CREDENTIALS, MESSAGES, `sesame r${r}`));
        tlsCipher.sesame ??= m.load.tlsCipher;
        let drain: number | undefined;
        try {
          const at = await sink.waitForCount(base + m.load.ok, DELIVERY_TIMEOUT_MS);
          drain = (at - m.load.endedAt) / 1000;
        } catch (err) {
          log(`  ${(err as Error).message}`);
        }
        // Message-ID at the sink is <MessageId@SESAME_HOSTNAME> (core/sending replaces the client's).
        const ids = messageIdsOf(m.load.replies).map((id) => `${id}@${s.env.SESAME_HOSTNAME}`);
        const check = await checkDelivered(sink, ids, drain === undefined ? 5_000 : DELIVERY_TIMEOUT_MS);
        sesameCheck.acknowledged += ids.length;
        sesameCheck.delivered += check.delivered;
        sesameCheck.missing += check.missing;
        sesameCheck.duplicated += check.duplicated;
        m.round.extra = {
          ...m.round.extra,
          drainAfterLastAcceptSeconds: drain,
          messageIdsAcknowledged: ids.length,
          messageIdsAtSink: check.delivered,
          messageIdsMissing: check.missing,
          messageIdsDuplicated: check.duplicated || undefined,
          // a 250 whose text carried no MessageId
          repliesWithoutMessageId: m.load.ok - ids.length || undefined,
        };
        rounds.push(m.round);
        log(
          `  round ${r} Sesame: ${fmt(m.round.rate)} msg/s accepted (p99 ${fmt(m.round.p99ms, 1)} ms, failures ${JSON.stringify(m.round.failures)}); ${check.delivered}/${ids.length} MessageIds at the sink, ${check.missing} missing; drained ${fmt(drain, 1)} s after the last 250`,
        );
      }
    }
  } finally {
    // SESAME_LOG_LEVEL=warn: whatever the node printed is a warning or an error, kept for the report.
    sesameLog = sesame?.output().split('\n').filter((l) => l.trim() !== '');
    await sesame?.stop();
    await postfix?.stop();
    await sink.close();
  }
  if (sesameLog && sesameLog.length > 0) log(`  Sesame printed ${sesameLog.length} warning/error lines during §3, the first: ${sesameLog.slice(0, 3).join(' | ')}`);
  const refMedian = postfix ? median(rounds.filter((x) => x.system === 'Postfix').map((x) => x.rate)) : NaN;
  const sesRounds = rounds.filter((x) => x.system === 'Sesame');
  const sesMedian = sesRounds.length > 0 ? median(sesRounds.map((x) => x.rate)) : NaN;
  return {
    rounds,
    referenceMedian: refMedian,
    sesameMedian: sesMedian,
    ratio: sesMedian / refMedian,
    target: 1,
    sesameUnavailable: sesameError,
    deliveries: sesRounds.length > 0 ? sesameCheck : undefined,
    sesameWarnings: sesameLog ? { lines: sesameLog.length, first: sesameLog.slice(0, 20) } : undefined,
    sink: { kind: sink.kind, config: sink.config },
    client: {
      generator: `bench/lib/smtp-load.ts in the bench process: nodemailer ${packageVersion('nodemailer')} SMTPConnection, ${SMTP_SESSIONS} sessions opened before the clock (EHLO, STARTTLS, AUTH), then MAIL/RCPT/DATA per message without pipelining or RSET; messages of ${BODY_BYTES} bytes including headers, built before the clock; timed from the first MAIL FROM to the last reply`,
      sesame: `STARTTLS (certificate not verified) + AUTH PLAIN as ${BENCH_SMTP_CREDENTIALS.user} with the SES SMTP password derived from its secret; MAIL FROM and From: bench@${SENDER} (verified, Easy DKIM RSA_2048_BIT); one fresh Sesame node for the section, ${WARMUP} warm-up messages`,
      postfix: `${postfixTls ? 'STARTTLS (certificate not verified)' : 'plaintext (no STARTTLS)'}, no AUTH (trusted loopback via mynetworks); ${WARMUP} warm-up messages${postfixTlsNote ? `; ${postfixTlsNote}` : ''}`,
      postfixTls,
      tlsCipher,
    },
    postfix: postfix ? { version: postfix.version, postconf: postfix.settings } : { unavailable },
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
    for (const [k, v] of Object.entries(r.extra ?? {})) if (v !== undefined) notes.push(`${k}=${fmt(v, k.endsWith('Seconds') || k.endsWith('PerMessage') ? 2 : 0)}`);
    lines.push(
      `| ${r.round} | ${r.system} | ${fmt(r.ok)} | ${fmt(r.seconds, 2)} | ${fmt(r.rate)} | ${fmt(r.p50ms, 1)} | ${fmt(r.p99ms, 1)} | ${cores(r.serverCpuSeconds)} | ${cores(r.generatorCpuSeconds)} | ${fmt(r.sinkCpuSeconds, 2)} | ${notes.join('; ')} |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const started = new Date();
  const date = started.toISOString().slice(0, 10);
  const resultsDir = opt('out') ?? join(HERE, 'results');
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
    /** Settings added to every Sesame node of the run (an A/B of a setting), if any. */
    childEnv: process.env.SESAME_BENCH_CHILD_ENV,
    messageBytes: BODY_BYTES,
    messagesPerRound: MESSAGES,
    warmupMessages: WARMUP,
    rounds: ROUNDS,
    httpConcurrency: CONCURRENCY,
    smtpSourceSessions: SOURCE_SESSIONS,
    smtpSessions: SMTP_SESSIONS,
    loadGenerator:
      'the bench process itself: SES v2 SendEmail (Simple, one recipient, 2,000-byte text body) pre-signed with @smithy/signature-v4 before each timed run, sent with node:http keep-alive (Agent maxSockets = concurrency); §2 Postfix is fed by smtp-source; §3 feeds both Postfix and Sesame with bench/lib/smtp-load.ts (nodemailer SMTPConnection, 20 reused sessions)',
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
  let s3: Awaited<ReturnType<typeof section3>> | undefined;
  let s4: Awaited<ReturnType<typeof section4>> | { error: string } | undefined;
  let s5: Awaited<ReturnType<typeof section5>> | undefined;
  let s6: Awaited<ReturnType<typeof section6>> | undefined;
  let s7: Awaited<ReturnType<typeof section7>> | undefined;
  let s8: Awaited<ReturnType<typeof section8>> | { error: string } | undefined;
  try {
    if (SECTIONS.has('1')) s1 = await section1(dns, sink, profileDir);
    if (SECTIONS.has('2')) s2 = await section2(dns, sink, profileDir);
    if (SECTIONS.has('3')) s3 = await section3(dns, profileDir);
    if (SECTIONS.has('4')) {
      s4 = await section4({ dns, sink, messages: MESSAGES, rounds: ROUNDS, warmup: WARMUP, sessions: MX_SESSIONS, bodyBytes: BODY_BYTES, signed: !args.includes('--s4-unsigned-only'), postfixDefaults: !args.includes('--s4-unsigned-only'), profileDir, timeoutMs: DELIVERY_TIMEOUT_MS, log }).catch((err: Error) => ({ error: err.message }));
    }
    const ctx: BenchContext = { dns, sink, sender: SENDER, dest: DEST, makeBody, messages: MESSAGES, rounds: ROUNDS, concurrency: CONCURRENCY, deliveryTimeoutMs: DELIVERY_TIMEOUT_MS, log, profileDir };
    if (SECTIONS.has('5')) s5 = await section5(ctx, s1 ? s1.sesameMedian / 2 : Number(opt('rate') ?? 300));
    if (SECTIONS.has('6')) {
      const peaks = (s2?.rounds ?? []).filter((r) => r.system === 'Sesame').map((r) => r.extra?.peakRssMB).filter((x): x is number => x !== undefined);
      const ways = (opt('s6-ways') ?? 'api,smtp,mx').split(',').filter((w): w is Section6WayName => w === 'api' || w === 'smtp' || w === 'mx');
      s6 = await section6(ctx, peaks.length > 0 ? Math.max(...peaks) * 2 ** 20 : undefined, ways);
    }
    if (SECTIONS.has('7')) s7 = await section7(ctx, DEPTH);
    if (SECTIONS.has('8')) s8 = await section8(ctx, DATABASE_URL).catch((err: Error) => ({ error: err.message }));
  } finally {
    await sink.close();
    await dns.close();
  }

  const summary: string[] = [
    `## Sesame benchmarks ${meta.date} (${meta.mode})`,
    '',
    `commit \`${meta.commit}\`, Node ${meta.node}, ${meta.cores} × ${meta.cpuModel ?? 'CPU'}, load average at start ${meta.loadAverageAtStart.join(' ')}.${meta.childEnv ? ` Every Sesame node ran with \`SESAME_BENCH_CHILD_ENV=${meta.childEnv}\`.` : ''}`,
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
  if (s3) {
    const ref = 'unavailable' in s3.postfix ? `Postfix: unavailable (${s3.postfix.unavailable})` : `Postfix ${s3.postfix.version} smtpd, ${s3.client.postfixTls ? 'STARTTLS' : 'plaintext'}, no AUTH`;
    const met = Number.isNaN(s3.ratio) ? 'n/a' : s3.ratio >= s3.target ? 'yes' : `no (${fmt((s3.ratio / s3.target) * 100)} % of target)`;
    const ses = s3.sesameUnavailable ? `unmeasured (${s3.sesameUnavailable.split('\n')[0]})` : fmt(s3.sesameMedian);
    summary.push(`| 3 | SMTP submission accept rate, msg/s (${SMTP_SESSIONS} reused sessions, first MAIL → last 250; Sesame: AUTH PLAIN over STARTTLS) | ${ref} | ${fmt(s3.referenceMedian)} | ${ses} | ${fmt(s3.ratio, 3)} | ≥ ${s3.target} | ${met} |`);
  }
  if (s2?.protocolCeiling) {
    const c = s2.protocolCeiling;
    summary.push(`| – | protocol ceiling (context): \`smtp-source\` → \`smtp-sink\`, ${c.sessions} sessions, msg/s | – | ${fmt(c.newConnectionPerMessage)} (a connection per message) / ${fmt(c.reusedConnections)} (reused) | – | – | – | – |`);
  }
  if (s5) {
    summary.push(`| 5 | latency of SendEmail, p99 ms (open loop at ${fmt(s5.offeredRate)} req/s = half the §1 Sesame median; median of ${s5.rounds.length} rounds) | – | – | ${fmt(s5.p99ms, 1)} (p50 ${fmt(s5.p50ms, 1)}) | – | ≤ ${s5.target} ms | ${s5.p99ms <= s5.target ? 'yes' : `no (${fmt(s5.p99ms / s5.target, 1)} × the target)`} |`);
  }
  if (s6) {
    const relay = s6.relayPeakRssMB;
    summary.push(`| 6 | peak RSS during the §2 relay, MB | – | – | ${fmt(relay)} | – | ≤ ${s6.relayTargetMB} MB | ${relay === undefined ? 'n/a (§2 not run)' : relay <= s6.relayTargetMB ? 'yes' : 'no'} |`);
    for (const [way, w] of Object.entries(s6.ways)) {
      const through = way === 'api' ? 'the API (v2 Raw)' : way === 'smtp' ? 'SMTP' : 'the MX (rule with an S3 action, DKIM-signed, until the object is in the bucket)';
      summary.push(`| 6 | one ${fmt(s6.messageMB)} MB message through ${through}: peak RSS above the node's RSS before, × message size | – | – | ${fmt(w.extraPerMessageSize, 2)} (${fmt(w.extraMB)} MB${w.delivered ? '' : `; not ${way === 'mx' ? 'stored' : 'delivered'}: ${w.error ?? 'timeout'}`}) | – | ≤ ${s6.extraTarget} × | ${w.extraPerMessageSize <= s6.extraTarget && w.delivered ? 'yes' : 'no'} |`);
      if (w.extraWithGetPerMessageSize !== undefined) summary.push(`| 6 | (context) the same MX node, the object then read back whole with GetObject (streamed) | – | – | ${fmt(w.extraWithGetPerMessageSize, 2)} (${fmt(w.extraWithGetMB)} MB) | – | – | – |`);
    }
  }
  if (s7) {
    summary.push(`| 7 | API accept rate with ${fmt(s7.depth)} recipients queued (${fmt(s7.domains)} domains, due in 1 h), msg/s | the same with an empty queue | ${fmt(s7.referenceMedian)} | ${fmt(s7.sesameMedian)} | ${fmt(s7.ratio, 3)} | ≥ ${s7.target} | ${s7.ratio >= s7.target ? 'yes' : `no (${fmt((s7.ratio / s7.target) * 100)} % of target)`} |`);
  }
  if (s4 && !('error' in s4)) {
    const ref = 'unavailable' in s4.postfix ? `Postfix: unavailable (${s4.postfix.unavailable})` : `Postfix ${s4.postfix.version} smtpd → local \`discard\`, default durability, \`default_process_limit = 200\``;
    const met = Number.isNaN(s4.ratio) ? 'n/a' : s4.ratio >= s4.target ? 'yes' : `no (${fmt((s4.ratio / s4.target) * 100)} % of target)`;
    const ses = s4.sesameUnavailable ? `unmeasured (${s4.sesameUnavailable.split('\n')[0]})` : fmt(s4.sesameMedian);
    summary.push(`| 4 | inbound MX rate, msg/s (\`smtp-source\`, ${MX_SESSIONS} sessions, a new connection per message; Sesame: rule with an S3 action, SPF/DKIM/DMARC on, scanning off) | ${ref} | ${fmt(s4.referenceMedian)} | ${ses} | ${fmt(s4.ratio, 3)} | ≥ ${s4.target} | ${met} |`);
    if (s4.defaultsMedian !== undefined) summary.push(`| 4 | (context) the same Sesame rounds against Postfix as Debian ships it (process limit 100: port 25's listen queue overflows under 200 sessions, see below) | Postfix, Debian defaults | ${fmt(s4.defaultsMedian)} | ${fmt(s4.sesameMedian)} | ${fmt(s4.defaultsRatio, 3)} | – | – |`);
    if (s4.signedMedian !== undefined) summary.push(`| 4 | (context) the same with a DKIM-signed message (\`smtp-source -F\`, RSA-2048 signature verified) | the same Postfix | ${fmt(s4.referenceMedian)} | ${fmt(s4.signedMedian)} | ${fmt(s4.signedRatio, 3)} | – | – |`);
  } else if (s4) summary.push(`| 4 | inbound MX rate | \`smtp-source\` → Postfix, local discard | – | – | – | ≥ 1 | not measured: ${s4.error.split('\n')[0]} |`);
  else summary.push('| 4 | inbound MX rate | `smtp-source` → Postfix, local discard | – | – | – | ≥ 1 | not run (`--only=4` runs it) |');
  if (s8 && 'error' in s8) summary.push(`| 8 | scale-out, §2 on PostgreSQL | §2 on SQLite | – | – | – | reported | not measured: ${s8.error.split('\n')[0]} |`);
  else if (s8) {
    const sqlite = s2 ? fmt(s2.sesameMedian) : '– (§2 not run)';
    summary.push(`| 8 | scale-out: §2 on PostgreSQL, 1 worker node / 2 worker nodes (plus one API node), msg/s end to end | §2 on SQLite | ${sqlite} | ${fmt(s8.oneWorker)} / ${fmt(s8.twoWorkers)} | ${s2 ? `${fmt(s8.oneWorker / s2.sesameMedian, 3)} / ${fmt(s8.twoWorkers / s2.sesameMedian, 3)}` : '–'} | reported | reported |`);
  }
  summary.push('');
  if (s1) summary.push(roundsTable('§1 rounds (HTTP ceiling vs Sesame accept; Sesame drains to the sink between rounds)', s1.rounds), '');
  if (s2) {
    summary.push(roundsTable('§2 rounds (Postfix: generator = smtp-source, server = master and its children; Sesame: a fresh node per round)', s2.rounds), '');
    if (!('unavailable' in s2.postfix)) summary.push(`Postfix configuration (\`postconf -e\`): ${s2.postfix.postconf.map((x) => `\`${x}\``).join(', ')}; load: \`${s2.postfix.load}\`.`, '');
  }
  if (s3) {
    summary.push(roundsTable('§3 rounds (accept phase only; Postfix: server = master and its children; Sesame: one fresh node; each queue drains to the sink before the next round)', s3.rounds), '');
    const d = s3.deliveries;
    summary.push(
      `§3 client: ${s3.client.generator}. Sesame: ${s3.client.sesame}${s3.client.tlsCipher.sesame ? ` (${s3.client.tlsCipher.sesame})` : ''}. Postfix: ${s3.client.postfix}${s3.client.tlsCipher.postfix ? ` (${s3.client.tlsCipher.postfix})` : ''}.`,
      d
        ? `§3 deliveries: of ${fmt(d.acknowledged)} MessageIds Sesame acknowledged with \`250 Ok <MessageId>\`, ${fmt(d.delivered)} reached the sink (Message-ID header), ${fmt(d.missing)} missing, ${fmt(d.duplicated)} delivered more than once.`
        : '§3 deliveries: Sesame not measured.',
      ...(s3.sesameWarnings ? [`§3 Sesame log (level warn): ${s3.sesameWarnings.lines} lines${s3.sesameWarnings.lines > 0 ? ' (the first ones are in the JSON)' : ''}.`] : []),
      `§3 sink: ${s3.sink.kind} (\`${s3.sink.config}\`), shared by both systems, separate from the §1/§2 sink.`,
    );
    if (!('unavailable' in s3.postfix)) summary.push(`§3 Postfix configuration (\`postconf -e\`, TLS settings undone afterwards): ${s3.postfix.postconf.map((x) => `\`${x}\``).join(', ')}.`);
    summary.push('');
  }
  if (s4 && !('error' in s4)) {
    summary.push(roundsTable(`§4 rounds (accept phase: smtp-source start → exit; generator = smtp-source; Postfix: server = master and its children, drainCpuSeconds = their CPU after the last 250 until the discard queue is empty; Sesame: one node for the section, benchProcessCpuSeconds = the bench process, i.e. the test DNS server answering Sesame's SPF/DMARC/DKIM queries)`, s4.rounds), '');
    const v = s4.verification;
    const c = s4.cpuPerMessageMs;
    summary.push(
      `§4 load: ${s4.load.generator}. Command: \`${s4.load.command}\`${s4.load.signedCommand ? `; signed variant: \`${s4.load.signedCommand}\`` : ''}. Message: ${s4.load.message}. ${s4.load.warmupMessages} warm-up messages per system.`,
      `§4 Sesame: ${s4.sesame.node}. Rule set ${s4.sesame.ruleSet}. Verdicts: ${s4.sesame.verdicts}. Test DNS: ${Object.entries(s4.dns).map(([k, x]) => `${k} ${x}`).join('; ')}.`,
      `§4 verification (${s4.sesame.verification}): ${fmt(v.acceptedBySmtpSource)} messages accepted in the measured Sesame rounds, ${fmt(v.objectsStored)} objects stored, ${v.mismatches} round(s) with a mismatch.`,
      ...(s4.verdictSamples.plain ? [`§4 verdict headers of a stored message: \`${s4.verdictSamples.plain.join(' | ')}\`${s4.verdictSamples.signed ? `; signed variant: \`${s4.verdictSamples.signed.join(' | ')}\`` : ''}.`] : []),
      `§4 CPU per message (median of rounds, ms): Postfix ${fmt(c.postfix, 3)} accepting (${fmt(c.postfixWithDrain, 3)} with the discard${c.postfixDefaults !== undefined ? `; ${fmt(c.postfixDefaults, 3)} with Debian's defaults` : ''}), Sesame ${fmt(c.sesame, 3)}${c.sesameSigned !== undefined ? ` (${fmt(c.sesameSigned, 3)} signed)` : ''}, smtp-source ${fmt(c.smtpSource, 3)}.`,
      ...('unavailable' in s4.postfix ? [] : [`§4 Postfix configuration (\`postconf -e\`, relay_domains, transport_maps and default_process_limit put back afterwards): ${s4.postfix.postconf.map((x) => `\`${x}\``).join(', ')}. Variants: ${s4.postfix.variants}. ${s4.postfix.notes}.`]),
      ...(s4.sesameWarnings ? [`§4 Sesame log (level warn): ${s4.sesameWarnings.lines} lines${s4.sesameWarnings.lines > 0 ? ' (the first ones are in the JSON)' : ''}.`] : []),
      '',
    );
  }
  if (s5) {
    summary.push('### §5 rounds (open loop: each request leaves on schedule whatever the answers before it; latency from the scheduled start)', '', '| round | answered req/s | ok | p50 ms | p99 ms | p99.9 ms | max ms | failures | node event-loop delay p99 / max ms (10 ms timer) | the node\'s send stages p50 / p99 ms, at most (checks; sign; store) | node CPU ms per message (main / worker thread / other threads) | generator behind schedule p99 / max ms | requests open at most |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
    for (const r of s5.rounds) summary.push(`| ${r.round} | ${fmt(r.rate)} | ${fmt(r.ok)} | ${fmt(r.p50ms, 1)} | ${fmt(r.p99ms, 1)} | ${fmt(r.p999ms, 1)} | ${fmt(r.maxms, 1)} | ${JSON.stringify(r.failures)} | ${r.eventLoopLag ? `${fmt(r.eventLoopLag.p99ms, 1)} / ${fmt(r.eventLoopLag.maxms, 1)}` : '–'} | ${['checks', 'sign', 'store'].map((k) => (r.stages[k] ? `${fmt(r.stages[k].p50ms, 1)} / ${fmt(r.stages[k].p99ms, 1)}` : '–')).join('; ')} | ${fmt(r.cpuMsPerMessage, 2)}${r.threadCpuMsPerMessage ? ` (${fmt(r.threadCpuMsPerMessage.main, 2)} / ${fmt(r.threadCpuMsPerMessage.nicer, 2)} / ${fmt(r.threadCpuMsPerMessage.other, 2)})` : ''} | ${fmt(r.generatorLateP99ms, 1)} / ${fmt(r.generatorLateMaxms, 1)} | ${fmt(r.maxInFlight)} |`);
    summary.push('');
  }
  if (s6) {
    summary.push(`§6: each big message on a fresh node after 20 small ones; peak RSS (VmHWM, reset before the send: ${Object.values(s6.ways).every((w) => w.peakResettable) ? 'yes' : 'no, so the peak may predate the send'}) until the message is at the sink (mx: until its object is in the bucket, HeadObject through the S3 API), minus VmRSS before the send.`, '');
    if (s6.ways.mx?.notes) summary.push(`§6 mx: ${s6.ways.mx.notes}.`, '');
  }
  if (s8 && !('error' in s8)) {
    summary.push('### §8 rounds (each on a fresh PostgreSQL schema; the API node and the worker nodes share it)', '', '| round | worker nodes | msg/s end to end | accept msg/s | delivered | seconds |', '| ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of s8.rounds) summary.push(`| ${r.round} | ${r.workers} | ${fmt(r.rate)} | ${fmt(r.acceptRate)} | ${fmt(r.delivered)} | ${fmt(r.seconds, 2)} |`);
    summary.push('');
  }
  if (s7) {
    summary.push('### §7 rounds (alternating; the deep queue was written through the SQLite storage layer before its node started)', '', '| round | system | msg/s | p99 ms | failures |', '| ---: | --- | ---: | ---: | --- |');
    for (const r of s7.rounds) summary.push(`| ${r.round} | ${r.system} | ${fmt(r.rate)} | ${fmt(r.p99ms, 1)} | ${JSON.stringify(r.failures)} |`);
    summary.push('', `§7 fill: ${fmt(s7.depth)} recipients in ${fmt(s7.fillSeconds)} s.`, '');
  }
  const md = summary.join('\n');
  // One file per date; a second run on the same date keeps the first and adds the time of day.
  const stamp = existsSync(join(resultsDir, `${date}.json`)) ? `${date}-${started.toISOString().slice(11, 19).replace(/:/g, '')}` : date;
  writeFileSync(join(resultsDir, `${stamp}.json`), `${JSON.stringify({ meta, sink: { kind: sink.kind, config: sink.config }, s1, s2, s3, s4, s5, s6, s7, s8 }, null, 2)}\n`);
  writeFileSync(join(resultsDir, `${stamp}.md`), `${md}\n`);
  process.stdout.write(`${md}\n`);
  log(`wrote ${join(resultsDir, stamp)}.json and .md`);
}

await main();
