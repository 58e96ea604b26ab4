/**
 * BENCHMARKS / issue [console] Done-when 4: the console's Messages search on a database holding
 * 1,000,000 messages (SQLite, the default). Seeds a data dir (`--messages=N`, default 1,000,000; one
 * recipient each, 200,000 distinct addresses on 10,000 domains, 30 days of sending, 2 % bounced,
 * 1 % still queued), starts Sesame on it in this process, signs in to the console API and times each
 * kind of search through HTTP, 20 times each (after one warm-up): p50, p90 and max. The table is
 * printed and written to bench/results/console-search-<date>-<time>.md.
 * `node --import tsx bench/console-search.ts [--messages=N] [--keep=DIR]`
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { loadConfig } from '../src/config/load.ts';
import { startSesame } from '../src/main/app.ts';
import { createLogger } from '../src/observability/logger.ts';
import { openSqliteStorage } from '../src/storage/sqlite/index.ts';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(arg('messages') ?? 1_000_000);
const dataDir = arg('keep') ?? (await mkdtemp(join(tmpdir(), 'sesame-console-bench-')));
const DAY = 86_400_000;
const now = Date.now();
const accessKeyId = 'AKIACONSOLEBENCH0000';
const secretAccessKey = randomBytes(30).toString('base64');
const env = { SESAME_DATA_DIR: dataDir, SESAME_HTTP_PORT: '0', SESAME_SMTP_PORT: '0', SESAME_SMTPS_PORT: '0', SESAME_MX_PORT: '0', SESAME_LISTEN_HOST: '127.0.0.1', SESAME_ROLES: 'api', SESAME_ROOT_ACCESS_KEY_ID: accessKeyId, SESAME_ROOT_SECRET_ACCESS_KEY: secretAccessKey, SESAME_LOG_LEVEL: 'warn', SESAME_DNS_SERVERS: '127.0.0.1:9' };
const config = loadConfig(env);
const log = (s: string) => process.stderr.write(`[console-search] ${s}\n`);

// Migrate an empty database, then seed it directly (the accept path would take hours for a million).
const file = join(dataDir, 'sesame.db');
await (await openSqliteStorage(file)).close();
const db = new BetterSqlite3(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = OFF');
const existing = (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
const t0 = performance.now();
if (existing < N) {
  db.prepare("INSERT OR IGNORE INTO accounts (id, created_at, settings) VALUES (?, ?, '{}')").run(config.accountId, now);
  const insM = db.prepare('INSERT INTO messages (message_id, account_id, mail_from, body, configuration_set, created_at, expires_at, meta, require_tls) VALUES (?, ?, ?, ?, NULL, ?, ?, ?, 0)');
  const insR = db.prepare('INSERT INTO recipients (message_id, rcpt, domain, state, attempts, next_attempt_at, lease_owner, lease_expires_at, last_response, updated_at) VALUES (?, ?, ?, ?, 1, ?, NULL, NULL, ?, ?)');
  const body = Buffer.from('x');
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const id = `0100${i.toString(16).padStart(12, '0')}-${randomBytes(4).toString('hex')}-0000-4000-8000-${i.toString(16).padStart(12, '0')}-000000`;
      const created = now - Math.floor(((N - i) / N) * 30 * DAY);
      const domain = `domain${i % 10_000}.test`;
      const rcpt = `user${i % 200_000}@${domain}`;
      const source = i % 7 === 0 ? 'Billing <billing@sender.test>' : 'News <news@sender.test>';
      const subject = i % 7 === 0 ? `Your invoice ${i}` : `Newsletter ${i % 1000}`;
      const meta = JSON.stringify({ mail: { timestamp: new Date(created).toISOString(), source, sourceArn: '', sendingAccountId: config.accountId, messageId: id, destination: [rcpt], headersTruncated: false, commonHeaders: { from: [source], to: [rcpt], messageId: id, subject }, tags: { 'ses:from-domain': ['sender.test'] } }, suppressOnBounce: true });
      insM.run(id, config.accountId, `${id}@mta.bench.test`, body, created, created + DAY, meta);
      const state = i % 100 === 0 ? 'queued' : i % 50 === 1 ? 'bounced' : 'delivered';
      insR.run(id, rcpt, domain, state, created + 60_000, state === 'bounced' ? '550 5.1.1 user unknown' : '250 ok', created + 1000);
    }
  });
  for (let i = existing; i < N; i += 10_000) {
    batch(i, Math.min(N, i + 10_000));
    if (i % 100_000 === 0) log(`seeded ${i.toLocaleString('en-US')} messages`);
  }
  db.exec('ANALYZE');
}
db.close();
log(`${N.toLocaleString('en-US')} messages in ${dataDir} (seeded in ${((performance.now() - t0) / 1000).toFixed(0)} s)`);

const instance = await startSesame(config, { logger: createLogger('warn', process.stderr) });
try {
  const url = instance.httpUrl!;
  const signIn = await fetch(`${url}/console/api/session`, { method: 'POST', body: JSON.stringify({ accessKeyId, secretAccessKey }) });
  const cookie = /^(sesame_console=[^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')?.[1];
  if (!cookie) throw new Error(`sign-in failed: ${signIn.status} ${await signIn.text()}`);
  const mid = Math.floor(N / 2);
  const searches: Array<[string, Record<string, string>]> = [
    ['newest 50 (no filter)', {}],
    ['recipient (an address with 5 messages)', { recipient: `user${mid % 200_000}@domain${mid % 10_000}.test` }],
    ['MessageId', { messageId: `0100${mid.toString(16).padStart(12, '0')}` }],
    ['status bounced', { status: 'bounced' }],
    ['status queued, one day', { status: 'queued', since: new Date(now - 11 * DAY).toISOString(), until: new Date(now - 10 * DAY).toISOString() }],
    ['text in subject, common ("Newsletter 42")', { q: 'Newsletter 42' }],
    ['text in sender ("billing@")', { q: 'billing@' }],
    ['text in subject, one match in the last day', { q: `Your invoice ${N - 1 - ((N - 1) % 7)}`, since: new Date(now - DAY).toISOString() }],
    ['text in subject, one match, all time', { q: `Your invoice ${7 * 1000}` }],
  ];
  // The MessageId search needs the exact id: read the one seeded at `mid`.
  const exact = new BetterSqlite3(file, { readonly: true }).prepare('SELECT message_id FROM messages WHERE message_id LIKE ? LIMIT 1').get(`0100${mid.toString(16).padStart(12, '0')}%`) as { message_id: string };
  searches[2]![1] = { messageId: exact.message_id };
  const rows: string[] = ['| search | results | p50 ms | p90 ms | max ms | under 300 ms (p90) |', '| --- | ---: | ---: | ---: | ---: | --- |'];
  for (const [name, query] of searches) {
    const ms: number[] = [];
    let results = 0;
    for (let k = 0; k < 21; k++) {
      const t = performance.now();
      const r = await fetch(`${url}/console/api/messages?${new URLSearchParams(query)}`, { headers: { cookie } });
      const body = (await r.json()) as { items?: unknown[]; message?: string };
      if (!r.ok) throw new Error(`${name}: ${r.status} ${body.message}`);
      if (k > 0) ms.push(performance.now() - t);
      results = body.items!.length;
    }
    ms.sort((a, b) => a - b);
    const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!;
    rows.push(`| ${name} | ${results} | ${q(0.5).toFixed(1)} | ${q(0.9).toFixed(1)} | ${ms.at(-1)!.toFixed(1)} | ${q(0.9) < 300 ? 'yes' : 'no'} |`);
    log(rows.at(-1)!);
  }
  const report = `Console Messages search, ${N.toLocaleString('en-US')} messages (SQLite), through HTTP with a session, 20 runs each after a warm-up, Node ${process.version}, ${new Date().toISOString()}:\n\n${rows.join('\n')}\n`;
  process.stdout.write(report);
  const stamp = new Date().toISOString().replace(/:/g, '').replace('T', '-').slice(0, 17);
  await writeFile(new URL(`./results/console-search-${stamp}.md`, import.meta.url), `# ${report}`);
} finally {
  await instance.close();
  if (!arg('keep')) await rm(dataDir, { recursive: true, force: true });
}
