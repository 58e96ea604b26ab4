/**
 * The SMTP sink both Sesame and Postfix deliver to: Postfix's `smtp-sink` (C, the protocol ceiling)
 * when it is installed, else a counting Node `smtp-server`. Only the count of messages received
 * ("." accepted) is kept; `waitForCount` notes when a count was reached. A sink started with
 * `recordMessageIds` also keeps the Message-ID header of every message (smtp-sink appends each
 * transaction to a dump file, `-D`, read back on demand), so that a bench can check that every
 * message a server acknowledged arrived (§3).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { freePort, processCpuSeconds, waitForTcp } from './proc.ts';

const SMTP_SINK = '/usr/sbin/smtp-sink';

/** A running sink. */
export interface Sink {
  /** What it is, for the report. */
  kind: string;
  /** The exact command or setup, for the report. */
  config: string;
  port: number;
  /** Messages received so far. */
  count(): number;
  /** Resolves with performance.now() of the moment `count() >= target`, or rejects after `timeoutMs`. */
  waitForCount(target: number, timeoutMs: number): Promise<number>;
  /** CPU seconds the sink has used (in-process sinks: undefined, they share the bench process). */
  cpuSeconds(): number | undefined;
  /** Message-ID header values received so far (without <>) and how often each came, when started with `recordMessageIds`. */
  messageIds?(): Map<string, number>;
  close(): Promise<void>;
}

const MESSAGE_ID = /^Message-ID:[ \t]*<([^>\r\n]+)>/gim;

class Counter {
  n = 0;
  private waiters: Array<{ target: number; resolve: (t: number) => void }> = [];
  set(n: number): void {
    if (n <= this.n) return;
    this.n = n;
    const now = performance.now();
    this.waiters = this.waiters.filter((w) => {
      if (this.n < w.target) return true;
      w.resolve(now);
      return false;
    });
  }
  wait(target: number, timeoutMs: number): Promise<number> {
    if (this.n >= target) return Promise.resolve(performance.now());
    return new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`sink: timed out at ${this.n} of ${target} messages`));
      }, timeoutMs);
      const done = (at: number) => {
        clearTimeout(t);
        resolve(at);
      };
      this.waiters.push({ target, resolve: done });
    });
  }
}

/** Starts `smtp-sink` when available (as root it needs `-u postfix`), else a Node sink. */
export async function startSink(preferNode = false, recordMessageIds = false): Promise<Sink> {
  const port = await freePort();
  if (!preferNode && existsSync(SMTP_SINK)) {
    // The dump directory must be writable by the user smtp-sink runs as (postfix, as root).
    const dumpDir = recordMessageIds ? mkdtempSync(join(tmpdir(), 'bench-sink-')) : undefined;
    if (dumpDir) chmodSync(dumpDir, 0o777);
    const dumpFile = dumpDir ? join(dumpDir, 'dump') : undefined;
    const args = [...(process.getuid?.() === 0 ? ['-u', 'postfix'] : []), '-c', ...(dumpFile ? ['-D', dumpFile] : []), `127.0.0.1:${port}`, '1000'];
    const proc: ChildProcess = spawn(SMTP_SINK, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const killOnExit = () => proc.kill('SIGKILL');
    process.on('exit', killOnExit);
    proc.once('exit', () => process.off('exit', killOnExit));
    const counter = new Counter();
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => {
      const all = [...d.toString().matchAll(/mesg=(\d+)/g)];
      if (all.length > 0) counter.set(Number(all[all.length - 1]![1]));
    });
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    if (!(await waitForTcp(port, 5000))) throw new Error(`smtp-sink did not start: ${err}`);
    return {
      kind: 'Postfix smtp-sink (C)',
      config: `${SMTP_SINK} ${args.join(' ')}`,
      port,
      count: () => counter.n,
      waitForCount: (target, timeoutMs) => counter.wait(target, timeoutMs),
      cpuSeconds: () => (proc.pid ? processCpuSeconds(proc.pid) : undefined),
      ...(dumpFile
        ? {
            messageIds: () => {
              let text = '';
              try {
                text = readFileSync(dumpFile, 'latin1');
              } catch {
                // nothing received yet
              }
              const ids = new Map<string, number>();
              for (const m of text.matchAll(MESSAGE_ID)) ids.set(m[1]!, (ids.get(m[1]!) ?? 0) + 1);
              return ids;
            },
          }
        : {}),
      async close() {
        if (proc.exitCode === null) {
          proc.kill('SIGTERM');
          await new Promise((r) => proc.once('exit', r));
        }
        if (dumpDir) rmSync(dumpDir, { recursive: true, force: true });
      },
    };
  }
  const counter = new Counter();
  const ids = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    size: 60 * 1024 * 1024,
    onData(stream, _session, cb) {
      let head = '';
      stream.on('data', (d: Buffer) => {
        if (recordMessageIds && head.length < 65_536 && !/\r?\n\r?\n/.test(head)) head += d.toString('latin1');
      });
      stream.on('end', () => {
        if (recordMessageIds) for (const m of head.split(/\r?\n\r?\n/)[0]!.matchAll(MESSAGE_ID)) ids.set(m[1]!, (ids.get(m[1]!) ?? 0) + 1);
        counter.set(counter.n + 1);
        cb(null);
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    kind: 'Node smtp-server sink (in the bench process; smtp-sink not installed)',
    config: 'smtp-server, no TLS, no AUTH, counts messages',
    port,
    count: () => counter.n,
    waitForCount: (target, timeoutMs) => counter.wait(target, timeoutMs),
    cpuSeconds: () => undefined,
    ...(recordMessageIds ? { messageIds: () => new Map(ids) } : {}),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
