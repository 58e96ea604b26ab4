/**
 * BENCHMARKS / issue [console] Done-when 4: the console's Messages search on a database holding
 * 1,000,000 messages (SQLite, the default). Seeds a data dir (`--messages=N`, default 1,000,000; one
 * recipient each, 200,000 distinct addresses on 10,000 domains, 30 days of sending, 2 % bounced,
 * 1 % still queued), starts Sesame on it in this process, signs in to the console API and times each
 * kind of search through HTTP, 20 times each (after one warm-up): p50, p90 and max. The table is
 * printed and written to bench/results/console-search-<date>-<time>.md.
 * `node --import tsx bench/console-search.ts [--messages=N] [--keep=DIR] [--postgres=URL]`
 * With `--postgres=postgres://…/db` the same data is seeded (server-side, generate_series) into the
 * schema `bench_console` of that database (dropped first) and Sesame runs on it.
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
import pg from 'pg';
import { openPostgresStorage } from '../src/storage/postgres/index.ts';
import { openSqliteStorage } from '../src/storage/sqlite/index.ts';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(arg('messages') ?? 1_000_000);
const dataDir = arg('keep') ?? (await mkdtemp(join(tmpdir(), 'sesame-console-bench-')));
const DAY = 86_400_000;
const now = Date.now();
const accessKeyId = 'AKIACONSOLEBENCH0000';
const secretAccessKey = randomBytes(30).toString('base64');
const PG = arg('postgres');
const pgUrl = PG ? (() => {
  const u = new URL(PG);
  u.searchParams.set('schema', 'bench_console');
  return u.toString();
})() : undefined;
const env = { ...(pgUrl ? { SESAME_DATABASE_URL: pgUrl } : {}), SESAME_DATA_DIR: dataDir, SESAME_HTTP_PORT: '0', SESAME_SMTP_PORT: '0', SESAME_SMTPS_PORT: '0', SESAME_MX_PORT: '0', SESAME_LISTEN_HOST: '127.0.0.1', SESAME_ROLES: 'api', SESAME_ROOT_ACCESS_KEY_ID: accessKeyId, SESAME_ROOT_SECRET_ACCESS_KEY: secretAccessKey, SESAME_LOG_LEVEL: 'warn', SESAME_DNS_SERVERS: '127.0.0.1:9' };
const config = loadConfig(env);
const log = (s: string) => process.stderr.write(`[console-search] ${s}\n`);

// Migrate an empty database, then seed it directly (the accept path would take hours for a million).
const file = join(dataDir, 'sesame.db');
const t0 = performance.now();
if (PG) await seedPostgres(PG, pgUrl!);
else await seedSqlite();
log(`${N.toLocaleString('en-US')} messages in ${PG ? 'PostgreSQL schema bench_console' : dataDir} (seeded in ${((performance.now() - t0) / 1000).toFixed(0)} s)`);

async function seedPostgres(base: string, url: string): Promise<void> {
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  try {
    await c.query('DROP SCHEMA IF EXISTS bench_console CASCADE');
    await (await openPostgresStorage(url)).close();
    await c.query('SET search_path TO bench_console, public');
    await c.query(`INSERT INTO accounts (id, created_at, settings) VALUES ($1, $2, '{}') ON CONFLICT DO NOTHING`, [config.accountId, now]);
    // The same rows as the SQLite seeding below, made by the server in chunks.
    for (let from = 0; from < N; from += 100_000) {
      const to = Math.min(N, from + 100_000);
      await c.query(
        `WITH s AS (
           SELECT i, '0100' || lpad(to_hex(i), 12, '0') || '-' || substr(md5(i::text), 1, 8) || '-0000-4000-8000-' || lpad(to_hex(i), 12, '0') || '-000000' AS id,
                  $3::bigint - floor((($2::bigint - i)::float8 / $2::bigint) * 30 * 86400000)::bigint AS created,
                  'domain' || (i % 10000) || '.test' AS domain
           FROM generate_series($4::bigint, $5::bigint - 1) AS i),
         m AS (
           INSERT INTO messages (message_id, account_id, mail_from, body, configuration_set, created_at, expires_at, meta, require_tls)
           SELECT id, $1::text, id || '@mta.bench.test', '\\x78'::bytea, NULL, created, created + 86400000,
                  json_build_object('mail', json_build_object('timestamp', to_char(to_timestamp(created / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                    'source', CASE WHEN i % 7 = 0 THEN 'Billing <billing@sender.test>' ELSE 'News <news@sender.test>' END, 'sourceArn', '', 'sendingAccountId', $1::text, 'messageId', id,
                    'destination', json_build_array('user' || (i % 200000) || '@' || domain), 'headersTruncated', false,
                    'commonHeaders', json_build_object('from', json_build_array(CASE WHEN i % 7 = 0 THEN 'Billing <billing@sender.test>' ELSE 'News <news@sender.test>' END), 'to', json_build_array('user' || (i % 200000) || '@' || domain), 'messageId', id,
                      'subject', CASE WHEN i % 7 = 0 THEN 'Your invoice ' || i ELSE 'Newsletter ' || (i % 1000) END),
                    'tags', json_build_object('ses:from-domain', json_build_array('sender.test'))), 'suppressOnBounce', true)::text, 0
           FROM s)
         INSERT INTO recipients (message_id, rcpt, domain, state, attempts, next_attempt_at, lease_owner, lease_expires_at, last_response, updated_at)
         SELECT id, 'user' || (i % 200000) || '@' || domain, domain,
                CASE WHEN i % 100 = 0 THEN 'queued' WHEN i % 50 = 1 THEN 'bounced' ELSE 'delivered' END, 1, created + 60000, NULL, NULL,
                CASE WHEN i % 100 <> 0 AND i % 50 = 1 THEN '550 5.1.1 user unknown' ELSE '250 ok' END, created + 1000
         FROM s`,
        [config.accountId, N, now, from, to],
      );
      log(`seeded ${to.toLocaleString('en-US')} messages`);
    }
    await c.query('ANALYZE messages');
    await c.query('ANALYZE recipients');
  } finally {
    await c.end();
  }
}

async function seedSqlite(): Promise<void> {
  await (await openSqliteStorage(file)).close();
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const existing = (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
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
}

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
  const prefix = `0100${mid.toString(16).padStart(12, '0')}%`;
  const exact = PG ? await pgOne(PG, prefix) : (new BetterSqlite3(file, { readonly: true }).prepare('SELECT message_id FROM messages WHERE message_id LIKE ? LIMIT 1').get(prefix) as { message_id: string });
  searches[2]![1] = { messageId: exact.message_id };
  const rows = await timeConsoleReads(url, cookie, '/console/api/messages', searches, 'search', log);
  const report = `Console Messages search, ${N.toLocaleString('en-US')} messages (${PG ? 'PostgreSQL' : 'SQLite'}), through HTTP with a session, 20 runs each after a warm-up, Node ${process.version}, ${new Date().toISOString()}:\n\n${rows.join('\n')}\n`;
  process.stdout.write(report);
  const stamp = resultStamp();
  await writeFile(new URL(`./results/console-search-${PG ? 'postgres-' : ''}${stamp}.md`, import.meta.url), `# ${report}`);
} finally {
  await instance.close();
  if (!arg('keep')) await rm(dataDir, { recursive: true, force: true });
}

async function pgOne(base: string, prefix: string): Promise<{ message_id: string }> {
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  try {
    return (await c.query<{ message_id: string }>('SELECT message_id FROM bench_console.messages WHERE message_id LIKE $1 LIMIT 1', [prefix])).rows[0]!;
  } finally {
    await c.end();
  }
}
