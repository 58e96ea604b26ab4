/**
 * Limits that hold across nodes (issue 13, Done-when 2; ADR 0014): three `sesame serve` nodes share
 * one PostgreSQL schema, one master key and one root key, as an operator runs them.
 * - The operator sets the account's MaxSendRate to 50/s with `sesame account set`; clients hammer
 *   the three APIs (five recipients a message: the rate counts recipients, as SES's does), and the
 *   accepted rate and the rate that reaches the sink stay at 50/s for the installation (not 3 × 50).
 *   The bucket starts full (one second's burst, as SES allows), so the rate is measured over ten
 *   seconds from a second after the first refusal.
 * - An SMTP AUTH lockout earned on one node refuses the client on the others.
 * - With SESAME_DOMAIN_CONNECTIONS=2 (the nodes restarted with it), the sink never sees more than
 *   two connections while the three workers deliver a backlog.
 *
 * The nodes are child processes (each its own event loop, as on separate machines); the clients,
 * the sink and the DNS server run in the test process. Figures are printed:
 *   limits-across-nodes: accepted … recipients … = …/s (target 50/s; …); sink … = …/s, per second […]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateEmailIdentityCommand, GetEmailIdentityCommand, SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveSmtpPassword } from '../../src/lib/smtp-password.ts';
import { freePort, startChild, type Child } from '../helpers/child.ts';
import { runCli } from '../helpers/cli.ts';
import { TestDnsServer } from '../helpers/dns-server.ts';
import { publishRecords, routeToSink } from '../helpers/identities.ts';
import { eventually, freshPostgresSchema, schemaClient } from '../helpers/server.ts';
import { SinkMta } from '../helpers/sink.ts';

const RATE = 50;
/**
 * The span over which the rate is measured: it starts a second after the first refusal, when what
 * was left of the bucket's burst and the tokens the nodes had leased ahead are surely spent.
 */
const SETTLE_MS = 1000;
const MEASURE_MS = 10_000;
/**
 * Recipients per message: MaxSendRate counts recipients, as SES's does; five per message keep the
 * request rate (what a shared 2-core machine pays for) at a fifth of the recipient rate.
 */
const RCPTS = 5;
/** Client loops per node, and how long one waits after being throttled (an SDK backs off too). */
const LOOPS_PER_NODE = 3;
const THROTTLED_PAUSE_MS = 20;
const SENDER = 'sender.test';
const DEST = 'dest.test';
const ACCESS_KEY_ID = 'AKIALIMITSACROSSNODE';
const SECRET_ACCESS_KEY = 'limits-across-nodes-secret-0123456789ab';

/** The least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const cov = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const varX = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return cov / varX;
}

/** One node: its data dir and SMTPS port survive a restart; the process and its API client do not. */
interface Node {
  env: Record<string, string>;
  smtpsPort: number;
  child: Child;
  api: SESv2Client;
}

describe.skipIf(!process.env.SESAME_TEST_DATABASE_URL)('limits across three nodes on one PostgreSQL', () => {
  let dns: TestDnsServer;
  let sink: SinkMta;
  const nodes: Node[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];

  /** Starts (or restarts) a node's process with its environment and `extra`. */
  async function run(node: Omit<Node, 'child' | 'api'> & Partial<Node>, extra: Record<string, string> = {}): Promise<Node> {
    const child = await startChild({ ...node.env, ...extra });
    const api = new SESv2Client({ endpoint: child.url, region: 'us-east-1', credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY }, maxAttempts: 1 });
    return Object.assign(node, { child, api });
  }

  /** Stops a node's process (SIGTERM: it finishes its in-flight work). */
  async function stop(node: Node): Promise<void> {
    node.api.destroy();
    if (node.child.proc.exitCode === null && node.child.proc.signalCode === null) node.child.proc.kill('SIGTERM');
    await node.child.exited;
  }

  beforeAll(async () => {
    dns = await TestDnsServer.start();
    cleanups.push(() => dns.close());
    // Plain SMTP to the sink: what is measured is the limits, not TLS handshakes on a shared 2-core machine.
    sink = await SinkMta.start({ starttls: false });
    cleanups.push(() => sink.close());
    const schema = await freshPostgresSchema();
    cleanups.push(() => schema.drop());
    const common: Record<string, string> = {
      SESAME_DATABASE_URL: schema.url,
      // Every node unseals the others' secrets (keys, DKIM) with one master key.
      SESAME_MASTER_KEY: randomBytes(32).toString('base64'),
      SESAME_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID,
      SESAME_ROOT_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      SESAME_LISTEN_HOST: '127.0.0.1',
      SESAME_SMTP_PORT: '0',
      SESAME_MX_PORT: '0',
      SESAME_HOSTNAME: 'mta.sesame.test',
      SESAME_DNS_SERVERS: dns.address,
      SESAME_OUTBOUND_PORT: String(sink.port),
      SESAME_VERIFY_INTERVAL: '200ms',
      SESAME_SMTP_AUTH_MAX_FAILURES: '3',
      SESAME_SMTP_AUTH_LOCKOUT: '10m',
      SESAME_SMTP_AUTH_FAILURE_DELAY: '10ms',
      SESAME_LOG_LEVEL: 'info',
    };
    cleanups.push(() => Promise.all(nodes.map(stop)));
    const start = async (name: string): Promise<Node> => {
      const dataDir = await mkdtemp(join(tmpdir(), `sesame-limits-${name}-`));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      const smtpsPort = await freePort();
      return run({ env: { ...common, SESAME_DATA_DIR: dataDir, SESAME_SMTPS_PORT: String(smtpsPort) }, smtpsPort });
    };
    // A first, alone, so that the schema is migrated once; then B and C.
    nodes.push(await start('a'));
    nodes.push(...(await Promise.all([start('b'), start('c')])));

    // The sender domain, verified the way an operator does it (records from `sesame dns`).
    const [a] = nodes as [Node];
    await a.api.send(new CreateEmailIdentityCommand({ EmailIdentity: SENDER, DkimSigningAttributes: { NextSigningKeyLength: 'RSA_1024_BIT' } }));
    const records = await runCli(['dns', SENDER, '--json'], a.env);
    expect(records.code, records.stderr).toBe(0);
    publishRecords(dns, JSON.parse(records.stdout) as Array<{ type: string; name: string; value: string }>);
    await eventually(async () => (await a.api.send(new GetEmailIdentityCommand({ EmailIdentity: SENDER }))).VerifiedForSendingStatus, 30_000, `${SENDER} to verify`);
    routeToSink(dns, DEST);
  }, 180_000);

  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  /** `sesame account set …` as the operator runs it, on node A's data dir and the shared database. */
  async function accountSet(...args: string[]): Promise<string> {
    const r = await runCli(['account', 'set', ...args], nodes[0]!.env);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  }

  const send = (node: Node, to: string[]) =>
    node.api.send(new SendEmailCommand({ FromEmailAddress: `a@${SENDER}`, Destination: { ToAddresses: to }, Content: { Simple: { Subject: { Data: to[0]! }, Body: { Text: { Data: 'b' } } } } }));

  /** Recipients a node delivered since it started, from its /metrics. */
  async function deliveredBy(node: Node): Promise<number> {
    const text = await (await fetch(`${node.child.url}/metrics`)).text();
    return Number(/sesame_delivery_attempts_total\{outcome="delivered"\} (\d+)/.exec(text)?.[1] ?? 0);
  }

  it(
    'holds a MaxSendRate of 50/s set by the operator across the three APIs, accepted and at the sink',
    async () => {
      expect(await accountSet('--max-send-rate', String(RATE))).toMatch(new RegExp(`max send rate\\s+${RATE} per second`));
      /** Accepted messages: when, their recipients, the node. */
      const accepted: Array<{ at: number; to: string[]; node: number }> = [];
      let throttled = 0;
      let dry: number | undefined;
      let seq = 0;
      const start = Date.now();
      // Hammer until the measured span is over (or give up: the clients could not outrun the rate).
      const going = () => Date.now() < (dry === undefined ? start + 30_000 : dry + SETTLE_MS + MEASURE_MS);
      await Promise.all(
        Array.from({ length: nodes.length * LOOPS_PER_NODE }, async (_, i) => {
          const node = i % nodes.length;
          while (going()) {
            const to = Array.from({ length: RCPTS }, () => `rate-${seq++}@${DEST}`);
            try {
              await send(nodes[node]!, to);
              accepted.push({ at: Date.now(), to, node });
            } catch (err) {
              if ((err as { name?: string }).name !== 'TooManyRequestsException') throw err;
              throttled++;
              dry ??= Date.now();
              await new Promise((r) => setTimeout(r, THROTTLED_PAUSE_MS));
            }
          }
        }),
      );
      const end = Date.now();
      const total = accepted.length * RCPTS;
      if (dry === undefined) console.log(`limits-across-nodes: never throttled; ${total} recipients accepted in ${((end - start) / 1000).toFixed(1)} s`);
      expect(dry, 'the clients were never throttled: they did not outrun 50/s (is the machine busy?)').toBeDefined();
      const steady = accepted.filter((a) => a.at > dry! + SETTLE_MS && a.at <= dry! + SETTLE_MS + MEASURE_MS);
      const acceptedRate = (steady.length * RCPTS) / (MEASURE_MS / 1000);
      const perNode = nodes.map((_, n) => steady.filter((a) => a.node === n).length * RCPTS);

      // Every accepted recipient is delivered, once, and nothing else. (A message's recipients may
      // arrive in more than one transaction: each is leased on its own, by whichever node.)
      const arrivedAt = (): Map<string, number[]> => {
        const m = new Map<string, number[]>();
        for (const msg of sink.messages) for (const r of msg.rcptTo) if (r.startsWith('rate-')) m.set(r, [...(m.get(r) ?? []), msg.at]);
        return m;
      };
      await sink.waitFor(() => arrivedAt().size >= total, 60_000, 'every accepted recipient at the sink');
      const arrived = arrivedAt();
      expect(arrived.size).toBe(total);
      expect([...arrived.values()].filter((t) => t.length > 1)).toEqual([]);
      for (const a of accepted) for (const r of a.to) expect(arrived.has(r)).toBe(true);
      // At the sink: the recipients accepted in that span arrive over a span of their own; the rate is
      // the slope of their cumulative count over their arrival times (least squares), so that
      // deliveries coming in batches, or a first or last one delayed by a busy machine, do not
      // stretch or shrink it as a count over the first-to-last span would. Those accepted in the
      // span's first second may still queue behind the burst accepted before the bucket ran dry: the
      // sink is measured on the ones after them.
      const later = steady.filter((a) => a.at > dry! + SETTLE_MS + 1000);
      const arrivals = later.flatMap((a) => a.to.map((r) => arrived.get(r)![0]!)).sort((x, y) => x - y);
      const sinkRate = slope(arrivals.map((t, i) => [t / 1000, i + 1]));
      const [from, to] = [arrivals[0]!, arrivals[arrivals.length - 1]!];
      const lag = Math.round(later.reduce((n, a) => n + arrived.get(a.to[0]!)![0]! - a.at, 0) / later.length);
      // And every recipient at the sink per second, over the span those arrived in.
      const all = [...arrived.values()].map((t) => t[0]!);
      const perSecond = Array.from({ length: Math.floor((to - from) / 1000) }, (_, s) => all.filter((t) => t >= from + s * 1000 && t < from + (s + 1) * 1000).length);
      console.log(
        `limits-across-nodes: accepted ${steady.length * RCPTS} recipients in ${MEASURE_MS / 1000} s from a second after the bucket first ran dry = ${acceptedRate.toFixed(1)}/s (target ${RATE}/s; per node ${perNode.join('/')}; ` +
          `${total} accepted and ${throttled} requests throttled in ${((end - start) / 1000).toFixed(1)} s); sink ${arrivals.length} recipients in ${((to - from) / 1000).toFixed(2)} s at ${sinkRate.toFixed(1)}/s (slope; mean delivery ${lag} ms), per second [${perSecond.join(', ')}]`,
      );

      expect(acceptedRate).toBeGreaterThanOrEqual(RATE * 0.9);
      expect(acceptedRate).toBeLessThanOrEqual(RATE * 1.1);
      // Every node took part: the limit is the installation's, not a node's share.
      for (const n of perNode) expect(n).toBeGreaterThan(RATE);
      expect(sinkRate).toBeGreaterThanOrEqual(RATE * 0.9);
      expect(sinkRate).toBeLessThanOrEqual(RATE * 1.1);
      // No second at the sink far above the rate either (deliveries come in batches of a few messages).
      for (const n of perSecond) expect(n).toBeLessThanOrEqual(RATE * 2);
    },
    120_000,
  );

  it('locks a client out on every node after AUTH failures on one', async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const password = deriveSmtpPassword(SECRET_ACCESS_KEY, 'us-east-1');
    const login = async (node: Node, pass: string) => {
      const t = nodemailer.createTransport({ host: '127.0.0.1', port: node.smtpsPort, secure: true, tls: { rejectUnauthorized: false }, auth: { user: ACCESS_KEY_ID, pass } });
      try {
        await t.verify();
        return 235;
      } catch (err) {
        return (err as { responseCode?: number }).responseCode ?? 0;
      } finally {
        t.close();
      }
    };
    // The right password works on B before anything happened.
    expect(await login(b, password)).toBe(235);
    for (let i = 0; i < 3; i++) expect(await login(a, 'B'.repeat(44))).toBe(535);
    // The third failure on A locked 127.0.0.1 out of the installation: B and C refuse it, right password or not.
    expect(await login(b, password)).toBe(454);
    expect(await login(c, password)).toBe(454);
    expect(await login(a, password)).toBe(454);
    expect(a.child.output()).toContain('"code":"SMTP_AUTH_LOCKOUT"');
    expect(b.child.output()).toContain('"code":"SMTP_AUTH_LOCKED_OUT"');
    expect(c.child.output()).toContain('"code":"SMTP_AUTH_LOCKED_OUT"');
  });

  it(
    'never opens more than SESAME_DOMAIN_CONNECTIONS (2) to a domain while three workers deliver',
    async () => {
      // Every node restarted with the cap (one at a time: the others keep the installation up).
      for (const n of nodes) {
        await stop(n);
        await run(n, { SESAME_DOMAIN_CONNECTIONS: '2' });
      }
      expect(await accountSet('--max-send-rate', 'unlimited')).toMatch(/max send rate\s+unlimited/);
      sink.maxOpen = sink.open;
      const recipients: string[] = [];
      let seq = 0;
      await Promise.all(
        Array.from({ length: nodes.length * 6 }, async (_, i) => {
          for (let k = 0; k < 25; k++) {
            const to = Array.from({ length: 4 }, () => `cap-${seq++}@${DEST}`);
            await send(nodes[i % nodes.length]!, to);
            recipients.push(...to);
          }
        }),
      );
      await sink.waitFor(() => recipients.every((r) => sink.to(r).length > 0), 90_000, 'every recipient at the sink');
      const perNode = await Promise.all(nodes.map(deliveredBy));
      console.log(`limits-across-nodes: ${recipients.length} recipients delivered by the nodes ${perNode.join('/')}; at most ${sink.maxOpen} connections open at the sink`);
      expect(sink.maxOpen).toBe(2);
      // More than one worker delivered: the cap held between nodes, not just within one.
      expect(perNode.filter((n) => n > 0).length).toBeGreaterThan(1);
    },
    180_000,
  );

  it(
    'frees, when a node starts again, the connection slots its killed run still held',
    async () => {
      const [a, b] = nodes as [Node, Node];
      const nodeId = (await readFile(join(a.env.SESAME_DATA_DIR!, 'node.id'), 'utf8')).trim();
      const domain = 'held.dest.test';
      routeToSink(dns, domain);
      // Node A is killed. What a run killed while it held every slot of the domain (2 after the
      // test above, 20 by default) leaves in the database is its slot leases: written here, as if
      // that run had taken them, to run another ten minutes.
      a.api.destroy();
      a.child.proc.kill('SIGKILL');
      await a.child.exited;
      const db = await schemaClient(a.env.SESAME_DATABASE_URL!);
      cleanups.push(() => db.end());
      const until = Date.now() + 600_000;
      await db.query('INSERT INTO limit_slots (key, slot, owner, expires_at) SELECT $1, n, $2, $3 FROM generate_series(0, 19) AS n', [`conn:domain:${domain}`, `${nodeId}/killed-run`, until]);
      const rcpt = `held@${domain}`;
      await send(b, [rcpt]);
      // Node B waits for a slot: the killed run's are still held.
      await new Promise((r) => setTimeout(r, 1500));
      expect(sink.to(rcpt)).toHaveLength(0);
      // A starts again and frees them at once, not in ten minutes: the message goes.
      await run(a, { SESAME_DOMAIN_CONNECTIONS: '2' });
      await sink.waitFor(() => sink.to(rcpt).length > 0, 30_000, `${rcpt} at the sink`);
      const left = await db.query('SELECT owner FROM limit_slots WHERE owner = $1', [`${nodeId}/killed-run`]);
      expect(left.rows).toEqual([]);
    },
    90_000,
  );
});
