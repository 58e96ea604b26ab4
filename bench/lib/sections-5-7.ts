/**
 * BENCHMARKS §5 (latency at half the §1 rate), §6 (memory: peak RSS during the §2 relay, and one
 * 40 MB message through the API and through SMTP), §7 (the §1 accept rate with a deep queue
 * against the same with an empty one, alternating) and §8 (the §2 relay on PostgreSQL with one and
 * two worker nodes).
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { newMessageId } from '../../src/lib/ids.ts';
import { openSqliteStorage } from '../../src/storage/sqlite/index.ts';
import type { TestDnsServer } from '../../test/helpers/dns-server.ts';
import { fire, fireAtRate, presignSendEmail } from './load.ts';
import { median, memoryOf, resetPeakMemory, sleep } from './proc.ts';
import { BENCH_KEY, BENCH_SMTP_CREDENTIALS, startSesameChild, verifySenderDomain } from './sesame.ts';
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
}

const MB = 1024 * 1024;

/** §5: open-loop SendEmail at `rate` (half the §1 Sesame median), latency from each request's scheduled start. */
export async function section5(c: BenchContext, rate: number) {
  const n = Math.max(500, Math.round(c.messages / 2));
  c.log(`§5: latency, ${n} × SendEmail open loop at ${Math.round(rate)} req/s (half the §1 rate), ${c.rounds} rounds`);
  const s = await startSesameChild({ dns: c.dns, sinkPort: c.sink.port });
  const rounds: Array<{ round: number; rate: number; ok: number; failures: Record<string, number>; p50ms: number; p99ms: number; p999ms: number; maxms: number }> = [];
  try {
    await verifySenderDomain(s, c.dns, c.sender, 'RSA_2048_BIT');
    await fire(s.port, await presignSendEmail(BENCH_KEY, s.port, 500, c.makeBody), c.concurrency); // warm-up
    for (let r = 1; r <= c.rounds; r++) {
      const reqs = await presignSendEmail(BENCH_KEY, s.port, n, c.makeBody);
      const base = c.sink.count();
      const l = await fireAtRate(s.port, reqs, rate);
      rounds.push({ round: r, rate: l.rate, ok: l.ok, failures: l.failures, p50ms: l.p50ms, p99ms: l.p99ms, p999ms: l.p999ms, maxms: l.maxms });
      c.log(`  round ${r}: ${Math.round(l.rate)} req/s answered, p50 ${l.p50ms.toFixed(1)} ms, p99 ${l.p99ms.toFixed(1)} ms, max ${l.maxms.toFixed(1)} ms (failures ${JSON.stringify(l.failures)})`);
      await c.sink.waitForCount(base + l.ok, c.deliveryTimeoutMs).catch((err: Error) => c.log(`  ${err.message}`));
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

/**
 * §6: the peak RSS of the §2 relay rounds (given), and one ~39 MB message (SES's limit is 40 MB)
 * through the API (v2 SendEmail, Raw) and through SMTP, each on a fresh node: the node's peak RSS
 * from just before the send until the message is at the sink, minus its RSS before.
 */
export async function section6(c: BenchContext, relayPeakRss: number | undefined) {
  const size = 39 * MB;
  c.log(`§6: memory, one ${(size / MB).toFixed(0)} MB message through the API and through SMTP`);
  const out: Record<string, { baselineMB: number; peakMB: number; extraMB: number; extraPerMessageSize: number; delivered: boolean; peakResettable: boolean; error?: string }> = {};
  for (const way of ['api', 'smtp'] as const) {
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
