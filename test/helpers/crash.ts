/**
 * What crash tests read after a `kill -9`: which recipients the dead process held leased (in
 * flight, so a second copy of them is allowed), and the MessageId of a delivered message.
 */
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';

/** The MessageId in a delivered message's `Message-ID: <id@hostname>` (headers unfolded first). */
export function messageIdOf(m: { raw: Buffer }, hostname: string): string | undefined {
  const raw = m.raw.toString('latin1');
  const end = raw.indexOf('\r\n\r\n');
  const head = (end < 0 ? raw : raw.slice(0, end)).replace(/\r\n[ \t]+/g, ' ');
  return new RegExp(`^Message-ID:\\s*<([^@>\\s]+)@${hostname.replace(/\./g, '\\.')}>`, 'im').exec(head)?.[1];
}

/** Recipients leased (in flight) in the database right after the kill, by MessageId. */
export async function leasedAtKill(backend: 'sqlite' | 'postgres', dataDir: string, databaseUrl: string | undefined): Promise<{ leased: Map<string, number>; committed: number }> {
  const leasedSql = `SELECT message_id, lease_expires_at FROM recipients WHERE state = 'queued' AND lease_owner IS NOT NULL`;
  const countSql = 'SELECT count(*) AS n FROM messages';
  if (backend === 'sqlite') {
    // Opening read-write replays the WAL of the killed process, as the restart will.
    const db = new BetterSqlite3(join(dataDir, 'sesame.db'), { fileMustExist: true });
    try {
      const rows = db.prepare(leasedSql).all() as Array<{ message_id: string; lease_expires_at: number }>;
      const { n } = db.prepare(countSql).get() as { n: number };
      return { leased: new Map(rows.map((r) => [r.message_id, Number(r.lease_expires_at)])), committed: Number(n) };
    } finally {
      db.close();
    }
  }
  const schema = new URL(databaseUrl!).searchParams.get('schema')!;
  const c = new pg.Client({ connectionString: process.env.SESAME_TEST_DATABASE_URL, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    const rows = (await c.query<{ message_id: string; lease_expires_at: string }>(leasedSql)).rows;
    const n = (await c.query<{ n: string }>(countSql)).rows[0]!.n;
    return { leased: new Map(rows.map((r) => [r.message_id, Number(r.lease_expires_at)])), committed: Number(n) };
  } finally {
    await c.end();
  }
}


/** For a failure message: the queue state of recipients of the given MessageIds now (state, lease owner, lease left), counted. */
export async function queueStateOf(backend: 'sqlite' | 'postgres', dataDir: string, databaseUrl: string | undefined, ids: string[], now = Date.now()): Promise<string> {
  if (ids.length === 0) return '';
  const rowsSql = `SELECT message_id, state, lease_owner, lease_expires_at, attempts, next_attempt_at, last_response FROM recipients`;
  type Row = { message_id: string; state: string; lease_owner: string | null; lease_expires_at: string | number | null; attempts: number; next_attempt_at: string | number; last_response: string | null };
  let rows: Row[];
  if (backend === 'sqlite') {
    const db = new BetterSqlite3(join(dataDir, 'sesame.db'), { readonly: true, fileMustExist: true });
    try {
      rows = db.prepare(rowsSql).all() as Row[];
    } finally {
      db.close();
    }
  } else {
    const schema = new URL(databaseUrl!).searchParams.get('schema')!;
    const c = new pg.Client({ connectionString: process.env.SESAME_TEST_DATABASE_URL, options: `-c search_path=${schema}` });
    await c.connect();
    try {
      rows = (await c.query<Row>(rowsSql)).rows;
    } finally {
      await c.end();
    }
  }
  const wanted = new Set(ids);
  const counts = new Map<string, number>();
  for (const r of rows) {
    if (!wanted.has(r.message_id)) continue;
    const lease = r.lease_owner === null ? 'not leased' : `leased by ${r.lease_owner} for ${Math.round((Number(r.lease_expires_at) - now) / 1000)} s more`;
    const key = `${r.state}, attempts ${r.attempts}, due in ${Math.round((Number(r.next_attempt_at) - now) / 1000)} s, ${lease}${r.last_response ? `, last response ${r.last_response.slice(0, 80)}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, n]) => `${n} × ${k}`).join('\n');
}
