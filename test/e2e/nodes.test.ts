/**
 * Several nodes on one PostgreSQL database (issue 13): the node registry and `sesame nodes` (three
 * nodes with different roles are listed up; one killed with SIGKILL turns down after three missed
 * heartbeats; one shut down cleanly leaves the list), `sesame serve --roles`, and done-when 3 —
 * DNS verification of a pending identity runs once per interval across the installation, counted at
 * the test DNS server, however many nodes run the worker role, and moves to another node when the
 * node that ran it leaves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateEmailIdentityCommand } from '@aws-sdk/client-sesv2';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, SESAME_BIN } from '../helpers/cli.ts';
import { freePort } from '../helpers/child.ts';
import { TestDnsServer } from '../helpers/dns-server.ts';
import { eventually, freshPostgresSchema, startTestServer, type TestServer } from '../helpers/server.ts';

const PG_URL = process.env.SESAME_TEST_DATABASE_URL;

/** What `sesame nodes --json` prints per node. */
interface NodeJson {
  id: string;
  state: 'up' | 'down';
  roles: string[];
  hostname: string;
  pid: number;
  version: string;
  startedAt: string;
  lastSeen: string;
  heartbeatIntervalMs: number;
  jobs: string[];
}

describe('the node registry on embedded SQLite', () => {
  it('the one node lists itself as up, holds the verification job, and serve --roles refuses an unknown role', async () => {
    await using server = await startTestServer({ env: { SESAME_NODE_HEARTBEAT: '1s' } });
    const r = await runCli(['nodes', '--json'], {
      SESAME_DATA_DIR: server.dataDir,
      SESAME_ROOT_ACCESS_KEY_ID: server.accessKeyId,
      SESAME_ROOT_SECRET_ACCESS_KEY: server.secretAccessKey,
    });
    expect(r.stderr).toBe('');
    const nodes = JSON.parse(r.stdout) as NodeJson[];
    expect(nodes).toEqual([
      expect.objectContaining({ id: server.instance.core.nodes.nodeId, state: 'up', roles: ['api', 'smtp', 'mx', 'worker'], pid: process.pid, heartbeatIntervalMs: 1000 }),
    ]);
    // On SQLite the lease always goes to the one node (taken at its first verification tick).
    await eventually(async () => (await server.instance.core.nodes.list())[0]?.jobs.includes('identity-verification'), 10_000, 'the verification lease');

    const bad = await runCli(['serve', '--roles', 'api,relay'], { SESAME_DATA_DIR: join(tmpdir(), 'sesame-nodes-never-created') });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('unknown role "relay"');
  }, 60_000);
});

describe.skipIf(!PG_URL)('several nodes on one PostgreSQL (needs SESAME_TEST_DATABASE_URL)', () => {
  const disposers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    while (disposers.length) await disposers.pop()!().catch(() => {});
  });

  /** One installation: a fresh schema, one master key and one root key shared by every node, one DNS server. */
  async function installation() {
    const schema = await freshPostgresSchema();
    disposers.push(schema.drop);
    const dns = await TestDnsServer.start();
    disposers.push(() => dns.close());
    const shared = {
      SESAME_DATABASE_URL: schema.url,
      SESAME_MASTER_KEY: randomBytes(32).toString('base64'),
      SESAME_ROOT_ACCESS_KEY_ID: `AKIANODES${randomBytes(5).toString('hex').toUpperCase()}`,
      SESAME_ROOT_SECRET_ACCESS_KEY: randomBytes(30).toString('base64'),
      SESAME_DNS_SERVERS: dns.address,
    };
    const cliDir = await mkdtemp(join(tmpdir(), 'sesame-nodes-cli-'));
    disposers.push(() => rm(cliDir, { recursive: true, force: true }));
    return {
      dns,
      shared,
      /** Starts an in-process node of this installation. */
      async node(env: Record<string, string>): Promise<TestServer> {
        const s = await startTestServer({ dns, env: { ...shared, ...env } });
        disposers.push(() => s.close());
        return s;
      },
      /** `sesame nodes --json` as an operator runs it, from another data dir. */
      async nodes(): Promise<NodeJson[]> {
        const r = await runCli(['nodes', '--json'], { ...shared, SESAME_DATA_DIR: cliDir });
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        return JSON.parse(r.stdout) as NodeJson[];
      },
      cli: (args: string[]) => runCli(args, { ...shared, SESAME_DATA_DIR: cliDir }),
    };
  }

  /** Runs `sesame serve --roles …` as a child process and waits for /health (the roles include api). */
  async function serveChild(env: Record<string, string>, roles: string): Promise<{ proc: ChildProcess; dataDir: string; output: () => string }> {
    const dataDir = await mkdtemp(join(tmpdir(), 'sesame-nodes-child-'));
    disposers.push(() => rm(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const proc = spawn(process.execPath, [SESAME_BIN, 'serve', '--roles', roles], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        SESAME_DATA_DIR: dataDir,
        SESAME_LISTEN_HOST: '127.0.0.1',
        SESAME_HTTP_PORT: String(port),
        SESAME_SMTP_PORT: '0',
        SESAME_SMTPS_PORT: '0',
        SESAME_MX_PORT: '0',
        SESAME_HOSTNAME: 'mta.sesame.test',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
    disposers.push(async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    });
    await eventually(
      async () => {
        if (proc.exitCode !== null) throw new Error(`sesame serve exited:\n${out}`);
        return (await fetch(`http://127.0.0.1:${port}/health`)).status === 200;
      },
      30_000,
      'the child node to become healthy',
    );
    return { proc, dataDir, output: () => out };
  }

  it('sesame nodes lists three nodes with their roles; a killed node turns down, a closed one leaves', async () => {
    const inst = await installation();
    const beat = { SESAME_NODE_HEARTBEAT: '500ms' };
    const a = await inst.node({ ...beat, SESAME_ROLES: 'api,smtp' });
    const b = await inst.node({ ...beat, SESAME_ROLES: 'mx,worker' });
    // The third node is a real `sesame serve`, its roles given by the --roles flag (over SESAME_ROLES).
    const c = await serveChild({ ...inst.shared, ...beat, SESAME_ROLES: 'mx', SESAME_LOG_LEVEL: 'warn' }, 'api,worker');
    const idA = a.instance.core.nodes.nodeId;
    const idB = b.instance.core.nodes.nodeId;
    const idC = (await readFile(join(c.dataDir, 'node.id'), 'utf8')).trim();
    expect(new Set([idA, idB, idC]).size).toBe(3);

    const listed = await inst.nodes();
    expect(listed.map((n) => n.id).sort()).toEqual([idA, idB, idC].sort());
    const byId = new Map(listed.map((n) => [n.id, n]));
    expect(byId.get(idA)).toMatchObject({ state: 'up', roles: ['api', 'smtp'], pid: process.pid, heartbeatIntervalMs: 500 });
    expect(byId.get(idB)).toMatchObject({ state: 'up', roles: ['mx', 'worker'], pid: process.pid });
    expect(byId.get(idC)).toMatchObject({ state: 'up', roles: ['api', 'worker'], pid: c.proc.pid });
    for (const n of listed) {
      expect(n.hostname).not.toBe('');
      expect(n.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(Date.parse(n.lastSeen)).toBeGreaterThanOrEqual(Date.parse(n.startedAt));
    }
    // Only worker nodes run the verification job, and exactly one of them holds it.
    const holders = listed.filter((n) => n.jobs.includes('identity-verification')).map((n) => n.id);
    expect(holders.length).toBeLessThanOrEqual(1);
    if (holders.length) expect([idB, idC]).toContain(holders[0]);

    // kill -9: no clean shutdown, so its row stays and turns down after three missed heartbeats.
    c.proc.kill('SIGKILL');
    await eventually(async () => (await a.instance.core.nodes.list()).find((n) => n.id === idC)?.state === 'down', 10_000, 'the killed node to be down');
    const afterKill = new Map((await inst.nodes()).map((n) => [n.id, n]));
    expect(afterKill.get(idC)?.state).toBe('down');
    expect(afterKill.get(idA)?.state).toBe('up');
    expect(afterKill.get(idB)?.state).toBe('up');
    const text = await inst.cli(['nodes']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`${idC}\\s+down\\s+api,worker`));
    expect(text.stdout).toMatch(new RegExp(`${idA}\\s+up\\s+api,smtp`));
    expect(text.stdout).toContain('3 nodes, 2 up.');
    // The verification job is B's now (C's lease expired with its heartbeat window).
    await eventually(async () => (await a.instance.core.nodes.list()).find((n) => n.id === idB)?.jobs.includes('identity-verification'), 10_000, 'node B to take the verification job');

    // A clean shutdown removes the node from the registry at once.
    await b.close();
    const afterClose = await inst.nodes();
    expect(afterClose.map((n) => n.id).sort()).toEqual([idA, idC].sort());
  }, 120_000);

  it('DNS verification runs once per interval across the installation, on one node at a time (done-when 3)', async () => {
    const inst = await installation();
    const INTERVAL_MS = 1000;
    // A heartbeat of 1 s: the verification lease lasts 3 s, so a busy test machine does not hand it around.
    const env = { SESAME_VERIFY_INTERVAL: '1s', SESAME_NODE_HEARTBEAT: '1s', SESAME_ROLES: 'api,worker' };
    const domain = `pending-${randomBytes(4).toString('hex')}.test`;
    // When each DKIM query for the pending domain reached the DNS server. Its records are never
    // published, so every check asks for the first selector only (NXDOMAIN ends the check).
    const asked: number[] = [];
    const queries = inst.dns.queries;
    queries.push = (...items) => {
      for (const q of items) if (q.name.endsWith(`._domainkey.${domain}`)) asked.push(Date.now());
      return Array.prototype.push.apply(queries, items);
    };
    const checksOf = async (s: TestServer) => (await s.instance.metrics.verificationChecks.get()).values.reduce((n, v) => n + v.value, 0);
    const window = async (ms: number) => {
      const from = asked.length;
      await new Promise((r) => setTimeout(r, ms));
      return asked.length - from;
    };

    // One node alone: the baseline.
    const first = await inst.node(env);
    await first.sesv2({ accessKeyId: inst.shared.SESAME_ROOT_ACCESS_KEY_ID, secretAccessKey: inst.shared.SESAME_ROOT_SECRET_ACCESS_KEY }).send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));
    await eventually(async () => asked.length >= 1, 10_000, 'the first verification check');
    const WINDOW_MS = 5000;
    const alone = await window(WINDOW_MS);

    // Two more worker nodes join the installation: the checks go on at the same pace, on the first node only.
    const second = await inst.node(env);
    const third = await inst.node(env);
    const joinedBefore = [await checksOf(second), await checksOf(third)];
    const together = await window(WINDOW_MS);
    expect(joinedBefore).toEqual([0, 0]);
    expect([await checksOf(second), await checksOf(third)]).toEqual([0, 0]);

    // At most one check per interval over the installation, and about as many as one node makes.
    expect(alone).toBeGreaterThanOrEqual(2);
    expect(alone).toBeLessThanOrEqual(WINDOW_MS / INTERVAL_MS + 1);
    expect(together).toBeLessThanOrEqual(WINDOW_MS / INTERVAL_MS + 1);
    expect(together).toBeLessThanOrEqual(alone + 1);
    expect(together).toBeGreaterThanOrEqual(Math.max(2, alone - 2));
    // Every check of the installation is counted on the node that made it: the first one, for all of
    // them (a check whose DNS query was just made is counted when it ends, so the two are compared
    // between checks).
    await eventually(async () => (await checksOf(first)) === asked.length, 5000, 'every check counted on the first node');

    // The node running the job shuts down: it gives the lease up and one of the others takes over.
    await first.close();
    const handedOver = asked.length;
    await eventually(async () => asked.length >= handedOver + 2, 10_000, 'checks to go on after the first node left');
    const after = await window(WINDOW_MS);
    expect(after).toBeLessThanOrEqual(WINDOW_MS / INTERVAL_MS + 1);
    const [c2, c3] = [await checksOf(second), await checksOf(third)];
    expect(Math.min(c2, c3)).toBe(0);
    expect(c2 + c3).toBe(asked.length - handedOver);

    // Never two checks of the identity in one round, whoever made them (two nodes checking the same due
    // identity would ask within milliseconds of each other; the margin is for a busy machine's delays).
    for (let i = 1; i < asked.length; i++) expect(asked[i]! - asked[i - 1]!).toBeGreaterThanOrEqual(INTERVAL_MS / 2);
    expect(second.logs.filter((l) => l.code === 'JOB_LEASE_ACQUIRED').length + third.logs.filter((l) => l.code === 'JOB_LEASE_ACQUIRED').length).toBe(1);
  }, 120_000);
});
