/**
 * Done-when 1 of the foundation, as a new user meets it: `sesame serve` in an empty directory starts
 * on embedded SQLite, prints generated credentials once, answers /health, serves the SDK with those
 * credentials, and stops cleanly on Ctrl-C (SIGINT); a restart keeps the credentials and does not
 * print them again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListEmailIdentitiesCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, describe, expect, it } from 'vitest';
import { SESAME_BIN } from '../helpers/cli.ts';
import { eventually } from '../helpers/server.ts';

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  url: string;
  exited: Promise<number | null>;
}

async function serve(cwd: string): Promise<Running> {
  const child = spawn(process.execPath, [SESAME_BIN, 'serve'], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, SESAME_HTTP_PORT: '0', SESAME_VERIFY_INTERVAL: '1m' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const started = Date.now();
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /"code":"HTTP_LISTENING","url":"([^"]+)"/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      } else if (Date.now() - started > 20_000 || child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`sesame serve did not start:\n${out}\n${err}`));
      }
    }, 50);
  });
  return { child, stdout: () => out, stderr: () => err, url, exited };
}

const dirs: string[] = [];
/** Every `sesame serve` started, so that one a failed test left running is stopped (it holds the default ports). */
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('sesame serve', () => {
  it('starts on SQLite, prints credentials once, is healthy, and stops cleanly on SIGINT', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'sesame-serve-'));
    dirs.push(cwd);
    const t0 = Date.now();
    const first = await serve(cwd);
    // The HTTP port answers first; /health says 503 until SMTP and MX listen too, then 200.
    const health = await eventually(async () => {
      const r = await fetch(`${first.url}/health`);
      return r.status === 200 ? r : undefined;
    }, 10_000, '/health to answer 200');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', storage: 'ok' });
    expect(Date.now() - t0).toBeLessThan(10_000);

    // The banner is written once the node is up; it reaches this side of the pipe a moment later.
    await eventually(async () => /SMTP password:/.test(first.stderr()), 10_000, 'the credentials banner');
    const id = /AWS_ACCESS_KEY_ID=(\S+)/.exec(first.stderr())?.[1];
    const secret = /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(first.stderr())?.[1];
    expect(id).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(secret).toHaveLength(40);
    expect(first.stderr()).toMatch(/SMTP password: +B[A-Za-z0-9+/]{43}/);
    await stat(join(cwd, 'data', 'sesame.db'));

    const client = new SESv2Client({ endpoint: first.url, region: 'us-east-1', credentials: { accessKeyId: id!, secretAccessKey: secret! } });
    expect((await client.send(new ListEmailIdentitiesCommand({}))).EmailIdentities).toEqual([]);

    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(first.stdout()).toContain('"code":"SHUTDOWN_COMPLETE"');
    // The ready line says where the web console is.
    expect(first.stdout()).toContain(`"console":"${first.url}/console"`);

    const second = await serve(cwd);
    expect(second.stderr()).not.toContain('AWS_SECRET_ACCESS_KEY');
    const again = new SESv2Client({ endpoint: second.url, region: 'us-east-1', credentials: { accessKeyId: id!, secretAccessKey: secret! } });
    expect((await again.send(new ListEmailIdentitiesCommand({}))).EmailIdentities).toEqual([]);
    client.destroy();
    again.destroy();
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('shuts down cleanly on a SIGTERM that arrives while it is still starting (HTTP open, the rest not yet)', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'sesame-serve-'));
    dirs.push(cwd);
    const node = await serve(cwd);
    // At once: the HTTP port is announced before SMTP, the MX and the workers are up.
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
    expect(node.stdout()).toContain('"code":"SHUTDOWN_COMPLETE"');
  });

  it('refuses to start with a master key that does not open the stored secrets', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'sesame-serve-'));
    dirs.push(cwd);
    const first = await serve(cwd);
    first.child.kill('SIGTERM');
    await first.exited;
    const child = spawn(process.execPath, [SESAME_BIN, 'serve'], {
      cwd,
      env: { PATH: process.env.PATH, SESAME_HTTP_PORT: '0', SESAME_MASTER_KEY: Buffer.alloc(32, 9).toString('base64') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(err).toContain('the master key (SESAME_MASTER_KEY or master.key in the data dir) does not open the secrets');
  });

  it('refuses a bad configuration with a readable message and exit code 2', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'sesame-serve-'));
    dirs.push(cwd);
    const child = spawn(process.execPath, [SESAME_BIN, 'serve'], { cwd, env: { PATH: process.env.PATH, SESAME_HTTP_PORT: 'eighty' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err).toContain('sesame: configuration error: SESAME_HTTP_PORT: "eighty" is not a TCP port');
  });
});
