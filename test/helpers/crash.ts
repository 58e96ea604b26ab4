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

