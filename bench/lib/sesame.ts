/**
 * Sesame as the benchmarks run it: `node bin/sesame.js serve` in a child process with a fresh data
 * dir, known root credentials, the bench DNS server and the sink as every domain's MX port; and a
 * sender domain verified the way an operator does it (CreateEmailIdentity, `sesame dns --json`,
 * publish, wait for VerifiedForSendingStatus). Every listener gets a free port picked here (the
 * SMTP submission ports too, so that a child never collides with a fixed default port), and
 * `smtpPassword` is the SES SMTP password of the bench key (§3 authenticates with it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateEmailIdentityCommand, GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { deriveSmtpPassword } from '../../src/lib/smtp-password.ts';
import { runCli, SESAME_BIN } from '../../test/helpers/cli.ts';
import type { TestDnsServer } from '../../test/helpers/dns-server.ts';
import { freePort, processCpuSeconds, sleep, waitForTcp } from './proc.ts';

/** Root credentials every bench server (Sesame and the HTTP ceiling) accepts. */
export const BENCH_KEY = { accessKeyId: 'AKIABENCHMARK0000001', secretAccessKey: 'bench-secret-access-key-0123456789abcdef', region: 'us-east-1' };

/** SMTP AUTH credentials of the bench key, as SES derives them (src/lib/smtp-password.ts). */
export const BENCH_SMTP_CREDENTIALS = { user: BENCH_KEY.accessKeyId, pass: deriveSmtpPassword(BENCH_KEY.secretAccessKey, BENCH_KEY.region) };

/** A running Sesame child. */
export interface SesameChild {
  pid: number;
  port: number;
  /** SMTP submission port (STARTTLS), SESAME_SMTP_PORT. */
  smtpPort: number;
  /** SMTP submission port (implicit TLS), SESAME_SMTPS_PORT. */
  smtpsPort: number;
  url: string;
  env: Record<string, string>;
  dataDir: string;
  cpuSeconds(): number | undefined;
  output(): string;
  /** SIGTERM, wait for the exit (a CPU profile, when asked for, is written then), remove the data dir. */
  stop(): Promise<void>;
  /** `kill -9`, and wait until the process is gone (the data dir stays). */
  kill(): Promise<void>;
}

/** Options of a bench Sesame. */
export interface SesameOptions {
  dns: TestDnsServer;
  sinkPort: number;
  /** Directory for `--cpu-prof` output; no profiling when absent. */
  profileDir?: string;
  extraEnv?: Record<string, string>;
  /** Do not wait for /health (a node without the api role has no HTTP listener). */
  noHttp?: boolean;
  /** Wait until the SMTP submission listener (STARTTLS) accepts connections too. */
  waitForSmtp?: boolean;
  /** Reuse this data dir (it is then left in place by stop()). */
  dataDir?: string;
}

/** Children still running, killed if the bench process exits without stopping them. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** Starts `sesame serve` and waits until /health answers 200. */
export async function startSesameChild(o: SesameOptions): Promise<SesameChild> {
  const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'sesame-bench-')));
  // Ports given in extraEnv are kept (a restarted node listens where its clients expect it).
  const given = (name: string) => (o.extraEnv?.[name] ? Number(o.extraEnv[name]) : undefined);
  const port = given('SESAME_HTTP_PORT') ?? (await freePort());
  const smtpPort = given('SESAME_SMTP_PORT') ?? (await freePort());
  const smtpsPort = given('SESAME_SMTPS_PORT') ?? (await freePort());
  const mxPort = given('SESAME_MX_PORT') ?? (await freePort());
  const env: Record<string, string> = {
    SESAME_DATA_DIR: dataDir,
    SESAME_HTTP_PORT: String(port),
    SESAME_SMTP_PORT: String(smtpPort),
    SESAME_SMTPS_PORT: String(smtpsPort),
    SESAME_MX_PORT: String(mxPort),
    SESAME_LISTEN_HOST: '127.0.0.1',
    SESAME_ROOT_ACCESS_KEY_ID: BENCH_KEY.accessKeyId,
    SESAME_ROOT_SECRET_ACCESS_KEY: BENCH_KEY.secretAccessKey,
    SESAME_DNS_SERVERS: o.dns.address,
    SESAME_OUTBOUND_PORT: String(o.sinkPort),
    SESAME_HOSTNAME: 'mta.sesame.bench',
    SESAME_VERIFY_INTERVAL: '200ms',
    SESAME_LOG_LEVEL: 'warn',
    ...o.extraEnv,
  };
  // SESAME_BENCH_BIN=/other/checkout/bin/sesame.js runs another checkout's Sesame (A/B between commits).
  const bin = process.env.SESAME_BENCH_BIN || SESAME_BIN;
  // Node runs Sesame as its bin's first line says (`#!/usr/bin/env -S node <flags>`), as `npx sesame serve` does.
  const shebang = /^#!\/usr\/bin\/env -S node(.*)$/m.exec(readFileSync(bin, 'utf8').split('\n')[0]!)?.[1]?.trim();
  // SESAME_BENCH_NODE_ARGS='--flag …' adds Node or V8 flags that NODE_OPTIONS does not take.
  const extraArgs = process.env.SESAME_BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
  const nodeArgs = [...(shebang ? shebang.split(/\s+/) : []), ...extraArgs, ...(o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [])];
  const proc: ChildProcess = spawn(process.execPath, [...nodeArgs, bin, 'serve'], {
    // SESAME_BENCH_CHILD_ENV='{"NODE_OPTIONS":"…"}' tries runtime settings on the nodes without changing Sesame.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...(JSON.parse(process.env.SESAME_BENCH_CHILD_ENV ?? '{}') as Record<string, string>), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 65_536) out = out.slice(-32_768);
  };
  proc.stdout!.on('data', keep);
  // SESAME_BENCH_CHILD_LOG=FILE appends the nodes' standard output there (with `--trace-gc` in SESAME_BENCH_NODE_ARGS, say).
  const childLog = process.env.SESAME_BENCH_CHILD_LOG;
  if (childLog) proc.stdout!.on('data', (d: Buffer) => appendFileSync(childLog, d));
  proc.stderr!.on('data', keep);
  running.add(proc);
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      running.delete(proc);
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (; !o.noHttp; ) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`sesame serve exited at start:\n${out}`);
    try {
      if ((await fetch(`${url}/health`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`sesame serve did not become healthy in 30 s:\n${out}`);
    }
    await sleep(50);
  }
  if (o.waitForSmtp && !(await waitForTcp(smtpPort, Math.max(1000, deadline - Date.now())))) {
    proc.kill('SIGKILL');
    throw new Error(`sesame serve does not listen for SMTP on 127.0.0.1:${smtpPort}:\n${out}`);
  }
  return {
    pid: proc.pid!,
    port,
    smtpPort,
    smtpsPort,
    url,
    env,
    dataDir,
    cpuSeconds: () => processCpuSeconds(proc.pid!),
    output: () => out,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 60_000);
        await exited;
        clearTimeout(t);
      }
      if (!o.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates `domain` with Easy DKIM of `keyLength`, publishes what `sesame dns --json` lists, waits for verification. */
export async function verifySenderDomain(s: SesameChild, dns: TestDnsServer, domain: string, keyLength: 'RSA_1024_BIT' | 'RSA_2048_BIT'): Promise<void> {
  const client = new SESv2Client({ endpoint: s.url, region: BENCH_KEY.region, credentials: BENCH_KEY, maxAttempts: 1 });
  try {
    await client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain, DkimSigningAttributes: { NextSigningKeyLength: keyLength } }));
    const r = await runCli(['dns', domain, '--json'], s.env);
    if (r.code !== 0) throw new Error(`sesame dns failed: ${r.stderr}`);
    for (const rec of JSON.parse(r.stdout) as Array<{ type: string; name: string; value: string }>) {
      if (rec.type === 'MX') {
        const [priority, exchange] = rec.value.split(/\s+/);
        dns.set(rec.name, 'MX', [{ priority: Number(priority), exchange: exchange! }]);
      } else {
        // Replace what an earlier round published for the same name (a new key each round).
        dns.set(rec.name, rec.type as 'TXT', [rec.value]);
      }
    }
    const deadline = Date.now() + 30_000;
    while (!(await client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }))).VerifiedForSendingStatus) {
      if (Date.now() > deadline) throw new Error(`${domain} did not verify in 30 s`);
      await sleep(100);
    }
  } finally {
    client.destroy();
  }
}
