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
  /**
   * Replaces the settings only if they still equal `expected` (as last read): compare-and-swap, so
   * two concurrent changes (two requests, the CLI and a server, two nodes) never lose one. Returns
   * false when they changed meanwhile.
   */
  swapSettings(id: string, expected: Record<string, unknown>, next: Record<string, unknown>): Promise<boolean>;
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
  /** Replaces only the policy of a non-root key (status untouched); false when there is no such non-root key. */
  setPolicy(accessKeyId: string, policy: string): Promise<boolean>;
  delete(accessKeyId: string): Promise<boolean>;
  /** The root key of an account, if one exists. */
  findRoot(accountId: string): Promise<AccessKeyRecord | undefined>;
}

/** A signed-in web console session. */
export interface ConsoleSessionRecord {
  /** SHA-256 (hex) of the cookie's token; the token itself is never stored. */
  tokenHash: string;
  accountId: string;
  /** The access key the session was opened with: revoking it ends the session. */
  accessKeyId: string;
  /** The console user who signed in with a password (absent for a key sign-in): deleting the user or changing the password ends the session. */
  userName?: string;
  /** The token a state-changing request must echo in `X-CSRF-Token`. */
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

/** Web console sessions. */
export interface ConsoleSessionRepository {
  create(session: ConsoleSessionRecord): Promise<void>;
  get(tokenHash: string): Promise<ConsoleSessionRecord | undefined>;
  /** Returns whether there was such a session. */
  delete(tokenHash: string): Promise<boolean>;
  /** Ends every session opened with a key; returns how many. */
  deleteForKey(accessKeyId: string): Promise<number>;
  /** Ends every session a console user opened; returns how many. */
  deleteForUser(userName: string): Promise<number>;
  /** Removes sessions whose `expiresAt` is at or before `now`; returns how many. */
  deleteExpired(now: number): Promise<number>;
}

/** A console user: signs in to the web console with a name and password, acting with one access key's policy. */
export interface ConsoleUserRecord {
  /** The sign-in name (an email address or a login name), lower case; unique in the installation. */
  name: string;
  accountId: string;
  /** The access key whose policy the user acts with: revoking it ends the user's sessions. */
  accessKeyId: string;
  /** `scrypt$N=…,r=…,p=…$<salt base64>$<hash base64>`; never the password. */
  passwordHash: string;
  createdAt: number;
  /** When the password was last set (creation included): sessions opened before it are ended. */
  passwordChangedAt: number;
}

/** Web console users (name and password sign-in). */
export interface ConsoleUserRepository {
  /** Inserts a user; throws StorageConflictError when the name is taken. */
  create(user: ConsoleUserRecord): Promise<void>;
  get(name: string): Promise<ConsoleUserRecord | undefined>;
  /** An account's users in name order. */
  listByAccount(accountId: string): Promise<ConsoleUserRecord[]>;
  /** Replaces the password hash; false when there is no such user. */
  setPassword(name: string, passwordHash: string, changedAt: number): Promise<boolean>;
  /** Returns whether there was such a user. */
  delete(name: string): Promise<boolean>;
}

/** Email identities. */
export interface IdentityRepository {
  /** Inserts an identity; throws StorageConflictError when the account already has it. */
  create(identity: IdentityRecord): Promise<void>;
  get(accountId: string, name: string): Promise<IdentityRecord | undefined>;
  /** Identities of an account in name order, after `after` (exclusive). */
  /** In name order after `after`; `nameContains` keeps names holding that text, letter case ignored. */
  list(accountId: string, options: { after?: string; limit: number; type?: IdentityType; nameContains?: string }): Promise<IdentityRecord[]>;
  /**
   * Replaces an identity when its `updatedAt` still equals `expectedUpdatedAt` (optimistic
   * concurrency, so the verification worker never overwrites a user's change). Returns false if it
   * changed or vanished meanwhile.
   */
  update(identity: IdentityRecord, expectedUpdatedAt: number): Promise<boolean>;
  delete(accountId: string, name: string): Promise<boolean>;
  /** Identities of every account whose nextCheckAt is due, oldest first. */
  listDue(now: number, limit: number): Promise<IdentityRecord[]>;
  /** The identity of that name in every account (the MX finds whose mail a recipient is). */
  byName(name: string): Promise<IdentityRecord[]>;
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

/** A message accepted for delivery: stored once, however many recipients it has. */
export interface MessageRecord {
  messageId: string;
  accountId: string;
  /** Envelope sender (Return-Path) used for every delivery attempt. */
  mailFrom: string;
  /**
   * The signed message, exactly as it will be sent; for a message kept in the BlobStore (see
   * `bodyBlob`) only its first part (the signatures and header block), the rest following from the blob.
   */
  body: Buffer;
  /** A large message's remaining bytes: BlobStore id and the offset in that blob where they start. */
  bodyBlob?: BlobRange | null;
  configurationSet: string | null;
  /** Deliver only over TLS (the configuration set's TlsPolicy is REQUIRE). Default false. */
  requireTls?: boolean;
  createdAt: number;
  /** When recipients still deferred bounce as `Transient` (createdAt + max delivery seconds). */
  expiresAt: number;
  /** What events need about the message (SES's `mail` object), owned by core. */
  meta: Record<string, unknown>;
}

/** Bytes of a blob from `offset` to its end. */
export interface BlobRange {
  id: string;
  offset: number;
}

/** A stored message body: `head`, followed by the blob range when there is one. */
export interface StoredBody {
  head: Buffer;
  blob: BlobRange | null;
}

/** Where a recipient is in its life. Terminal states: delivered, bounced, suppressed. */
export type RecipientState = 'queued' | 'delivered' | 'bounced' | 'suppressed';

/** One recipient of a message: the unit of the queue. Leases let several workers share it. */
export interface RecipientRecord {
  messageId: string;
  /** Recipient address as given. */
  rcpt: string;
  /** Lower-case destination domain, the unit of MX lookup and throttling. */
  domain: string;
  state: RecipientState;
  attempts: number;
  /** Earliest time of the next attempt (ms); meaningful while queued. */
  nextAttemptAt: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  /** Last remote reply or local reason. */
  lastResponse: string | null;
  updatedAt: number;
}

/** A recipient handed to a worker, with what delivery needs of its message (not the body). */
export interface LeasedRecipient extends RecipientRecord {
  accountId: string;
  mailFrom: string;
  expiresAt: number;
  configurationSet: string | null;
  requireTls: boolean;
  /** When the message was accepted (ms). */
  messageCreatedAt: number;
  /** The message's metadata (shared by its recipients in one lease). */
  meta: Record<string, unknown>;
}

/** An event in SES's event-publishing JSON, stored in the same transaction as the change it describes. */
export interface EventRecord {
  /** Assigned by storage; increasing. */
  id?: number;
  messageId: string;
  accountId: string;
  /** SES eventType: Send, Delivery, Bounce, DeliveryDelay, Reject, Rendering Failure, … */
  type: string;
  createdAt: number;
  payload: Record<string, unknown>;
}

/** A change to one leased recipient, applied only while the lease is still held. */
export interface RecipientUpdate {
  messageId: string;
  rcpt: string;
  state: RecipientState;
  attempts: number;
  nextAttemptAt: number;
  lastResponse: string | null;
}

/** A worker's result for one leased recipient: the change, its events, and a suppression entry it causes. */
export interface CompletionItem {
  update: RecipientUpdate;
  events: EventRecord[];
  /** Added to the suppression list in the same transaction (a permanent bounce). */
  suppression?: SuppressionRecord;
}

/** One accepted message with its recipients and its first events, committed together. */
export interface EnqueueItem {
  message: MessageRecord;
  recipients: RecipientRecord[];
  events: EventRecord[];
  /** Whether the recipients count toward the account's quota and statistics (default true; false for Sesame's own mail). */
  countTowardQuota?: boolean;
}

/** The durable queue: messages, per-recipient rows with leases, and the event outbox. */
/** What a message search looks for (every filter given must hold); newest first. */
export interface MessageSearch {
  accountId: string;
  messageId?: string;
  /** Messages with a recipient of this exact address. */
  recipient?: string;
  /** Messages with a recipient in this state. */
  state?: RecipientState;
  /** Text that the message's `meta` contains (case-insensitive): a prefilter for sender and subject, which core checks exactly. */
  text?: string;
  /** created_at ≥ since and < until (ms). */
  since?: number;
  until?: number;
  /** Continue after this message (the last of the previous page, with its `seq` when it had one). */
  after?: { createdAt: number; messageId: string; seq?: number };
}

/** A message found by a search: its row without the body, and its recipients. */
export type MessageSearchRow = Omit<MessageRecord, 'body' | 'bodyBlob'> & {
  recipients: RecipientRecord[];
  /**
   * Set when the backend ordered the page by its own storage order rather than by time (SQLite's
   * full-text search: newest stored first); a cursor must carry it back in `after.seq`.
   */
  seq?: number;
};

/** One destination domain's share of the queue (QueueRepository.destinations). */
export interface DestinationSummary {
  domain: string;
  /** Recipients in state queued, in flight or waiting. */
  queued: number;
  /** Queued recipients a delivery worker holds now (a live lease). */
  inFlight: number;
  /** When the oldest of their messages was accepted (ms). */
  oldestCreatedAt: number;
  /** The soonest next attempt of those not in flight (ms); null when all are in flight. */
  nextAttemptAt: number | null;
  /** The most frequent last replies of queued recipients already tried (deferrals), at most three, most frequent first. */
  deferrals: Array<{ response: string; count: number }>;
}

/** A destination domain whose delivery an operator paused. */
export interface PausedDestination {
  /** Lower-case domain, as recipients store it. */
  domain: string;
  pausedAt: number;
  /** Who paused it: an access key id, or "cli (user)" for the operator's command line. */
  pausedBy: string;
  reason: string | null;
}

export interface QueueRepository {
  /** Messages matching a search, newest first, at most `limit`, with their recipients and no body read. */
  search(filter: MessageSearch, limit: number): Promise<MessageSearchRow[]>;
  /** Commits many accepted messages in ONE transaction (group commit). All or nothing. */
  enqueue(items: EnqueueItem[]): Promise<void>;
  /**
   * Leases up to `limit` queued recipients that are due (nextAttemptAt ≤ now and no live lease),
   * setting owner and expiry. Two workers never get the same recipient.
   */
  lease(owner: string, now: number, leaseMs: number, limit: number): Promise<LeasedRecipient[]>;
  /** The stored body of a message: its bytes in the row, and where the rest is when it is in the BlobStore. */
  body(messageId: string): Promise<StoredBody | undefined>;
  /**
   * Applies updates of recipients still leased by `owner`, with each update's events and suppression
   * entry, in one transaction, and releases the leases. Returns how many applied: an update whose
   * lease was lost (expired and taken by another worker) changes nothing and its events are dropped.
   * `now` stamps the rows (defaults to the wall clock).
   */
  complete(owner: string, items: CompletionItem[], now?: number): Promise<number>;
  /**
   * Extends every lease `owner` still holds (not yet expired at `now`) to `now + leaseMs`, so that a
   * batch that takes longer than one lease is not taken over while it is being delivered. Returns
   * how many leases it extended.
   */
  renew(owner: string, now: number, leaseMs: number): Promise<number>;
  /** Releases leases without changing state (shutdown). */
  release(owner: string): Promise<void>;
  message(messageId: string): Promise<MessageRecord | undefined>;
  recipients(messageId: string): Promise<RecipientRecord[]>;
  events(messageId: string): Promise<EventRecord[]>;
  /** Queued recipients, soonest first (for `sesame queue list`). */
  listQueued(limit: number): Promise<RecipientRecord[]>;
  /** Makes queued recipients of a message due now; returns how many. */
  retryNow(messageId: string, now: number): Promise<number>;
  /**
   * Operator purge (`sesame queue purge`): in ONE transaction, turns each listed recipient of the
   * message that is still `queued` into `bounced` with its `lastResponse`, inserts that recipient's
   * events, and drops any lease on it (so a worker's in-flight result no longer applies). A listed
   * recipient that is no longer queued changes nothing and its events are dropped. Returns the
   * recipients that were purged.
   */
  purge(messageId: string, items: Array<{ rcpt: string; lastResponse: string; events: EventRecord[] }>, now: number): Promise<string[]>;
  /** Counts of recipients by state. */
  stats(): Promise<Record<RecipientState, number>>;
  /** Recipients accepted for an account since `since` (ms), for Max24HourSend and GetSendQuota. */
  sentSince(accountId: string, since: number): Promise<number>;
  /** Recipients accepted per 15-minute bucket since `since` (ms), oldest first. */
  sendCounts(accountId: string, since: number): Promise<SendCount[]>;
  /** Events of an account since `since` (ms), counted per `bucketMs` bucket and type. */
  eventCounts(accountId: string, since: number, bucketMs: number, types: string[]): Promise<EventCount[]>;
  /**
   * The queue per destination domain: queued recipients (of `accountId`'s messages, or of every
   * account when it is undefined), the deepest `limit` domains first, with their in-flight count,
   * oldest queued message, next attempt and the three most frequent deferral replies. One GROUP BY
   * over the queued rows, never the delivered history.
   */
  destinations(accountId: string | undefined, now: number, limit: number): Promise<DestinationSummary[]>;
  /** Makes every queued recipient of `domain` (of `accountId`'s messages, or of every account) due at `now`; returns how many. */
  retryDestination(accountId: string | undefined, domain: string, now: number): Promise<number>;
  /**
   * Pauses delivery to a domain for every node: `lease` no longer hands out its recipients, which
   * stay queued. Pausing a paused domain keeps its first `pausedAt` and replaces `pausedBy` and
   * `reason`. Returns false when it was already paused.
   */
  pauseDestination(p: PausedDestination): Promise<boolean>;
  /**
   * Resumes a paused domain and, in the same transaction, makes its queued recipients (of every
   * account) due at `now`. Returns undefined when it was not paused, else how many were made due.
   */
  resumeDestination(domain: string, now: number): Promise<{ pause: PausedDestination; due: number } | undefined>;
  /** The paused destinations, by domain. */
  pausedDestinations(): Promise<PausedDestination[]>;
  /**
   * Moves the due, unleased, queued recipients of paused domains out of the due range (next attempt
   * `until`), so that claims do not step over a paused backlog again and again. Race-free with
   * resume: a domain resumed meanwhile is not touched after its resume. Returns how many it moved.
   */
  holdPaused(now: number, until: number): Promise<number>;
  /** What events and tracking need of a message, without its body; undefined when it is unknown. */
  messageMeta(messageId: string): Promise<{ accountId: string; configurationSet: string | null; createdAt: number; meta: Record<string, unknown> } | undefined>;
}

/** An HTTP(S) subscription of a topic (SNS-compatible). */
export interface SubscriptionRecord {
  /** Random id; the subscription's ARN is the topic's ARN, ':' and this id. */
  id: string;
  accountId: string;
  /** Name of the topic. */
  topic: string;
  protocol: 'http' | 'https';
  endpoint: string;
  /** Pending until the endpoint confirms with the token sent to it. */
  status: 'pending' | 'confirmed';
  /** The confirmation token sent in the SubscriptionConfirmation message. */
  token: string;
  /** Subscription attributes (RawMessageDelivery, …). */
  attributes: Record<string, string>;
  createdAt: number;
  updatedAt: number;
}

/** Subscriptions of topics. */
export interface SubscriptionRepository {
  create(s: SubscriptionRecord): Promise<void>;
  get(id: string): Promise<SubscriptionRecord | undefined>;
  /** An account's subscriptions (of one topic when `topic` is given) in id order, after `after` (exclusive). */
  list(accountId: string, o: { topic?: string; after?: string; limit: number }): Promise<SubscriptionRecord[]>;
  /** Replaces status, token, attributes and updatedAt; false when it does not exist. */
  update(s: SubscriptionRecord): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  /** Deletes every subscription of a topic; returns how many. */
  deleteTopic(accountId: string, topic: string): Promise<number>;
}

/** One HTTP POST to make, durably: an SNS delivery to a subscriber or an event-bus webhook. */
export interface WebhookRecord {
  /** Assigned by storage. */
  id?: number;
  accountId: string;
  /** What it delivers, for logs and metrics: `sns` or `eventbridge`. */
  kind: string;
  url: string;
  /** The subscription it belongs to (its pending deliveries stop when it is deleted), or null. */
  subscriptionId: string | null;
  headers: Record<string, string>;
  body: string;
  attempts: number;
  nextAttemptAt: number;
  /** After this the delivery is given up (and logged). */
  expiresAt: number;
  createdAt: number;
  lastError: string | null;
}

/** The result of one leased webhook delivery. */
export type WebhookResult = { id: number; outcome: 'delivered' | 'dropped' } | { id: number; outcome: 'retry'; attempts: number; nextAttemptAt: number; lastError: string };

/** Durable HTTP deliveries with retries (leases as the recipient queue). */
export interface WebhookRepository {
  enqueue(items: WebhookRecord[]): Promise<void>;
  /** Leases due deliveries (nextAttemptAt ≤ now, no live lease), oldest first. */
  lease(owner: string, now: number, leaseMs: number, limit: number): Promise<WebhookRecord[]>;
  /** Applies results of deliveries still leased by `owner` (delivered and dropped rows are removed) and releases them. */
  complete(owner: string, results: WebhookResult[]): Promise<void>;
  /** Deliveries waiting (for /metrics and the operator). */
  count(): Promise<number>;
  /** Releases the leases `owner` holds (a restarted node takes its in-flight deliveries back at once). */
  release(owner: string): Promise<void>;
  /** Drops pending deliveries of a subscription. */
  deleteBySubscription(subscriptionId: string): Promise<number>;
}

/** Sends, hard bounces and complaints to add to the reputation counters of an account or configuration set. */
export interface ReputationDelta {
  accountId: string;
  /** '' for the account as a whole. */
  configurationSet: string;
  at: number;
  sends: number;
  hardBounces: number;
  complaints: number;
}

/** What one published event causes in storage. */
export interface PublishClaim {
  eventId: number;
  webhooks: WebhookRecord[];
  reputation: ReputationDelta[];
}

/**
 * The outbox side of the events table: events are stored with the change they describe, and
 * published later. Publishing claims each event once (even when several nodes try), and inserts what
 * it causes in the same transaction.
 */
export interface EventOutboxRepository {
  /** Unpublished events, oldest first. */
  pending(limit: number): Promise<EventRecord[]>;
  /**
   * In ONE transaction: marks the claimed events published (only those still unpublished), and for
   * those inserts their webhook deliveries and adds their reputation counts. Returns the ids claimed.
   */
  publish(claims: PublishClaim[], now: number): Promise<number[]>;
  /** Stores events that are not part of a queue change (opens, clicks). */
  record(events: EventRecord[]): Promise<void>;
  /** Events not yet published (for /metrics). */
  backlog(): Promise<number>;
}

/** Reputation counters per hour. */
export interface ReputationRepository {
  /** Totals since `since` (ms) of an account ('' configurationSet) or one of its configuration sets. */
  totals(accountId: string, configurationSet: string, since: number): Promise<{ sends: number; hardBounces: number; complaints: number }>;
}

/** A suppression-list entry. */
export interface SuppressionRecord {
  accountId: string;
  /** Lower-cased address. */
  email: string;
  reason: 'BOUNCE' | 'COMPLAINT';
  lastUpdateTime: number;
  messageId: string | null;
  feedbackId: string | null;
}

/** The account-level suppression list. */
export interface SuppressionRepository {
  put(entry: SuppressionRecord): Promise<void>;
  /** Adds or overwrites many entries in one transaction (an import); each address at most once. */
  putMany(entries: SuppressionRecord[]): Promise<void>;
  /** Removes the addresses that are on the list, in one transaction; how many were. */
  deleteMany(accountId: string, emails: string[]): Promise<number>;
  get(accountId: string, email: string): Promise<SuppressionRecord | undefined>;
  /** Entries among `emails` (lower-cased), for one send. */
  findMany(accountId: string, emails: string[]): Promise<SuppressionRecord[]>;
  delete(accountId: string, email: string): Promise<boolean>;
  list(accountId: string, options: { after?: string; limit: number; reasons?: Array<'BOUNCE' | 'COMPLAINT'>; start?: number; end?: number }): Promise<SuppressionRecord[]>;
}

/**
 * A named resource of an account whose state core owns as a document: email templates and
 * configuration sets. `name` is unique per account (case-sensitive, as SES treats these names).
 */
export interface NamedRecord {
  accountId: string;
  name: string;
  data: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

/** Named resources of one kind (templates, configuration sets, topics, event buses). */
export interface NamedRepository {
  /** Inserts; throws StorageConflictError when the account already has the name. */
  create(r: NamedRecord): Promise<void>;
  get(accountId: string, name: string): Promise<NamedRecord | undefined>;
  /** In name order, after `after` (exclusive). */
  list(accountId: string, options: { after?: string; limit: number }): Promise<NamedRecord[]>;
  /** Replaces `data` and `updatedAt` of an existing record; false when it does not exist. */
  update(r: NamedRecord): Promise<boolean>;
  /** Like update, but only while the stored `updatedAt` still equals `expectedUpdatedAt` (compare-and-swap). */
  swap(r: NamedRecord, expectedUpdatedAt: number): Promise<boolean>;
  delete(accountId: string, name: string): Promise<boolean>;
  count(accountId: string): Promise<number>;
}

/** An object of the built-in object store (S3-compatible). */
export interface ObjectRecord {
  accountId: string;
  bucket: string;
  key: string;
  size: number;
  /** Hex MD5 of the stored (plain) content, as S3's ETag without quotes. */
  etag: string;
  contentType: string;
  /** User metadata (x-amz-meta-*) and Sesame's own (encryption). */
  metadata: Record<string, string>;
  /** The BlobStore id of the bytes. */
  blobId: string;
  createdAt: number;
}

/** Objects of the built-in store, per account and bucket. */
export interface ObjectRepository {
  /** Inserts or replaces the object at (account, bucket, key); returns the blob id it replaced, if any. */
  put(o: ObjectRecord): Promise<string | undefined>;
  get(accountId: string, bucket: string, key: string): Promise<ObjectRecord | undefined>;
  /** Objects in key order whose key starts with `prefix`, after `after` (exclusive). */
  list(accountId: string, bucket: string, o: { prefix?: string; after?: string; limit: number }): Promise<ObjectRecord[]>;
  /** Deletes; returns the deleted object's blob id, if it existed. */
  delete(accountId: string, bucket: string, key: string): Promise<string | undefined>;
  /** Number of objects in a bucket (a bucket must be empty to be deleted). */
  count(accountId: string, bucket: string): Promise<number>;
}

/**
 * Large byte content (stored mail, spooled messages), written and flushed before any row names it,
 * so a crash leaves at worst an unreferenced blob, never a row without its bytes. Files under the
 * data dir on SQLite; rows of their own on PostgreSQL, so that every node reads them.
 */
export interface BlobStore {
  /** Stores the bytes durably; returns their id. */
  put(data: Buffer | AsyncIterable<Buffer>): Promise<{ id: string; size: number }>;
  /** A blob written piece by piece (a message spooled while it arrives); durable once committed. */
  writer(): Promise<BlobWriter>;
  /** The bytes, or undefined when there is no such blob. */
  get(id: string): Promise<Buffer | undefined>;
  /** The bytes from `start` (default 0) to the end, as a stream, or undefined when there is no such blob. */
  stream(id: string, start?: number): Promise<AsyncIterable<Buffer> | undefined>;
  /** Removes; no error when it does not exist. */
  delete(id: string): Promise<void>;
}

/** A blob being written: `commit` makes it durable and returns its id; `abort` drops what was written. */
export interface BlobWriter {
  write(chunk: Buffer): Promise<void>;
  commit(): Promise<{ id: string; size: number }>;
  abort(): Promise<void>;
}

/** Events of an account counted per time bucket and type (for GetSendStatistics). */
export interface EventCount {
  /** Start of the bucket (ms). */
  bucketStart: number;
  type: string;
  count: number;
}

/** Recipients accepted per time bucket. */
export interface SendCount {
  bucketStart: number;
  recipients: number;
}

/**
 * A node of the installation as `sesame serve` registered it, with its last heartbeat. Several nodes
 * share one PostgreSQL database; on SQLite there is one.
 */
export interface NodeRecord {
  /** The node's stable id (`node.id` in its data dir), also the owner name of its leases. */
  id: string;
  /** The parts it runs (SESAME_ROLES). */
  roles: string[];
  hostname: string;
  pid: number;
  /** Sesame's version on that node. */
  version: string;
  startedAt: number;
  /** Its last heartbeat (ms, the node's clock). */
  heartbeatAt: number;
  /** How often it promised to beat (ms); it counts as down after three missed beats. */
  heartbeatIntervalMs: number;
}

/** The node registry: one row per running node, refreshed by its heartbeat. */
export interface NodeRepository {
  /** Inserts the node's row, or replaces the row of the same id (a restarted node). */
  register(node: NodeRecord): Promise<void>;
  /** Records a heartbeat; false when the node has no row (it was removed) and must register again. */
  heartbeat(id: string, at: number): Promise<boolean>;
  /** Removes the node's row (clean shutdown); false when there was none. */
  remove(id: string): Promise<boolean>;
  /** Every registered node, oldest start first. */
  list(): Promise<NodeRecord[]>;
  /** Removes nodes whose last heartbeat is before `before`; returns how many. */
  prune(before: number): Promise<number>;
}

/** An installation-wide job lease: which node runs a periodic job, until when. */
export interface JobLeaseRecord {
  job: string;
  owner: string;
  /** When the current owner took it (renewals keep this). */
  acquiredAt: number;
  expiresAt: number;
}

/**
 * Installation-wide job leases: a periodic job that must run once per installation, not once per
 * node, runs on the node that holds its lease. Taking one is a single atomic statement, so of nodes
 * racing for a free or expired lease exactly one wins; a dead node's lease expires and another takes it.
 */
export interface JobLeaseRepository {
  /**
   * Takes the lease of `job` for `owner` until `now + ttlMs` when it is free, expired (`expiresAt <= now`)
   * or already `owner`'s (a renewal). Returns true when `owner` holds it afterwards.
   */
  acquire(job: string, owner: string, now: number, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `owner` holds it; returns whether it did. */
  release(job: string, owner: string): Promise<boolean>;
  /** Every lease row (expired ones included), by job name. */
  list(): Promise<JobLeaseRecord[]>;
}

/** What one take from a shared token bucket got. */
export interface TokenGrant {
  /** Tokens taken (0 when fewer than the minimum asked for were there). */
  taken: number;
  /** Tokens left in the bucket afterwards: fractional, and negative after an oversized take. */
  left: number;
}

/** Settings of a strike counter (failures that lead to a lockout). */
export interface StrikeSettings {
  /** A failure more than this long after the previous one counts from one again. */
  windowMs: number;
  /** The failure that reaches this count locks the key out and starts the count afresh. */
  max: number;
  /** How long a lockout lasts. */
  lockoutMs: number;
}

/**
 * Limits that hold across every node sharing the database (ADR 0014): token buckets (sending rates,
 * per-destination rates), leased slots (per-destination connections) and strike counters (SMTP
 * AUTH lockouts). Keys are namespaced by the caller (`rate:account:…`, `conn:domain:…`). Every
 * operation is one atomic statement, so concurrent callers on several nodes never take more than
 * there is. Core keeps these limits in memory on a single node (SQLite) and uses this port where
 * several nodes share one PostgreSQL.
 */
export interface LimitRepository {
  /**
   * Takes tokens from bucket `key`, which holds at most `burst` tokens and refills at `rate` per
   * second (a new bucket starts full): as many as are there up to `max`, but none when fewer than
   * `min` are there. A `min` above `burst` is taken once the bucket is full (leaving it negative),
   * so that an oversized request is not refused forever. `now` (ms) never moves a bucket's clock back.
   */
  takeTokens(key: string, rate: number, burst: number, min: number, max: number, now: number): Promise<TokenGrant>;
  /**
   * Claims one of the `slots` slots of `key` that is free (never taken, released, or expired) for
   * `owner` until `now + ttlMs`. Returns the slot's number, or undefined when none was free or
   * another caller won the race for it (callers try again later).
   */
  acquireSlot(key: string, slots: number, owner: string, now: number, ttlMs: number): Promise<number | undefined>;
  /** Extends every slot `owner` still holds to `until`; returns how many. */
  renewSlots(owner: string, until: number): Promise<number>;
  /** Frees a slot if `owner` still holds it. */
  releaseSlot(key: string, slot: number, owner: string): Promise<void>;
  /**
   * Frees every slot held under `node/…` except by `current`: what an earlier life of a restarted
   * node (its owner names are `node/<per-process id>`) held when it died. Returns how many.
   */
  releaseEarlierSlots(node: string, current: string): Promise<number>;
  /** Slots of `key` held (unexpired) at `now`. */
  heldSlots(key: string, now: number): Promise<number>;
  /**
   * Records a failure of `key` at `now`; returns the count it reached (1 after a quiet `windowMs`)
   * and until when the key is locked out (0 when it never was; `now + lockoutMs` when this
   * failure reached `max`).
   */
  strike(key: string, now: number, settings: StrikeSettings): Promise<{ failures: number; lockedUntil: number }>;
  /** Until when `key` is locked out (ms); 0 when it never was. */
  lockedUntil(key: string): Promise<number>;
}

/** The repositories one backend provides, plus its lifecycle. */
export interface Storage {
  readonly kind: 'sqlite' | 'postgres';
  readonly accounts: AccountRepository;
  readonly accessKeys: AccessKeyRepository;
  readonly consoleSessions: ConsoleSessionRepository;
  readonly consoleUsers: ConsoleUserRepository;
  readonly identities: IdentityRepository;
  readonly tags: TagRepository;
  readonly queue: QueueRepository;
  readonly suppression: SuppressionRepository;
  readonly templates: NamedRepository;
  readonly configurationSets: NamedRepository;
  /** Receipt rule sets (data: `{ rules }`, owned by core/receiving). */
  readonly receiptRuleSets: NamedRepository;
  /** Receipt IP filters (data: `{ policy, cidr }`). */
  readonly receiptFilters: NamedRepository;
  /** HTTP functions that Lambda receipt actions invoke (data: `{ url }`). */
  readonly functions: NamedRepository;
  /** Buckets of the built-in object store (data: bucket settings). */
  readonly buckets: NamedRepository;
  /** Buckets on S3-compatible endpoints the S3 receipt action writes to (data: endpoint, region, bucket, key id, sealed secret). */
  readonly externalBuckets: NamedRepository;
  /** Objects of the built-in object store (their bytes are in the BlobStore). */
  readonly objects: ObjectRepository;
  /** Large byte content kept outside the rows that name it. */
  readonly blobs: BlobStore;
  /** SNS-compatible topics (data: attributes). */
  readonly topics: NamedRepository;
  /** Event buses: the webhooks that EventBridge destinations post to (data: url, sealed secret). */
  readonly eventBuses: NamedRepository;
  readonly subscriptions: SubscriptionRepository;
  readonly webhooks: WebhookRepository;
  readonly outbox: EventOutboxRepository;
  readonly reputation: ReputationRepository;
  /** The node registry (`sesame nodes`). */
  readonly nodes: NodeRepository;
  /** Installation-wide job leases (periodic work that runs on one node). */
  readonly jobLeases: JobLeaseRepository;
  /** Limits shared by the nodes of an installation: token buckets, slot leases, strike counters. */
  readonly limits: LimitRepository;
  /**
   * SQLite only: which connection copies the write-ahead log into the database file. A checkpoint
   * (the copy and two flushes) runs on the thread of the connection that starts it and blocks that
   * thread's event loop meanwhile. `self`, as opened: this connection, when one of its commits leaves
   * the log over 1,000 pages. `other`: another connection to the same file takes them (the worker
   * thread's, which calls `checkpointWal` on a timer), and this one only past a backstop of
   * WAL_BACKSTOP_PAGES, should that connection stop keeping up.
   */
  walCheckpoints?(by: 'self' | 'other'): void;
  /** SQLite only: copies what the write-ahead log holds into the database file now, as far as it can without waiting for readers (PASSIVE). */
  checkpointWal?(): void;
  /** Cheap round trip, for /health. */
  ping(): Promise<void>;
  /** Flushes and closes; idempotent. */
  close(): Promise<void>;
}

/** A uniqueness violation (the row exists). Core maps it to AlreadyExists. */
export class StorageConflictError extends Error {
  override readonly name = 'StorageConflictError';
}
