/**
 * `sesame console-users` as an operator uses it, against the same data dir as a running server:
 * `add` without --password-stdin prints a generated password once, and that password signs in to
 * the console at once; `list` never shows a password or hash; `passwd` and `remove` take effect on
 * the running server; mistakes are refused with the reason and exit code 1.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, SESAME_BIN, type CliResult } from '../helpers/cli.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** `sesame …args` with `input` on standard input. */
function runCliWithInput(args: string[], env: Record<string, string | undefined>, input: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [SESAME_BIN, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

describe('sesame console-users', () => {
  let server: TestServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startTestServer();
    env = { SESAME_DATA_DIR: server.dataDir, SESAME_ROOT_ACCESS_KEY_ID: server.accessKeyId, SESAME_ROOT_SECRET_ACCESS_KEY: server.secretAccessKey };
  }, 60_000);
  afterAll(async () => server?.close());

  const signIn = async (userName: string, password: string) =>
    (await fetch(`${server.url}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userName, password }) })).status;

  it('adds a user with a generated password printed once, which signs in; list shows the user and no secret', async () => {
    const added = await runCli(['console-users', 'add', 'Carol@Example.com', '--access-key', server.accessKeyId], env);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain(`Console user carol@example.com (account ${server.instance.config.accountId}) signs in with the policy of access key ${server.accessKeyId}.`);
    expect(added.stdout).toContain('The password is shown only now');
    const password = /Password:\s+(\S+)/.exec(added.stdout)?.[1] ?? '';
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(await signIn('carol@example.com', password)).toBe(200);

    const json = await runCli(['console-users', 'add', 'dave', '--access-key', server.accessKeyId, '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    const dave = JSON.parse(json.stdout) as { UserName: string; AccessKeyId: string; Password: string };
    expect(dave).toMatchObject({ UserName: 'dave', AccessKeyId: server.accessKeyId, Password: expect.stringMatching(/^[A-Za-z0-9_-]{24}$/) });
    expect(await signIn('dave', dave.Password)).toBe(200);

    const list = await runCli(['console-users', 'list', '--json'], env);
    expect(list.code, list.stderr).toBe(0);
    const users = JSON.parse(list.stdout) as Array<{ UserName: string; AccessKeyId: string }>;
    expect(users.map((u) => u.UserName)).toEqual(expect.arrayContaining(['carol@example.com', 'dave']));
    const text = await runCli(['console-users', 'list'], env);
    expect(text.stdout).toMatch(/^USER NAME\s+ACCESS KEY ID/);
    expect(text.stdout).toContain('carol@example.com');
    for (const out of [list.stdout, text.stdout]) {
      expect(out).not.toContain(password);
      expect(out).not.toContain(dave.Password);
      expect(out).not.toContain('scrypt$');
    }
  }, 60_000); // a few CLI runs, each a fresh process

  it('passwd sets a password read from standard input (or generates one); remove removes the user', async () => {
    const added = await runCliWithInput(['console-users', 'add', 'erin', '--access-key', server.accessKeyId, '--password-stdin'], env, 'first password of erin\n');
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).not.toContain('Password:');
    expect(await signIn('erin', 'first password of erin')).toBe(200);

    const changed = await runCliWithInput(['console-users', 'passwd', 'erin', '--password-stdin'], env, 'second password of erin\r\n');
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toContain('Password of console user erin set; its console sessions have ended.');
    expect(await signIn('erin', 'first password of erin')).toBe(401);
    expect(await signIn('erin', 'second password of erin')).toBe(200);

    const generated = await runCli(['console-users', 'passwd', 'erin'], env);
    expect(generated.code, generated.stderr).toBe(0);
    const password = /Password:\s+(\S+)/.exec(generated.stdout)?.[1] ?? '';
    expect(await signIn('erin', password)).toBe(200);

    const removed = await runCli(['console-users', 'remove', 'ERIN'], env);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('Console user erin removed');
    expect(await signIn('erin', password)).toBe(401);
    expect(JSON.parse((await runCli(['console-users', 'list', '--json'], env)).stdout)).not.toContainEqual(expect.objectContaining({ UserName: 'erin' }));
  }, 60_000); // five CLI runs, each a fresh process

  it('refuses mistakes with the reason and exit code 1, changing nothing', async () => {
    const cases: Array<[string[], string, string?]> = [
      [['console-users', 'add', 'frank', '--access-key', 'AKIADOESNOTEXIST0000'], 'No access key AKIADOESNOTEXIST0000.'],
      [['console-users', 'add', 'not a name!', '--access-key', server.accessKeyId], 'Console user name "not a name!" is not valid'],
      [['console-users', 'add', 'frank', '--access-key', server.accessKeyId, '--password-stdin'], 'The password must have at least 12 characters.', 'short\n'],
      [['console-users', 'add', 'frank', '--access-key', server.accessKeyId, '--password-stdin'], '--password-stdin: standard input gave no password', ''],
      [['console-users', 'remove', 'nobody'], 'No console user nobody.'],
      [['console-users', 'passwd', 'nobody', '--password-stdin'], 'No console user nobody.', 'long enough password\n'],
    ];
    for (const [args, message, input] of cases) {
      const r = input === undefined ? await runCli(args, env) : await runCliWithInput(args, env, input);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stderr).toContain(message);
    }
    const list = JSON.parse((await runCli(['console-users', 'list', '--json'], env)).stdout) as Array<{ UserName: string }>;
    expect(list.map((u) => u.UserName)).not.toContain('frank');

    const first = await runCli(['console-users', 'add', 'gina', '--access-key', server.accessKeyId], env);
    expect(first.code).toBe(0);
    const again = await runCli(['console-users', 'add', 'Gina', '--access-key', server.accessKeyId], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Console user gina already exists.');

    const k = JSON.parse((await runCli(['keys', 'create', '--json'], env)).stdout) as { AccessKeyId: string };
    await runCli(['keys', 'revoke', k.AccessKeyId], env);
    const inactive = await runCli(['console-users', 'add', 'hank', '--access-key', k.AccessKeyId], env);
    expect(inactive.code).toBe(1);
    expect(inactive.stderr).toContain(`Access key ${k.AccessKeyId} is not active`);
  }, 90_000); // a dozen CLI runs, each a fresh process
});
