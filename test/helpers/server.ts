/**
 * Starts a whole Sesame node in-process on port 0 in a temporary data dir, with known root
 * credentials and, optionally, a test DNS server; disposes of everything afterwards. Every later
 * capability's tests start Sesame through this helper.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { SESClient } from '@aws-sdk/client-ses';
import { SNSClient } from '@aws-sdk/client-sns';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import pg from 'pg';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { startSesame, type SesameInstance, type StartOptions } from '../../src/main/app.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { MIGRATION_LOCK_KEY } from '../../src/storage/postgres/index.ts';
import { TestDnsServer } from './dns-server.ts';

/** Which storage backends the current environment can test. */
export function testBackends(): Array<'sqlite' | 'postgres'> {
  return process.env.SESAME_TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
}

/** Options of a test server. */
export interface TestServerOptions {
  backend?: 'sqlite' | 'postgres';
  dns?: TestDnsServer;
  /** Extra SESAME_* variables. */
  env?: Record<string, string>;
  /** Typed overrides applied after the environment. */
  overrides?: Partial<Config>;
  start?: StartOptions;
  /** Reuse a data dir (restart tests); it is then not deleted on close. */
  dataDir?: string;
}

/** A running test server and clients pointed at it. */
export interface TestServer {
  instance: SesameInstance;
  url: string;
  /** Bound SMTP submission ports: STARTTLS (SESAME_SMTP_PORT) and implicit TLS (SESAME_SMTPS_PORT). */
  smtpPort: number;
  smtpsPort: number;
  /** Bound MX port (SESAME_MX_PORT). */
  mxPort: number;
  dataDir: string;
  accessKeyId: string;
  secretAccessKey: string;
  databaseUrl?: string;
  /** Log lines the server wrote (JSON objects). */
  logs: Array<Record<string, unknown>>;
  sesv2(credentials?: { accessKeyId: string; secretAccessKey: string }, extra?: Record<string, unknown>): SESv2Client;
  ses(credentials?: { accessKeyId: string; secretAccessKey: string }, extra?: Record<string, unknown>): SESClient;
  /** An SNS client for the SNS-compatible topic API (destroyed with the server). */
  sns(credentials?: { accessKeyId: string; secretAccessKey: string }, extra?: Record<string, unknown>): SNSClient;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A fresh PostgreSQL schema on SESAME_TEST_DATABASE_URL, and a function that drops it. */
export async function freshPostgresSchema(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = process.env.SESAME_TEST_DATABASE_URL;
  if (!base) throw new Error('SESAME_TEST_DATABASE_URL is not set');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const u = new URL(base);
  u.searchParams.set('schema', schema);
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        // Under the migration lock: a node migrating another schema meanwhile reads every schema's catalog.
        await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A connected client of the test database on the schema of `url` (a `freshPostgresSchema` URL); `end()` it. */
export async function schemaClient(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: process.env.SESAME_TEST_DATABASE_URL, options: `-c search_path=${new URL(url).searchParams.get('schema')}` });
  await c.connect();
  return c;
}

/** A log destination that parses the node's JSON lines into `into`. */
export function logSink(into: Array<Record<string, unknown>>): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) into.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
}

/** Every listener of a node on a free loopback port: tests run in parallel. */
export const FREE_PORTS_ENV = {
  SESAME_HTTP_PORT: '0',
  SESAME_SMTP_PORT: '0',
  SESAME_SMTPS_PORT: '0',
  SESAME_MX_PORT: '0',
  SESAME_LISTEN_HOST: '127.0.0.1',
} as const;

/** Starts Sesame on loopback port 0. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'sesame-test-')));
  const accessKeyId = `AKIATEST${randomBytes(6).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(30).toString('base64');
  let pgSchema: { url: string; drop: () => Promise<void> } | undefined;
  if (options.backend === 'postgres') pgSchema = await freshPostgresSchema();
  // Never let a test server reach the system's resolvers: without a DNS server of its own, it gets an
  // empty one on loopback (every name NXDOMAIN), so mail it sends bounces at once instead of leaving the machine.
  const ownDns = options.dns ? undefined : await TestDnsServer.start();
  const dns = options.dns ?? ownDns!;
  const logs: Array<Record<string, unknown>> = [];
  const sink = logSink(logs);
  const env: NodeJS.ProcessEnv = {
    SESAME_DATA_DIR: dataDir,
    ...FREE_PORTS_ENV,
    SESAME_HOSTNAME: 'mta.sesame.test',
    SESAME_VERIFY_INTERVAL: '200ms',
    SESAME_ROOT_ACCESS_KEY_ID: accessKeyId,
    SESAME_ROOT_SECRET_ACCESS_KEY: secretAccessKey,
    SESAME_LOG_LEVEL: 'debug',
    SESAME_DNS_SERVERS: dns.address,
    // The worker thread (SQLite's default, ADR 0019) costs about 0.7 s per start: tests that are
    // about delivery in the default mode ask for it (worker-thread, burst, event-publishing), the
    // rest run the role on the main thread. SESAME_TEST_WORKER_THREAD=true runs every test with it.
    SESAME_WORKER_THREAD: process.env.SESAME_TEST_WORKER_THREAD ?? 'false',
    ...(pgSchema ? { SESAME_DATABASE_URL: pgSchema.url } : {}),
    ...options.env,
  };
  const config = loadConfig(env, options.overrides);
  let instance: SesameInstance;
  try {
    // The worker thread's lines reach `logs` too.
    instance = await startSesame(config, { logger: createLogger(config.logLevel, sink), logDestination: sink, ...options.start });
  } catch (err) {
    await pgSchema?.drop();
    await ownDns?.close();
    if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const url = instance.httpUrl!;
  const clients: Array<{ destroy(): void }> = [];
  let closed = false;
  const server: TestServer = {
    instance,
    url,
    smtpPort: instance.smtpPort ?? 0,
    smtpsPort: instance.smtpsPort ?? 0,
    mxPort: instance.mxPort ?? 0,
    dataDir,
    accessKeyId,
    secretAccessKey,
    databaseUrl: pgSchema?.url,
    logs,
    sesv2(credentials = { accessKeyId, secretAccessKey }, extra = {}) {
      const c = new SESv2Client({ endpoint: url, region: config.region, credentials, maxAttempts: 1, ...extra });
      clients.push(c);
      return c;
    },
    ses(credentials = { accessKeyId, secretAccessKey }, extra = {}) {
      const c = new SESClient({ endpoint: url, region: config.region, credentials, maxAttempts: 1, ...extra });
      clients.push(c);
      return c;
    },
    sns(credentials = { accessKeyId, secretAccessKey }, extra = {}) {
      const c = new SNSClient({ endpoint: url, region: config.region, credentials, maxAttempts: 1, ...extra });
      clients.push(c);
      return c;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const c of clients) c.destroy();
      await instance.close();
      await ownDns?.close();
      await pgSchema?.drop();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
    [Symbol.asyncDispose]() {
      return server.close();
    },
  };
  return server;
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (no fixed sleeps in tests). */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
