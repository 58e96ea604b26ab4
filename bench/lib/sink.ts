/**
 * The SMTP sink both Sesame and Postfix deliver to: Postfix's `smtp-sink` (C, the protocol ceiling)
 * when it is installed, else a counting Node `smtp-server`. Only the count of messages received
 * ("." accepted) is kept; `waitForCount` notes when a count was reached.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
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
  close(): Promise<void>;
}

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
export async function startSink(preferNode = false): Promise<Sink> {
  const port = await freePort();
  if (!preferNode && existsSync(SMTP_SINK)) {
    const args = [...(process.getuid?.() === 0 ? ['-u', 'postfix'] : []), '-c', `127.0.0.1:${port}`, '1000'];
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
      async close() {
        if (proc.exitCode === null) {
          proc.kill('SIGTERM');
          await new Promise((r) => proc.once('exit', r));
        }
      },
    };
  }
  const counter = new Counter();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    size: 60 * 1024 * 1024,
    onData(stream, _session, cb) {
      stream.on('data', () => {});
      stream.on('end', () => {
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
