/**
 * Runs `sesame serve` as a child process exactly as an operator starts it, for tests that kill it
 * (`kill -9`) and start it again on the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { SESAME_BIN } from './cli.ts';

/** A port that was free a moment ago (the child binds it; a clash is retried in startChild). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A running child server. */
export interface Child {
  proc: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/** Spawns `node bin/sesame.js serve` and waits until /health answers 200. */
export async function startChild(env: Record<string, string>): Promise<Child> {
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    // A fixed SESAME_HTTP_PORT keeps the URLs a restarted server published (SubscribeURL, SigningCertURL) valid.
    const port = env.SESAME_HTTP_PORT ? Number(env.SESAME_HTTP_PORT) : await freePort();
    const proc = spawn(process.execPath, [SESAME_BIN, 'serve'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, SESAME_HTTP_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const keep = (d: Buffer) => {
      out += d.toString();
      if (out.length > 65_536) out = out.slice(-32_768);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) break;
      try {
        const r = await fetch(`${url}/health`);
        if (r.status === 200) return { proc, url, exited, output: () => out };
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        await exited;
        throw new Error(`sesame serve did not become healthy in 30 s:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    lastError = out;
    if (!/EADDRINUSE/.test(out)) break;
  }
  throw new Error(`sesame serve did not start:\n${lastError}`);
}

