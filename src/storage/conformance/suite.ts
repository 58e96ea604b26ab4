/**
 * The storage conformance suite: one set of vitest tests that every backend of storage/ports.ts
 * must pass, so that core behaves the same on embedded SQLite and on PostgreSQL. A backend's test
 * file calls `storageConformanceSuite(name, open)`; `open` returns a fresh, empty Storage (a new
 * file, a new schema) and a cleanup that closes and removes it. Each top-level group of tests opens
 * its own Storage, so tests of global queries (listDue) see only their own rows.
 *
 * Only the ports are used here: no SQL, no backend-specific knowledge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  StorageConflictError,
  type AccessKeyRecord,
  type AccountRecord,
  type IdentityRecord,
  type IdentityType,
  type Storage,
} from '../ports.ts';

/** Opens a fresh, empty Storage of the backend under test and a function that disposes of it. */
export type OpenStorage = () => Promise<{ storage: Storage; cleanup: () => Promise<void> }>;

/** A millisecond timestamp well beyond 2^32 (and beyond 2^41), as a date far in the future. */
const BIG_TS = 2 ** 42 + 12_345; // 4398046523761 ms, year 2109

let seq = 0;
/** A name unique within the test process, so tests sharing one Storage never collide. */
function unique(prefix: string): string {
  seq += 1;
  return `${prefix}-${seq.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

function account(id = unique('acct'), over: Partial<AccountRecord> = {}): AccountRecord {
  return { id, createdAt: 1_700_000_000_000, settings: {}, ...over };
}

function key(accountId: string, over: Partial<AccessKeyRecord> = {}): AccessKeyRecord {
  return {
    accessKeyId: unique('AKIA').toUpperCase(),
    accountId,
    secretSealed: `v1.${Buffer.from(unique('sealed')).toString('base64')}`,
    policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ses:*', Resource: '*' }] }),
    description: '',
    status: 'Active',
    isRoot: false,
    createdAt: 1_700_000_000_000,
    ...over,
  };
}

function identity(accountId: string, name: string, over: Partial<IdentityRecord> = {}): IdentityRecord {
  const type: IdentityType = name.includes('@') ? 'EMAIL_ADDRESS' : 'DOMAIN';
  return {
    accountId,
    name,
    type,
    verificationStatus: 'PENDING',
    nextCheckAt: null,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    data: { verificationInfo: {}, feedbackForwarding: true },
    ...over,
  };
}

/** Names in code-point (byte) order, chosen so that a locale-aware collation would order them differently. */
const NAMES_IN_ORDER = ['a-b.test', 'a.test', 'a0.test', 'ab.test', 'b.test', 'b_c.test', 'user@a.test', 'zz.test'];

/** Registers the conformance tests of one backend. */
export function storageConformanceSuite(name: string, open: OpenStorage): void {
  describe(`storage conformance: ${name}`, () => {
    /** Opens one Storage for the enclosing describe block and closes it after the block. */
    function useStorage(): () => Storage {
      let opened: Awaited<ReturnType<OpenStorage>> | undefined;
      beforeAll(async () => {
        opened = await open();
      });
      afterAll(async () => {
        await opened?.cleanup();
      });
      return () => {
        if (!opened) throw new Error('storage was not opened');
        return opened.storage;
      };
    }

    describe('accounts', () => {
      const s = useStorage();

      it('ensure creates a missing account and returns the stored record', async () => {
        const a = account(undefined, { settings: { sendingEnabled: true } });
        expect(await s().accounts.ensure(a)).toEqual(a);
        expect(await s().accounts.get(a.id)).toEqual(a);
      });

      it('ensure is idempotent and never overwrites an existing account', async () => {
        const a = account(undefined, { createdAt: 1_000, settings: { first: true } });
        await s().accounts.ensure(a);
        const again = await s().accounts.ensure({ id: a.id, createdAt: 2_000, settings: { second: true } });
        expect(again).toEqual(a);
        expect(await s().accounts.get(a.id)).toEqual(a);
      });

      it('ensure called concurrently for one account yields one account and no error', async () => {
        const id = unique('acct');
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => s().accounts.ensure(account(id, { createdAt: 1_000 + i, settings: { i } }))));
        const stored = await s().accounts.get(id);
        expect(stored).toBeDefined();
        for (const r of results) expect(r).toEqual(stored);
      });

      it('get of a missing account is undefined', async () => {
        expect(await s().accounts.get(unique('missing'))).toBeUndefined();
      });

      it('updateSettings replaces the settings and round-trips nested JSON', async () => {
        const a = account(undefined, { settings: { old: 'value', keep: 'me?' } });
        await s().accounts.ensure(a);
        const settings = {
          sendingEnabled: false,
          productionAccess: true,
          quotas: { max24HourSend: 50_000, maxSendRate: 14.5, nested: { deep: [1, 'two', null, { three: [3, [4, [5]]] }] } },
          suppression: { reasons: ['BOUNCE', 'COMPLAINT'] },
          empty: {},
          emptyList: [],
          nothing: null,
          negative: -1.25e-7,
        };
        await s().accounts.updateSettings(a.id, settings);
        const got = await s().accounts.get(a.id);
        expect(got).toEqual({ ...a, settings });
        expect(got!.settings).not.toHaveProperty('old');
        await s().accounts.updateSettings(a.id, {});
        expect((await s().accounts.get(a.id))!.settings).toEqual({});
      });

      it('swapSettings replaces only what was read: of two concurrent changes exactly one wins', async () => {
        const id = unique('acct');
        await s().accounts.ensure(account(id, { settings: { sendingEnabled: true, nested: { a: [1, 'é'] } } }));
        const read = (await s().accounts.get(id))!.settings;
        const results = await Promise.all([
          s().accounts.swapSettings(id, read, { ...read, sendingEnabled: false }),
          s().accounts.swapSettings(id, read, { ...read, max24HourSend: 5 }),
        ]);
        expect(results.filter(Boolean)).toHaveLength(1);
        const after = (await s().accounts.get(id))!.settings;
        expect(await s().accounts.swapSettings(id, read, {})).toBe(false);
        expect(await s().accounts.swapSettings(id, after, { ...after, x: 1 })).toBe(true);
        expect((await s().accounts.get(id))!.settings).toEqual({ ...after, x: 1 });
      });

      it('updateSettings of a missing account does not create it', async () => {
        const id = unique('missing');
        await s().accounts.updateSettings(id, { x: 1 });
        expect(await s().accounts.get(id)).toBeUndefined();
      });
    });

    describe('access keys', () => {
      const s = useStorage();
      let acct: string;
      let other: string;
      beforeAll(async () => {
        acct = (await s().accounts.ensure(account())).id;
        other = (await s().accounts.ensure(account())).id;
      });

      it('create then get round-trips every field', async () => {
        const k = key(acct, { description: 'ci deploy key', isRoot: false, status: 'Active', createdAt: 1_700_000_000_123 });
        await s().accessKeys.create(k);
        expect(await s().accessKeys.get(k.accessKeyId)).toEqual(k);
        const root = key(acct, { isRoot: true, status: 'Inactive' });
        await s().accessKeys.create(root);
        const got = await s().accessKeys.get(root.accessKeyId);
        expect(got).toEqual(root);
        expect(got!.isRoot).toBe(true);
      });

      it('create with an existing id throws StorageConflictError and keeps the original', async () => {
        const k = key(acct, { description: 'original' });
        await s().accessKeys.create(k);
        await expect(s().accessKeys.create({ ...k, description: 'impostor', secretSealed: 'v1.other' })).rejects.toBeInstanceOf(StorageConflictError);
        // Even from another account: key ids are global.
        await expect(s().accessKeys.create({ ...k, accountId: other })).rejects.toBeInstanceOf(StorageConflictError);
        expect(await s().accessKeys.get(k.accessKeyId)).toEqual(k);
      });

      it('create for an account that does not exist fails, and not as a conflict', async () => {
        const k = key(unique('no-such-account'));
        const err = await s().accessKeys.create(k).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(Error);
        expect(err).not.toBeInstanceOf(StorageConflictError);
        expect(await s().accessKeys.get(k.accessKeyId)).toBeUndefined();
      });

      it('get of a missing key is undefined', async () => {
        expect(await s().accessKeys.get('AKIADOESNOTEXIST0000')).toBeUndefined();
      });

      it('list returns only the account’s keys, in creation order', async () => {
        const a = (await s().accounts.ensure(account())).id;
        const b = (await s().accounts.ensure(account())).id;
        expect(await s().accessKeys.list(a)).toEqual([]);
        // Ids in reverse alphabetical order, so ordering by id would give the wrong answer.
        const k1 = key(a, { accessKeyId: `AKIAZZ${unique('k').toUpperCase()}`, createdAt: 1_000 });
        const k2 = key(a, { accessKeyId: `AKIAMM${unique('k').toUpperCase()}`, createdAt: 2_000 });
        const kb = key(b, { accessKeyId: `AKIABB${unique('k').toUpperCase()}`, createdAt: 1_500 });
        const k3 = key(a, { accessKeyId: `AKIAAA${unique('k').toUpperCase()}`, createdAt: 3_000 });
        for (const k of [k1, k2, kb, k3]) await s().accessKeys.create(k);
        expect(await s().accessKeys.list(a)).toEqual([k1, k2, k3]);
        expect(await s().accessKeys.list(b)).toEqual([kb]);
        expect(await s().accessKeys.list(unique('nobody'))).toEqual([]);
      });

      it('update replaces secret, policy, description, status and root flag', async () => {
        const k = key(acct, { description: 'before' });
        await s().accessKeys.create(k);
        const next: AccessKeyRecord = {
          ...k,
          secretSealed: 'v1.bmV3LXNlY3JldA==',
          policy: JSON.stringify({ Statement: [{ Effect: 'Deny', Action: 'ses:SendEmail', Resource: '*' }] }),
          description: 'after',
          status: 'Inactive',
          isRoot: true,
        };
        await s().accessKeys.update(next);
        expect(await s().accessKeys.get(k.accessKeyId)).toEqual(next);
      });

      it('update of a missing key creates nothing', async () => {
        const k = key(acct);
        await s().accessKeys.update(k);
        expect(await s().accessKeys.get(k.accessKeyId)).toBeUndefined();
      });

      it('setStatus changes the status and tells whether the key exists', async () => {
        const k = key(acct);
        await s().accessKeys.create(k);
        expect(await s().accessKeys.setStatus(k.accessKeyId, 'Inactive')).toBe(true);
        expect(await s().accessKeys.get(k.accessKeyId)).toEqual({ ...k, status: 'Inactive' });
        expect(await s().accessKeys.setStatus(k.accessKeyId, 'Active')).toBe(true);
        expect(await s().accessKeys.get(k.accessKeyId)).toEqual(k);
        expect(await s().accessKeys.setStatus('AKIADOESNOTEXIST0000', 'Inactive')).toBe(false);
        expect(await s().accessKeys.get('AKIADOESNOTEXIST0000')).toBeUndefined();
      });

      it('delete removes the key and tells whether it existed', async () => {
        const k = key(acct);
        const keep = key(acct);
        await s().accessKeys.create(k);
        await s().accessKeys.create(keep);
        expect(await s().accessKeys.delete(k.accessKeyId)).toBe(true);
        expect(await s().accessKeys.get(k.accessKeyId)).toBeUndefined();
        expect(await s().accessKeys.delete(k.accessKeyId)).toBe(false);
        expect(await s().accessKeys.get(keep.accessKeyId)).toEqual(keep);
        // The id is free again.
        await s().accessKeys.create(k);
        expect(await s().accessKeys.get(k.accessKeyId)).toEqual(k);
      });

      it('findRoot returns the account’s oldest root key, ignoring other keys and accounts', async () => {
        const a = (await s().accounts.ensure(account())).id;
        const b = (await s().accounts.ensure(account())).id;
        expect(await s().accessKeys.findRoot(a)).toBeUndefined();
        await s().accessKeys.create(key(a, { isRoot: false, createdAt: 500 }));
        expect(await s().accessKeys.findRoot(a)).toBeUndefined();
        const rootB = key(b, { isRoot: true, createdAt: 100 });
        await s().accessKeys.create(rootB);
        expect(await s().accessKeys.findRoot(a)).toBeUndefined();
        const newer = key(a, { accessKeyId: `AKIAAA${unique('r').toUpperCase()}`, isRoot: true, createdAt: 2_000 });
        const older = key(a, { accessKeyId: `AKIAZZ${unique('r').toUpperCase()}`, isRoot: true, createdAt: 1_000 });
        await s().accessKeys.create(newer);
        expect(await s().accessKeys.findRoot(a)).toEqual(newer);
        await s().accessKeys.create(older);
        expect(await s().accessKeys.findRoot(a)).toEqual(older);
        expect(await s().accessKeys.findRoot(b)).toEqual(rootB);
        expect(await s().accessKeys.findRoot(unique('nobody'))).toBeUndefined();
      });
    });

    describe('identities', () => {
      const s = useStorage();
      let acct: string;
      beforeAll(async () => {
        acct = (await s().accounts.ensure(account())).id;
      });

      it('create then get round-trips every field', async () => {
        const domain = identity(acct, 'example.test', {
          verificationStatus: 'SUCCESS',
          nextCheckAt: 1_700_000_100_000,
          createdAt: 1_700_000_000_001,
          updatedAt: 1_700_000_000_002,
          data: {
            verificationStartedAt: 1_700_000_000_001,
            verificationInfo: { lastCheckedTimestamp: 1_700_000_050_000, errorType: 'HOST_NOT_FOUND' },
            dkim: { signingEnabled: true, origin: 'AWS_SES', status: 'PENDING', keys: [{ selector: 'abc', publicKey: 'MIIB', privateKeySealed: 'v1.x', bits: 2048 }] },
            feedbackForwarding: false,
          },
        });
        await s().identities.create(domain);
        expect(await s().identities.get(acct, 'example.test')).toEqual(domain);
        const address = identity(acct, 'someone@example.test', { verificationStatus: 'NOT_STARTED' });
        await s().identities.create(address);
        const got = await s().identities.get(acct, 'someone@example.test');
        expect(got).toEqual(address);
        expect(got!.nextCheckAt).toBeNull();
        expect(got!.type).toBe('EMAIL_ADDRESS');
      });

      it('create of an existing identity throws StorageConflictError and keeps the original', async () => {
        const i = identity(acct, 'dup.test', { data: { original: true } });
        await s().identities.create(i);
        await expect(s().identities.create({ ...i, data: { original: false } })).rejects.toBeInstanceOf(StorageConflictError);
        expect(await s().identities.get(acct, 'dup.test')).toEqual(i);
      });

      it('create for an account that does not exist fails, and not as a conflict', async () => {
        const ghost = unique('no-such-account');
        const err = await s().identities.create(identity(ghost, 'ghost.test')).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(Error);
        expect(err).not.toBeInstanceOf(StorageConflictError);
        expect(await s().identities.get(ghost, 'ghost.test')).toBeUndefined();
      });

      it('get of a missing identity is undefined', async () => {
        expect(await s().identities.get(acct, 'missing.test')).toBeUndefined();
        expect(await s().identities.get(unique('nobody'), 'example.test')).toBeUndefined();
      });

      it('list returns identities in name (code point) order, whatever the insertion order', async () => {
        const a = (await s().accounts.ensure(account())).id;
        const shuffled = ['b_c.test', 'zz.test', 'a0.test', 'user@a.test', 'a-b.test', 'b.test', 'ab.test', 'a.test'];
        expect([...shuffled].sort()).toEqual(NAMES_IN_ORDER);
        for (const n of shuffled) await s().identities.create(identity(a, n));
        const listed = await s().identities.list(a, { limit: 100 });
        expect(listed.map((i) => i.name)).toEqual(NAMES_IN_ORDER);
        expect(listed[0]).toEqual(identity(a, NAMES_IN_ORDER[0]!));
      });

      it('list honours limit and pages with `after` (exclusive)', async () => {
        const a = (await s().accounts.ensure(account())).id;
        for (const n of NAMES_IN_ORDER) await s().identities.create(identity(a, n));
        expect((await s().identities.list(a, { limit: 3 })).map((i) => i.name)).toEqual(NAMES_IN_ORDER.slice(0, 3));
        expect((await s().identities.list(a, { limit: 1 })).map((i) => i.name)).toEqual(NAMES_IN_ORDER.slice(0, 1));
        const seen: string[] = [];
        let after: string | undefined;
        for (let page = 0; page < 10; page++) {
          const items = await s().identities.list(a, { after, limit: 3 });
          if (items.length === 0) break;
          expect(items.length).toBeLessThanOrEqual(3);
          seen.push(...items.map((i) => i.name));
          after = items[items.length - 1]!.name;
        }
        expect(seen).toEqual(NAMES_IN_ORDER);
        // `after` need not be an existing name.
        expect((await s().identities.list(a, { after: 'a1', limit: 100 })).map((i) => i.name)).toEqual(['ab.test', 'b.test', 'b_c.test', 'user@a.test', 'zz.test']);
        expect(await s().identities.list(a, { after: 'zz.test', limit: 100 })).toEqual([]);
        expect(await s().identities.list(a, { after: '', limit: 2 })).toHaveLength(2);
      });

      it('list filters by type, together with after and limit', async () => {
        const a = (await s().accounts.ensure(account())).id;
        const names = ['a.test', 'b@a.test', 'c.test', 'd@a.test', 'e.test', 'f@a.test'];
        for (const n of names) await s().identities.create(identity(a, n));
        expect((await s().identities.list(a, { limit: 100, type: 'DOMAIN' })).map((i) => i.name)).toEqual(['a.test', 'c.test', 'e.test']);
        expect((await s().identities.list(a, { limit: 100, type: 'EMAIL_ADDRESS' })).map((i) => i.name)).toEqual(['b@a.test', 'd@a.test', 'f@a.test']);
        expect((await s().identities.list(a, { limit: 1, type: 'EMAIL_ADDRESS', after: 'b@a.test' })).map((i) => i.name)).toEqual(['d@a.test']);
        expect((await s().identities.list(a, { limit: 100 })).map((i) => i.name)).toEqual(names);
        expect(await s().identities.list(unique('nobody'), { limit: 100 })).toEqual([]);
      });

      it('update with the current updatedAt replaces the identity', async () => {
        const i = identity(acct, 'update-ok.test', { updatedAt: 5_000, nextCheckAt: 6_000 });
        await s().identities.create(i);
        const next: IdentityRecord = {
          ...i,
          verificationStatus: 'SUCCESS',
          nextCheckAt: null,
          updatedAt: 5_001,
          data: { verificationInfo: { lastSuccessTimestamp: 5_001 }, feedbackForwarding: false, mailFrom: { domain: 'bounce.update-ok.test' } },
        };
        expect(await s().identities.update(next, 5_000)).toBe(true);
        expect(await s().identities.get(acct, 'update-ok.test')).toEqual(next);
        // And back from null to a number.
        const again: IdentityRecord = { ...next, nextCheckAt: 9_000, updatedAt: 5_002, verificationStatus: 'TEMPORARY_FAILURE' };
        expect(await s().identities.update(again, 5_001)).toBe(true);
        expect(await s().identities.get(acct, 'update-ok.test')).toEqual(again);
      });

      it('update with a stale updatedAt returns false and changes nothing', async () => {
        const i = identity(acct, 'update-stale.test', { updatedAt: 7_000 });
        await s().identities.create(i);
        const stale: IdentityRecord = { ...i, verificationStatus: 'FAILED', nextCheckAt: 1, updatedAt: 7_001, data: { clobbered: true } };
        expect(await s().identities.update(stale, 6_999)).toBe(false);
        expect(await s().identities.update(stale, 7_001)).toBe(false);
        expect(await s().identities.get(acct, 'update-stale.test')).toEqual(i);
      });

      it('update of a missing identity returns false and creates nothing', async () => {
        const i = identity(acct, 'update-missing.test', { updatedAt: 1 });
        expect(await s().identities.update(i, 1)).toBe(false);
        expect(await s().identities.get(acct, 'update-missing.test')).toBeUndefined();
      });

      it('delete removes the identity and tells whether it existed', async () => {
        const i = identity(acct, 'delete-me.test');
        await s().identities.create(i);
        expect(await s().identities.delete(acct, 'delete-me.test')).toBe(true);
        expect(await s().identities.get(acct, 'delete-me.test')).toBeUndefined();
        expect(await s().identities.delete(acct, 'delete-me.test')).toBe(false);
        // The name is free again.
        await s().identities.create(i);
        expect(await s().identities.get(acct, 'delete-me.test')).toEqual(i);
      });

      it('count counts the identities of one account', async () => {
        const a = (await s().accounts.ensure(account())).id;
        expect(await s().identities.count(a)).toBe(0);
        for (const n of ['one.test', 'two.test', 'x@one.test']) await s().identities.create(identity(a, n));
        expect(await s().identities.count(a)).toBe(3);
        await s().identities.delete(a, 'two.test');
        expect(await s().identities.count(a)).toBe(2);
        expect(await s().identities.count(unique('nobody'))).toBe(0);
      });

      it('identities of two accounts are isolated', async () => {
        const a = (await s().accounts.ensure(account())).id;
        const b = (await s().accounts.ensure(account())).id;
        const ia = identity(a, 'shared.test', { data: { owner: 'a' }, updatedAt: 10 });
        const ib = identity(b, 'shared.test', { data: { owner: 'b' }, updatedAt: 10 });
        await s().identities.create(ia);
        await s().identities.create(ib); // same name, other account: no conflict
        await s().identities.create(identity(a, 'only-a.test'));
        expect(await s().identities.get(a, 'shared.test')).toEqual(ia);
        expect(await s().identities.get(b, 'shared.test')).toEqual(ib);
        expect(await s().identities.get(b, 'only-a.test')).toBeUndefined();
        expect((await s().identities.list(a, { limit: 100 })).map((i) => i.name)).toEqual(['only-a.test', 'shared.test']);
        expect((await s().identities.list(b, { limit: 100 })).map((i) => i.name)).toEqual(['shared.test']);
        expect(await s().identities.count(a)).toBe(2);
        expect(await s().identities.count(b)).toBe(1);
        expect(await s().identities.update({ ...ia, data: { owner: 'a2' }, updatedAt: 11 }, 10)).toBe(true);
        expect(await s().identities.get(b, 'shared.test')).toEqual(ib);
        expect(await s().identities.delete(b, 'shared.test')).toBe(true);
        expect(await s().identities.get(a, 'shared.test')).toEqual({ ...ia, data: { owner: 'a2' }, updatedAt: 11 });
        expect(await s().identities.delete(b, 'only-a.test')).toBe(false);
        expect(await s().identities.get(a, 'only-a.test')).toBeDefined();
      });
    });

    describe('identities: listDue', () => {
      // A Storage of its own: listDue spans every account, so other tests' rows would show up.
      const s = useStorage();

      it('is empty on an empty store', async () => {
        expect(await s().identities.listDue(Number.MAX_SAFE_INTEGER, 100)).toEqual([]);
      });

      it('returns due identities of every account, oldest nextCheckAt first, up to limit, never those without nextCheckAt', async () => {
        const a = (await s().accounts.ensure(account())).id;
        const b = (await s().accounts.ensure(account())).id;
        const rows = [
          identity(a, 'c.test', { nextCheckAt: 3_000 }),
          identity(b, 'a.test', { nextCheckAt: 1_000 }),
          identity(a, 'future.test', { nextCheckAt: 10_001 }),
          identity(a, 'never.test', { nextCheckAt: null }),
          identity(b, 'never@b.test', { nextCheckAt: null }),
          identity(a, 'b.test', { nextCheckAt: 2_000 }),
          identity(b, 'now.test', { nextCheckAt: 10_000 }),
        ];
        for (const r of rows) await s().identities.create(r);
        const due = await s().identities.listDue(10_000, 100);
        expect(due.map((i) => `${i.accountId === a ? 'a' : 'b'}:${i.name}`)).toEqual(['b:a.test', 'a:b.test', 'a:c.test', 'b:now.test']);
        expect(due[0]).toEqual(rows[1]);
        expect((await s().identities.listDue(10_000, 2)).map((i) => i.name)).toEqual(['a.test', 'b.test']);
        expect((await s().identities.listDue(2_000, 100)).map((i) => i.name)).toEqual(['a.test', 'b.test']);
        expect(await s().identities.listDue(999, 100)).toEqual([]);
        expect((await s().identities.listDue(Number.MAX_SAFE_INTEGER, 100)).map((i) => i.name)).toEqual(['a.test', 'b.test', 'c.test', 'now.test', 'future.test']);
        // Clearing nextCheckAt takes an identity out of the due list.
        const c = rows[0]!;
        expect(await s().identities.update({ ...c, nextCheckAt: null, updatedAt: c.updatedAt + 1 }, c.updatedAt)).toBe(true);
        expect((await s().identities.listDue(10_000, 100)).map((i) => i.name)).toEqual(['a.test', 'b.test', 'now.test']);
      });
    });

    describe('tags', () => {
      const s = useStorage();
      const arn = (n: string) => `arn:aws:ses:us-east-1:123456789012:identity/${n}`;

      it('list of an untagged resource is empty', async () => {
        expect(await s().tags.list(unique('acct'), arn('none.test'))).toEqual([]);
      });

      it('put adds tags and list returns them in first-set order', async () => {
        const a = unique('acct');
        await s().tags.put(a, arn('x.test'), [
          { key: 'zeta', value: '1' },
          { key: 'alpha', value: '2' },
        ]);
        await s().tags.put(a, arn('x.test'), [{ key: 'mid', value: '3' }]);
        expect(await s().tags.list(a, arn('x.test'))).toEqual([
          { key: 'zeta', value: '1' },
          { key: 'alpha', value: '2' },
          { key: 'mid', value: '3' },
        ]);
      });

      it('put overwrites by key and keeps the key where it was first set', async () => {
        const a = unique('acct');
        await s().tags.put(a, arn('x.test'), [
          { key: 'env', value: 'dev' },
          { key: 'team', value: 'mail' },
          { key: 'cost', value: '1' },
        ]);
        await s().tags.put(a, arn('x.test'), [
          { key: 'new', value: 'n' },
          { key: 'env', value: 'prod' },
          { key: 'cost', value: '' },
        ]);
        expect(await s().tags.list(a, arn('x.test'))).toEqual([
          { key: 'env', value: 'prod' },
          { key: 'team', value: 'mail' },
          { key: 'cost', value: '' },
          { key: 'new', value: 'n' },
        ]);
      });

      it('put with the same key twice in one call keeps the last value', async () => {
        const a = unique('acct');
        await s().tags.put(a, arn('x.test'), [
          { key: 'k', value: 'first' },
          { key: 'other', value: 'o' },
          { key: 'k', value: 'last' },
        ]);
        expect(await s().tags.list(a, arn('x.test'))).toEqual([
          { key: 'k', value: 'last' },
          { key: 'other', value: 'o' },
        ]);
      });

      it('put of no tags changes nothing', async () => {
        const a = unique('acct');
        await s().tags.put(a, arn('x.test'), []);
        expect(await s().tags.list(a, arn('x.test'))).toEqual([]);
        await s().tags.put(a, arn('x.test'), [{ key: 'k', value: 'v' }]);
        await s().tags.put(a, arn('x.test'), []);
        expect(await s().tags.list(a, arn('x.test'))).toEqual([{ key: 'k', value: 'v' }]);
      });

      it('remove deletes the given keys, ignores unknown ones, and a re-added key goes last', async () => {
        const a = unique('acct');
        await s().tags.put(a, arn('x.test'), [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
          { key: 'c', value: '3' },
          { key: 'd', value: '4' },
        ]);
        await s().tags.remove(a, arn('x.test'), ['b', 'd', 'not-there']);
        expect(await s().tags.list(a, arn('x.test'))).toEqual([
          { key: 'a', value: '1' },
          { key: 'c', value: '3' },
        ]);
        await s().tags.remove(a, arn('x.test'), []);
        expect(await s().tags.list(a, arn('x.test'))).toHaveLength(2);
        await s().tags.put(a, arn('x.test'), [{ key: 'b', value: 'again' }]);
        expect(await s().tags.list(a, arn('x.test'))).toEqual([
          { key: 'a', value: '1' },
          { key: 'c', value: '3' },
          { key: 'b', value: 'again' },
        ]);
        await s().tags.remove(a, arn('untagged.test'), ['a']);
      });

      it('removeAll deletes every tag of one resource only', async () => {
        const a = unique('acct');
        await s().tags.put(a, arn('x.test'), [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
        ]);
        await s().tags.put(a, arn('y.test'), [{ key: 'a', value: 'y' }]);
        await s().tags.removeAll(a, arn('x.test'));
        expect(await s().tags.list(a, arn('x.test'))).toEqual([]);
        expect(await s().tags.list(a, arn('y.test'))).toEqual([{ key: 'a', value: 'y' }]);
        await s().tags.removeAll(a, arn('x.test')); // nothing left: no error
        await s().tags.put(a, arn('x.test'), [
          { key: 'z', value: '26' },
          { key: 'y', value: '25' },
        ]);
        expect(await s().tags.list(a, arn('x.test'))).toEqual([
          { key: 'z', value: '26' },
          { key: 'y', value: '25' },
        ]);
      });

      it('tags are isolated by account and by ARN', async () => {
        const a = unique('acct');
        const b = unique('acct');
        await s().tags.put(a, arn('x.test'), [{ key: 'k', value: 'a-x' }]);
        await s().tags.put(b, arn('x.test'), [{ key: 'k', value: 'b-x' }]);
        await s().tags.put(a, arn('y.test'), [{ key: 'k', value: 'a-y' }]);
        expect(await s().tags.list(a, arn('x.test'))).toEqual([{ key: 'k', value: 'a-x' }]);
        expect(await s().tags.list(b, arn('x.test'))).toEqual([{ key: 'k', value: 'b-x' }]);
        expect(await s().tags.list(a, arn('y.test'))).toEqual([{ key: 'k', value: 'a-y' }]);
        expect(await s().tags.list(b, arn('y.test'))).toEqual([]);
        await s().tags.put(b, arn('x.test'), [{ key: 'k', value: 'b-x2' }]);
        await s().tags.remove(a, arn('y.test'), ['k']);
        expect(await s().tags.list(a, arn('x.test'))).toEqual([{ key: 'k', value: 'a-x' }]);
        await s().tags.removeAll(b, arn('x.test'));
        expect(await s().tags.list(a, arn('x.test'))).toEqual([{ key: 'k', value: 'a-x' }]);
        expect(await s().tags.list(b, arn('x.test'))).toEqual([]);
      });
    });

    describe('data fidelity', () => {
      const s = useStorage();

      it('large JSON data (100 KB and more) round-trips exactly', async () => {
        const a = (await s().accounts.ensure(account())).id;
        const chunk = 'The quick brown fox jumps over the lazy dog. "quoted" \\back\\slash\\ \ttab\nnewline ';
        const big = chunk.repeat(Math.ceil(100_000 / chunk.length));
        const data = {
          big,
          list: Array.from({ length: 1_000 }, (_, i) => ({ i, s: `item-${i}`, f: i / 7, nested: { even: i % 2 === 0 } })),
          deep: JSON.parse('['.repeat(50) + '"bottom"' + ']'.repeat(50)) as unknown,
        };
        expect(JSON.stringify(data).length).toBeGreaterThan(100 * 1024);
        const i = identity(a, 'big.test', { data });
        await s().identities.create(i);
        expect(await s().identities.get(a, 'big.test')).toEqual(i);
        expect(JSON.stringify((await s().identities.get(a, 'big.test'))!.data)).toBe(JSON.stringify(data));
        const settings = { big, list: data.list };
        await s().accounts.updateSettings(a, settings);
        expect((await s().accounts.get(a))!.settings).toEqual(settings);
      });

      it('unicode round-trips everywhere', async () => {
        const text = 'Grüße, naïve café — 日本語のテキスト, 한국어, עברית, العربية, emoji 🎉👩🏽‍💻🏳️‍🌈, combining e\u0301, \u2028\u2029, zero-width \u200b\u200d, astral 𝄞𐍈';
        const a = (await s().accounts.ensure(account(`acct-ünï-🎉-${unique('x')}`, { settings: { text, [text]: text } }))).id;
        expect((await s().accounts.get(a))!.settings).toEqual({ text, [text]: text });
        const k = key(a, { description: text });
        await s().accessKeys.create(k);
        expect(await s().accessKeys.get(k.accessKeyId)).toEqual(k);
        const controls = 'nul \u0000 bell \u0007 lone surrogate \ud800 and \udfff, escape \u001b';
        const names = ['bücher.test', 'xn--bcher-kva.test', 'пример.испытание', 'ユーザー@例え.テスト'];
        for (const n of names) await s().identities.create(identity(a, n, { data: { text, controls } }));
        for (const n of names) expect(await s().identities.get(a, n)).toEqual(identity(a, n, { data: { text, controls } }));
        expect((await s().identities.list(a, { limit: 100 })).map((i) => i.name).sort()).toEqual([...names].sort());
        await s().tags.put(a, `arn:aws:ses:eu-west-1:1:identity/${names[0]}`, [
          { key: '名前', value: text },
          { key: 'emoji🎉', value: '✓' },
        ]);
        expect(await s().tags.list(a, `arn:aws:ses:eu-west-1:1:identity/${names[0]}`)).toEqual([
          { key: '名前', value: text },
          { key: 'emoji🎉', value: '✓' },
        ]);
      });

      it('timestamps beyond 2^32 ms round-trip exactly, as numbers', async () => {
        const a = account(unique('acct'), { createdAt: BIG_TS });
        await s().accounts.ensure(a);
        const gotA = (await s().accounts.get(a.id))!;
        expect(gotA.createdAt).toBe(BIG_TS);
        expect(typeof gotA.createdAt).toBe('number');

        const k = key(a.id, { createdAt: BIG_TS + 1, isRoot: true });
        await s().accessKeys.create(k);
        for (const got of [await s().accessKeys.get(k.accessKeyId), (await s().accessKeys.list(a.id))[0], await s().accessKeys.findRoot(a.id)]) {
          expect(got).toEqual(k);
          expect(typeof got!.createdAt).toBe('number');
        }

        const maxDate = 8_640_000_000_000_000; // the largest ms a JS Date holds (2^52.9)
        const i = identity(a.id, 'far-future.test', { createdAt: 2 ** 32 + 1, updatedAt: maxDate - 1, nextCheckAt: BIG_TS + 2 });
        await s().identities.create(i);
        for (const got of [await s().identities.get(a.id, i.name), (await s().identities.list(a.id, { limit: 1 }))[0]]) {
          expect(got).toEqual(i);
          expect(typeof got!.createdAt).toBe('number');
          expect(typeof got!.updatedAt).toBe('number');
          expect(typeof got!.nextCheckAt).toBe('number');
        }
        const due = await s().identities.listDue(BIG_TS + 2, 10);
        expect(due.map((d) => d.name)).toContain('far-future.test');
        expect(typeof due.find((d) => d.name === 'far-future.test')!.nextCheckAt).toBe('number');
        expect(await s().identities.listDue(BIG_TS + 1, 10)).not.toContainEqual(expect.objectContaining({ name: 'far-future.test' }));
        // Optimistic concurrency compares big timestamps exactly.
        expect(await s().identities.update({ ...i, updatedAt: maxDate }, maxDate - 2)).toBe(false);
        expect(await s().identities.update({ ...i, updatedAt: maxDate }, maxDate - 1)).toBe(true);
        const after = (await s().identities.get(a.id, i.name))!;
        expect(after.updatedAt).toBe(maxDate);
        expect(typeof after.updatedAt).toBe('number');
        expect(await s().identities.count(a.id)).toBe(1);
        expect(typeof (await s().identities.count(a.id))).toBe('number');
      });
    });

    describe('concurrency', () => {
      const s = useStorage();

      it('of 10 parallel updates with the same expectedUpdatedAt, exactly one wins', async () => {
        const a = (await s().accounts.ensure(account())).id;
        const base = identity(a, 'race.test', { updatedAt: 1_000, data: { winner: null } });
        await s().identities.create(base);
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, n) => s().identities.update({ ...base, updatedAt: 1_001 + n, data: { winner: n } }, 1_000)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        expect(await s().identities.get(a, 'race.test')).toEqual({ ...base, updatedAt: 1_001 + winner, data: { winner } });
      });

      it('of 10 parallel creates of one identity, exactly one succeeds and the rest conflict', async () => {
        const a = (await s().accounts.ensure(account())).id;
        const results = await Promise.allSettled(Array.from({ length: 10 }, (_, n) => s().identities.create(identity(a, 'create-race.test', { data: { n } }))));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StorageConflictError);
        const winner = results.findIndex((r) => r.status === 'fulfilled');
        expect((await s().identities.get(a, 'create-race.test'))!.data).toEqual({ n: winner });
        expect(await s().identities.count(a)).toBe(1);
      });

      it('of 10 parallel creates of one access key id, exactly one succeeds and the rest conflict', async () => {
        const a = (await s().accounts.ensure(account())).id;
        const id = unique('AKIARACE').toUpperCase();
        const results = await Promise.allSettled(Array.from({ length: 10 }, (_, n) => s().accessKeys.create(key(a, { accessKeyId: id, description: `n${n}` }))));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StorageConflictError);
        expect(await s().accessKeys.list(a)).toHaveLength(1);
      });
    });

    for (const repo of ['templates', 'configurationSets'] as const) {
      describe(`named resources: ${repo}`, () => {
        const s = useStorage();
        const rec = (accountId: string, name: string, data: Record<string, unknown> = { subject: 'Hi {{name}}' }) => ({ accountId, name, data, createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000 });

        it('creates, reads, conflicts on a duplicate name, and keeps accounts apart', async () => {
          const a = unique('acct');
          const b = unique('acct');
          await s()[repo].create(rec(a, 'Welcome', { subject: 'Hé {{name}} ✓', nested: { n: 1 } }));
          await expect(s()[repo].create(rec(a, 'Welcome'))).rejects.toBeInstanceOf(StorageConflictError);
          await s()[repo].create(rec(b, 'Welcome', { other: true }));
          expect(await s()[repo].get(a, 'Welcome')).toEqual(rec(a, 'Welcome', { subject: 'Hé {{name}} ✓', nested: { n: 1 } }));
          expect((await s()[repo].get(b, 'Welcome'))?.data).toEqual({ other: true });
          expect(await s()[repo].get(a, 'welcome')).toBeUndefined(); // names are case-sensitive, as SES's
          expect(await s()[repo].count(a)).toBe(1);
        });

        it('lists in name order with after/limit, updates and deletes', async () => {
          const a = unique('acct');
          for (const n of ['c', 'a', 'b', 'd']) await s()[repo].create(rec(a, n));
          expect((await s()[repo].list(a, { limit: 2 })).map((r) => r.name)).toEqual(['a', 'b']);
          expect((await s()[repo].list(a, { after: 'b', limit: 10 })).map((r) => r.name)).toEqual(['c', 'd']);
          expect(await s()[repo].update({ ...rec(a, 'b', { v: 2 }), updatedAt: BIG_TS })).toBe(true);
          expect(await s()[repo].get(a, 'b')).toMatchObject({ data: { v: 2 }, createdAt: 1_700_000_000_000, updatedAt: BIG_TS });
          expect(await s()[repo].update(rec(a, 'zz'))).toBe(false);
          // Compare-and-swap: only against the updatedAt last read.
          expect(await s()[repo].swap({ ...rec(a, 'b', { v: 3 }), updatedAt: BIG_TS + 1 }, 1_700_000_000_000)).toBe(false);
          expect(await s()[repo].swap({ ...rec(a, 'b', { v: 3 }), updatedAt: BIG_TS + 1 }, BIG_TS)).toBe(true);
          expect(await s()[repo].get(a, 'b')).toMatchObject({ data: { v: 3 }, updatedAt: BIG_TS + 1 });
          expect(await s()[repo].delete(a, 'b')).toBe(true);
          expect(await s()[repo].delete(a, 'b')).toBe(false);
          expect(await s()[repo].count(a)).toBe(3);
        });
      });
    }

    describe('queue statistics', () => {
      const s = useStorage();
      const rcpt = (messageId: string, r: string, now: number) => ({ messageId, rcpt: r, domain: 'x.test', state: 'queued' as const, attempts: 0, nextAttemptAt: now, leaseOwner: null, leaseExpiresAt: null, lastResponse: null, updatedAt: now });

      it('counts recipients and events per 15-minute bucket, per account', async () => {
        const acct = unique('acct');
        const other = unique('acct');
        const t0 = 1_800_000_000_000; // a multiple of 15 minutes
        const msg = (id: string, accountId: string, at: number, n: number, events: string[]) => ({
          message: { messageId: id, accountId, mailFrom: `${id}@b.test`, body: Buffer.from('x'), configurationSet: null, createdAt: at, expiresAt: at + 1000, meta: {} },
          recipients: Array.from({ length: n }, (_, i) => rcpt(id, `r${i}@x.test`, at)),
          events: events.map((type) => ({ messageId: id, accountId, type, createdAt: at, payload: {} })),
        });
        await s().queue.enqueue([
          msg(unique('m'), acct, t0 + 1000, 2, ['Send', 'Bounce']),
          msg(unique('m'), acct, t0 + 14 * 60_000, 1, ['Send', 'Reject']),
          msg(unique('m'), acct, t0 + 16 * 60_000, 3, ['Send', 'Bounce', 'Bounce']),
          msg(unique('m'), other, t0 + 1000, 5, ['Bounce']),
        ]);
        expect(await s().queue.sendCounts(acct, t0)).toEqual([
          { bucketStart: t0, recipients: 3 },
          { bucketStart: t0 + 15 * 60_000, recipients: 3 },
        ]);
        const counts = await s().queue.eventCounts(acct, t0, 15 * 60_000, ['Bounce', 'Reject', 'Complaint']);
        expect(counts.sort((x, y) => x.bucketStart - y.bucketStart || x.type.localeCompare(y.type))).toEqual([
          { bucketStart: t0, type: 'Bounce', count: 1 },
          { bucketStart: t0, type: 'Reject', count: 1 },
          { bucketStart: t0 + 15 * 60_000, type: 'Bounce', count: 2 },
        ]);
        expect(await s().queue.eventCounts(acct, t0 + 15 * 60_000, 15 * 60_000, ['Bounce'])).toEqual([{ bucketStart: t0 + 15 * 60_000, type: 'Bounce', count: 2 }]);
        expect(await s().queue.eventCounts(acct, t0, 15 * 60_000, [])).toEqual([]);
      });

      it('leases carry the message metadata and TLS requirement; a completion writes its suppression entry only while the lease is held', async () => {
        const acct = unique('acct');
        const id = unique('m');
        const now = Date.now();
        await s().queue.enqueue([
          {
            message: { messageId: id, accountId: acct, mailFrom: `${id}@b.test`, body: Buffer.from('x'), configurationSet: 'set-1', requireTls: true, createdAt: now - 5, expiresAt: now + 60_000, meta: { mail: { messageId: id } } },
            recipients: [rcpt(id, 'hard@x.test', now)],
            events: [],
          },
        ]);
        const leased = (await s().queue.lease('w1', now, 60_000, 1000)).filter((r) => r.messageId === id);
        expect(leased).toHaveLength(1);
        expect(leased[0]).toMatchObject({ requireTls: true, configurationSet: 'set-1', messageCreatedAt: now - 5, meta: { mail: { messageId: id } } });
        const entry = { accountId: acct, email: 'hard@x.test', reason: 'BOUNCE' as const, lastUpdateTime: now, messageId: id, feedbackId: 'f1' };
        const update = { messageId: id, rcpt: 'hard@x.test', state: 'bounced' as const, attempts: 1, nextAttemptAt: now, lastResponse: '550 no' };
        expect(await s().queue.complete('someone-else', [{ update, events: [], suppression: entry }], now)).toBe(0);
        expect(await s().suppression.get(acct, 'hard@x.test')).toBeUndefined();
        expect(await s().queue.complete('w1', [{ update, events: [], suppression: entry }], now)).toBe(1);
        expect(await s().suppression.get(acct, 'hard@x.test')).toEqual(entry);
        expect((await s().queue.recipients(id))[0]).toMatchObject({ state: 'bounced', updatedAt: now });
      });
    });

    describe('lifecycle', () => {
      it('ping succeeds on an open store', async () => {
        const { storage, cleanup } = await open();
        try {
          await expect(storage.ping()).resolves.toBeUndefined();
        } finally {
          await cleanup();
        }
      });

      it('reports its kind', async () => {
        const { storage, cleanup } = await open();
        try {
          expect(['sqlite', 'postgres']).toContain(storage.kind);
        } finally {
          await cleanup();
        }
      });

      it('close is idempotent, also when called concurrently, and the store is unusable afterwards', async () => {
        const { storage, cleanup } = await open();
        try {
          await storage.accounts.ensure(account());
          await storage.close();
          await expect(storage.close()).resolves.toBeUndefined();
          await expect(Promise.all([storage.close(), storage.close()])).resolves.toEqual([undefined, undefined]);
          await expect(storage.ping()).rejects.toThrow();
        } finally {
          await cleanup();
        }
      });
    });
  });
}
