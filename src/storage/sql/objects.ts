/** The built-in object store's index over Kysely (the bytes are in the BlobStore). */
import type { Kysely, Selectable } from 'kysely';
import type { ObjectRecord, ObjectRepository } from '../ports.ts';
import type { Database, ObjectsTable } from './tables.ts';

function toObject(r: Selectable<ObjectsTable>): ObjectRecord {
  return {
    accountId: r.account_id,
    bucket: r.bucket,
    key: r.key,
    size: Number(r.size),
    etag: r.etag,
    contentType: r.content_type,
    metadata: JSON.parse(r.metadata) as Record<string, string>,
    blobId: r.blob_id,
    createdAt: Number(r.created_at),
  };
}

/** Objects repository. */
export class SqlObjects implements ObjectRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async put(o: ObjectRecord): Promise<string | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const old = await trx.selectFrom('objects').select('blob_id').where('account_id', '=', o.accountId).where('bucket', '=', o.bucket).where('key', '=', o.key).executeTakeFirst();
      const row = { size: o.size, etag: o.etag, content_type: o.contentType, metadata: JSON.stringify(o.metadata), blob_id: o.blobId, created_at: o.createdAt };
      if (old) await trx.updateTable('objects').set(row).where('account_id', '=', o.accountId).where('bucket', '=', o.bucket).where('key', '=', o.key).execute();
      else await trx.insertInto('objects').values({ account_id: o.accountId, bucket: o.bucket, key: o.key, ...row }).execute();
      return old?.blob_id;
    });
  }

  async get(accountId: string, bucket: string, key: string): Promise<ObjectRecord | undefined> {
    const r = await this.db.selectFrom('objects').selectAll().where('account_id', '=', accountId).where('bucket', '=', bucket).where('key', '=', key).executeTakeFirst();
    return r ? toObject(r) : undefined;
  }

  async list(accountId: string, bucket: string, o: { prefix?: string; after?: string; limit: number }): Promise<ObjectRecord[]> {
    let q = this.db.selectFrom('objects').selectAll().where('account_id', '=', accountId).where('bucket', '=', bucket);
    // Keys compare byte-wise (SQLite's BINARY, PostgreSQL's COLLATE "C" on this column); the prefix
    // is matched with >= prefix and < prefix + the highest code point rather than LIKE, so that '%'
    // and '_' in keys mean themselves.
    if (o.prefix) q = q.where('key', '>=', o.prefix).where('key', '<', `${o.prefix}\u{10FFFF}`);
    if (o.after !== undefined) q = q.where('key', '>', o.after);
    const rows = await q.orderBy('key').limit(o.limit).execute();
    return rows.map(toObject).filter((x) => !o.prefix || x.key.startsWith(o.prefix));
  }

  async delete(accountId: string, bucket: string, key: string): Promise<string | undefined> {
    const r = await this.db.deleteFrom('objects').where('account_id', '=', accountId).where('bucket', '=', bucket).where('key', '=', key).returning('blob_id').executeTakeFirst();
    return r?.blob_id;
  }

  async count(accountId: string, bucket: string): Promise<number> {
    const r = await this.db.selectFrom('objects').select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', accountId).where('bucket', '=', bucket).executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}
