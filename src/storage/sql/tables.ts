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

/** `console_sessions` */
export interface ConsoleSessionsTable {
  token_hash: string;
  account_id: string;
  access_key_id: string;
  csrf_token: string;
  created_at: number;
  expires_at: number;
  /** The console user who signed in with a password; null for a key sign-in (0014). */
  user_name: string | null;
}

/** `console_users`: web console users (name and scrypt password hash), each acting with one access key (0014). */
export interface ConsoleUsersTable {
  name: string;
  account_id: string;
  access_key_id: string;
  password_hash: string;
  created_at: number;
  password_changed_at: number;
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

/** `messages`: one row per accepted message, holding the signed body once. */
export interface MessagesTable {
  message_id: string;
  account_id: string;
  mail_from: string;
  body: Buffer;
  configuration_set: string | null;
  created_at: number;
  expires_at: number;
  meta: string;
  require_tls: Generated<number>;
  /** A large message's rest: BlobStore id and offset (null when the row holds the whole body). */
  body_blob: string | null;
  body_blob_offset: number | null;
}

/** `recipients`: the queue, one row per recipient, state and lease in columns. */
export interface RecipientsTable {
  message_id: string;
  rcpt: string;
  domain: string;
  state: string;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_response: string | null;
  updated_at: number;
}

/** `events`: the outbox of SES events. */
export interface EventsTable {
  id: Generated<number>;
  message_id: string;
  account_id: string;
  type: string;
  created_at: number;
  payload: string;
  /** When the event was published to its destinations; null while it waits in the outbox. */
  published_at: number | null;
}

/** `subscriptions`: HTTP(S) subscriptions of topics. */
export interface SubscriptionsTable {
  id: string;
  account_id: string;
  topic: string;
  protocol: string;
  endpoint: string;
  status: string;
  token: string;
  attributes: string;
  created_at: number;
  updated_at: number;
}

/** `webhooks`: durable HTTP deliveries with retries. */
export interface WebhooksTable {
  id: Generated<number>;
  account_id: string;
  kind: string;
  url: string;
  subscription_id: string | null;
  headers: string;
  body: string;
  attempts: number;
  next_attempt_at: number;
  expires_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  created_at: number;
  last_error: string | null;
}

/** `reputation_counters`: sends, hard bounces and complaints per account (and configuration set) per hour. */
export interface ReputationCountersTable {
  account_id: string;
  configuration_set: string;
  bucket: number;
  sends: number;
  hard_bounces: number;
  complaints: number;
}

/** `suppressed_destinations`: the account-level suppression list. */
export interface SuppressionTable {
  account_id: string;
  email: string;
  reason: string;
  last_update_time: number;
  message_id: string | null;
  feedback_id: string | null;
}

/** `send_counters`: recipients accepted per account per 15-minute bucket. */
export interface SendCountersTable {
  account_id: string;
  bucket: number;
  recipients: number;
}

/** `templates`, `configuration_sets`, `topics`, `event_buses`: named per-account documents. */
export interface NamedTable {
  account_id: string;
  name: string;
  data: string;
  created_at: number;
  updated_at: number;
}

/** `objects`: the built-in object store's index (bytes in the BlobStore). */
export interface ObjectsTable {
  account_id: string;
  bucket: string;
  key: string;
  size: number;
  etag: string;
  content_type: string;
  metadata: string;
  blob_id: string;
  created_at: number;
}

/** `blobs`: blob bytes on PostgreSQL (SQLite keeps them as files). */
export interface BlobsTable {
  id: string;
  data: Buffer;
  created_at: number;
}

/** `blob_chunks`: blob bytes on PostgreSQL, 1 MiB per row in `seq` order. */
export interface BlobChunksTable {
  id: string;
  seq: number;
  data: Buffer;
  created_at: number;
}

/** `nodes`: the node registry, one row per running node (roles comma-separated). */
export interface NodesTable {
  id: string;
  roles: string;
  hostname: string;
  pid: number;
  version: string;
  started_at: number;
  heartbeat_at: number;
  heartbeat_interval_ms: number;
}

/** `job_leases`: installation-wide job leases, one row per job name. */
export interface JobLeasesTable {
  job: string;
  owner: string;
  acquired_at: number;
  expires_at: number;
}

/** `limit_buckets`: shared token buckets, one row per key (ADR 0014). */
export interface LimitBucketsTable {
  key: string;
  /** Tokens at `updated_at` (fractional; negative after an oversized take). */
  tokens: number;
  updated_at: number;
  /** What the last take got (RETURNING reads it back from the same statement). */
  last_taken: number;
}

/** `limit_slots`: leased slots (per-destination connections), one row per key and slot. */
export interface LimitSlotsTable {
  key: string;
  slot: number;
  owner: string;
  expires_at: number;
}

/** `limit_strikes`: failure counters with lockouts (SMTP AUTH), one row per key. */
export interface LimitStrikesTable {
  key: string;
  /** Failures counted since the last lockout or quiet window. */
  failures: number;
  /** The count the last failure reached (RETURNING reads it back). */
  last_count: number;
  last_at: number;
  locked_until: number;
}

/** `paused_destinations`: destination domains no node delivers to while their row exists. */
export interface PausedDestinationsTable {
  domain: string;
  paused_at: number;
  paused_by: string;
  reason: string | null;
}

/** The whole schema. */
export interface Database {
  accounts: AccountsTable;
  access_keys: AccessKeysTable;
  console_sessions: ConsoleSessionsTable;
  console_users: ConsoleUsersTable;
  identities: IdentitiesTable;
  tags: TagsTable;
  messages: MessagesTable;
  recipients: RecipientsTable;
  events: EventsTable;
  suppressed_destinations: SuppressionTable;
  send_counters: SendCountersTable;
  templates: NamedTable;
  configuration_sets: NamedTable;
  topics: NamedTable;
  event_buses: NamedTable;
  subscriptions: SubscriptionsTable;
  webhooks: WebhooksTable;
  reputation_counters: ReputationCountersTable;
  receipt_rule_sets: NamedTable;
  receipt_filters: NamedTable;
  functions: NamedTable;
  buckets: NamedTable;
  external_buckets: NamedTable;
  objects: ObjectsTable;
  blobs: BlobsTable;
  blob_chunks: BlobChunksTable;
  nodes: NodesTable;
  job_leases: JobLeasesTable;
  limit_buckets: LimitBucketsTable;
  limit_slots: LimitSlotsTable;
  limit_strikes: LimitStrikesTable;
  paused_destinations: PausedDestinationsTable;
}
