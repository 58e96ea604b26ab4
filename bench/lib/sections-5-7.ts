/**
 * BENCHMARKS §5 (latency at half the §1 rate), §6 (memory: peak RSS during the §2 relay, and one
 * 40 MB message through the API, through SMTP submission and through the MX), §7 (the §1 accept rate with a deep queue
 * against the same with an empty one, alternating) and §8 (the §2 relay on PostgreSQL with one and
 * two worker nodes).
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateReceiptRuleCommand, CreateReceiptRuleSetCommand, SESClient, SetActiveReceiptRuleSetCommand } from '@aws-sdk/client-ses';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { newMessageId } from '../../src/lib/ids.ts';
import { openSqliteStorage } from '../../src/storage/sqlite/index.ts';
import type { TestDnsServer } from '../../test/helpers/dns-server.ts';
import { fire, fireAtRate, presignSendEmail } from './load.ts';
import { median, memoryOf, resetPeakMemory, sleep, threadCpuPerMessage, threadCpuSeconds, waitForTcp, type ThreadCpu } from './proc.ts';
import { BENCH_KEY, BENCH_SMTP_CREDENTIALS, startSesameChild, verifySenderDomain, type SesameChild } from './sesame.ts';
import type { Sink } from './sink.ts';

/** What the sections share with bench/run.ts. */
export interface BenchContext {
  dns: TestDnsServer;
  sink: Sink;
  sender: string;
  dest: string;
  makeBody: (i: number) => string;
  messages: number;
  rounds: number;
  concurrency: number;
  deliveryTimeoutMs: number;
  log: (s: string) => void;
  /** Directory for `--cpu-prof` output of the nodes a section starts (bench --profile). */
  profileDir?: string;
}

/** The node's /metrics text ('' when it cannot be read). */
const scrape = (url: string): Promise<string> => fetch(`${url}/metrics`).then((r) => r.text()).catch(() => '');

/**
 * The node's event-loop delay since the previous scrape, from prom-client's default metrics
 * (monitorEventLoopDelay, reset at every collection): scrape once before a round to start afresh.
 */
function eventLoopLag(text: string): { p50ms: number; p99ms: number; maxms: number } | undefined {
  const read = (name: string) => Number(new RegExp(`^sesame_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  const lag = { p50ms: read('p50'), p99ms: read('p99'), maxms: read('max') };
  return Number.isNaN(lag.p99ms) ? undefined : lag;
}

/** The node's `sesame_send_stage_seconds` buckets (cumulative counts by upper bound, seconds) per stage. */
type StageBuckets = Record<string, Array<[number, number]>>;

function sendStages(text: string): StageBuckets {
  const out: StageBuckets = {};
  for (const m of text.matchAll(/^sesame_send_stage_seconds_bucket\{le="([^"]+)",stage="([^"]+)"\} (\d+)$/gm)) (out[m[2]!] ??= []).push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[3])]);
  return out;
}

/**
 * The p50 and p99 of each stage over a round, from the difference of two scrapes: the upper bound of
 * the bucket that holds the quantile (a histogram knows no better), in ms.
 */
function stageQuantiles(before: StageBuckets, after: StageBuckets): Record<string, { p50ms: number; p99ms: number }> {
  const out: Record<string, { p50ms: number; p99ms: number }> = {};
  for (const [stage, buckets] of Object.entries(after)) {
    const diff = buckets.map(([le, n]) => [le, n - (before[stage]?.find(([l]) => l === le)?.[1] ?? 0)] as const);
    const total = diff.at(-1)?.[1] ?? 0;
    if (total === 0) continue;
    const at = (q: number) => (diff.find(([, n]) => n >= q * total)?.[0] ?? Infinity) * 1000;
    out[stage] = { p50ms: at(0.5), p99ms: at(0.99) };
  }
  return out;
}

const MB = 1024 * 1024;

/** §5: open-loop SendEmail at `rate` (half the §1 Sesame median), latency from each request's scheduled start. */
export async function section5(c: BenchContext, rate: number) {
  const n = Math.max(500, Math.round(c.messages / 2));
  c.log(`§5: latency, ${n} × SendEmail open loop at ${Math.round(rate)} req/s (half the §1 rate), ${c.rounds} rounds`);
  const s = await startSesameChild({ dns: c.dns, sinkPort: c.sink.port, profileDir: c.profileDir });
  type Lag = ReturnType<typeof eventLoopLag>;
  const rounds: Array<{ round: number; rate: number; ok: number; failures: Record<string, number>; p50ms: number; p99ms: number; p999ms: number; maxms: number; eventLoopLag: Lag; stages: ReturnType<typeof stageQuantiles>; cpuMsPerMessage: number | undefined; threadCpuMsPerMessage: ThreadCpu | undefined; generatorLateP99ms: number; generatorLateMaxms: number; maxInFlight: number }> = [];
  try {
    await verifySenderDomain(s, c.dns, c.sender, 'RSA_2048_BIT');
    // Warm-up, delivered before the first round starts: its deliveries would otherwise run in that
    // round, on its CPU figure and its latency.
    const warmBase = c.sink.count();
    const warm = await fire(s.port, await presignSendEmail(BENCH_KEY, s.port, 500, c.makeBody), c.concurrency);
    await c.sink.waitForCount(warmBase + warm.ok, c.deliveryTimeoutMs).catch((err: Error) => c.log(`  warm-up: ${err.message}`));
    for (let r = 1; r <= c.rounds; r++) {
      const reqs = await presignSendEmail(BENCH_KEY, s.port, n, c.makeBody);
      const base = c.sink.count();
      // One scrape before the round (it starts the node's delay histogram afresh) and one after.
      const stages0 = sendStages(await scrape(s.url));
      const threads0 = threadCpuSeconds(s.pid);
      const l = await fireAtRate(s.port, reqs, rate);
      const after = await scrape(s.url);
      const lag = eventLoopLag(after);
      const stages = stageQuantiles(stages0, sendStages(after));
      await c.sink.waitForCount(base + l.ok, c.deliveryTimeoutMs).catch((err: Error) => c.log(`  ${err.message}`));
      // The node's CPU for the round's requests and their deliveries, per message: by thread, and all threads.
      const threadCpuMsPerMessage = threadCpuPerMessage(threads0, threadCpuSeconds(s.pid), n);
      const cpuMsPerMessage = threadCpuMsPerMessage && threadCpuMsPerMessage.main + threadCpuMsPerMessage.nicer + threadCpuMsPerMessage.other;
      rounds.push({ round: r, rate: l.rate, ok: l.ok, failures: l.failures, p50ms: l.p50ms, p99ms: l.p99ms, p999ms: l.p999ms, maxms: l.maxms, eventLoopLag: lag, stages, cpuMsPerMessage, threadCpuMsPerMessage, generatorLateP99ms: l.lateP99ms, generatorLateMaxms: l.lateMaxms, maxInFlight: l.maxInFlight });
      const lagText =
        (lag ? `; the node's event-loop delay p50 ${lag.p50ms.toFixed(1)} ms, p99 ${lag.p99ms.toFixed(1)} ms, max ${lag.maxms.toFixed(1)} ms` : '') +
        (Object.keys(stages).length > 0 ? `; send stages p50/p99 at most ${Object.entries(stages).map(([k, v]) => `${k} ${v.p50ms}/${v.p99ms}`).join(', ')} ms` : '') +
        (cpuMsPerMessage !== undefined ? `; node CPU ${cpuMsPerMessage.toFixed(2)} ms per message` : '') +
        (threadCpuMsPerMessage ? ` (main ${threadCpuMsPerMessage.main.toFixed(2)}, worker thread ${threadCpuMsPerMessage.nicer.toFixed(2)}, other threads ${threadCpuMsPerMessage.other.toFixed(2)})` : '') +
        `; the generator sent p99 ${l.lateP99ms.toFixed(1)} ms (max ${l.lateMaxms.toFixed(1)}) behind schedule, at most ${l.maxInFlight} requests open`;
      c.log(`  round ${r}: ${Math.round(l.rate)} req/s answered, p50 ${l.p50ms.toFixed(1)} ms, p99 ${l.p99ms.toFixed(1)} ms, max ${l.maxms.toFixed(1)} ms (failures ${JSON.stringify(l.failures)})${lagText}`);
    }
  } finally {
    await s.stop();
  }
  return { requestsPerRound: n, offeredRate: rate, rounds, p50ms: median(rounds.map((x) => x.p50ms)), p99ms: median(rounds.map((x) => x.p99ms)), target: 25 };
}

/** A raw MIME message of about `bytes` bytes: a text part and a base64 attachment. */
function bigMessage(from: string, to: string, bytes: number): Buffer {
  const line = `${'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0'.slice(0, 76)}\r\n`;
  const head = [
    `From: ${from}`,
    `To: ${to}`,
    'Subject: a big one',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'See the attachment.',
    '--b',
    'Content-Type: application/octet-stream; name="big.bin"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="big.bin"',
    '',
    '',
  ].join('\r\n');
  const tail = '--b--\r\n';
  const lines = Math.floor((bytes - head.length - tail.length) / line.length);
  return Buffer.concat([Buffer.from(head), Buffer.from(line.repeat(lines)), Buffer.from(tail)]);
}

/** What §6 measured for one way in. */
export interface Section6Way {
  baselineMB: number;
  peakMB: number;
  extraMB: number;
  extraPerMessageSize: number;
  /** api, smtp: the message is at the sink; mx: the object is in the bucket, as long as the message or longer. */
  delivered: boolean;
  peakResettable: boolean;
  error?: string;
  /** mx: what happened, for the report. */
  notes?: string;
  /** mx: the peak after the object was also read back whole with GetObject (streamed), above the same baseline. */
  extraWithGetMB?: number;
  extraWithGetPerMessageSize?: number;
}

/** §6 ways in: the API (v2 SendEmail Raw), SMTP submission, the MX with an S3 receipt action. */
export type Section6WayName = 'api' | 'smtp' | 'mx';

/** §6 'mx': the domain the node receives for, and the sending domain "on the internet" (SPF, DMARC, DKIM in the test DNS). */
const S6_RECEIVING_DOMAIN = 'inbound6.bench.test';
const S6_SENDER_DOMAIN = 'outside6.bench.test';
const S6_BUCKET = 'bench-big';

/**
 * §6: the peak RSS of the §2 relay rounds (given), and one ~39 MB message (SES's limit is 40 MB)
 * through the API (v2 SendEmail, Raw), through SMTP submission and through the MX, each on a fresh
 * node: the node's peak RSS from just before the send until the message is at the sink (api, smtp)
 * or its object is in the bucket (mx, read with HeadObject through the S3 API), minus its RSS before.
 */
export async function section6(c: BenchContext, relayPeakRss: number | undefined, ways: Section6WayName[] = ['api', 'smtp', 'mx']) {
  const size = 39 * MB;
  c.log(`§6: memory, one ${(size / MB).toFixed(0)} MB message through ${ways.join(', ')}`);
  const out: Partial<Record<Section6WayName, Section6Way>> = {};
  for (const way of ways) {
    if (way === 'mx') {
      out.mx = await section6Mx(c, size);
      continue;
    }
    const s = await startSesameChild({ dns: c.dns, sinkPort: c.sink.port, waitForSmtp: true, extraEnv: { SESAME_LOG_LEVEL: 'error' } });
    try {
      await verifySenderDomain(s, c.dns, c.sender, 'RSA_2048_BIT');
      const msg = bigMessage(`big@${c.sender}`, `big-${way}@${c.dest}`, size);
      // Warm the path with one small message, let the heap settle, then measure from here.
      await fire(s.port, await presignSendEmail(BENCH_KEY, s.port, 20, c.makeBody), 4);
      await sleep(1000);
      const peakResettable = resetPeakMemory(s.pid);
      const before = memoryOf(s.pid)!;
      const base = c.sink.count();
      let error: string | undefined;
      if (way === 'api') {
        const body = JSON.stringify({ FromEmailAddress: `big@${c.sender}`, Destination: { ToAddresses: [`big-api@${c.dest}`] }, Content: { Raw: { Data: msg.toString('base64') } } });
        const [req] = await presignSendEmail(BENCH_KEY, s.port, 1, () => body);
        const l = await fire(s.port, [req!], 1);
        if (l.ok !== 1) error = `SendEmail answered ${JSON.stringify(l.failures)}`;
      } else {
        const t = nodemailer.createTransport({ host: '127.0.0.1', port: s.smtpPort, requireTLS: true, tls: { rejectUnauthorized: false }, auth: BENCH_SMTP_CREDENTIALS });
        try {
          await t.sendMail({ envelope: { from: `big@${c.sender}`, to: [`big-smtp@${c.dest}`] }, raw: msg });
        } catch (err) {
          error = (err as Error).message;
        } finally {
          t.close();
        }
      }
      const delivered = !error && (await c.sink.waitForCount(base + 1, c.deliveryTimeoutMs).then(() => true, () => false));
      const after = memoryOf(s.pid)!;
      const extra = after.peak - before.rss;
      out[way] = { baselineMB: before.rss / MB, peakMB: after.peak / MB, extraMB: extra / MB, extraPerMessageSize: extra / size, delivered, peakResettable, ...(error ? { error } : {}) };
      c.log(`  ${way}: RSS ${(before.rss / MB).toFixed(0)} MB before, peak ${(after.peak / MB).toFixed(0)} MB: ${(extra / MB).toFixed(0)} MB extra = ${(extra / size).toFixed(2)} × the message${delivered ? ', delivered' : `, NOT delivered ${error ?? ''}`}`);
    } finally {
      await s.stop();
    }
  }
  return { messageMB: size / MB, relayPeakRssMB: relayPeakRss === undefined ? undefined : relayPeakRss / MB, relayTargetMB: 300, extraTarget: 3, ways: out };
}

/**
 * §6 'mx': a fresh node receives for a verified domain whose active receipt rule set has one rule
 * with an S3 action (as §4 sets it up, through the SES v1 API); ScanEnabled off. The sender's
 * domain publishes SPF, DMARC and a DKIM key, and the message is DKIM-signed (RSA-2048,
 * relaxed/relaxed), so SPF, DKIM (over the whole 39 MB body) and DMARC do their real work. After
 * 20 small messages through the MX, one ~39 MB message is sent with nodemailer (STARTTLS, as an
 * MTA would) to SESAME_MX_PORT; its 250 comes after the object is stored, and the object is then
 * looked up with HeadObject through the S3 API. The peak is read there; then the object is read
 * back whole with GetObject (streamed through, its MD5 checked against the ETag) and the peak read
 * again (reported beside it).
 */
async function section6Mx(c: BenchContext, size: number): Promise<Section6Way> {
  const dkimKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  c.dns.set(S6_SENDER_DOMAIN, 'TXT', ['v=spf1 ip4:127.0.0.1 -all']);
  c.dns.set(`_dmarc.${S6_SENDER_DOMAIN}`, 'TXT', ['v=DMARC1; p=none']);
  c.dns.set(`bench._domainkey.${S6_SENDER_DOMAIN}`, 'TXT', [`v=DKIM1; k=rsa; p=${dkimKey.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`]);
  const from = `big@${S6_SENDER_DOMAIN}`;
  const to = `big-mx@${S6_RECEIVING_DOMAIN}`;
  const unsigned = bigMessage(from, to, size);
  const signed = (await dkimSign(unsigned, { signatureData: [{ signingDomain: S6_SENDER_DOMAIN, selector: 'bench', privateKey: dkimKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, algorithm: 'rsa-sha256', canonicalization: 'relaxed/relaxed' }] } as never)) as { signatures: string };
  const msg = Buffer.concat([Buffer.from(signed.signatures), unsigned]);

  const s = await startSesameChild({ dns: c.dns, sinkPort: c.sink.port, extraEnv: { SESAME_LOG_LEVEL: 'error' } });
  const mxPort = Number(s.env.SESAME_MX_PORT);
  const s3 = new S3Client({ endpoint: s.url, region: BENCH_KEY.region, forcePathStyle: true, credentials: BENCH_KEY, maxAttempts: 1 });
  const mx = () => nodemailer.createTransport({ host: '127.0.0.1', port: mxPort, secure: false, tls: { rejectUnauthorized: false } });
  try {
    if (!(await waitForTcp(mxPort, 10_000))) throw new Error(`Sesame's MX does not listen on 127.0.0.1:${mxPort}`);
    await s3.send(new CreateBucketCommand({ Bucket: S6_BUCKET }));
    await receiveWithS3Action(s, c.dns);
    // Warm the path with small messages through the MX, let the heap settle, then measure from here.
    const t = mx();
    try {
      for (let i = 0; i < 20; i++) await t.sendMail({ envelope: { from, to: [to] }, raw: `From: ${from}\r\nTo: ${to}\r\nSubject: warm-up ${i}\r\n\r\nwarm-up\r\n` });
    } finally {
      t.close();
    }
    await sleep(1000);
    const peakResettable = resetPeakMemory(s.pid);
    const before = memoryOf(s.pid)!;
    let error: string | undefined;
    let key: string | undefined;
    const big = mx();
    const t0 = performance.now();
    try {
      const info = await big.sendMail({ envelope: { from, to: [to] }, raw: msg });
      const id = /^250 Ok (\w+)/.exec(info.response)?.[1];
      if (!id) error = `the MX answered ${info.response}`;
      else key = id;
    } catch (err) {
      error = (err as Error).message;
    } finally {
      big.close();
    }
    const seconds = (performance.now() - t0) / 1000;
    let stored = 0;
    if (key) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: S6_BUCKET, Key: key })).catch((err: Error) => {
        error = `HeadObject: ${err.message}`;
        return undefined;
      });
      stored = head?.ContentLength ?? 0;
      if (head && stored < msg.length) error = `the object is ${stored} bytes, shorter than the ${msg.length}-byte message`;
    }
    const afterStore = memoryOf(s.pid)!;
    // Then the object read back whole through the S3 API (GetObject streams it).
    let extraWithGet: number | undefined;
    let getNote = '';
    if (key && !error) {
      const o = await s3.send(new GetObjectCommand({ Bucket: S6_BUCKET, Key: key }));
      const md5 = createHash('md5');
      let got = 0;
      for await (const chunk of o.Body as AsyncIterable<Uint8Array>) {
        md5.update(chunk);
        got += chunk.length;
      }
      const etagOk = o.ETag === `"${md5.digest('hex')}"`;
      extraWithGet = memoryOf(s.pid)!.peak - before.rss;
      getNote = `; GetObject read back ${got} bytes, ETag ${etagOk ? 'matches' : 'DOES NOT match'} the MD5`;
      if (!etagOk || got !== stored) error = `GetObject gave ${got} bytes${etagOk ? '' : ' whose MD5 is not the ETag'}`;
    }
    const delivered = !error && stored >= msg.length;
    const extra = afterStore.peak - before.rss;
    const notes = `${(msg.length / MB).toFixed(1)} MB DKIM-signed message through the MX (STARTTLS) in ${seconds.toFixed(2)} s; object ${stored} bytes${getNote}`;
    c.log(
      `  mx: RSS ${(before.rss / MB).toFixed(0)} MB before, peak ${(afterStore.peak / MB).toFixed(0)} MB: ${(extra / MB).toFixed(0)} MB extra = ${(extra / size).toFixed(2)} × the message${delivered ? ', stored' : `, NOT stored ${error ?? ''}`}${extraWithGet !== undefined ? `; with GetObject ${(extraWithGet / MB).toFixed(0)} MB = ${(extraWithGet / size).toFixed(2)} ×` : ''} (${notes})`,
    );
    return {
      baselineMB: before.rss / MB,
      peakMB: afterStore.peak / MB,
      extraMB: extra / MB,
      extraPerMessageSize: extra / size,
      delivered,
      peakResettable,
      ...(error ? { error } : {}),
      notes,
      ...(extraWithGet !== undefined ? { extraWithGetMB: extraWithGet / MB, extraWithGetPerMessageSize: extraWithGet / size } : {}),
    };
  } catch (err) {
    c.log(`  mx: not measured: ${(err as Error).message}`);
    return { baselineMB: NaN, peakMB: NaN, extraMB: NaN, extraPerMessageSize: NaN, delivered: false, peakResettable: false, error: (err as Error).message };
  } finally {
    s3.destroy();
    await s.stop();
  }
}

/** Verifies S6_RECEIVING_DOMAIN on the node and makes a rule set with one S3 action for it active (as §4, through the SES v1 API). */
async function receiveWithS3Action(s: SesameChild, dns: TestDnsServer): Promise<void> {
  await verifySenderDomain(s, dns, S6_RECEIVING_DOMAIN, 'RSA_2048_BIT');
  const ses = new SESClient({ endpoint: s.url, region: BENCH_KEY.region, credentials: BENCH_KEY, maxAttempts: 1 });
  try {
    await ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'bench-big' }));
    await ses.send(
      new CreateReceiptRuleCommand({
        RuleSetName: 'bench-big',
        Rule: { Name: 'store', Enabled: true, Recipients: [S6_RECEIVING_DOMAIN], ScanEnabled: false, TlsPolicy: 'Optional', Actions: [{ S3Action: { BucketName: S6_BUCKET } }] },
      }),
    );
    await ses.send(new SetActiveReceiptRuleSetCommand({ RuleSetName: 'bench-big' }));
  } finally {
    ses.destroy();
  }
}

/**
 * §7: §1's accept rate on a node whose queue already holds `depth` recipients (spread over 10,000
 * destination domains, scheduled an hour ahead so that delivery leaves them be) against a node
 * with an empty queue, alternating, `rounds` each. The deep queue is written through Sesame's own
 * storage layer (the SQLite backend) before the node starts.
 */
export async function section7(c: BenchContext, depth: number) {
  c.log(`§7: accept rate with ${depth.toLocaleString('en-US')} recipients queued (10,000 domains) against an empty queue, ${c.rounds} rounds each`);
  const deep = await startSesameChild({ dns: c.dns, sinkPort: c.sink.port });
  const t0 = performance.now();
  // Migrations have run; stop the node and fill its queue while nothing else writes.
  const dataDir = deep.dataDir;
  await verifySenderDomain(deep, c.dns, c.sender, 'RSA_2048_BIT');
  const env = deep.env;
  await deep.kill();
  const storage = await openSqliteStorage(join(dataDir, 'sesame.db'));
  const later = Date.now() + 3_600_000;
  const body = Buffer.from(c.makeBody(0));
  try {
    for (let done = 0; done < depth; ) {
      const batch = Math.min(5_000, depth - done);
      const items = Array.from({ length: batch }, (_, k) => {
        const i = done + k;
        const messageId = newMessageId(Date.now());
        const domain = `d${i % 10_000}.deep.test`;
        return {
          message: { messageId, accountId: '000000000000', mailFrom: `${messageId}@mta.sesame.bench`, body, configurationSet: null, createdAt: Date.now(), expiresAt: later + 86_400_000, meta: {} },
          recipients: [{ messageId, rcpt: `r${i}@${domain}`, domain, state: 'queued' as const, attempts: 1, nextAttemptAt: later, leaseOwner: null, leaseExpiresAt: null, lastResponse: '451 4.7.1 deep-queue bench', updatedAt: Date.now() }],
          events: [],
          countTowardQuota: false,
        };
      });
      await storage.queue.enqueue(items);
      done += batch;
      if (done % 100_000 === 0 || done === depth) c.log(`  queued ${done.toLocaleString('en-US')}`);
    }
  } finally {
    await storage.close();
  }
  const fillSeconds = (performance.now() - t0) / 1000;
  const nodes = {
    empty: await startSesameChild({ dns: c.dns, sinkPort: c.sink.port }),
    deep: await startSesameChild({ dns: c.dns, sinkPort: c.sink.port, dataDir, extraEnv: { SESAME_HTTP_PORT: env.SESAME_HTTP_PORT!, SESAME_SMTP_PORT: env.SESAME_SMTP_PORT!, SESAME_SMTPS_PORT: env.SESAME_SMTPS_PORT!, SESAME_MX_PORT: env.SESAME_MX_PORT! } }),
  };
  const rounds: Array<{ round: number; system: 'empty queue' | 'deep queue'; rate: number; p99ms: number; failures: Record<string, number> }> = [];
  try {
    await verifySenderDomain(nodes.empty, c.dns, c.sender, 'RSA_2048_BIT');
    for (const n of [nodes.empty, nodes.deep]) await fire(n.port, await presignSendEmail(BENCH_KEY, n.port, 500, c.makeBody), c.concurrency);
    for (let r = 1; r <= c.rounds; r++) {
      for (const [system, n] of [
        ['empty queue', nodes.empty],
        ['deep queue', nodes.deep],
      ] as const) {
        const base = c.sink.count();
        const l = await fire(n.port, await presignSendEmail(BENCH_KEY, n.port, c.messages, c.makeBody), c.concurrency);
        rounds.push({ round: r, system, rate: l.rate, p99ms: l.p99ms, failures: l.failures });
        c.log(`  round ${r} ${system}: ${Math.round(l.rate)} req/s (p99 ${l.p99ms.toFixed(1)} ms)`);
        await c.sink.waitForCount(base + l.ok, c.deliveryTimeoutMs).catch((err: Error) => c.log(`  ${err.message}`));
      }
    }
  } finally {
    await nodes.empty.stop();
    await nodes.deep.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  const emptyMedian = median(rounds.filter((x) => x.system === 'empty queue').map((x) => x.rate));
  const deepMedian = median(rounds.filter((x) => x.system === 'deep queue').map((x) => x.rate));
  return { depth, domains: 10_000, fillSeconds, rounds, referenceMedian: emptyMedian, sesameMedian: deepMedian, ratio: deepMedian / emptyMedian, target: 0.8 };
}

/**
 * §8: the §2 relay (N SendEmail to one API node, until all are at the sink) on PostgreSQL with one
 * and with two worker nodes, alternating, `rounds` each; reported against §2 on SQLite. Every
 * round gets a fresh schema; the nodes share it and one master key. The API node has the `api`
 * role only, the workers `worker` only (they also verify the sender domain).
 */
export async function section8(c: BenchContext, databaseUrl: string) {
  c.log(`§8: scale-out, ${c.messages} × SendEmail relayed on PostgreSQL with 1 and 2 worker nodes, ${c.rounds} rounds each`);
  const masterKey = randomBytes(32).toString('base64');
  const rounds: Array<{ round: number; workers: number; rate: number; acceptRate: number; delivered: number; seconds: number }> = [];
  for (let r = 1; r <= c.rounds; r++) {
    for (const workers of [1, 2]) {
      const schema = `bench_${randomBytes(5).toString('hex')}`;
      const u = new URL(databaseUrl);
      u.searchParams.set('schema', schema);
      const shared = { SESAME_DATABASE_URL: u.toString(), SESAME_MASTER_KEY: masterKey };
      const api = await startSesameChild({ dns: c.dns, sinkPort: c.sink.port, extraEnv: { ...shared, SESAME_ROLES: 'api' } });
      const nodes = [api];
      try {
        for (let w = 0; w < workers; w++) nodes.push(await startSesameChild({ dns: c.dns, sinkPort: c.sink.port, noHttp: true, extraEnv: { ...shared, SESAME_ROLES: 'worker' } }));
        await verifySenderDomain(api, c.dns, c.sender, 'RSA_2048_BIT');
        const reqs = await presignSendEmail(BENCH_KEY, api.port, c.messages, c.makeBody);
        const base = c.sink.count();
        const all = c.sink.waitForCount(base + c.messages, c.deliveryTimeoutMs);
        all.catch(() => undefined);
        const l = await fire(api.port, reqs, c.concurrency);
        const doneAt = await (l.ok === c.messages ? all : c.sink.waitForCount(base + l.ok, c.deliveryTimeoutMs)).catch(() => performance.now());
        const delivered = c.sink.count() - base;
        const seconds = (doneAt - l.startedAt) / 1000;
        rounds.push({ round: r, workers, rate: Math.min(delivered, l.ok) / seconds, acceptRate: l.rate, delivered, seconds });
        c.log(`  round ${r}, ${workers} worker node${workers > 1 ? 's' : ''}: ${Math.round(Math.min(delivered, l.ok) / seconds)} msg/s end to end (accepting ${Math.round(l.rate)} msg/s)`);
      } finally {
        for (const n of nodes) await n.stop();
        const db = new pg.Client({ connectionString: databaseUrl });
        await db.connect();
        await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => db.end());
      }
    }
  }
  const of = (w: number) => median(rounds.filter((x) => x.workers === w).map((x) => x.rate));
  return { rounds, oneWorker: of(1), twoWorkers: of(2) };
}
