/**
 * BENCHMARKS §4, the inbound MX rate: Postfix's `smtp-source` (C, the load generator, on this
 * machine) with 200 parallel sessions and a new connection per message (no `-d`: connect, HELO,
 * MAIL, RCPT, DATA, QUIT, reconnect) sends the same load
 * - to Sesame's MX listener (SESAME_MX_PORT), where the receiving domain is verified and its active
 *   receipt rule set has one rule whose only action is S3 (the built-in object store); SPF, DKIM and
 *   DMARC verdicts are computed for every message (mailauth, DNS from the bench's test DNS server,
 *   which publishes SPF and DMARC for the sender domain); ScanEnabled is off (no rspamd/ClamAV here);
 * - to the reference, Postfix smtpd on 127.0.0.1:25 delivering to the local `discard` transport
 *   with Postfix's default durability (bench/lib/postfix.ts, startPostfixDiscard),
 * alternating round by round. The rate is messages / wall time from smtp-source's start to its exit;
 * smtp-source aborts at the first reply that is not 2xx, so an exit status of 0 means every message
 * was answered 250. After each Sesame round the bucket is listed through the S3 API
 * (ListObjectsV2, pages of 1,000): the objects it gained must equal the messages accepted.
 *
 * An optional third system per round (`signed`) sends a DKIM-signed message (RSA-2048, relaxed/
 * relaxed, key published in the test DNS) to Sesame with `smtp-source -F`, so that DKIM
 * verification does real work; it is context beside the ratio, which uses smtp-source's own message.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateReceiptRuleCommand, CreateReceiptRuleSetCommand, SESClient, SetActiveReceiptRuleSetCommand } from '@aws-sdk/client-ses';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import type { TestDnsServer } from '../../test/helpers/dns-server.ts';
import { postfixUnavailable, startPostfixDiscard, type PostfixDiscard } from './postfix.ts';
import { median, treeCpuSeconds, waitForTcp } from './proc.ts';
import { BENCH_KEY, startSesameChild, verifySenderDomain, type SesameChild } from './sesame.ts';
import type { Sink } from './sink.ts';

const SMTP_SOURCE = '/usr/sbin/smtp-source';
const TIME = '/usr/bin/time';
/** The domain Sesame (and Postfix) receive for. */
export const S4_RECEIVING_DOMAIN = 'inbound.bench.test';
/** The sending domain "on the internet": SPF, DMARC (and, for the signed variant, DKIM) in the test DNS. */
export const S4_SENDER_DOMAIN = 'outside.bench.test';
const FROM = `bench@${S4_SENDER_DOMAIN}`;
const TO = `mx@${S4_RECEIVING_DOMAIN}`;
const BUCKET = 'bench-inbound';
const RULE_SET = 'bench-mx';
const DKIM_SELECTOR = 'bench';
const SPF = 'v=spf1 ip4:127.0.0.1 -all';
const DMARC = 'v=DMARC1; p=none';
/** The two Postfix references: sized for the 200 sessions (the ratio's reference), and as Debian ships it. */
interface PostfixVariant {
  system: string;
  processLimit: number | undefined;
}
export const POSTFIX_SIZED: PostfixVariant = { system: 'Postfix, default_process_limit 200', processLimit: 200 };
export const POSTFIX_DEFAULTS: PostfixVariant = { system: 'Postfix, Debian defaults (process limit 100)', processLimit: undefined };
/** Simultaneous MX connections allowed from one client address on the bench node (SESAME_MX_MAX_CONNECTIONS_PER_IP, default 50). */
const MAX_CONNECTIONS_PER_IP = 1000;

/** One measured run, in bench/run.ts's Round shape. */
export interface Section4Round {
  round: number;
  system: string;
  messages: number;
  ok: number;
  failures: Record<string, number>;
  seconds: number;
  rate: number;
  serverCpuSeconds?: number;
  generatorCpuSeconds?: number;
  sinkCpuSeconds?: number;
  extra?: Record<string, number | undefined>;
}

/** What bench/run.ts hands §4. */
export interface Section4Options {
  dns: TestDnsServer;
  /** Only for the Sesame node's outbound port (§4 sends nothing out). */
  sink: Sink;
  messages: number;
  rounds: number;
  warmup: number;
  /** smtp-source's parallel sessions (BENCHMARKS: 200). */
  sessions: number;
  /** smtp-source `-l`: payload bytes after its headers. */
  bodyBytes: number;
  /** Also run the DKIM-signed variant on Sesame each round. */
  signed: boolean;
  /** Also measure Postfix with Debian's default process limit (100) each round. */
  postfixDefaults: boolean;
  profileDir?: string;
  timeoutMs: number;
  log: (s: string) => void;
}

/** One smtp-source run. */
interface SourceRun {
  seconds: number;
  exitCode: number | null;
  stderr: string;
  cpuSeconds: number | undefined;
  startedAt: number;
}

/** smtp-source's arguments for `n` messages to `port` (`file`: -F instead of -l). */
export function smtpSourceArgs(port: number, n: number, sessions: number, bodyBytes: number, file?: string): string[] {
  return ['-s', String(sessions), '-m', String(n), ...(file ? ['-F', file] : ['-l', String(bodyBytes)]), '-f', FROM, '-t', TO, `127.0.0.1:${port}`];
}

/** Runs smtp-source under /usr/bin/time (its own CPU), from spawn to exit; killed after `timeoutMs`. */
async function runSmtpSource(args: string[], timeoutMs: number): Promise<SourceRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-s4-time-'));
  const timeFile = join(dir, 'time');
  const startedAt = performance.now();
  try {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const p = spawn(TIME, ['-f', '%U %S', '-o', timeFile, SMTP_SOURCE, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (d: Buffer) => {
        if (err.length < 16_384) err += d.toString();
      });
      const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
      p.once('error', reject);
      p.once('exit', (c) => {
        clearTimeout(t);
        resolve({ code: c, stderr: err });
      });
    });
    const seconds = (performance.now() - startedAt) / 1000;
    let cpuSeconds: number | undefined;
    try {
      // With a non-zero exit, time writes "Command exited with non-zero status N" first.
      const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!;
      const [u, s] = last.trim().split(/\s+/).map(Number);
      cpuSeconds = Number.isFinite(u) && Number.isFinite(s) ? u! + s! : undefined;
    } catch {
      cpuSeconds = undefined;
    }
    return { seconds, exitCode: code, stderr: stderr.trim(), cpuSeconds, startedAt };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Keys in the bucket, counted with ListObjectsV2 pages of 1,000 (the S3 API, never the database). */
async function countObjects(s3: S3Client): Promise<{ count: number; pages: number; firstKey?: string }> {
  let count = 0;
  let pages = 0;
  let firstKey: string | undefined;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 1000, ContinuationToken: token }));
    pages++;
    count += page.KeyCount ?? page.Contents?.length ?? 0;
    firstKey ??= page.Contents?.[0]?.Key;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { count, pages, firstKey };
}

/** A DKIM-signed message of about the size smtp-source sends, as a file for `smtp-source -F` (LF line ends: it appends CRLF). */
async function signedMessageFile(dir: string, bodyBytes: number, privateKey: string): Promise<{ file: string; bytes: number }> {
  const line = `${'X'.repeat(76)}\r\n`;
  const body = line.repeat(Math.max(1, Math.round(bodyBytes / line.length)));
  const head = [`From: <${FROM}>`, `To: <${TO}>`, 'Subject: bench §4 signed', `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`, `Message-ID: <s4-signed@${S4_SENDER_DOMAIN}>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=us-ascii', ''].join('\r\n');
  const msg = Buffer.from(`${head}\r\n${body}`);
  const r = (await dkimSign(msg, { signatureData: [{ signingDomain: S4_SENDER_DOMAIN, selector: DKIM_SELECTOR, privateKey, algorithm: 'rsa-sha256', canonicalization: 'relaxed/relaxed' }] } as never)) as { signatures: string; errors: unknown[] };
  if (r.errors?.length) throw new Error(`DKIM signing of the §4 message failed: ${JSON.stringify(r.errors)}`);
  const whole = Buffer.concat([Buffer.from(r.signatures), msg]);
  const file = join(dir, 'signed.eml');
  writeFileSync(file, whole.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
  return { file, bytes: whole.length };
}

/** The Authentication-Results and Received-SPF header lines of a stored object (unfolded). */
async function verdictHeaders(s3: S3Client, key: string): Promise<string[]> {
  const obj = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const text = await obj.Body!.transformToString();
  const head = text.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
  return head.split(/\r?\n/).filter((l) => /^(Authentication-Results|Received-SPF):/i.test(l));
}

/** §4: Sesame's MX (S3 action, verdicts on) against Postfix smtpd → discard, the same smtp-source load, alternating. */
export async function section4(o: Section4Options) {
  const { dns, log } = o;
  log(`§4: inbound MX rate, smtp-source ${o.sessions} sessions, a new connection per message, ${o.messages} × (${o.bodyBytes}-byte payload + smtp-source's headers), ${o.rounds} rounds each${o.signed ? ' (+ a DKIM-signed variant on Sesame)' : ''}`);
  if (!existsSync(SMTP_SOURCE)) throw new Error(`${SMTP_SOURCE} is not installed (Debian package postfix)`);
  const tmp = mkdtempSync(join(tmpdir(), 'bench-s4-'));
  // The sender's domain as the internet publishes it.
  const dkimKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  dns.set(S4_SENDER_DOMAIN, 'TXT', [SPF]);
  dns.set(`_dmarc.${S4_SENDER_DOMAIN}`, 'TXT', [DMARC]);
  dns.set(`${DKIM_SELECTOR}._domainkey.${S4_SENDER_DOMAIN}`, 'TXT', [`v=DKIM1; k=rsa; p=${dkimKey.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`]);
  const signed = o.signed ? await signedMessageFile(tmp, o.bodyBytes, dkimKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string) : undefined;

  let postfix: PostfixDiscard | undefined;
  let unavailable = postfixUnavailable();
  if (!unavailable) {
    try {
      postfix = await startPostfixDiscard(S4_RECEIVING_DOMAIN);
    } catch (err) {
      unavailable = `Postfix could not be started: ${(err as Error).message}`;
    }
  }
  if (unavailable) log(`  Postfix reference unavailable: ${unavailable}`);

  const rounds: Section4Round[] = [];
  const verification = { acceptedBySmtpSource: 0, objectsStored: 0, listPages: 0, mismatches: 0 };
  let sesame: SesameChild | undefined;
  let s3: S3Client | undefined;
  let sesameError: string | undefined;
  let mxPort = 0;
  const samples: Partial<Record<'plain' | 'signed', string[]>> = {};
  let sesameLog: string[] | undefined;
  let objects = 0;
  let currentVariant: PostfixVariant | undefined;
  const probeKeys = new Set<string>();
  try {
    // Postfix warm-up (and a check that it takes the mail).
    if (postfix) {
      const w = await runSmtpSource(smtpSourceArgs(25, o.warmup, o.sessions, o.bodyBytes), o.timeoutMs);
      if (w.exitCode !== 0) throw new Error(`Postfix refused the §4 warm-up: ${w.stderr}`);
      await postfix.drained(o.timeoutMs);
    }
    try {
      sesame = await startSesameChild({ dns, sinkPort: o.sink.port, profileDir: o.profileDir, extraEnv: { SESAME_MX_MAX_CONNECTIONS_PER_IP: String(MAX_CONNECTIONS_PER_IP) } });
      mxPort = Number(sesame.env.SESAME_MX_PORT);
      if (!(await waitForTcp(mxPort, 10_000))) throw new Error(`Sesame's MX does not listen on 127.0.0.1:${mxPort}`);
      await verifySenderDomain(sesame, dns, S4_RECEIVING_DOMAIN, 'RSA_2048_BIT');
      s3 = new S3Client({ endpoint: sesame.url, region: BENCH_KEY.region, forcePathStyle: true, credentials: BENCH_KEY, maxAttempts: 1 });
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      const ses = new SESClient({ endpoint: sesame.url, region: BENCH_KEY.region, credentials: BENCH_KEY, maxAttempts: 1 });
      try {
        await ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: RULE_SET }));
        await ses.send(
          new CreateReceiptRuleCommand({
            RuleSetName: RULE_SET,
            Rule: { Name: 'store', Enabled: true, Recipients: [S4_RECEIVING_DOMAIN], ScanEnabled: false, TlsPolicy: 'Optional', Actions: [{ S3Action: { BucketName: BUCKET } }] },
          }),
        );
        await ses.send(new SetActiveReceiptRuleSetCommand({ RuleSetName: RULE_SET }));
      } finally {
        ses.destroy();
      }
      // One message of each kind first: it must be stored, with the verdicts in its headers.
      for (const kind of ['plain', ...(signed ? ['signed' as const] : [])] as Array<'plain' | 'signed'>) {
        const one = await runSmtpSource(smtpSourceArgs(mxPort, 1, 1, o.bodyBytes, kind === 'signed' ? signed!.file : undefined), o.timeoutMs);
        if (one.exitCode !== 0) throw new Error(`Sesame's MX refused a ${kind} probe message: ${one.stderr}`);
        const listed = await countObjects(s3);
        if (listed.count !== objects + 1) throw new Error(`after one ${kind} message the bucket holds ${listed.count} objects, expected ${objects + 1}`);
        objects = listed.count;
        // The probe's object: the one key not seen before (LastModified has only second precision).
        const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 1000 }))).Contents ?? []).map((x) => x.Key!);
        const fresh = keys.filter((k) => !probeKeys.has(k));
        if (fresh.length !== 1) throw new Error(`expected one new object after the ${kind} probe, found ${fresh.length}`);
        probeKeys.add(fresh[0]!);
        samples[kind] = await verdictHeaders(s3, fresh[0]!);
        const ar = samples[kind]!.join(' ');
        const expected = /spf=pass/.test(ar) && /dmarc=pass/.test(ar) && (kind === 'signed' ? /dkim=pass/.test(ar) : /dkim=none/.test(ar));
        if (!expected) log(`  WARNING: the ${kind} probe's verdicts are not the expected spf=pass, dmarc=pass, dkim=${kind === 'signed' ? 'pass' : 'none'}`);
        log(`  Sesame ${kind} probe stored; ${samples[kind]!.join(' | ')}`);
      }
      const w = await runSmtpSource(smtpSourceArgs(mxPort, o.warmup, o.sessions, o.bodyBytes), o.timeoutMs);
      if (w.exitCode !== 0) throw new Error(`Sesame's MX refused the warm-up: ${w.stderr}`);
      objects = (await countObjects(s3)).count;
    } catch (err) {
      sesameError = (err as Error).message;
      log(`  Sesame MX unavailable: ${sesameError.split('\n')[0]}`);
      await sesame?.stop();
      sesame = undefined;
    }

    const sesameRound = async (r: number, system: string, file: string | undefined) => {
      const s = sesame!;
      const cpu0 = s.cpuSeconds();
      const bench0 = process.cpuUsage();
      const q0 = dns.queries.length;
      const run = await runSmtpSource(smtpSourceArgs(mxPort, o.messages, o.sessions, o.bodyBytes, file), o.timeoutMs);
      const cpu1 = s.cpuSeconds();
      const bench = process.cpuUsage(bench0);
      const dnsQueries = dns.queries.length - q0;
      dns.queries.length = 0;
      const listed = await countObjects(s3!);
      const stored = listed.count - objects;
      objects = listed.count;
      const accepted = run.exitCode === 0 ? o.messages : undefined;
      const failures: Record<string, number> = {};
      if (run.exitCode !== 0) failures[`smtp-source exit ${run.exitCode}: ${run.stderr.split('\n').pop()}`] = 1;
      if (accepted !== undefined) {
        verification.acceptedBySmtpSource += accepted;
        verification.objectsStored += stored;
        verification.listPages += listed.pages;
        if (stored !== accepted) verification.mismatches++;
      }
      const ok = accepted ?? stored;
      const round: Section4Round = {
        round: r,
        system,
        messages: o.messages,
        ok,
        failures,
        seconds: run.seconds,
        rate: ok / run.seconds,
        serverCpuSeconds: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined,
        generatorCpuSeconds: run.cpuSeconds,
        extra: { objectsStored: stored, objectsExpected: accepted, dnsQueries, benchProcessCpuSeconds: (bench.user + bench.system) / 1e6 },
      };
      rounds.push(round);
      log(
        `  round ${r} ${system}: ${Math.round(round.rate)} msg/s (${run.seconds.toFixed(2)} s; Sesame CPU ${round.serverCpuSeconds?.toFixed(2)} s, smtp-source ${run.cpuSeconds?.toFixed(2)} s, bench process/DNS ${round.extra!.benchProcessCpuSeconds!.toFixed(2)} s); ${stored} objects stored for ${accepted ?? '?'} accepted${accepted !== undefined && stored !== accepted ? ' — MISMATCH' : ''}${run.exitCode !== 0 ? `; smtp-source failed: ${run.stderr}` : ''}`,
      );
    };

    const postfixRound = async (r: number, variant: PostfixVariant) => {
      const p = postfix!;
      if (currentVariant !== variant) {
        // A fresh master with this variant's limit, warmed up (smtpd, cleanup, trivial-rewrite started).
        await p.restart(variant.processLimit);
        currentVariant = variant;
        const w = await runSmtpSource(smtpSourceArgs(25, o.warmup, o.sessions, o.bodyBytes), o.timeoutMs);
        if (w.exitCode !== 0) log(`  Postfix warm-up (${variant.system}) failed: ${w.stderr}`);
        await p.drained(o.timeoutMs).catch((err: Error) => log(`  ${err.message}`));
      }
      const pid = p.masterPid();
      const cpu0 = pid ? treeCpuSeconds(pid) : undefined;
      const run = await runSmtpSource(smtpSourceArgs(25, o.messages, o.sessions, o.bodyBytes), o.timeoutMs);
      const cpu1 = pid ? treeCpuSeconds(pid) : undefined;
      let drain: number | undefined;
      try {
        drain = ((await p.drained(o.timeoutMs)) - (run.startedAt + run.seconds * 1000)) / 1000;
      } catch (err) {
        log(`  ${(err as Error).message}`);
      }
      const cpu2 = pid ? treeCpuSeconds(pid) : undefined;
      const ok = run.exitCode === 0 ? o.messages : 0;
      const round: Section4Round = {
        round: r,
        system: variant.system,
        messages: o.messages,
        ok,
        failures: run.exitCode === 0 ? {} : { [`smtp-source exit ${run.exitCode}: ${run.stderr.split('\n').pop()}`]: 1 },
        seconds: run.seconds,
        rate: ok / run.seconds,
        serverCpuSeconds: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined,
        generatorCpuSeconds: run.cpuSeconds,
        extra: { drainAfterLastAcceptSeconds: Math.max(0, drain ?? NaN), drainCpuSeconds: cpu1 !== undefined && cpu2 !== undefined ? cpu2 - cpu1 : undefined },
      };
      rounds.push(round);
      log(`  round ${r} ${variant.system}: ${Math.round(round.rate)} msg/s (${run.seconds.toFixed(2)} s; Postfix CPU ${round.serverCpuSeconds?.toFixed(2)} s, smtp-source ${run.cpuSeconds?.toFixed(2)} s); queue empty ${drain?.toFixed(2)} s after the last 250${run.exitCode !== 0 ? `; smtp-source failed: ${run.stderr}` : ''}`);
    };

    // A B A B: the sized Postfix, Sesame, Postfix as Debian ships it, Sesame with a signed message.
    for (let r = 1; r <= o.rounds; r++) {
      if (postfix) await postfixRound(r, POSTFIX_SIZED);
      if (sesame) await sesameRound(r, 'Sesame', undefined);
      if (postfix && o.postfixDefaults) await postfixRound(r, POSTFIX_DEFAULTS);
      if (sesame && signed) await sesameRound(r, 'Sesame, DKIM-signed message', signed.file);
    }
  } finally {
    sesameLog = sesame?.output().split('\n').filter((l) => l.trim() !== '');
    s3?.destroy();
    await sesame?.stop();
    await postfix?.stop();
    dns.remove(S4_SENDER_DOMAIN);
    dns.remove(`_dmarc.${S4_SENDER_DOMAIN}`);
    dns.remove(`${DKIM_SELECTOR}._domainkey.${S4_SENDER_DOMAIN}`);
    rmSync(tmp, { recursive: true, force: true });
  }
  if (sesameLog && sesameLog.length > 0) log(`  Sesame printed ${sesameLog.length} warning/error lines during §4, the first: ${sesameLog.slice(0, 3).join(' | ')}`);
  const of = (system: string) => {
    const xs = rounds.filter((x) => x.system === system).map((x) => x.rate);
    return xs.length > 0 ? median(xs) : NaN;
  };
  const cpuPerMessageMs = (system: string, pick: (x: Section4Round) => number | undefined) => {
    const xs = rounds.filter((x) => x.system === system && pick(x) !== undefined && x.ok > 0).map((x) => (pick(x)! / x.ok) * 1000);
    return xs.length > 0 ? median(xs) : undefined;
  };
  const referenceMedian = of(POSTFIX_SIZED.system);
  const defaultsMedian = o.postfixDefaults ? of(POSTFIX_DEFAULTS.system) : undefined;
  const sesameMedian = of('Sesame');
  const signedMedian = signed ? of('Sesame, DKIM-signed message') : undefined;
  return {
    rounds,
    referenceMedian,
    sesameMedian,
    ratio: sesameMedian / referenceMedian,
    defaultsMedian,
    defaultsRatio: defaultsMedian === undefined ? undefined : sesameMedian / defaultsMedian,
    signedMedian,
    signedRatio: signedMedian === undefined ? undefined : signedMedian / referenceMedian,
    target: 1,
    cpuPerMessageMs: {
      postfix: cpuPerMessageMs(POSTFIX_SIZED.system, (x) => x.serverCpuSeconds),
      postfixWithDrain: cpuPerMessageMs(POSTFIX_SIZED.system, (x) => (x.serverCpuSeconds === undefined ? undefined : x.serverCpuSeconds + (x.extra?.drainCpuSeconds ?? 0))),
      postfixDefaults: o.postfixDefaults ? cpuPerMessageMs(POSTFIX_DEFAULTS.system, (x) => x.serverCpuSeconds) : undefined,
      sesame: cpuPerMessageMs('Sesame', (x) => x.serverCpuSeconds),
      sesameSigned: signed ? cpuPerMessageMs('Sesame, DKIM-signed message', (x) => x.serverCpuSeconds) : undefined,
      smtpSource: cpuPerMessageMs('Sesame', (x) => x.generatorCpuSeconds),
    },
    verification,
    verdictSamples: samples,
    sesameUnavailable: sesameError,
    sesameWarnings: sesameLog ? { lines: sesameLog.length, first: sesameLog.slice(0, 20) } : undefined,
    load: {
      generator: `${SMTP_SOURCE} (Postfix's, C) on the same machine, under ${TIME}; no -d, so one message per connection; no -A, so it aborts at the first reply that is not 2xx and exit 0 means every message got 250`,
      command: `smtp-source ${smtpSourceArgs(0, o.messages, o.sessions, o.bodyBytes).join(' ').replace('127.0.0.1:0', '127.0.0.1:<port>')}`,
      signedCommand: signed ? `smtp-source ${smtpSourceArgs(0, o.messages, o.sessions, o.bodyBytes, '<signed.eml>').join(' ').replace('127.0.0.1:0', '127.0.0.1:<port>')} (${signed.bytes} bytes: DKIM-Signature rsa-sha256 relaxed/relaxed by ${S4_SENDER_DOMAIN}, s=${DKIM_SELECTOR})` : undefined,
      message: `smtp-source's own: From: <${FROM}>, To: <${TO}>, Date, Message-Id, an empty line, then ${o.bodyBytes} payload bytes (80-byte lines of X); no DKIM signature`,
      warmupMessages: o.warmup,
    },
    dns: { [S4_SENDER_DOMAIN]: `TXT "${SPF}"`, [`_dmarc.${S4_SENDER_DOMAIN}`]: `TXT "${DMARC}"`, ...(signed ? { [`${DKIM_SELECTOR}._domainkey.${S4_SENDER_DOMAIN}`]: 'TXT "v=DKIM1; k=rsa; p=<RSA-2048>"' } : {}) },
    sesame: {
      node: `one fresh node (node bin/sesame.js serve, embedded SQLite, synchronous=FULL, blobs under the data dir, flushed) for the section; MX on SESAME_MX_PORT; SESAME_MX_MAX_CONNECTIONS_PER_IP=${MAX_CONNECTIONS_PER_IP} (default 50: the one loopback client stands for the internet's many); ${S4_RECEIVING_DOMAIN} verified (Easy DKIM RSA_2048_BIT); no SESAME_RSPAMD_URL / SESAME_CLAMD_URL`,
      ruleSet: `${RULE_SET} (active): rule "store", Recipients [${S4_RECEIVING_DOMAIN}], ScanEnabled false, TlsPolicy Optional, Actions [S3Action {BucketName: ${BUCKET}}]`,
      verdicts: 'SPF, DKIM and DMARC by mailauth for every message (DNS: the bench test DNS server, no cache in Sesame); spam and virus scanning off (ScanEnabled false; rspamd and clamd not configured)',
      verification: `after each round: ListObjectsV2 on ${BUCKET} through the S3 API (pages of 1,000), objects gained = messages accepted`,
    },
    postfix: postfix
      ? {
          version: postfix.version,
          postconf: postfix.settings,
          variants: `"${POSTFIX_SIZED.system}": also \`default_process_limit = ${POSTFIX_SIZED.processLimit}\` (the ratio's reference)${o.postfixDefaults ? `; "${POSTFIX_DEFAULTS.system}": default_process_limit unset (100)` : ''}; Postfix is stopped and started when the variant changes, since master sizes smtpd's listen backlog (= the process limit) only at start`,
          notes: `Everything else is Debian's default (main.cf of the 'Local only' install, master.cf untouched: smtpd chrooted, no postscreen), durability included (cleanup flushes the queue file before smtpd's 250). Why two variants: smtp-source opens its connections one after another, and with the default limit of 100 the listen queue of port 25 (backlog = the process limit) overflows under 200 sessions; each dropped SYN waits the kernel's 1 s retransmission, and every other session's reconnect waits behind it, so Postfix as shipped measures the load generator's stall more than Postfix`,
        }
      : { unavailable },
  };
}
