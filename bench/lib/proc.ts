/** Process helpers for the benchmarks: free ports, CPU time of other processes from /proc, waiting. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { procStatFields } from '../../test/helpers/proc-stat.ts';

/** Clock ticks per second of /proc/<pid>/stat times. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** A loopback TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Fields of /proc/<pid>/stat after the command name (index 0 = field 3, "state"). */
const statFields = (pid: number): string[] | undefined => procStatFields(`/proc/${pid}/stat`);

/** User + system CPU seconds a live process has used (undefined once it is gone). */
export function processCpuSeconds(pid: number): number | undefined {
  const f = statFields(pid);
  if (!f) return undefined;
  // Fields 14 (utime) and 15 (stime) → indexes 11 and 12 here.
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** A node's CPU seconds by thread: main, the threads that run nicer than main, the rest. */
export interface ThreadCpu {
  /** The thread whose id is the pid (a Sesame node's event loop: HTTP, SMTP, the group commit). */
  main: number;
  /** Threads nicer than main: a SQLite node's worker thread (ADR 0023). */
  nicer: number;
  /** Everything else, threads that have ended included: DKIM threads, V8's helpers (GC), libuv's pool. */
  other: number;
}

/** CPU seconds of a live process's threads, grouped as ThreadCpu says (/proc/PID/task); undefined once it is gone. */
export function threadCpuSeconds(pid: number): ThreadCpu | undefined {
  const all = statFields(pid);
  if (!all) return undefined;
  const total = Number(all[11]) + Number(all[12]);
  // Field 19 (nice) → index 16.
  const nice = Number(all[16]);
  let main = 0;
  let nicer = 0;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  for (const tid of tids) {
    const f = procStatFields(`/proc/${pid}/task/${tid}/stat`);
    if (!f) continue;
    const ticks = Number(f[11]) + Number(f[12]);
    if (Number(tid) === pid) main = ticks;
    else if (Number(f[16]) > nice) nicer += ticks;
  }
  return { main: main / CLK_TCK, nicer: nicer / CLK_TCK, other: Math.max(0, total - main - nicer) / CLK_TCK };
}

/** Milliseconds of CPU per message between two ThreadCpu readings. */
export function threadCpuPerMessage(a: ThreadCpu | undefined, b: ThreadCpu | undefined, messages: number): ThreadCpu | undefined {
  if (!a || !b || messages <= 0) return undefined;
  const per = (k: keyof ThreadCpu) => ((b[k] - a[k]) * 1000) / messages;
  return { main: per('main'), nicer: per('nicer'), other: per('other') };
}

/**
 * CPU seconds of a process and its direct children: the root's own time, the time of children it
 * has reaped (cutime + cstime) and the time of children still alive. For Postfix's master this
 * covers smtpd, cleanup, qmgr, smtp and the rest; a child that exits between two readings moves
 * from the live sum into the reaped sum, so the difference of two readings stays right.
 */
export function treeCpuSeconds(rootPid: number): number | undefined {
  const root = statFields(rootPid);
  if (!root) return undefined;
  let ticks = Number(root[11]) + Number(root[12]) + Number(root[13]) + Number(root[14]);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    // Field 4 (ppid) → index 1.
    if (f && Number(f[1]) === rootPid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / CLK_TCK;
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The median of a list of numbers. */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Waits until something accepts TCP connections on 127.0.0.1:`port`; false after `timeoutMs`. */
export async function waitForTcp(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.on('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

/** Resident memory of a process from /proc/<pid>/status: now (VmRSS) and its peak (VmHWM), in bytes. */
export function memoryOf(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kib('VmRSS'), peak: kib('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Resets a process's peak RSS (VmHWM) to its current RSS (Linux: "5" to /proc/<pid>/clear_refs); false when not allowed. */
export function resetPeakMemory(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
