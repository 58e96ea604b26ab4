/**
 * The storage ports: narrow, per-aggregate, async repositories that core depends on. Two backends
 * implement them (embedded SQLite, PostgreSQL) and both pass one conformance suite
 * (src/storage/conformance). No SQL type leaks through these interfaces; secrets arrive here
 * already sealed by core.
 */

/** An account: the owner of keys, identities and every other resource. */
export interface AccountRecord {
  id: string;
  createdAt: number;
  /** Account-level settings (sending enabled, production access, quotas…), owned by core. */
  settings: Record<string, unknown>;
}

/** Access key status, as IAM names it. */
export type AccessKeyStatus = 'Active' | 'Inactive';

/** An access key. `secretSealed` is the secret access key encrypted with the master key. */
export interface AccessKeyRecord {
  accessKeyId: string;
  accountId: string;
  secretSealed: string;
  /** IAM-style policy document as JSON text. */
  policy: string;
  description: string;
  status: AccessKeyStatus;
  isRoot: boolean;
  createdAt: number;
}

/** Identity type, as SES v2 names it. */
export type IdentityType = 'DOMAIN' | 'EMAIL_ADDRESS';

/** Verification state, as SES v2 names it. */
export type VerificationStatus = 'PENDING' | 'SUCCESS' | 'FAILED' | 'TEMPORARY_FAILURE' | 'NOT_STARTED';

/**
 * An email identity. Columns that queries filter on are top-level; the rest of the identity's
 * state (DKIM keys and tokens, MAIL FROM, verification details) is `data`, owned by core.
 */
export interface IdentityRecord {
  accountId: string;
  /** Normalised identity: lower-case domain, or address with lower-case domain part. */
  name: string;
  type: IdentityType;
  verificationStatus: VerificationStatus;
  /** When the verification worker should look at this identity next (ms), or null when nothing is pending. */
  nextCheckAt: number | null;
  createdAt: number;
  updatedAt: number;
  data: Record<string, unknown>;
}

/** One page of a listing. `nextToken` is opaque to callers. */
export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/** Accounts. */
export interface AccountRepository {
  /** Creates the account if missing; returns the stored one. */
  ensure(account: AccountRecord): Promise<AccountRecord>;
  get(id: string): Promise<AccountRecord | undefined>;
  /** Replaces the settings of an account. */
  updateSettings(id: string, settings: Record<string, unknown>): Promise<void>;
}

/** Access keys. */
export interface AccessKeyRepository {
  /** Inserts a key; throws StorageConflictError when the id exists. */
  create(key: AccessKeyRecord): Promise<void>;
  get(accessKeyId: string): Promise<AccessKeyRecord | undefined>;
  list(accountId: string): Promise<AccessKeyRecord[]>;
  /** Replaces secret and policy of an existing key (bootstrap keys given by the environment). */
  update(key: AccessKeyRecord): Promise<void>;
  setStatus(accessKeyId: string, status: AccessKeyStatus): Promise<boolean>;
  delete(accessKeyId: string): Promise<boolean>;
  /** The root key of an account, if one exists. */
  findRoot(accountId: string): Promise<AccessKeyRecord | undefined>;
}

/** Email identities. */
export interface IdentityRepository {
  /** Inserts an identity; throws StorageConflictError when the account already has it. */
  create(identity: IdentityRecord): Promise<void>;
  get(accountId: string, name: string): Promise<IdentityRecord | undefined>;
  /** Identities of an account in name order, after `after` (exclusive). */
  list(accountId: string, options: { after?: string; limit: number; type?: IdentityType }): Promise<IdentityRecord[]>;
  /**
   * Replaces an identity when its `updatedAt` still equals `expectedUpdatedAt` (optimistic
   * concurrency, so the verification worker never overwrites a user's change). Returns false if it
   * changed or vanished meanwhile.
   */
  update(identity: IdentityRecord, expectedUpdatedAt: number): Promise<boolean>;
  delete(accountId: string, name: string): Promise<boolean>;
  /** Identities of every account whose nextCheckAt is due, oldest first. */
  listDue(now: number, limit: number): Promise<IdentityRecord[]>;
  /** Number of identities of an account (for quotas). */
  count(accountId: string): Promise<number>;
}

/** A tag on a resource. */
export interface Tag {
  key: string;
  value: string;
}

/** Tags on resources, by ARN. */
export interface TagRepository {
  /** Sets tags (adding or overwriting by key). */
  put(accountId: string, resourceArn: string, tags: Tag[]): Promise<void>;
  remove(accountId: string, resourceArn: string, keys: string[]): Promise<void>;
  list(accountId: string, resourceArn: string): Promise<Tag[]>;
  removeAll(accountId: string, resourceArn: string): Promise<void>;
}

/** The repositories one backend provides, plus its lifecycle. */
export interface Storage {
  readonly kind: 'sqlite' | 'postgres';
  readonly accounts: AccountRepository;
  readonly accessKeys: AccessKeyRepository;
  readonly identities: IdentityRepository;
  readonly tags: TagRepository;
  /** Cheap round trip, for /health. */
  ping(): Promise<void>;
  /** Flushes and closes; idempotent. */
  close(): Promise<void>;
}

/** A uniqueness violation (the row exists). Core maps it to AlreadyExists. */
export class StorageConflictError extends Error {
  override readonly name = 'StorageConflictError';
}
