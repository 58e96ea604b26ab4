/**
 * Console users over HTTP, as a browser and an operator see them: a user added with
 * `sesame console-users add` signs in with its name and password and acts with its access key's
 * policy; a wrong password and an unknown user are refused alike; after five failures for a name
 * (or twenty from one address; three here) even the right password gets 429 with Retry-After;
 * revoking the user's key, removing the user or changing its password ends its sessions; the
 * database holds an scrypt hash, never the password. On SQLite, and on PostgreSQL when
 * SESAME_TEST_DATABASE_URL is set.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, SESAME_BIN, type CliResult } from '../helpers/cli.ts';
import { consoleCall, consoleSignInUser, type ConsoleCallOptions } from '../helpers/console.ts';
import { startTestServer, testBackends, type TestServer } from '../helpers/server.ts';

const WRONG = 'The user name or the password is not correct.';

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

/** The raw `console_users` row of a user, read with the database's own driver (not Sesame's code). */
async function userRow(server: TestServer, name: string): Promise<Record<string, unknown> | undefined> {
  if (!server.databaseUrl) {
    const db = new BetterSqlite3(join(server.dataDir, 'sesame.db'), { readonly: true });
    try {
      return db.prepare('SELECT * FROM console_users WHERE name = ?').get(name) as Record<string, unknown> | undefined;
    } finally {
      db.close();
    }
  }
  const u = new URL(server.databaseUrl);
  const schema = u.searchParams.get('schema')!;
  u.searchParams.delete('schema');
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    const r = await c.query(`SELECT * FROM "${schema}".console_users WHERE name = $1`, [name]);
    return r.rows[0] as Record<string, unknown> | undefined;
  } finally {
    await c.end();
  }
}

describe.each(testBackends())('console users (%s)', (backend) => {
  let server: TestServer;
  let env: Record<string, string>;
  let n = 0;
  const fresh = (prefix = 'user') => `${prefix}${++n}-${backend}@example.com`;

  beforeAll(async () => {
    // The per-address brake is set out of reach here (its own describe below tests it), so that the
    // failures these tests cause for their names never add up to an address lockout.
    server = await startTestServer({ backend, env: { SESAME_CONSOLE_SIGN_IN_MAX_FAILURES_PER_CLIENT: '10000' } });
    env = { SESAME_DATA_DIR: server.dataDir, SESAME_ROOT_ACCESS_KEY_ID: server.accessKeyId, SESAME_ROOT_SECRET_ACCESS_KEY: server.secretAccessKey, ...(server.databaseUrl ? { SESAME_DATABASE_URL: server.databaseUrl } : {}) };
  }, 60_000);
  afterAll(() => server?.close());

  const call = (method: string, path: string, options: ConsoleCallOptions = {}) => consoleCall(server, method, path, options);
  const signInAs = (userName: string, password: string) => call('POST', '/console/api/session', { body: { userName, password } });
  /** Signs in as the user, expecting a session. */
  const session = (userName: string, password: string) => consoleSignInUser(server, userName, password);

  /** A new access key (through the CLI) with an optional policy. */
  async function newKey(policy?: unknown): Promise<{ AccessKeyId: string; SecretAccessKey: string }> {
    const r = await runCli(['keys', 'create', '--json', ...(policy ? ['--policy', JSON.stringify(policy)] : [])], env);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { AccessKeyId: string; SecretAccessKey: string };
  }

  /** A user added through core (the CLI's own test and the first test here cover the command). */
  async function newUser(accessKeyId = server.accessKeyId): Promise<{ name: string; password: string }> {
    const name = fresh();
    const password = `pw-${name}-correct horse`;
    await server.instance.core.consoleUsers.add({ name, accessKeyId, password });
    return { name, password };
  }

  it('a user added with the CLI signs in with its password, reads the account, and GET session names the user', async () => {
    const name = fresh('Ann.');
    const password = 'a long enough password, 1';
    const added = await runCliWithInput(['console-users', 'add', name, '--access-key', server.accessKeyId, '--password-stdin'], env, `${password}\n`);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain(`Console user ${name.toLowerCase()}`);
    expect(added.stdout).not.toContain(password);

    // Names are case-insensitive; the session acts with the user's key.
    const s = await session(name.toUpperCase(), password);
    expect(s.answer.body).toMatchObject({ userName: name.toLowerCase(), accessKeyId: server.accessKeyId, accountId: expect.any(String) });
    expect(JSON.stringify(s.answer.body)).not.toContain(password);
    const account = await call('GET', '/console/api/account', { cookie: s.cookie });
    expect(account.status).toBe(200);
    expect(account.body).toMatchObject({ quota: { max24HourSend: expect.any(Number) }, sentLast24Hours: expect.any(Number) });
    const me = await call('GET', '/console/api/session', { cookie: s.cookie });
    expect(me).toMatchObject({ status: 200, body: { userName: name.toLowerCase(), accessKeyId: server.accessKeyId, csrfToken: s.csrf } });
    expect(server.logs.some((l) => l.code === 'CONSOLE_SIGN_IN' && l.userName === name.toUpperCase())).toBe(true);

    // A key sign-in's session names no user.
    const byKey = await call('POST', '/console/api/session', { body: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } });
    expect(byKey.status).toBe(200);
    expect(byKey.body.userName).toBeUndefined();

    // Signing out ends the user's session like any other.
    expect((await call('DELETE', '/console/api/session', { cookie: s.cookie, csrf: s.csrf })).status).toBe(204);
    expect((await call('GET', '/console/api/account', { cookie: s.cookie })).status).toBe(401);
  });

  it("acts with its key's policy: an action the key may not do is AccessDenied", async () => {
    const k = await newKey({ Statement: [{ Effect: 'Allow', Action: 'ses:GetAccount', Resource: '*' }] });
    const u = await newUser(k.AccessKeyId);
    const s = await session(u.name, u.password);
    expect((await call('GET', '/console/api/account', { cookie: s.cookie })).status).toBe(200);
    const denied = await call('GET', '/console/api/identities', { cookie: s.cookie });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('AccessDenied');
    expect(String(denied.body.message)).toContain('ses:ListEmailIdentities');
  });

  it('refuses a wrong password and an unknown user with the same words, without a cookie; bad input is a 400', async () => {
    const u = await newUser();
    const wrong = await signInAs(u.name, `${u.password}x`);
    const unknown = await signInAs(fresh('nobody'), u.password);
    for (const a of [wrong, unknown]) {
      expect(a.status).toBe(401);
      expect(a.body).toEqual({ code: 'InvalidCredentials', message: WRONG });
      expect(a.setCookie).toBeNull();
    }
    expect(server.logs.filter((l) => l.code === 'CONSOLE_SIGN_IN_FAILED' && l.userName === u.name)).toHaveLength(1);
    expect(await signInAs(u.name, '')).toMatchObject({ status: 400, body: { code: 'BadRequest', message: 'Give userName and password.' } });
    expect(await call('POST', '/console/api/session', { body: { userName: u.name } })).toMatchObject({ status: 400, body: { code: 'BadRequest', message: 'Give userName and password.' } });
    // The right password still works (two failures are below the brake).
    expect((await signInAs(u.name, u.password)).status).toBe(200);
  });

  it('after five wrong passwords refuses the right one with 429 and Retry-After; other users are not affected', async () => {
    const u = await newUser();
    const other = await newUser();
    for (let i = 1; i <= 5; i++) {
      const a = await signInAs(u.name, `wrong password ${i}`);
      expect({ i, status: a.status, code: a.body.code }).toEqual({ i, status: 401, code: 'InvalidCredentials' });
    }
    const refused = await signInAs(u.name, u.password);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ code: 'TooManyRequestsException', message: 'Too many failed sign-in attempts. Sign-in is paused; try again in 15 minutes.' });
    expect(refused.setCookie).toBeNull();
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // The same name in other letters is the same user, so it is locked out too.
    expect((await signInAs(u.name.toUpperCase(), u.password)).status).toBe(429);
    expect(server.logs.find((l) => l.code === 'CONSOLE_SIGN_IN_THROTTLED' && l.userName === u.name)).toMatchObject({ lockedOut: 'name', ip: expect.any(String) });
    expect((await signInAs(other.name, other.password)).status).toBe(200);
  });

  it('checks only a few passwords at once: guesses sent together cannot all slip past the brake', async () => {
    const u = await newUser();
    const sessions = server.instance.core.consoleSessions;
    // Twelve guesses in the same instant: four are checked at a time, the others refused at once (429)
    // instead of all passing the brake's check before the first failure is counted.
    const answers = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => sessions.signInWithPassword(u.name, `parallel guess ${i}`, '203.0.113.9')));
    const reasons = answers.map((a) => (a.status === 'rejected' ? (a.reason as Error).message : 'signed in'));
    const checked = reasons.filter((r) => r === 'The user name or the password is not correct.').length;
    const busy = reasons.filter((r) => r === 'Too many sign-ins are being checked at once; try again in a moment.').length;
    expect(checked + busy, reasons.join(' | ')).toBe(12);
    expect(checked).toBeGreaterThanOrEqual(4);
    expect(busy).toBeGreaterThanOrEqual(1);
  });

  it('brakes key sign-ins the same way, per access key id', async () => {
    const k = await newKey();
    for (let i = 1; i <= 5; i++) {
      const a = await call('POST', '/console/api/session', { body: { accessKeyId: k.AccessKeyId, secretAccessKey: `wrong${i}` } });
      expect(a.status).toBe(401);
    }
    const refused = await call('POST', '/console/api/session', { body: { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey } });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('TooManyRequestsException');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(server.logs.some((l) => l.code === 'CONSOLE_SIGN_IN_THROTTLED' && l.accessKeyId === k.AccessKeyId)).toBe(true);
    // The root key (another id) still signs in.
    expect((await call('POST', '/console/api/session', { body: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } })).status).toBe(200);
  });

  it("revoking the user's key ends its session and its sign-ins", async () => {
    const k = await newKey();
    const u = await newUser(k.AccessKeyId);
    const s = await session(u.name, u.password);
    expect((await call('GET', '/console/api/account', { cookie: s.cookie })).status).toBe(200);
    expect((await runCli(['keys', 'revoke', k.AccessKeyId], env)).code).toBe(0);
    const after = await call('GET', '/console/api/account', { cookie: s.cookie });
    expect(after).toMatchObject({ status: 401, body: { code: 'Unauthenticated' } });
    expect(await signInAs(u.name, u.password)).toMatchObject({ status: 401, body: { code: 'InvalidCredentials', message: WRONG } });
  });

  it('removing the user ends its sessions; a new password ends them and the old one stops working', async () => {
    const u = await newUser();
    const a = await session(u.name, u.password);
    const b = await session(u.name, u.password);
    const newPassword = 'a brand new password, 2';
    const changed = await runCliWithInput(['console-users', 'passwd', u.name, '--password-stdin'], env, `${newPassword}\n`);
    expect(changed.code, changed.stderr).toBe(0);
    for (const s of [a, b]) expect((await call('GET', '/console/api/account', { cookie: s.cookie })).status).toBe(401);
    expect((await signInAs(u.name, u.password)).status).toBe(401);
    const c = await session(u.name, newPassword);
    const d = await session(u.name, newPassword);
    expect((await call('GET', '/console/api/account', { cookie: c.cookie })).status).toBe(200);

    const removed = await runCli(['console-users', 'remove', u.name], env);
    expect(removed.code, removed.stderr).toBe(0);
    for (const s of [c, d]) expect(await call('GET', '/console/api/account', { cookie: s.cookie })).toMatchObject({ status: 401, body: { code: 'Unauthenticated' } });
    expect(await signInAs(u.name, newPassword)).toMatchObject({ status: 401, body: { code: 'InvalidCredentials', message: WRONG } });
  });

  it('stores an scrypt hash with its parameters and a 16-byte salt, never the password', async () => {
    const u = await newUser();
    const row = await userRow(server, u.name);
    expect(row).toBeDefined();
    const text = JSON.stringify(row);
    expect(text).not.toContain(u.password);
    const m = /^scrypt\$N=32768,r=8,p=1\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(String(row!.password_hash));
    expect(m, String(row!.password_hash)).not.toBeNull();
    expect(Buffer.from(m![1]!, 'base64')).toHaveLength(16);
    expect(Buffer.from(m![2]!, 'base64').length).toBeGreaterThanOrEqual(32);
    expect(row!.access_key_id).toBe(server.accessKeyId);
    // Two users with the same password get different hashes (the salt).
    const name2 = fresh();
    await server.instance.core.consoleUsers.add({ name: name2, accessKeyId: server.accessKeyId, password: u.password });
    expect((await userRow(server, name2))!.password_hash).not.toBe(row!.password_hash);
  });
});

describe.each(testBackends())('console sign-in brake per client address (%s)', (backend) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ backend, env: { SESAME_CONSOLE_SIGN_IN_MAX_FAILURES_PER_CLIENT: '3' } });
  }, 60_000);
  afterAll(() => server?.close());

  const post = (body: unknown) => fetch(`${server.url}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('after too many failures from one address, refuses every sign-in from it, the right key pair too', async () => {
    const password = 'the right password, 3';
    await server.instance.core.consoleUsers.add({ name: 'bob', accessKeyId: server.accessKeyId, password });
    expect((await post({ userName: 'bob', password })).status).toBe(200);
    // Three failures, each for another name: no name reaches its own limit, the address does.
    for (const userName of ['x1', 'x2', 'x3']) expect((await post({ userName, password: 'guess' })).status).toBe(401);
    for (const body of [{ userName: 'bob', password }, { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }]) {
      const r = await post(body);
      expect(r.status).toBe(429);
      expect(((await r.json()) as { code: string }).code).toBe('TooManyRequestsException');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(server.logs.some((l) => l.code === 'CONSOLE_SIGN_IN_THROTTLED' && l.lockedOut === 'client')).toBe(true);
  });
});
