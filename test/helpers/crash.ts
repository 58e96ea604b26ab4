/**
 * What crash tests read after a `kill -9`: which recipients the dead process held leased (in
 * flight, so a second copy of them is allowed), and the MessageId of a delivered message.
 */
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { schemaClient } from './server.ts';

/** The MessageId in a delivered message's `Message-ID: <id@hostname>` (headers unfolded first). */
export function messageIdOf(m: { raw: Buffer }, hostname: string): string | undefined {
  const raw = m.raw.toString('latin1');
  const end = raw.indexOf('\r\n\r\n');
  const head = (end < 0 ? raw : raw.slice(0, end)).replace(/\r\n[ \t]+/g, ' ');
  return new RegExp(`^Message-ID:\\s*<([^@>\\s]+)@${hostname.replace(/\./g, '\\.')}>`, 'im').exec(head)?.[1];
}

/**
 * Runs read-only queries on the data a node left: its SQLite file (opened read-write, which replays
 * the WAL of a killed process as the restart will) or its PostgreSQL schema. Rows in query order.
 */
async function queryData(backend: 'sqlite' | 'postgres', dataDir: string, databaseUrl: string | undefined, queries: string[]): Promise<Array<Array<Record<string, unknown>>>> {
  if (backend === 'sqlite') {
    const db = new BetterSqlite3(join(dataDir, 'sesame.db'), { fileMustExist: true });
    try {
      return queries.map((q) => db.prepare(q).all() as Array<Record<string, unknown>>);
    } finally {
      db.close();
    }
  }
  const c = await schemaClient(databaseUrl!);
  try {
    const out: Array<Array<Record<string, unknown>>> = [];
    for (const q of queries) out.push((await c.query<Record<string, unknown>>(q)).rows);
    return out;
  } finally {
    await c.end();
  }
}

/** Recipients leased (in flight) in the database right after the kill, by MessageId. */
export async function leasedAtKill(backend: 'sqlite' | 'postgres', dataDir: string, databaseUrl: string | undefined): Promise<{ leased: Map<string, number>; committed: number }> {
  const [rows, count] = await queryData(backend, dataDir, databaseUrl, [
    `SELECT message_id, lease_expires_at FROM recipients WHERE state = 'queued' AND lease_owner IS NOT NULL`,
    'SELECT count(*) AS n FROM messages',
  ]);
  return { leased: new Map(rows!.map((r) => [String(r.message_id), Number(r.lease_expires_at)])), committed: Number(count![0]!.n) };
}

/** For a failure message: the queue state now of the recipients of the given MessageIds (state, attempts, lease), counted. */
export async function queueStateOf(backend: 'sqlite' | 'postgres', dataDir: string, databaseUrl: string | undefined, ids: string[], now = Date.now()): Promise<string> {
  if (ids.length === 0) return '';
  const [rows] = await queryData(backend, dataDir, databaseUrl, ['SELECT message_id, state, lease_owner, lease_expires_at, attempts, next_attempt_at, last_response FROM recipients']);
  const wanted = new Set(ids);
  const counts = new Map<string, number>();
  for (const r of rows!) {
    if (!wanted.has(String(r.message_id))) continue;
    const lease = r.lease_owner === null ? 'not leased' : `leased by ${String(r.lease_owner)} for ${Math.round((Number(r.lease_expires_at) - now) / 1000)} s more`;
    const response = typeof r.last_response === 'string' && r.last_response ? `, last response ${r.last_response.slice(0, 80)}` : '';
    const key = `${String(r.state)}, attempts ${Number(r.attempts)}, due in ${Math.round((Number(r.next_attempt_at) - now) / 1000)} s, ${lease}${response}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, n]) => `${n} × ${k}`).join('\n');
}
