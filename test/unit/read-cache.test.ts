/**
 * The read cache (src/storage/read-cache.ts, ADR 0024) on real SQLite storages: two storages on one
 * file stand for the node and another writer (the CLI, the worker thread, another node). The cache's
 * clock is the test's, so "older than the lifetime" is exact.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessKeyRecord, IdentityRecord, Storage } from '../../src/storage/ports.ts';
import { withReadCache } from '../../src/storage/read-cache.ts';
import { openSqliteStorage } from '../../src/storage/sqlite/index.ts';

const TTL = 50;
let dir: string;
let backend: Storage;
let other: Storage;
let node: Storage;
let clock: number;
/** Reads of the three cached rows that reached the node's database. */
let reads: { accounts: number; accessKeys: number; identities: number };

const KEY: AccessKeyRecord = {
  accessKeyId: 'AKIAREADCACHE0000001',
  accountId: 'acct',
  secretSealed: 'v1.sealed',
  policy: '{"Statement":[]}',
  description: 'sender',
  status: 'Active',
  isRoot: false,
  createdAt: 1,
};
const IDENTITY: IdentityRecord = {
  accountId: 'acct',
  name: 'example.test',
  type: 'DOMAIN',
  verificationStatus: 'PENDING',
  nextCheckAt: 10,
  createdAt: 1,
  updatedAt: 1,
  data: { dkim: { status: 'PENDING', tokens: ['a'] } },
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sesame-read-cache-'));
  backend = await openSqliteStorage(join(dir, 'sesame.db'));
  other = await openSqliteStorage(join(dir, 'sesame.db'));
  await backend.accounts.ensure({ id: 'acct', createdAt: 1, settings: { sendingEnabled: true } });
  await backend.accessKeys.create(KEY);
  await backend.identities.create(IDENTITY);
  reads = { accounts: 0, accessKeys: 0, identities: 0 };
  // Counts the reads that get past the cache, and changes nothing else.
  const counted = Object.create(backend, {
    accounts: { value: { ...bind(backend.accounts), get: (id: string) => (reads.accounts++, backend.accounts.get(id)) } },
    accessKeys: { value: { ...bind(backend.accessKeys), get: (id: string) => (reads.accessKeys++, backend.accessKeys.get(id)) } },
    identities: { value: { ...bind(backend.identities), get: (a: string, n: string) => (reads.identities++, backend.identities.get(a, n)) } },
  }) as Storage;
  clock = 1_000;
  node = withReadCache(counted, TTL, () => clock);
});

afterEach(async () => {
  await Promise.all([backend.close(), other.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** The repository's methods bound to it, as plain properties. */
function bind<R extends object>(repo: R): R {
  const out: Record<string, unknown> = {};
  for (let o: object | null = repo; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      const v = (repo as Record<string, unknown>)[name];
      if (name !== 'constructor' && typeof v === 'function' && !(name in out)) out[name] = v.bind(repo);
    }
  }
  return out as R;
}

describe('read cache', () => {
  it('answers a repeated read from memory for its lifetime, then reads again', async () => {
    for (let n = 0; n < 5; n++) {
      expect(await node.accessKeys.get(KEY.accessKeyId)).toEqual(KEY);
      expect(await node.accounts.get('acct')).toMatchObject({ settings: { sendingEnabled: true } });
      expect(await node.identities.get('acct', 'example.test')).toEqual(IDENTITY);
      clock += TTL / 5 - 1;
    }
    expect(reads).toEqual({ accounts: 1, accessKeys: 1, identities: 1 });
    clock += TTL;
    await node.accessKeys.get(KEY.accessKeyId);
    await node.accounts.get('acct');
    await node.identities.get('acct', 'example.test');
    expect(reads).toEqual({ accounts: 2, accessKeys: 2, identities: 2 });
  });

  it('shares one read among concurrent callers, and keeps reads of different rows apart', async () => {
    const got = await Promise.all([node.identities.get('acct', 'example.test'), node.identities.get('acct', 'example.test'), node.identities.get('acct', 'other.test'), node.identities.get('other', 'example.test')]);
    expect(got).toEqual([IDENTITY, IDENTITY, undefined, undefined]);
    expect(reads.identities).toBe(3);
  });

  it('sees a change made elsewhere at most one lifetime late', async () => {
    expect((await node.accessKeys.get(KEY.accessKeyId))!.status).toBe('Active');
    await other.accessKeys.setStatus(KEY.accessKeyId, 'Inactive'); // `sesame keys revoke`, another node
    clock += TTL - 1;
    expect((await node.accessKeys.get(KEY.accessKeyId))!.status).toBe('Active');
    clock += 1;
    expect((await node.accessKeys.get(KEY.accessKeyId))!.status).toBe('Inactive');
  });

  it('sees its own writes at once, through every write of the three repositories', async () => {
    const key = () => node.accessKeys.get(KEY.accessKeyId);
    const identity = () => node.identities.get('acct', 'example.test');
    const account = () => node.accounts.get('acct');

    await key();
    await node.accessKeys.setStatus(KEY.accessKeyId, 'Inactive');
    expect((await key())!.status).toBe('Inactive');
    await node.accessKeys.setPolicy(KEY.accessKeyId, '{"Statement":[{"Effect":"Deny"}]}');
    expect((await key())!.policy).toBe('{"Statement":[{"Effect":"Deny"}]}');
    await node.accessKeys.update({ ...KEY, secretSealed: 'v1.renewed' });
    expect((await key())!.secretSealed).toBe('v1.renewed');
    await node.accessKeys.delete(KEY.accessKeyId);
    expect(await key()).toBeUndefined();
    await node.accessKeys.create(KEY);
    expect(await key()).toEqual(KEY);

    await identity();
    expect(await node.identities.update({ ...IDENTITY, verificationStatus: 'SUCCESS', updatedAt: 2 }, 1)).toBe(true);
    expect((await identity())!.verificationStatus).toBe('SUCCESS');
    expect(await node.identities.delete('acct', 'example.test')).toBe(true);
    expect(await identity()).toBeUndefined();
    await node.identities.create(IDENTITY);
    expect(await identity()).toEqual(IDENTITY);

    await account();
    await node.accounts.updateSettings('acct', { sendingEnabled: false });
    expect((await account())!.settings).toEqual({ sendingEnabled: false });
    expect(await node.accounts.swapSettings('acct', { sendingEnabled: false }, { sendingEnabled: true, maxSendRate: 5 })).toBe(true);
    expect((await account())!.settings).toEqual({ sendingEnabled: true, maxSendRate: 5 });
    expect(await node.accounts.get('new')).toBeUndefined();
    await node.accounts.ensure({ id: 'new', createdAt: 2, settings: {} });
    expect(await node.accounts.get('new')).toEqual({ id: 'new', createdAt: 2, settings: {} });
  });

  it('a compare-and-swap that lost to another writer is retried on a fresh read', async () => {
    const stale = (await node.accounts.get('acct'))!;
    await other.accounts.updateSettings('acct', { sendingEnabled: false });
    // Within the lifetime the node still has the old settings, so its swap loses ...
    expect((await node.accounts.get('acct'))!.settings).toEqual(stale.settings);
    expect(await node.accounts.swapSettings('acct', stale.settings, { ...stale.settings, maxSendRate: 1 })).toBe(false);
    // ... and the read that follows is the database's, so the retry wins.
    const fresh = (await node.accounts.get('acct'))!;
    expect(fresh.settings).toEqual({ sendingEnabled: false });
    expect(await node.accounts.swapSettings('acct', fresh.settings, { ...fresh.settings, maxSendRate: 1 })).toBe(true);
    expect((await other.accounts.get('acct'))!.settings).toEqual({ sendingEnabled: false, maxSendRate: 1 });

    // The same for identities' optimistic updates.
    const before = (await node.identities.get('acct', 'example.test'))!;
    expect(await other.identities.update({ ...IDENTITY, updatedAt: 5 }, 1)).toBe(true);
    expect(await node.identities.update({ ...before, verificationStatus: 'SUCCESS', updatedAt: 6 }, before.updatedAt)).toBe(false);
    expect((await node.identities.get('acct', 'example.test'))!.updatedAt).toBe(5);
  });

  it('a read that was under way when a write began is not answered again after it', async () => {
    const during = node.identities.get('acct', 'example.test');
    await node.identities.update({ ...IDENTITY, verificationStatus: 'SUCCESS', updatedAt: 2 }, 1);
    await during;
    expect((await node.identities.get('acct', 'example.test'))!.verificationStatus).toBe('SUCCESS');
  });

  it('a read that began while a write was under way is not answered again after it', async () => {
    // The write is held before it reaches the database, so the read made meanwhile gets the old row.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const held = Object.create(backend, {
      identities: {
        value: {
          ...bind(backend.identities),
          update: async (i: IdentityRecord, expected: number) => {
            await gate;
            return backend.identities.update(i, expected);
          },
        },
      },
    }) as Storage;
    const cached = withReadCache(held, TTL, () => clock);
    const writing = cached.identities.update({ ...IDENTITY, verificationStatus: 'SUCCESS', updatedAt: 2 }, 1);
    expect((await cached.identities.get('acct', 'example.test'))!.verificationStatus).toBe('PENDING');
    release();
    expect(await writing).toBe(true);
    expect((await cached.identities.get('acct', 'example.test'))!.verificationStatus).toBe('SUCCESS');
  });

  it('gives records that no caller can change for another', async () => {
    const i = (await node.identities.get('acct', 'example.test'))!;
    expect(() => {
      (i.data.dkim as { status: string }).status = 'SUCCESS';
    }).toThrow(TypeError);
    expect(() => {
      (i as { verificationStatus: string }).verificationStatus = 'SUCCESS';
    }).toThrow(TypeError);
    const a = (await node.accounts.get('acct'))!;
    expect(() => {
      a.settings.sendingEnabled = false;
    }).toThrow(TypeError);
    // A copy is the caller's own to change.
    const copy = structuredClone(i);
    copy.verificationStatus = 'SUCCESS';
    expect((await node.identities.get('acct', 'example.test'))!.verificationStatus).toBe('PENDING');
  });

  it('does not keep a read that failed', async () => {
    let fail = true;
    const flaky = Object.create(backend, {
      accessKeys: { value: { ...bind(backend.accessKeys), get: (id: string) => (fail ? Promise.reject(new Error('SQLITE_BUSY')) : backend.accessKeys.get(id)) } },
    }) as Storage;
    const cached = withReadCache(flaky, TTL, () => clock);
    await expect(cached.accessKeys.get(KEY.accessKeyId)).rejects.toThrow('SQLITE_BUSY');
    fail = false;
    expect(await cached.accessKeys.get(KEY.accessKeyId)).toEqual(KEY);
  });

  it('passes everything else through, and a lifetime of 0 leaves the storage as it is', async () => {
    expect(withReadCache(backend, 0)).toBe(backend);
    expect(node.kind).toBe('sqlite');
    await node.tags.put('acct', 'arn:x', [{ key: 'k', value: 'v' }]);
    expect(await other.tags.list('acct', 'arn:x')).toEqual([{ key: 'k', value: 'v' }]);
    expect(await node.accessKeys.findRoot('acct')).toBeUndefined();
    expect((await node.identities.list('acct', { limit: 10 })).map((i) => i.name)).toEqual(['example.test']);
    await node.ping();
  });
});
