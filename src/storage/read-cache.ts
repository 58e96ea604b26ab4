/**
 * A few milliseconds' memory of the reads that every request repeats (ADR 0024): the access key
 * that signed it, its account's settings, the sending identities. Under load the same rows are read
 * again every millisecond or so; each read costs the thread that answers clients a query.
 *
 * `withReadCache(storage, ttlMs)` gives a Storage whose `accounts.get`, `accessKeys.get` and
 * `identities.get` answer from what the same call read less than `ttlMs` ago (concurrent calls
 * share one read). Every write made through it to one of those repositories forgets that
 * repository's reads, when it starts and again when it ends, so a node sees its own changes at once
 * and a compare-and-swap that lost is retried on a fresh read. A change made elsewhere (another
 * node, the CLI, the worker thread's own connection) is seen at most `ttlMs` late. Records are
 * frozen, since callers share them. Everything else passes through.
 */
import { performance } from 'node:perf_hooks';
import type { AccessKeyRepository, AccountRepository, IdentityRepository, Storage } from './ports.ts';

export function withReadCache(storage: Storage, ttlMs: number, now: () => number = () => performance.now()): Storage {
  if (!(ttlMs > 0)) return storage;
  const accountReads = new ReadCache<Awaited<ReturnType<AccountRepository['get']>>>(ttlMs, now);
  const keyReads = new ReadCache<Awaited<ReturnType<AccessKeyRepository['get']>>>(ttlMs, now);
  const identityReads = new ReadCache<Awaited<ReturnType<IdentityRepository['get']>>>(ttlMs, now);
  const a = storage.accounts;
  const k = storage.accessKeys;
  const i = storage.identities;

  const accounts: AccountRepository = {
    ensure: (account) => accountReads.writing(() => a.ensure(account)),
    get: (id) => accountReads.read(id, () => a.get(id)),
    updateSettings: (id, settings) => accountReads.writing(() => a.updateSettings(id, settings)),
    swapSettings: (id, expected, next) => accountReads.writing(() => a.swapSettings(id, expected, next)),
  };
  const accessKeys: AccessKeyRepository = {
    create: (key) => keyReads.writing(() => k.create(key)),
    get: (id) => keyReads.read(id, () => k.get(id)),
    list: (accountId) => k.list(accountId),
    update: (key) => keyReads.writing(() => k.update(key)),
    setStatus: (id, status) => keyReads.writing(() => k.setStatus(id, status)),
    setPolicy: (id, policy) => keyReads.writing(() => k.setPolicy(id, policy)),
    delete: (id) => keyReads.writing(() => k.delete(id)),
    findRoot: (accountId) => k.findRoot(accountId),
  };
  const identities: IdentityRepository = {
    create: (identity) => identityReads.writing(() => i.create(identity)),
    // Account ids and identity names hold no newline.
    get: (accountId, name) => identityReads.read(`${accountId}\n${name}`, () => i.get(accountId, name)),
    list: (accountId, options) => i.list(accountId, options),
    update: (identity, expectedUpdatedAt) => identityReads.writing(() => i.update(identity, expectedUpdatedAt)),
    delete: (accountId, name) => identityReads.writing(() => i.delete(accountId, name)),
    listDue: (at, limit) => i.listDue(at, limit),
    byName: (name) => i.byName(name),
    count: (accountId) => i.count(accountId),
  };
  // The other repositories, ping and close are the storage's own (through the prototype).
  return Object.create(storage, {
    accounts: { value: accounts, enumerable: true },
    accessKeys: { value: accessKeys, enumerable: true },
    identities: { value: identities, enumerable: true },
  }) as Storage;
}

interface Entry<V> {
  at: number;
  value: Promise<V>;
}

/** Reads by key, each kept `ttlMs` from when it started; the map holds only unexpired entries. */
class ReadCache<V> {
  /** In the order the entries were made (a key read again moves to the end), so the oldest are first. */
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  read(key: string, load: () => Promise<V>): Promise<V> {
    const at = this.now();
    const hit = this.entries.get(key);
    if (hit && at - hit.at < this.ttlMs) return hit.value;
    if (hit) this.entries.delete(key);
    this.dropExpired(at);
    const entry: Entry<V> = { at, value: load().then(deepFreeze) };
    this.entries.set(key, entry);
    // A failed read is not kept; the caller gets its error.
    entry.value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return entry.value;
  }

  /** Runs a write; reads made before it ends, or while it runs, are not answered again. */
  async writing<T>(write: () => Promise<T>): Promise<T> {
    this.entries.clear();
    try {
      return await write();
    } finally {
      this.entries.clear();
    }
  }

  private dropExpired(at: number): void {
    for (const [key, entry] of this.entries) {
      if (at - entry.at < this.ttlMs) return;
      this.entries.delete(key);
    }
  }
}

/** Freezes a record and what it holds (settings, identity data), so no caller changes another's copy. */
function deepFreeze<V>(value: V): V {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
