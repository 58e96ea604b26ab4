/** Runs the real `sesame` command (bin/sesame.js) as a child process, the way an operator does. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Path of the `sesame` executable script. */
export const SESAME_BIN = fileURLToPath(new URL('../../bin/sesame.js', import.meta.url));

/** Result of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `sesame ...args` with the given environment (merged over a minimal one). */
export function runCli(args: string[], env: Record<string, string | undefined>, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SESAME_BIN, ...args],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
