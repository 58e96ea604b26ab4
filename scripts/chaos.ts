/**
 * `npm run test:chaos [-- --cycles=20] [-- --postgres] [-- --seed=N]`: BENCHMARKS R1, the crash
 * loop. A real `sesame serve` child takes mixed load — SES v2 SendEmail from API clients and SMTP
 * submission (STARTTLS + AUTH) from nodemailer — and is killed with SIGKILL at random moments,
 * then restarted on the same data dir and ports, `--cycles` times. One message in 40 of each kind
 * is a 1.5 MB raw message, over the 1 MiB spool threshold, so kills land while bodies are spooled.
 * Every MessageId acknowledged (HTTP 200, or `250 Ok <MessageId>`) must reach the sink; a second
 * copy is allowed only for a recipient that a killed process held leased (in flight) at its kill.
 * Prints acknowledged, delivered, lost and duplicated, and exits 1 when anything was lost or a
 * duplicate was not in flight. SQLite by default; `--postgres` uses SESAME_TEST_DATABASE_URL (a fresh schema).
 * Everything runs on loopback: DNS server, sink and load in this process, the server a child.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import nodemailer from 'nodemailer';
import { freePort, sleep } from '../bench/lib/proc.ts';
import { BENCH_KEY, BENCH_SMTP_CREDENTIALS, startSesameChild, verifySenderDomain, type SesameChild } from '../bench/lib/sesame.ts';
import { leasedAtKill, messageIdOf } from '../test/helpers/crash.ts';
import { TestDnsServer } from '../test/helpers/dns-server.ts';
import { freshPostgresSchema } from '../test/helpers/server.ts';
import { SinkMta } from '../test/helpers/sink.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const args = process.argv.slice(2);
const opt = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const CYCLES = Number(opt('cycles') ?? 20);
const POSTGRES = args.includes('--postgres');
let seed = Number(opt('seed') ?? Date.now() % 1_000_000);
const SEED = seed;
/** A small seeded generator (mulberry32), so that a run's kill moments can be replayed. */
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
/** A 1.5 MB message (over the 1 MiB spool threshold), so that kills also land while bodies are spooled. */
function bigMessage(from: string, to: string, i: number): Buffer {
  const line = `${'0123456789'.repeat(7)}\r\n`;
  return Buffer.from(`From: ${from}\r\nTo: ${to}\r\nSubject: chaos big ${i}\r\n\r\n${line.repeat(Math.ceil((1.5 * 1024 * 1024) / line.length))}`);
}
const API_CLIENTS = 16;
const SMTP_CLIENTS = 4;
const SENDER = 'sender.chaos.test';
const DEST = 'dest.chaos.test';
const HOSTNAME = 'mta.sesame.bench';
/** How long after the last restart every acknowledged message must be at the sink. */
const DELIVERY_TIMEOUT_MS = 180_000;
const log = (s: string) => process.stderr.write(`[chaos] ${s}\n`);

if (POSTGRES && !process.env.SESAME_TEST_DATABASE_URL) {
  log('--postgres needs SESAME_TEST_DATABASE_URL (postgres://postgres@127.0.0.1:5432/test)');
  process.exit(2);
}

const dns = await TestDnsServer.start();
const sink = await SinkMta.start();
const dataDir = await mkdtemp(join(tmpdir(), 'sesame-chaos-'));
const schema = POSTGRES ? await freshPostgresSchema() : undefined;
dns.set(DEST, 'MX', [{ priority: 10, exchange: `mx.${DEST}` }]);
dns.set(`mx.${DEST}`, 'A', ['127.0.0.1']);
const env: Record<string, string> = {
  SESAME_HTTP_PORT: String(await freePort()),
  SESAME_SMTP_PORT: String(await freePort()),
  SESAME_SMTPS_PORT: String(await freePort()),
  SESAME_MX_PORT: String(await freePort()),
  SESAME_RETRY_SCHEDULE: '1s',
  SESAME_SMTP_MAX_CONNECTIONS_PER_IP: '100',
  ...(schema ? { SESAME_DATABASE_URL: schema.url } : {}),
};
const start = () => startSesameChild({ dns, sinkPort: sink.port, dataDir, extraEnv: env, waitForSmtp: true });

interface Kill {
  cycle: number;
  /** Recipients the killed process held leased: the only ones that may arrive twice. */
  leased: Set<string>;
  ackedBefore: number;
}
const acked = new Set<string>();
const failures = { api: 0, smtp: 0 };
const kills: Kill[] = [];
let child: SesameChild = await start();
let up = true;
let stopping = false;
let n = 0;

try {
  await verifySenderDomain(child, dns, SENDER, 'RSA_2048_BIT');
  log(`seed ${SEED}; ${CYCLES} cycles; ${POSTGRES ? 'PostgreSQL' : 'SQLite'}; ${API_CLIENTS} API clients and ${SMTP_CLIENTS} SMTP sessions`);

  const api = new SESv2Client({ endpoint: child.url, region: BENCH_KEY.region, credentials: BENCH_KEY, maxAttempts: 1, requestHandler: { requestTimeout: 10_000 } });
  const apiLoop = async () => {
    while (!stopping) {
      if (!up) {
        await sleep(20);
        continue;
      }
      const i = n++;
      try {
        const r = await api.send(
          new SendEmailCommand({
            FromEmailAddress: `api@${SENDER}`,
            Destination: { ToAddresses: [`a${i}@${DEST}`] },
            // Every 40th is a raw message over 1 MiB: spooled to the blob store, streamed to the sink.
            Content:
              i % 40 === 0
                ? { Raw: { Data: bigMessage(`api@${SENDER}`, `a${i}@${DEST}`, i) } }
                : { Simple: { Subject: { Data: `chaos ${i}` }, Body: { Text: { Data: `API message ${i} of the crash loop.\n` } } } },
          }),
        );
        acked.add(r.MessageId!);
      } catch {
        failures.api++;
      }
    }
  };
  const smtpLoop = async () => {
    let t: ReturnType<typeof nodemailer.createTransport> | undefined;
    while (!stopping) {
      if (!up) {
        t?.close();
        t = undefined;
        await sleep(20);
        continue;
      }
      t ??= nodemailer.createTransport({ host: '127.0.0.1', port: child.smtpPort, requireTLS: true, tls: { rejectUnauthorized: false }, auth: BENCH_SMTP_CREDENTIALS, pool: false });
      const i = n++;
      try {
        const info =
          i % 40 === 1
            ? await t.sendMail({ envelope: { from: `smtp@${SENDER}`, to: [`s${i}@${DEST}`] }, raw: bigMessage(`smtp@${SENDER}`, `s${i}@${DEST}`, i) })
            : await t.sendMail({ from: `smtp@${SENDER}`, to: `s${i}@${DEST}`, subject: `chaos ${i}`, text: `SMTP message ${i} of the crash loop.\n` });
        const id = /^250 Ok (\S+)/.exec(info.response)?.[1];
        if (id) acked.add(id);
        else failures.smtp++;
      } catch {
        failures.smtp++;
        t.close();
        t = undefined;
      }
    }
    t?.close();
  };
  const load = Promise.all([...Array.from({ length: API_CLIENTS }, apiLoop), ...Array.from({ length: SMTP_CLIENTS }, smtpLoop)]);

  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    await sleep(500 + random() * 2500);
    const before = acked.size;
    await child.kill();
    up = false;
    const { leased } = await leasedAtKill(POSTGRES ? 'postgres' : 'sqlite', dataDir, schema?.url);
    kills.push({ cycle, leased: new Set(leased.keys()), ackedBefore: before });
    log(`cycle ${cycle}: killed with ${acked.size} acknowledged so far, ${leased.size} recipients in flight; restarting`);
    child = await start();
    up = true;
  }
  // The last node takes load too before the clients stop.
  await sleep(1500);
  stopping = true;
  await load;
  api.destroy();

  // Every acknowledged MessageId must arrive; count the copies of each.
  const copies = new Map<string, number>();
  let parsed = 0;
  const scan = () => {
    for (; parsed < sink.messages.length; parsed++) {
      const id = messageIdOf(sink.messages[parsed]!, HOSTNAME);
      if (id) copies.set(id, (copies.get(id) ?? 0) + 1);
    }
    return [...acked].filter((id) => !copies.has(id)).length;
  };
  const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
  while (scan() > 0 && Date.now() < deadline) await sleep(200);
  await sleep(1500); // late duplicates, if any, arrive now
  scan();

  const lost = [...acked].filter((id) => !copies.has(id));
  const duplicated = [...copies].filter(([, c]) => c > 1).map(([id]) => id);
  const inFlight = new Set(kills.flatMap((k) => [...k.leased]));
  const notInFlight = duplicated.filter((id) => !inFlight.has(id));
  const inFlightTotal = kills.reduce((s, k) => s + k.leased.size, 0);
  const delivered = acked.size - lost.length;
  const summary = {
    seed: SEED,
    backend: POSTGRES ? 'postgres' : 'sqlite',
    cycles: kills.length,
    acknowledged: acked.size,
    delivered,
    lost: lost.length,
    duplicated: duplicated.length,
    duplicatedNotInFlight: notInFlight.length,
    inFlightAtKills: inFlightTotal,
    refusedOrFailedRequests: failures,
  };
  process.stdout.write(
    `chaos R1 (${summary.backend}, seed ${SEED}): ${kills.length} kill -9 cycles; acknowledged=${acked.size} delivered=${delivered} lost=${lost.length} ` +
      `duplicated=${duplicated.length} (in flight at the kills: ${inFlightTotal}; duplicates not in flight: ${notInFlight.length}); ` +
      `requests that failed while the server was down: API ${failures.api}, SMTP ${failures.smtp}\n${JSON.stringify(summary)}\n`,
  );
  if (lost.length > 0) log(`lost: ${lost.slice(0, 20).join(' ')}${lost.length > 20 ? ' …' : ''}\n${child.output()}`);
  process.exitCode = lost.length === 0 && notInFlight.length === 0 && kills.length === CYCLES ? 0 : 1;
} finally {
  stopping = true;
  await child.stop().catch(() => undefined);
  await sink.close();
  await dns.close();
  await rm(dataDir, { recursive: true, force: true });
  await schema?.drop();
}
