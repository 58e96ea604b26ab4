/**
 * BENCHMARKS / issue [console] "fast on a 10,000-identity install": the console's Identities list
 * on a database holding `--identities=N` (default 10,000) identities of one account (SQLite). Creates
 * one domain and one address identity through the running node (real DKIM keys and records), copies
 * their rows under new names to reach N (half domains, half addresses), then times through HTTP with
 * a session, 20 runs each after a warm-up: the first page, a page deep in the list (its token), a
 * name filter matching one identity, and one matching a tenth of them. The table is printed and
 * written to bench/results/console-identities-<date>-<time>.md.
 * `node --import tsx bench/console-identities.ts [--identities=N]`
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { loadConfig } from '../src/config/load.ts';
import { resultStamp, timeConsoleReads } from './lib/console-timing.ts';
import { startSesame } from '../src/main/app.ts';
import { createLogger } from '../src/observability/logger.ts';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(arg('identities') ?? 10_000);
const dataDir = await mkdtemp(join(tmpdir(), 'sesame-console-identities-'));
const accessKeyId = 'AKIACONSOLEBENCH0001';
const secretAccessKey = randomBytes(30).toString('base64');
const env = { SESAME_DATA_DIR: dataDir, SESAME_HTTP_PORT: '0', SESAME_SMTP_PORT: '0', SESAME_SMTPS_PORT: '0', SESAME_MX_PORT: '0', SESAME_LISTEN_HOST: '127.0.0.1', SESAME_ROLES: 'api', SESAME_ROOT_ACCESS_KEY_ID: accessKeyId, SESAME_ROOT_SECRET_ACCESS_KEY: secretAccessKey, SESAME_LOG_LEVEL: 'warn', SESAME_DNS_SERVERS: '127.0.0.1:9' };
const config = loadConfig(env);
const log = (s: string) => process.stderr.write(`[console-identities] ${s}\n`);

const instance = await startSesame(config, { logger: createLogger('warn', process.stderr) });
try {
  const url = instance.httpUrl!;
  const signIn = await fetch(`${url}/console/api/session`, { method: 'POST', body: JSON.stringify({ accessKeyId, secretAccessKey }) });
  const cookie = /^(sesame_console=[^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')?.[1];
  if (!cookie) throw new Error(`sign-in failed: ${signIn.status} ${await signIn.text()}`);
  const csrf = ((await signIn.json()) as { csrfToken: string }).csrfToken;
  for (const name of ['brand00000.example.test', 'user00000@mail.example.test']) {
    const r = await fetch(`${url}/console/api/identities`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf }, body: JSON.stringify({ name }) });
    if (!r.ok) throw new Error(`create ${name}: ${r.status} ${await r.text()}`);
  }
  // Copies of the two rows under new names: the list reads the rows it shows, whatever made them.
  const t0 = performance.now();
  const db = new BetterSqlite3(join(dataDir, 'sesame.db'));
  db.pragma('busy_timeout = 10000');
  const rows = db.prepare('SELECT * FROM identities WHERE account_id = ?').all(config.accountId) as Array<Record<string, unknown>>;
  const domain = rows.find((r) => r.type === 'DOMAIN')!;
  const address = rows.find((r) => r.type === 'EMAIL_ADDRESS')!;
  const cols = Object.keys(domain);
  const ins = db.prepare(`INSERT INTO identities (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
  db.transaction(() => {
    for (let i = 1; i < N / 2; i++) {
      const n = String(i).padStart(5, '0');
      ins.run(...cols.map((c) => (c === 'name' ? `brand${n}.example.test` : domain[c])));
      ins.run(...cols.map((c) => (c === 'name' ? `user${n}@mail.example.test` : address[c])));
    }
  })();
  db.exec('ANALYZE');
  const total = (db.prepare('SELECT count(*) AS n FROM identities').get() as { n: number }).n;
  db.close();
  log(`${total.toLocaleString('en-US')} identities (copied in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  // A token deep in the list: the one the list hands out after `brand04000…`.
  const deep = Buffer.from('brand04000.example.test').toString('base64url');
  const searches: Array<[string, Record<string, string>]> = [
    ['first page (50)', {}],
    ['a page deep in the list (after 4,000)', { nextToken: deep }],
    ['name filter, one match ("brand04321")', { nameContains: 'brand04321' }],
    ['name filter, a tenth match ("7@")', { nameContains: '7@' }],
    ['name filter, no match ("nothing")', { nameContains: 'nothing' }],
  ];
  const table = await timeConsoleReads(url, cookie, '/console/api/identities', searches, 'list', log);
  const report = `Console Identities list, ${total.toLocaleString('en-US')} identities of one account (SQLite), through HTTP with a session, 20 runs each after a warm-up, Node ${process.version}, ${new Date().toISOString()}:\n\n${table.join('\n')}\n`;
  process.stdout.write(report);
  const stamp = resultStamp();
  await writeFile(new URL(`./results/console-identities-${stamp}.md`, import.meta.url), `# ${report}`);
} finally {
  await instance.close();
  await rm(dataDir, { recursive: true, force: true });
}
