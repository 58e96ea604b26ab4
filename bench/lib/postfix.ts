/**
 * The Postfix reference of BENCHMARKS §2: Debian's Postfix on loopback with `relayhost` = the sink,
 * default durability (a queue file is flushed before `250`), configured exactly as
 * shared/reference/ecosystem-notes.md says; the load comes from Postfix's own `smtp-source`.
 * Nothing is installed here: when Postfix is missing the reference is reported unavailable.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { treeCpuSeconds, waitForTcp } from './proc.ts';
import type { Sink } from './sink.ts';

const POSTFIX = '/usr/sbin/postfix';
const POSTCONF = '/usr/sbin/postconf';
const SMTP_SOURCE = '/usr/sbin/smtp-source';
const MASTER_PID = '/var/spool/postfix/pid/master.pid';

/** The `postconf -e` settings (the relayhost port is the sink's). */
export function postfixSettings(sinkPort: number): string[] {
  return [
    'mydestination =',
    `relayhost = [127.0.0.1]:${sinkPort}`,
    'inet_interfaces = loopback-only',
    'inet_protocols = ipv4',
    'default_destination_concurrency_limit = 20',
    'smtp_destination_concurrency_limit = 20',
    'smtp_dns_support_level = disabled',
    'smtputf8_enable = no',
    'maillog_file = /var/log/postfix.log',
    'myhostname = mta.bench.test',
    'default_transport = smtp',
    'relay_transport = smtp',
  ];
}

/** A configured, running Postfix. */
export interface Postfix {
  version: string;
  settings: string[];
  masterPid(): number | undefined;
  /** One relay run: `smtp-source` → :25 → Postfix → the sink; times from the first connection. */
  relay(n: number, sessions: number, bytes: number, sink: Sink, timeoutMs: number): Promise<PostfixRound>;
  stop(): Promise<void>;
}

/** What one Postfix relay run measured. */
export interface PostfixRound {
  messages: number;
  /** smtp-source start → its exit (every message accepted with 250). */
  acceptSeconds: number;
  /** smtp-source start → the last message at the sink. */
  e2eSeconds: number;
  acceptRate: number;
  e2eRate: number;
  postfixCpuSeconds: number | undefined;
  sourceCpuSeconds: number | undefined;
  sinkCpuSeconds: number | undefined;
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** Why Postfix cannot be the reference here, or undefined when it can. */
export function postfixUnavailable(): string | undefined {
  for (const f of [POSTFIX, POSTCONF, SMTP_SOURCE]) if (!existsSync(f)) return `${f} is not installed (Debian package postfix)`;
  if (process.getuid?.() !== 0) return 'Postfix can only be configured and started as root';
  return undefined;
}

/** Configures Postfix for the sink and starts it (or reloads it when it is already running). */
export async function startPostfix(sink: Sink): Promise<Postfix> {
  const settings = postfixSettings(sink.port);
  run(POSTCONF, ['-e', ...settings]);
  const version = run(POSTCONF, ['-h', 'mail_version']).trim();
  let startedHere = false;
  let running = false;
  try {
    run(POSTFIX, ['status']);
    running = true;
  } catch {
    running = false;
  }
  if (existsSync('/usr/lib/postfix/configure-instance.sh')) run('/usr/lib/postfix/configure-instance.sh', ['-']);
  run(POSTFIX, ['check']);
  if (running) run(POSTFIX, ['reload']);
  else {
    run(POSTFIX, ['start']);
    startedHere = true;
  }
  // An empty queue: leftovers of an interrupted earlier run would be counted at the sink.
  try {
    run('/usr/sbin/postsuper', ['-d', 'ALL']);
  } catch {
    // nothing queued
  }
  const masterPid = () => {
    try {
      return Number(readFileSync(MASTER_PID, 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  };
  if (!(await waitForTcp(25, 10_000))) throw new Error('Postfix smtpd does not answer on 127.0.0.1:25');
  return {
    version,
    settings,
    masterPid,
    async relay(n, sessions, bytes, sink, timeoutMs) {
      const pid = masterPid();
      const cpu0 = pid ? treeCpuSeconds(pid) : undefined;
      const sinkCpu0 = sink.cpuSeconds();
      const base = sink.count();
      const timeDir = mkdtempSync(join(tmpdir(), 'bench-time-'));
      const timeFile = join(timeDir, 'time');
      const t0 = performance.now();
      const delivered = sink.waitForCount(base + n, timeoutMs);
      await new Promise<void>((resolve, reject) => {
        execFile(
          '/usr/bin/time',
          ['-f', '%U %S', '-o', timeFile, SMTP_SOURCE, '-s', String(sessions), '-m', String(n), '-l', String(bytes), '-f', 'bench@sender.bench.test', '-t', 'to@dest.bench.test', '127.0.0.1:25'],
          { maxBuffer: 16 * 1024 * 1024 },
          (err) => (err ? reject(err) : resolve()),
        );
      });
      const accepted = performance.now();
      const done = await delivered;
      const cpu1 = pid ? treeCpuSeconds(pid) : undefined;
      let sourceCpu: number | undefined;
      try {
        const [u, s] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number);
        sourceCpu = (u ?? 0) + (s ?? 0);
      } catch {
        sourceCpu = undefined;
      }
      rmSync(timeDir, { recursive: true, force: true });
      const sinkCpu1 = sink.cpuSeconds();
      const acceptSeconds = (accepted - t0) / 1000;
      const e2eSeconds = (done - t0) / 1000;
      return {
        messages: n,
        acceptSeconds,
        e2eSeconds,
        acceptRate: n / acceptSeconds,
        e2eRate: n / e2eSeconds,
        postfixCpuSeconds: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined,
        sourceCpuSeconds: sourceCpu,
        sinkCpuSeconds: sinkCpu0 !== undefined && sinkCpu1 !== undefined ? sinkCpu1 - sinkCpu0 : undefined,
      };
    },
    async stop() {
      if (startedHere) {
        try {
          run(POSTFIX, ['stop']);
        } catch {
          // already stopped
        }
      }
    },
  };
}
