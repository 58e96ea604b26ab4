/**
 * The Postfix reference of BENCHMARKS §2 and §3: Debian's Postfix on loopback with `relayhost` = the
 * sink, default durability (a queue file is flushed before `250`), configured exactly as
 * shared/reference/ecosystem-notes.md says; §2's load comes from Postfix's own `smtp-source`, §3's
 * from bench/lib/smtp-load.ts. For §3 smtpd also offers STARTTLS as Debian's default main.cf does
 * (`smtpd_tls_security_level = may` with a self-signed "snakeoil" RSA-2048 certificate, made here
 * with openssl because this machine has no ssl-cert package); those settings are undone by stop().
 * Nothing is installed here: when Postfix is missing the reference is reported unavailable.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { treeCpuSeconds, waitForTcp } from './proc.ts';
import type { Sink } from './sink.ts';

const POSTFIX = '/usr/sbin/postfix';
const POSTCONF = '/usr/sbin/postconf';
const SMTP_SOURCE = '/usr/sbin/smtp-source';
const MASTER_PID = '/var/spool/postfix/pid/master.pid';
const OPENSSL = '/usr/bin/openssl';
/** What Debian's default main.cf says about smtpd TLS (the certificate paths are ours). */
const TLS_PARAMS = ['smtpd_tls_cert_file', 'smtpd_tls_key_file', 'smtpd_tls_security_level'] as const;

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
  /** Whether smtpd offers STARTTLS (started with `tls` and the certificate could be made). */
  tls: boolean;
  /** Why smtpd offers no STARTTLS although asked to, if so. */
  tlsUnavailable?: string;
  /** Undoes the TLS settings (when made) and stops Postfix if it was started here. */
  stop(): Promise<void>;
}

/** Options of startPostfix. */
export interface PostfixOptions {
  /** Offer STARTTLS on smtpd with a fresh self-signed certificate, as Debian's default does (§3). */
  tls?: boolean;
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

/**
 * The protocol ceiling of BENCHMARKS ("nothing that speaks SMTP on this machine goes faster"):
 * Postfix's `smtp-source` straight into the sink, `sessions` at a time, a new connection per
 * message or (`reuse`) all messages of a session over one connection (`-d`). Messages per second
 * from start to exit; undefined when smtp-source is not installed.
 */
export async function protocolCeiling(sinkPort: number, n: number, sessions: number, bytes: number, reuse: boolean): Promise<number | undefined> {
  if (!existsSync(SMTP_SOURCE)) return undefined;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    execFile(SMTP_SOURCE, [...(reuse ? ['-d'] : []), '-s', String(sessions), '-m', String(n), '-l', String(bytes), '-f', 'bench@sender.bench.test', '-t', 'to@dest.bench.test', `127.0.0.1:${sinkPort}`], { maxBuffer: 16 * 1024 * 1024 }, (err) =>
      err ? reject(err) : resolve(),
    );
  });
  return n / ((performance.now() - t0) / 1000);
}

/** Why Postfix cannot be the reference here, or undefined when it can. */
export function postfixUnavailable(): string | undefined {
  for (const f of [POSTFIX, POSTCONF, SMTP_SOURCE]) if (!existsSync(f)) return `${f} is not installed (Debian package postfix)`;
  if (process.getuid?.() !== 0) return 'Postfix can only be configured and started as root';
  return undefined;
}

/** Configures Postfix for the sink and starts it (or reloads it when it is already running). */
export async function startPostfix(sink: Sink, options: PostfixOptions = {}): Promise<Postfix> {
  const settings = postfixSettings(sink.port);
  // TLS settings of §3, with what was there before so that stop() can put it back.
  let tlsDir: string | undefined;
  let tlsUnavailable: string | undefined;
  let restoreTls: string[][] | undefined;
  if (options.tls) {
    try {
      if (!existsSync(OPENSSL)) throw new Error(`${OPENSSL} is not installed`);
      tlsDir = mkdtempSync(join(tmpdir(), 'bench-postfix-tls-'));
      const cert = join(tlsDir, 'ssl-cert-snakeoil.pem');
      const key = join(tlsDir, 'ssl-cert-snakeoil.key');
      run(OPENSSL, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=mta.bench.test', '-keyout', key, '-out', cert]);
      chmodSync(tlsDir, 0o755);
      chmodSync(cert, 0o644);
      chmodSync(key, 0o600);
      const explicit = new Set(run(POSTCONF, ['-n']).split('\n').map((l) => l.split('=')[0]!.trim()));
      restoreTls = TLS_PARAMS.map((p) => (explicit.has(p) ? ['-e', `${p} = ${run(POSTCONF, ['-h', p]).trim()}`] : ['-X', p]));
      settings.push(`smtpd_tls_cert_file = ${cert}`, `smtpd_tls_key_file = ${key}`, 'smtpd_tls_security_level = may');
    } catch (err) {
      tlsUnavailable = `no certificate for smtpd: ${(err as Error).message}`;
      if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
      tlsDir = undefined;
    }
  }
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
    tls: tlsDir !== undefined,
    ...(tlsUnavailable ? { tlsUnavailable } : {}),
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
      if (restoreTls) {
        try {
          for (const r of restoreTls) run(POSTCONF, r);
          if (!startedHere) run(POSTFIX, ['reload']);
        } catch {
          // best effort: the next startPostfix sets what it needs
        }
      }
      if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
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

/**
 * BENCHMARKS §4's reference: Postfix smtpd as the MX of `domain`, taking mail for it from any
 * client (`relay_domains`) and handing it to the local `discard` transport (a transport map entry
 * for that domain only, so that the relay settings of §2 and §3 stay as they are). Everything else
 * is Postfix's default, durability included: cleanup flushes the queue file before smtpd's `250`,
 * and qmgr → discard then removes it.
 */
export function postfixDiscardSettings(domain: string): string[] {
  return [
    'mydestination =',
    'inet_interfaces = loopback-only',
    'inet_protocols = ipv4',
    'smtputf8_enable = no',
    'maillog_file = /var/log/postfix.log',
    'myhostname = mta.bench.test',
    `relay_domains = ${domain}`,
    `transport_maps = inline:{ ${domain}=discard:bench }`,
  ];
}

/** Parameters that §4 sets and that other sections leave alone: put back by stop(). */
const DISCARD_PARAMS = ['relay_domains', 'transport_maps', 'default_process_limit'] as const;

/** A running Postfix configured as §4's discarding MX. */
export interface PostfixDiscard {
  version: string;
  settings: string[];
  masterPid(): number | undefined;
  /** Files in Postfix's queue directories (incoming, active, deferred, hold, maildrop). */
  queued(): number;
  /** Waits until the queue is empty; performance.now() of that moment, or rejects after `timeoutMs`. */
  drained(timeoutMs: number): Promise<number>;
  /**
   * Sets `default_process_limit` (undefined: Postfix's default, 100) and restarts Postfix (stop,
   * start: master sizes smtpd's listen backlog from the process limit only when it starts).
   */
  restart(processLimit: number | undefined): Promise<void>;
  /** The process limit in force (Postfix's default when none was set here). */
  processLimit(): number;
  /** Puts back relay_domains, transport_maps and default_process_limit, and stops Postfix if it was started here. */
  stop(): Promise<void>;
}

/** Configures Postfix as the discarding MX of `domain` and starts (or reloads) it, with an empty queue. */
export async function startPostfixDiscard(domain: string): Promise<PostfixDiscard> {
  const settings = postfixDiscardSettings(domain);
  const explicit = new Set(run(POSTCONF, ['-n']).split('\n').map((l) => l.split('=')[0]!.trim()));
  const restore = DISCARD_PARAMS.map((p) => (explicit.has(p) ? ['-e', `${p} = ${run(POSTCONF, ['-h', p]).trim()}`] : ['-X', p]));
  run(POSTCONF, ['-e', ...settings]);
  const version = run(POSTCONF, ['-h', 'mail_version']).trim();
  const queueDir = run(POSTCONF, ['-h', 'queue_directory']).trim();
  let running: boolean;
  try {
    run(POSTFIX, ['status']);
    running = true;
  } catch {
    running = false;
  }
  if (existsSync('/usr/lib/postfix/configure-instance.sh')) run('/usr/lib/postfix/configure-instance.sh', ['-']);
  run(POSTFIX, ['check']);
  if (running) run(POSTFIX, ['reload']);
  else run(POSTFIX, ['start']);
  const startedHere = !running;
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
  const queued = () => {
    let n = 0;
    for (const q of ['maildrop', 'incoming', 'active', 'deferred', 'hold']) {
      try {
        n += readdirSync(join(queueDir, q), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
      } catch {
        // no such queue
      }
    }
    return n;
  };
  if (!(await waitForTcp(25, 10_000))) throw new Error('Postfix smtpd does not answer on 127.0.0.1:25');
  return {
    version,
    settings,
    masterPid,
    queued,
    async restart(processLimit) {
      if (processLimit === undefined) run(POSTCONF, ['-X', 'default_process_limit']);
      else run(POSTCONF, ['-e', `default_process_limit = ${processLimit}`]);
      try {
        run(POSTFIX, ['stop']);
      } catch {
        // not running
      }
      // `postfix start` refuses while the old master still holds its lock.
      for (let i = 0; i < 100; i++) {
        try {
          run(POSTFIX, ['status']);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      run(POSTFIX, ['start']);
      if (!(await waitForTcp(25, 10_000))) throw new Error('Postfix smtpd does not answer on 127.0.0.1:25 after the restart');
    },
    processLimit: () => Number(run(POSTCONF, ['-h', 'default_process_limit']).trim()),
    async drained(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (queued() === 0) return performance.now();
        if (Date.now() > deadline) throw new Error(`Postfix queue: ${queued()} files still queued after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      try {
        for (const r of restore) run(POSTCONF, r);
        if (!startedHere) run(POSTFIX, ['reload']);
      } catch {
        // best effort
      }
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
