/**
 * Web console users over Kysely (both backends): `console_users`, migration 0014. The password is
 * stored only as the scrypt hash core computed; this repository never sees the password.
 */
import type { Kysely, Selectable } from 'kysely';
import { StorageConflictError, type ConsoleUserRecord, type ConsoleUserRepository } from '../ports.ts';
import type { ConsoleUsersTable, Database } from './tables.ts';

export class SqlConsoleUsers implements ConsoleUserRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly isUnique: (err: unknown) => boolean,
  ) {}

  async create(u: ConsoleUserRecord): Promise<void> {
    try {
      await this.db
        .insertInto('console_users')
        .values({ name: u.name, account_id: u.accountId, access_key_id: u.accessKeyId, password_hash: u.passwordHash, created_at: u.createdAt, password_changed_at: u.passwordChangedAt })
        .execute();
    } catch (err) {
      if (this.isUnique(err)) throw new StorageConflictError(`console user ${u.name} already exists`);
      throw err;
    }
  }

  async get(name: string): Promise<ConsoleUserRecord | undefined> {
    const r = await this.db.selectFrom('console_users').selectAll().where('name', '=', name).executeTakeFirst();
    return r ? toUser(r) : undefined;
  }

  async listByAccount(accountId: string): Promise<ConsoleUserRecord[]> {
    const rows = await this.db.selectFrom('console_users').selectAll().where('account_id', '=', accountId).orderBy('name').execute();
    return rows.map(toUser);
  }

  async setPassword(name: string, passwordHash: string, changedAt: number): Promise<boolean> {
    const r = await this.db.updateTable('console_users').set({ password_hash: passwordHash, password_changed_at: changedAt }).where('name', '=', name).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('console_users').where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

function toUser(r: Selectable<ConsoleUsersTable>): ConsoleUserRecord {
  return { name: r.name, accountId: r.account_id, accessKeyId: r.access_key_id, passwordHash: r.password_hash, createdAt: Number(r.created_at), passwordChangedAt: Number(r.password_changed_at) };
}
