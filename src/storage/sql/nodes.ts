/**
 * The node registry and installation-wide job leases over Kysely, for both backends. A lease is
 * taken by one `INSERT … ON CONFLICT DO UPDATE … WHERE` statement: the row is inserted when the job
 * has none, and otherwise updated only when it is expired or already the caller's. PostgreSQL
 * re-checks the WHERE on the locked row (READ COMMITTED), so of nodes racing for one lease exactly
 * one gets a row back from RETURNING; SQLite has a single writer.
 */
import type { Kysely, Selectable } from 'kysely';
import type { JobLeaseRecord, JobLeaseRepository, NodeRecord, NodeRepository } from '../ports.ts';
import type { Database, JobLeasesTable, NodesTable } from './tables.ts';

function toNode(r: Selectable<NodesTable>): NodeRecord {
  return {
    id: r.id,
    roles: r.roles === '' ? [] : r.roles.split(','),
    hostname: r.hostname,
    pid: Number(r.pid),
    version: r.version,
    startedAt: Number(r.started_at),
    heartbeatAt: Number(r.heartbeat_at),
    heartbeatIntervalMs: Number(r.heartbeat_interval_ms),
  };
}

/** Node registry repository. */
export class SqlNodes implements NodeRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async register(n: NodeRecord): Promise<void> {
    const row = {
      roles: n.roles.join(','),
      hostname: n.hostname,
      pid: n.pid,
      version: n.version,
      started_at: n.startedAt,
      heartbeat_at: n.heartbeatAt,
      heartbeat_interval_ms: n.heartbeatIntervalMs,
    };
    await this.db
      .insertInto('nodes')
      .values({ id: n.id, ...row })
      .onConflict((oc) => oc.column('id').doUpdateSet(row))
      .execute();
  }

  async heartbeat(id: string, at: number): Promise<boolean> {
    const r = await this.db.updateTable('nodes').set({ heartbeat_at: at }).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async remove(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('nodes').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async list(): Promise<NodeRecord[]> {
    return (await this.db.selectFrom('nodes').selectAll().orderBy('started_at').orderBy('id').execute()).map(toNode);
  }

  async prune(before: number): Promise<number> {
    const r = await this.db.deleteFrom('nodes').where('heartbeat_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

function toLease(r: Selectable<JobLeasesTable>): JobLeaseRecord {
  return { job: r.job, owner: r.owner, acquiredAt: Number(r.acquired_at), expiresAt: Number(r.expires_at) };
}

/** Job lease repository. */
export class SqlJobLeases implements JobLeaseRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async acquire(job: string, owner: string, now: number, ttlMs: number): Promise<boolean> {
    const expiresAt = now + ttlMs;
    const row = await this.db
      .insertInto('job_leases')
      .values({ job, owner, acquired_at: now, expires_at: expiresAt })
      .onConflict((oc) =>
        oc
          .column('job')
          .doUpdateSet((eb) => ({
            owner,
            // A renewal keeps the time the owner first took it; a takeover starts a new tenure.
            acquired_at: eb.case().when('job_leases.owner', '=', owner).then(eb.ref('job_leases.acquired_at')).else(now).end(),
            expires_at: expiresAt,
          }))
          .where((eb) => eb.or([eb('job_leases.owner', '=', owner), eb('job_leases.expires_at', '<=', now)])),
      )
      .returning('owner')
      .executeTakeFirst();
    return row?.owner === owner;
  }

  async release(job: string, owner: string): Promise<boolean> {
    const r = await this.db.deleteFrom('job_leases').where('job', '=', job).where('owner', '=', owner).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async list(): Promise<JobLeaseRecord[]> {
    return (await this.db.selectFrom('job_leases').selectAll().orderBy('job').execute()).map(toLease);
  }
}
