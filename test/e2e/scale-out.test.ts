/**
 * Several nodes on one PostgreSQL (issue 13, Done-when 1): three `sesame serve` processes share a
 * fresh schema of the CI database — node A takes the API, node B SMTP submission, node C only
 * delivers (every node also delivers). 20,000 messages go in, half through A's API and half
 * through B's SMTP; node C is killed with SIGKILL halfway. Every acknowledged MessageId must reach
 * the sink; a second copy is allowed only for a recipient that C held leased at its kill, and the
 * number of duplicates is printed:
 *   scale-out: acknowledged=N delivered=N lost=0 duplicated=D (leased by the killed node: L) …
 * Nodes are child processes started as an operator starts them (one data dir each, one shared
 * master key and root key); the sink and the DNS server run in the test process on loopback.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateEmailIdentityCommand, GetEmailIdentityCommand, SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import { deriveSmtpPassword } from '../../src/lib/smtp-password.ts';
import { freePort, startChild, type Child } from '../helpers/child.ts';
import { runCli } from '../helpers/cli.ts';
import { messageIdOf as messageIdAt } from '../helpers/crash.ts';
import { TestDnsServer } from '../helpers/dns-server.ts';
import { publishRecords } from '../helpers/identities.ts';
import { eventually, freshPostgresSchema, schemaClient } from '../helpers/server.ts';
import { SinkMta } from '../helpers/sink.ts';

const TOTAL = 20_000;
const API_CONCURRENCY = 24;
const SMTP_SESSIONS = 16;
const SENDER = 'sender.scale.test';
const DEST = 'dest.test';
const HOSTNAME = 'mta.sesame.test';
const ACCESS_KEY_ID = 'AKIASCALEOUTTEST0000';
const SECRET_ACCESS_KEY = 'scale-out-secret-0123456789abcdef0123';
/** How long a dead node's leases keep its recipients (the test shortens the 5-minute default). */
const LEASE = '30s';
const DELIVERY_TIMEOUT_MS = 240_000;

const messageIdOf = (m: { raw: Buffer }) => messageIdAt(m, HOSTNAME);

describe.skipIf(!process.env.SESAME_TEST_DATABASE_URL)('three nodes on one PostgreSQL', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  it(
    'delivers every acknowledged message of 20,000 (API on one node, SMTP on another) when a third is killed halfway; duplicates only among its leases',
    async () => {
      const dns = await TestDnsServer.start();
      cleanups.push(() => dns.close());
      // Each DATA takes 20 ms at the sink, as a real MX's does: delivery holds its leases that long,
      // so a worker node killed halfway has recipients in hand (and the queue is not drained the
      // moment a message is accepted, so every worker node gets batches).
      const sink = await SinkMta.start({ dataDelayMs: 20 });
      cleanups.push(() => sink.close());
      const schema = await freshPostgresSchema();
      cleanups.push(() => schema.drop());
      const common: Record<string, string> = {
        SESAME_DATABASE_URL: schema.url,
        SESAME_MASTER_KEY: randomBytes(32).toString('base64'),
        SESAME_LISTEN_HOST: '127.0.0.1',
        SESAME_SMTP_PORT: '0',
        SESAME_SMTPS_PORT: '0',
        SESAME_MX_PORT: '0',
        SESAME_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID,
        SESAME_ROOT_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
        SESAME_DNS_SERVERS: dns.address,
        SESAME_OUTBOUND_PORT: String(sink.port),
        SESAME_HOSTNAME: HOSTNAME,
        SESAME_VERIFY_INTERVAL: '200ms',
        SESAME_RETRY_SCHEDULE: '1s',
        SESAME_DELIVERY_LEASE: LEASE,
        SESAME_LOG_LEVEL: 'warn',
      };
      const children: Child[] = [];
      cleanups.push(async () => {
        for (const c of children) {
          if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
          await c.exited;
        }
      });
      const node = async (name: string, roles: string, extra: Record<string, string> = {}) => {
        const dataDir = await mkdtemp(join(tmpdir(), `sesame-scale-${name}-`));
        cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
        const c = await startChild({ ...common, SESAME_DATA_DIR: dataDir, SESAME_ROLES: roles, ...extra });
        children.push(c);
        return { child: c, dataDir, env: { ...common, SESAME_DATA_DIR: dataDir } };
      };
      // A first, alone, so that the schema is migrated once; then B and C.
      const a = await node('a', 'api,worker');
      const smtpPort = await freePort();
      const [b, c] = await Promise.all([node('b', 'api,smtp,worker', { SESAME_SMTP_PORT: String(smtpPort) }), node('c', 'api,worker')]);
      const nodeIdOfC = (await readFile(join(c.dataDir, 'node.id'), 'utf8')).trim();

      // The sender domain, verified the way an operator does it (records from `sesame dns`).
      const v2 = new SESv2Client({ endpoint: a.child.url, region: 'us-east-1', credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY }, maxAttempts: 1, requestHandler: { requestTimeout: 30_000 } });
      cleanups.push(async () => v2.destroy());
      await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: SENDER, DkimSigningAttributes: { NextSigningKeyLength: 'RSA_1024_BIT' } }));
      const dnsOut = await runCli(['dns', SENDER, '--json'], a.env);
      expect(dnsOut.code, dnsOut.stderr).toBe(0);
      publishRecords(dns, JSON.parse(dnsOut.stdout) as Array<{ type: string; name: string; value: string }>);
      await eventually(async () => (await v2.send(new GetEmailIdentityCommand({ EmailIdentity: SENDER }))).VerifiedForSendingStatus, 30_000, `${SENDER} to verify`);
      dns.set(DEST, 'MX', [{ priority: 10, exchange: `mx.${DEST}` }]);
      dns.set(`mx.${DEST}`, 'A', ['127.0.0.1']);

      // Send: half through A's API, half through B's SMTP; kill C when half of all is acknowledged.
      const acked = new Set<string>();
      const failures = { api: 0, smtp: 0 };
      let killed = false;
      let ackedAtKill = 0;
      // Watch the queue from outside: C is killed halfway, at a moment when it holds leases (in flight).
      const db = await schemaClient(schema.url);
      cleanups.push(() => db.end());
      const leasesOfC = async () => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM recipients WHERE lease_owner = $1`, [nodeIdOfC])).rows[0]!.n);
      let killing: Promise<void> | undefined;
      const leasedByC = new Set<string>();
      const maybeKill = () => {
        if (killing || acked.size < TOTAL / 2) return;
        killing = (async () => {
          for (let waited = 0; waited < 10_000 && (await leasesOfC()) === 0; waited += 10) await new Promise((r) => setTimeout(r, 10));
          c.child.proc.kill('SIGKILL');
          killed = true;
          ackedAtKill = acked.size;
          await c.child.exited;
          // What C held when it died: its recipients wait for the lease to expire, then A or B takes them.
          const rows = await db.query<{ message_id: string }>(`SELECT message_id FROM recipients WHERE lease_owner = $1`, [nodeIdOfC]);
          for (const r of rows.rows) leasedByC.add(r.message_id);
        })();
      };
      let nextApi = 0;
      let nextSmtp = 0;
      const started = Date.now();
      const apiLoad = Array.from({ length: API_CONCURRENCY }, async () => {
        while (nextApi < TOTAL / 2) {
          const i = nextApi++;
          try {
            const r = await v2.send(
              new SendEmailCommand({
                FromEmailAddress: `api@${SENDER}`,
                Destination: { ToAddresses: [`a${i}@${DEST}`] },
                Content: { Simple: { Subject: { Data: `scale-out ${i}` }, Body: { Text: { Data: `API message ${i} of the scale-out test.\n` } } } },
              }),
            );
            acked.add(r.MessageId!);
            maybeKill();
          } catch {
            failures.api++;
          }
        }
      });
      const password = deriveSmtpPassword(SECRET_ACCESS_KEY, 'us-east-1');
      const smtpLoad = Array.from({ length: SMTP_SESSIONS }, async () => {
        const t = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: ACCESS_KEY_ID, pass: password }, pool: true, maxConnections: 1, maxMessages: Infinity });
        try {
          while (nextSmtp < TOTAL / 2) {
            const i = nextSmtp++;
            try {
              const info = await t.sendMail({ from: `smtp@${SENDER}`, to: `s${i}@${DEST}`, subject: `scale-out ${i}`, text: `SMTP message ${i} of the scale-out test.\n` });
              const id = /^250 Ok (\S+)/.exec(info.response)?.[1];
              if (id) acked.add(id);
              else failures.smtp++;
              maybeKill();
            } catch {
              failures.smtp++;
            }
          }
        } finally {
          t.close();
        }
      });
      await Promise.all([...apiLoad, ...smtpLoad]);
      await killing;
      const sendMs = Date.now() - started;
      expect(killed, `node C was not killed (${acked.size} acknowledged)`).toBe(true);
      expect((await c.child.exited).signal).toBe('SIGKILL');


      const seen = new Map<string, number>();
      let parsed = 0;
      const scan = () => {
        for (; parsed < sink.messages.length; parsed++) {
          const id = messageIdOf(sink.messages[parsed]!);
          if (id) seen.set(id, (seen.get(id) ?? 0) + 1);
        }
        return [...acked].filter((id) => !seen.has(id)).length;
      };
      await sink.waitFor(() => scan() === 0, DELIVERY_TIMEOUT_MS, 'every acknowledged MessageId at the sink').catch(() => undefined);
      const totalMs = Date.now() - started;
      const lost = [...acked].filter((id) => !seen.has(id));
      const duplicated = [...seen.entries()].filter(([, n]) => n > 1).map(([id]) => id);
      const duplicatedNotLeased = duplicated.filter((id) => !leasedByC.has(id));
      console.log(
        `scale-out: acknowledged=${acked.size} delivered=${acked.size - lost.length} lost=${lost.length} duplicated=${duplicated.length} (leased by the killed node: ${leasedByC.size}; duplicates not leased by it: ${duplicatedNotLeased.length}) killed-at=${ackedAtKill} refused: api=${failures.api} smtp=${failures.smtp} send=${sendMs}ms total=${totalMs}ms`,
      );
      expect(acked.size).toBe(TOTAL);
      expect(lost, `lost: ${lost.slice(0, 5).join(', ')}`).toEqual([]);
      expect(duplicatedNotLeased).toEqual([]);
      expect(duplicated.length).toBeLessThanOrEqual(leasedByC.size);
      // The kill did catch C with work in hand, and the others finished it.
      expect(leasedByC.size).toBeGreaterThan(0);
      // The survivors are still healthy.
      for (const n of [a, b]) expect((await fetch(`${n.child.url}/health`)).status).toBe(200);
    },
    600_000,
  );
});
