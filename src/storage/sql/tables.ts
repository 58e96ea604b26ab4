/** Row types of the SQL schema shared by the SQLite and PostgreSQL backends (Kysely's view of it). */
import type { Generated } from 'kysely';

/** `accounts` */
export interface AccountsTable {
  id: string;
  created_at: number;
  settings: string;
}

/** `access_keys` */
export interface AccessKeysTable {
  access_key_id: string;
  account_id: string;
  secret_sealed: string;
  policy: string;
  description: string;
  status: string;
  is_root: number;
  created_at: number;
}

/** `identities` */
export interface IdentitiesTable {
  account_id: string;
  name: string;
  type: string;
  verification_status: string;
  next_check_at: number | null;
  created_at: number;
  updated_at: number;
  data: string;
}

/** `tags` */
export interface TagsTable {
  account_id: string;
  resource_arn: string;
  tag_key: string;
  tag_value: string;
  position: Generated<number>;
}

/** The whole schema. */
export interface Database {
  accounts: AccountsTable;
  access_keys: AccessKeysTable;
  identities: IdentitiesTable;
  tags: TagsTable;
}
