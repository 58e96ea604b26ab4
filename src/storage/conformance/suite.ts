/**
 * The storage conformance suite: one set of vitest tests that every backend of storage/ports.ts
 * must pass, so that core behaves the same on embedded SQLite and on PostgreSQL. A backend's test
 * file calls `storageConformanceSuite(name, open)`; `open` returns a fresh, empty Storage (a new
 * file, a new schema) and a cleanup that closes and removes it. Each top-level group of tests opens
 * its own Storage, so tests of global queries (listDue) see only their own rows.
 *
 * Only the ports are used here: no SQL, no backend-specific knowledge.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  StorageConflictError,
  type AccessKeyRecord,
  type AccountRecord,
  type EnqueueItem,
  type EventRecord,
  type IdentityRecord,
  type IdentityType,
  type MessageRecord,
  type NodeRecord,
  type PublishClaim,
  type ReputationDelta,
  type Storage,
  type SubscriptionRecord,
  type WebhookRecord,
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

function subscription(accountId: string, topic: string, over: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  return {
    id: unique('sub'),
    accountId,
    topic,
    protocol: 'https',
    endpoint: `https://hooks.example.test/${topic}`,
    status: 'pending',
    token: unique('token'),
    attributes: {},
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    ...over,
  };
}

function webhook(accountId: string, over: Partial<WebhookRecord> = {}): WebhookRecord {
  return {
    accountId,
    kind: 'sns',
    url: 'https://hooks.example.test/sns',
    subscriptionId: null,
    headers: { 'content-type': 'text/plain; charset=UTF-8' },
    body: unique('body'),
    attempts: 0,
    nextAttemptAt: 1_700_000_000_000,
    expiresAt: 1_700_000_000_000 + 86_400_000,
    createdAt: 1_700_000_000_000,
    lastError: null,
    ...over,
  };
}

/** One accepted message with one queued recipient per address, and its first events of the given types. */
function accepted(accountId: string, at: number, rcpts: string[], eventTypes: string[], over: Partial<MessageRecord> = {}): EnqueueItem {
  const messageId = over.messageId ?? unique('msg');
  return {
    message: { messageId, accountId, mailFrom: 'bounce@mail.example.test', body: Buffer.from('Subject: x\r\n\r\nbody'), configurationSet: null, createdAt: at, expiresAt: at + 86_400_000, meta: {}, ...over },
    recipients: rcpts.map((rcpt) => ({ messageId, rcpt, domain: rcpt.split('@')[1]!, state: 'queued' as const, attempts: 0, nextAttemptAt: at, leaseOwner: null, leaseExpiresAt: null, lastResponse: null, updatedAt: at })),
    events: eventTypes.map((type) => ({ messageId, accountId, type, createdAt: at, payload: { eventType: type, mail: { messageId } } })),
  };
}

function event(accountId: string, type: string, createdAt: number, over: Partial<EventRecord> = {}): EventRecord {
  return { messageId: unique('msg'), accountId, type, createdAt, payload: { eventType: type }, ...over };
}

/** A claim with no webhooks and no reputation counts, to be filled in. */
function claim(eventId: number, over: Partial<PublishClaim> = {}): PublishClaim {
  return { eventId, webhooks: [], reputation: [], ...over };
}

function delta(accountId: string, at: number, over: Partial<ReputationDelta> = {}): ReputationDelta {
  return { accountId, configurationSet: '', at, sends: 0, hardBounces: 0, complaints: 0, ...over };
}

/** Ids in ascending order, as numbers. */
function ascending(ids: Iterable<number | undefined>): number[] {
  return [...ids].map((id) => id!).sort((x, y) => x - y);
}

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

    /**
     * Opens a Storage of the running test's own, closed when the test ends: for the global queues
     * (webhook leases, the event outbox), where rows of other tests would be leased or published.
     */
    async function ownStorage(): Promise<Storage> {
      const { storage, cleanup } = await open();
      onTestFinished(cleanup);
      return storage;
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

    describe('console sessions', () => {
      const s = useStorage();
      const session = (accessKeyId: string, expiresAt: number) => ({
        tokenHash: unique('hash'),
        accountId: 'acct',
        accessKeyId,
        csrfToken: unique('csrf'),
        createdAt: 1_700_000_000_000,
        expiresAt,
      });

      it('create then get round-trips every field; delete says whether there was one', async () => {
        const a = session(unique('AKIA'), 1_800_000_000_000);
        await s().consoleSessions.create(a);
        expect(await s().consoleSessions.get(a.tokenHash)).toEqual(a);
        expect(await s().consoleSessions.get(unique('hash'))).toBeUndefined();
        expect(await s().consoleSessions.delete(a.tokenHash)).toBe(true);
        expect(await s().consoleSessions.delete(a.tokenHash)).toBe(false);
        expect(await s().consoleSessions.get(a.tokenHash)).toBeUndefined();
      });

      it("deleteForKey ends every session of one key and no other's", async () => {
        const k1 = unique('AKIA');
        const k2 = unique('AKIA');
        const mine = [session(k1, 1_800_000_000_000), session(k1, 1_800_000_000_000)];
        const theirs = session(k2, 1_800_000_000_000);
        for (const x of [...mine, theirs]) await s().consoleSessions.create(x);
        expect(await s().consoleSessions.deleteForKey(k1)).toBe(2);
        for (const x of mine) expect(await s().consoleSessions.get(x.tokenHash)).toBeUndefined();
        expect(await s().consoleSessions.get(theirs.tokenHash)).toEqual(theirs);
      });

      it('deleteExpired removes sessions expired at or before now, and keeps the rest', async () => {
        const k = unique('AKIA');
        const old = session(k, 1_000);
        const edge = session(k, 2_000);
        const live = session(k, 1_800_000_000_000);
        for (const x of [old, edge, live]) await s().consoleSessions.create(x);
        expect(await s().consoleSessions.deleteExpired(2_000)).toBeGreaterThanOrEqual(2);
        expect(await s().consoleSessions.get(old.tokenHash)).toBeUndefined();
        expect(await s().consoleSessions.get(edge.tokenHash)).toBeUndefined();
        expect(await s().consoleSessions.get(live.tokenHash)).toEqual(live);
      });
    });

    describe('console users', () => {
      const s = useStorage();
      const user = (accountId: string, name = `${unique('user')}@example.com`.toLowerCase()) => ({
        name,
        accountId,
        accessKeyId: unique('AKIA'),
        passwordHash: `scrypt$N=32768,r=8,p=1$${unique('salt')}$${unique('hash')}`,
        createdAt: 1_700_000_000_000,
        passwordChangedAt: 1_700_000_000_000,
      });

      it('create then get round-trips every field; a taken name is a conflict; delete says whether there was one', async () => {
        const u = user(unique('acct'));
        await s().consoleUsers.create(u);
        expect(await s().consoleUsers.get(u.name)).toEqual(u);
        expect(await s().consoleUsers.get(unique('nobody'))).toBeUndefined();
        await expect(s().consoleUsers.create({ ...user(unique('acct')), name: u.name })).rejects.toBeInstanceOf(StorageConflictError);
        expect(await s().consoleUsers.get(u.name)).toEqual(u);
        expect(await s().consoleUsers.delete(u.name)).toBe(true);
        expect(await s().consoleUsers.delete(u.name)).toBe(false);
        expect(await s().consoleUsers.get(u.name)).toBeUndefined();
      });

      it("listByAccount lists one account's users in name order and no other's", async () => {
        const acct = unique('acct');
        const b = user(acct, `b-${unique('u')}`.toLowerCase());
        const a = user(acct, `a-${unique('u')}`.toLowerCase());
        const theirs = user(unique('acct'));
        for (const x of [b, a, theirs]) await s().consoleUsers.create(x);
        expect(await s().consoleUsers.listByAccount(acct)).toEqual([a, b]);
        expect(await s().consoleUsers.listByAccount(unique('empty'))).toEqual([]);
      });

      it('setPassword replaces the hash and its time, only for an existing user', async () => {
        const u = user(unique('acct'));
        await s().consoleUsers.create(u);
        expect(await s().consoleUsers.setPassword(u.name, 'scrypt$N=16384,r=8,p=1$c2FsdA$aGFzaA', 1_700_000_009_000)).toBe(true);
        expect(await s().consoleUsers.get(u.name)).toEqual({ ...u, passwordHash: 'scrypt$N=16384,r=8,p=1$c2FsdA$aGFzaA', passwordChangedAt: 1_700_000_009_000 });
        expect(await s().consoleUsers.setPassword(unique('nobody'), 'x', 1)).toBe(false);
      });

      it("console sessions remember their user: deleteForUser ends that user's sessions and no other's", async () => {
        const name = unique('user').toLowerCase();
        const k = unique('AKIA');
        const base = { accountId: 'acct', accessKeyId: k, csrfToken: unique('csrf'), createdAt: 1_700_000_000_000, expiresAt: 1_800_000_000_000 };
        const mine = [{ ...base, tokenHash: unique('hash'), userName: name }, { ...base, tokenHash: unique('hash'), userName: name }];
        const other = { ...base, tokenHash: unique('hash'), userName: unique('other').toLowerCase() };
        const byKey = { ...base, tokenHash: unique('hash') };
        for (const x of [...mine, other, byKey]) await s().consoleSessions.create(x);
        expect(await s().consoleSessions.get(mine[0]!.tokenHash)).toEqual(mine[0]);
        expect(await s().consoleSessions.get(byKey.tokenHash)).toEqual(byKey);
        expect(await s().consoleSessions.deleteForUser(name)).toBe(2);
        for (const x of mine) expect(await s().consoleSessions.get(x.tokenHash)).toBeUndefined();
        expect(await s().consoleSessions.get(other.tokenHash)).toEqual(other);
        expect(await s().consoleSessions.get(byKey.tokenHash)).toEqual(byKey);
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

      it('setPolicy replaces only the policy of a non-root key, never its status, and never a root key', async () => {
        const k = key(acct, { status: 'Inactive' });
        await s().accessKeys.create(k);
        expect(await s().accessKeys.setPolicy(k.accessKeyId, '{"Statement":[]}')).toBe(true);
        expect(await s().accessKeys.get(k.accessKeyId)).toEqual({ ...k, policy: '{"Statement":[]}' });
        const root = key(acct, { isRoot: true });
        await s().accessKeys.create(root);
        expect(await s().accessKeys.setPolicy(root.accessKeyId, '{"Statement":[]}')).toBe(false);
        expect(await s().accessKeys.get(root.accessKeyId)).toEqual(root);
        expect(await s().accessKeys.setPolicy('AKIADOESNOTEXIST0000', '{}')).toBe(false);
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

      it('list keeps names holding nameContains, letter case ignored, with % and _ taken literally', async () => {
        const a = (await s().accounts.ensure(account())).id;
        for (const n of NAMES_IN_ORDER) await s().identities.create(identity(a, n));
        await s().identities.create(identity(a, 'Mixed@Case.test'));
        const names = async (nameContains: string, after?: string) => (await s().identities.list(a, { limit: 100, nameContains, after })).map((i) => i.name);
        expect(await names('b_')).toEqual(['b_c.test']);
        expect(await names('_')).toEqual(['b_c.test']);
        expect(await names('%')).toEqual([]);
        expect(await names('MIXED@')).toEqual(['Mixed@Case.test']);
        expect(await names('a.')).toEqual(['a.test', 'user@a.test']);
        expect(await names('a.', 'a.test')).toEqual(['user@a.test']);
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

    for (const repo of ['templates', 'configurationSets', 'topics', 'eventBuses', 'externalBuckets'] as const) {
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

    describe('queue per destination, paused destinations', () => {
      const t0 = 1_800_000_000_000;
      /** Leases the given recipients and completes them as deferred with `reply` (attempts 1, due at `next`). */
      async function defer(st: Storage, items: EnqueueItem[], reply: (rcpt: string) => string, next: number): Promise<void> {
        const owner = unique('w');
        const ids = new Set(items.map((i) => i.message.messageId));
        const leased = (await st.queue.lease(owner, t0, 60_000, 1000)).filter((r) => ids.has(r.messageId));
        const updates = leased.map((r) => ({ update: { messageId: r.messageId, rcpt: r.rcpt, state: 'queued' as const, attempts: 1, nextAttemptAt: next, lastResponse: reply(r.rcpt) }, events: [] }));
        expect(await st.queue.complete(owner, updates, t0)).toBe(updates.length);
        await st.queue.release(owner); // the other recipients it leased on the way
      }

      it('summarises queued recipients per domain, deepest first, per account or for all, with in flight, oldest, next attempt and the top three deferral replies', async () => {
        const st = await ownStorage();
        const a = unique('acct');
        const b = unique('acct');
        const slow = [
          accepted(a, t0 - 3_600_000, ['s1@slow.test', 's2@slow.test', 's3@slow.test'], []),
          accepted(a, t0 - 60_000, ['s4@slow.test', 's5@slow.test', 's6@slow.test', 's7@slow.test'], []),
        ];
        const fast = accepted(a, t0 - 1000, ['f1@fast.test', 'f2@fast.test'], []);
        const theirs = accepted(b, t0 - 7_200_000, ['o1@slow.test', 'o2@other.test'], []);
        await st.queue.enqueue([...slow, fast, theirs]);
        // Four distinct replies at slow.test: 3×, 2×, 1× and 1× (the tie ranked by text).
        const replies: Record<string, string> = { s1: '451 4.7.1 Greylisted', s2: '451 4.7.1 Greylisted', s3: '451 4.7.1 Greylisted', s4: '452 4.2.2 Mailbox full', s5: '452 4.2.2 Mailbox full', s6: '421 4.4.2 Timeout', s7: '450 4.1.1 Try later' };
        await defer(st, slow, (r) => replies[r.split('@')[0]!]!, t0 + 600_000);
        // What is due now is in flight (leased, not completed): fast.test's two and the other account's two.
        const holder = unique('w');
        const held = await st.queue.lease(holder, t0, 60_000, 1000);
        expect(held.map((r) => r.rcpt).sort()).toEqual(['f1@fast.test', 'f2@fast.test', 'o1@slow.test', 'o2@other.test']);

        const mine = await st.queue.destinations(a, t0, 100);
        expect(mine.map((d) => d.domain)).toEqual(['slow.test', 'fast.test']);
        expect(mine[0]).toEqual({
          domain: 'slow.test',
          queued: 7,
          inFlight: 0,
          oldestCreatedAt: t0 - 3_600_000,
          nextAttemptAt: t0 + 600_000,
          deferrals: [
            { response: '451 4.7.1 Greylisted', count: 3 },
            { response: '452 4.2.2 Mailbox full', count: 2 },
            { response: '421 4.4.2 Timeout', count: 1 },
          ],
        });
        expect(mine[1]).toEqual({ domain: 'fast.test', queued: 2, inFlight: 2, oldestCreatedAt: t0 - 1000, nextAttemptAt: null, deferrals: [] });
        // Every account: the other account's recipients count too (its older message is the oldest).
        const all = await st.queue.destinations(undefined, t0, 100);
        expect(all.map((d) => [d.domain, d.queued])).toEqual([
          ['slow.test', 8],
          ['fast.test', 2],
          ['other.test', 1],
        ]);
        expect(all[0]).toMatchObject({ oldestCreatedAt: t0 - 7_200_000, inFlight: 1, nextAttemptAt: t0 + 600_000 });
        // Leases that expired are no longer in flight.
        expect((await st.queue.destinations(a, t0 + 61_000, 100))[1]).toMatchObject({ domain: 'fast.test', inFlight: 0, nextAttemptAt: t0 - 1000 });
        expect((await st.queue.destinations(undefined, t0, 1)).map((d) => d.domain)).toEqual(['slow.test']);
        expect(await st.queue.destinations(unique('acct'), t0, 100)).toEqual([]);
        // A delivered recipient leaves the summary.
        const o2 = held.find((r) => r.rcpt === 'o2@other.test')!;
        expect(await st.queue.complete(holder, [{ update: { messageId: o2.messageId, rcpt: o2.rcpt, state: 'delivered', attempts: 1, nextAttemptAt: t0, lastResponse: '250 ok' }, events: [] }], t0)).toBe(1);
        expect((await st.queue.destinations(undefined, t0, 100)).map((d) => d.domain)).toEqual(['slow.test', 'fast.test']);
      });

      it('a paused domain is not leased by anyone; resume makes its queued recipients due in the same step; pausing twice keeps the first time', async () => {
        const st = await ownStorage();
        const a = unique('acct');
        const m = accepted(a, t0, ['p1@paused.test', 'p2@paused.test', 'x@open.test'], []);
        await st.queue.enqueue([m]);
        expect(await st.queue.pausedDestinations()).toEqual([]);
        expect(await st.queue.pauseDestination({ domain: 'paused.test', pausedAt: t0, pausedBy: 'AKIAONE', reason: 'their MX is broken' })).toBe(true);
        expect(await st.queue.pauseDestination({ domain: 'paused.test', pausedAt: t0 + 5, pausedBy: 'AKIATWO', reason: null })).toBe(false);
        expect(await st.queue.pausedDestinations()).toEqual([{ domain: 'paused.test', pausedAt: t0, pausedBy: 'AKIATWO', reason: null }]);

        const leased = await st.queue.lease(unique('w'), t0 + 10, 60_000, 1000);
        expect(leased.map((r) => r.rcpt)).toEqual(['x@open.test']);
        expect((await st.queue.lease(unique('w'), t0 + 120_000, 60_000, 1000)).filter((r) => r.domain === 'paused.test')).toEqual([]);
        // Still queued, no attempt counted.
        expect((await st.queue.recipients(m.message.messageId)).filter((r) => r.domain === 'paused.test').map((r) => [r.state, r.attempts])).toEqual([
          ['queued', 0],
          ['queued', 0],
        ]);

        // Set aside: the paused domain's due, unleased recipients move out of the due range; nothing else moves.
        expect(await st.queue.holdPaused(t0 + 120_000, t0 + 720_000)).toBe(2);
        expect(await st.queue.holdPaused(t0 + 120_000, t0 + 720_000)).toBe(0);
        expect((await st.queue.recipients(m.message.messageId)).map((r) => [r.rcpt, r.nextAttemptAt])).toEqual([
          ['p1@paused.test', t0 + 720_000],
          ['p2@paused.test', t0 + 720_000],
          ['x@open.test', t0],
        ]);
        expect(await st.queue.resumeDestination('nothing-paused.test', t0)).toBeUndefined();
        const r = await st.queue.resumeDestination('paused.test', t0 + 200_000);
        expect(r).toEqual({ pause: { domain: 'paused.test', pausedAt: t0, pausedBy: 'AKIATWO', reason: null }, due: 2 });
        expect(await st.queue.pausedDestinations()).toEqual([]);
        expect((await st.queue.lease(unique('w'), t0 + 200_000, 60_000, 1000)).filter((x) => x.domain === 'paused.test').map((x) => x.rcpt).sort()).toEqual(['p1@paused.test', 'p2@paused.test']);
      });

      it('holdPaused moves nothing when no domain is paused, and never a leased recipient', async () => {
        const st = await ownStorage();
        const m = accepted(unique('acct'), t0, ['a@held.test', 'b@held.test'], []);
        await st.queue.enqueue([m]);
        expect(await st.queue.holdPaused(t0, t0 + 600_000)).toBe(0);
        const owner = unique('w');
        const leased = await st.queue.lease(owner, t0, 60_000, 1);
        expect(leased).toHaveLength(1);
        await st.queue.pauseDestination({ domain: 'held.test', pausedAt: t0, pausedBy: 'cli', reason: null });
        expect(await st.queue.holdPaused(t0 + 1000, t0 + 600_000)).toBe(1);
        expect((await st.queue.recipients(m.message.messageId)).map((r) => [r.rcpt === leased[0]!.rcpt, r.nextAttemptAt])).toEqual(
          expect.arrayContaining([
            [true, t0],
            [false, t0 + 600_000],
          ]),
        );
      });

      it('retryDestination and resume make deferred recipients due now; retry is limited to the account when given one', async () => {
        const st = await ownStorage();
        const a = unique('acct');
        const b = unique('acct');
        const mine = accepted(a, t0, ['r1@retry.test', 'r2@retry.test', 'r3@elsewhere.test'], []);
        const theirs = accepted(b, t0, ['o@retry.test'], []);
        await st.queue.enqueue([mine, theirs]);
        await defer(st, [mine, theirs], () => '451 later', t0 + 3_600_000);
        expect(await st.queue.retryDestination(a, 'retry.test', t0 + 1000)).toBe(2);
        const due = (id: string) => st.queue.recipients(id).then((rs) => rs.map((r) => [r.rcpt, r.nextAttemptAt]));
        expect(await due(mine.message.messageId)).toEqual([
          ['r1@retry.test', t0 + 1000],
          ['r2@retry.test', t0 + 1000],
          ['r3@elsewhere.test', t0 + 3_600_000],
        ]);
        expect(await due(theirs.message.messageId)).toEqual([['o@retry.test', t0 + 3_600_000]]);
        // Resume is for every account.
        await st.queue.pauseDestination({ domain: 'retry.test', pausedAt: t0, pausedBy: 'cli', reason: 'maintenance' });
        expect(await st.queue.resumeDestination('retry.test', t0 + 2000)).toMatchObject({ due: 3 });
        expect(await due(theirs.message.messageId)).toEqual([['o@retry.test', t0 + 2000]]);
        expect(await st.queue.retryDestination(undefined, 'elsewhere.test', t0 + 3000)).toBe(1);
      });
    });

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

      it('suppression putMany adds and overwrites in one go (more rows than one statement holds); deleteMany removes only what is listed', async () => {
        const a = unique('acct');
        const at = Date.now();
        const row = (i: number, reason: 'BOUNCE' | 'COMPLAINT') => ({ accountId: a, email: `u${String(i).padStart(4, '0')}@bulk.test`, reason, lastUpdateTime: at, messageId: null, feedbackId: null });
        await s().suppression.put({ ...row(0, 'BOUNCE'), messageId: 'm-0' });
        await s().suppression.putMany(Array.from({ length: 1_100 }, (_, i) => row(i, 'COMPLAINT')));
        expect(await s().suppression.get(a, 'u0000@bulk.test')).toEqual(row(0, 'COMPLAINT'));
        expect(await s().suppression.list(a, { limit: 2_000 })).toHaveLength(1_100);
        await s().suppression.putMany([]);
        expect(await s().suppression.deleteMany(a, ['u0001@bulk.test', 'u1099@bulk.test', 'nobody@bulk.test'])).toBe(2);
        expect(await s().suppression.get(a, 'u0001@bulk.test')).toBeUndefined();
        expect(await s().suppression.list(a, { limit: 2_000 })).toHaveLength(1_098);
        expect(await s().suppression.deleteMany(a, [])).toBe(0);
      });

      it('renew extends only the live leases of its owner; a renewed lease is not taken by another owner', async () => {
        const id = unique('m');
        const owner = unique('w1');
        const other = unique('w2');
        const now = Date.now();
        await s().queue.enqueue([
          {
            message: { messageId: id, accountId: unique('acct'), mailFrom: `${id}@b.test`, body: Buffer.from('x'), configurationSet: null, createdAt: now, expiresAt: now + 600_000, meta: {} },
            recipients: [rcpt(id, 'a@x.test', now), rcpt(id, 'b@x.test', now), rcpt(id, 'c@x.test', now)],
            events: [],
          },
        ]);
        const mine = (r: { messageId: string }) => r.messageId === id;
        expect((await s().queue.lease(owner, now, 1000, 1000)).filter(mine)).toHaveLength(3);
        // Half a second in, the owner renews for 60 s.
        expect(await s().queue.renew(owner, now + 500, 60_000)).toBeGreaterThanOrEqual(3);
        expect((await s().queue.recipients(id)).map((r) => [r.leaseOwner, r.leaseExpiresAt])).toEqual(Array(3).fill([owner, now + 60_500]));
        // Past the first lease's end, another owner takes none of them.
        expect((await s().queue.lease(other, now + 2000, 1000, 1000)).filter(mine)).toEqual([]);
        // Nobody renews an expired lease, nor leases it does not hold.
        expect(await s().queue.renew(owner, now + 61_000, 60_000)).toBe(0);
        expect(await s().queue.renew(unique('nobody'), now, 60_000)).toBe(0);
        // The renewed lease still completes.
        const update = { messageId: id, rcpt: 'a@x.test', state: 'delivered' as const, attempts: 1, nextAttemptAt: now, lastResponse: '250 ok' };
        expect(await s().queue.complete(owner, [{ update, events: [] }], now + 1000)).toBe(1);
        await s().queue.release(owner);
        await s().queue.release(other);
      });
    });

    describe('named resources: topics and event buses', () => {
      const s = useStorage();
      const rec = (accountId: string, name: string, data: Record<string, unknown>) => ({ accountId, name, data, createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000 });

      it('are namespaces of their own: one name in topics, event buses and templates never conflicts', async () => {
        const a = unique('acct');
        await s().topics.create(rec(a, 'events', { DisplayName: 'Events ✓' }));
        await s().eventBuses.create(rec(a, 'events', { url: 'https://bus.example.test/in', secretSealed: 'v1.x' }));
        await s().templates.create(rec(a, 'events', { subject: 's' }));
        await expect(s().topics.create(rec(a, 'events', {}))).rejects.toBeInstanceOf(StorageConflictError);
        await expect(s().eventBuses.create(rec(a, 'events', {}))).rejects.toBeInstanceOf(StorageConflictError);
        expect(await s().topics.get(a, 'events')).toEqual(rec(a, 'events', { DisplayName: 'Events ✓' }));
        expect(await s().eventBuses.get(a, 'events')).toEqual(rec(a, 'events', { url: 'https://bus.example.test/in', secretSealed: 'v1.x' }));
        expect(await s().topics.delete(a, 'events')).toBe(true);
        expect(await s().topics.get(a, 'events')).toBeUndefined();
        expect(await s().eventBuses.get(a, 'events')).toBeDefined();
        expect(await s().templates.get(a, 'events')).toBeDefined();
        expect(await s().topics.list(a, { limit: 10 })).toEqual([]);
        expect((await s().eventBuses.list(a, { limit: 10 })).map((r) => r.name)).toEqual(['events']);
        expect(await s().eventBuses.delete(a, 'events')).toBe(true);
        expect(await s().eventBuses.delete(a, 'events')).toBe(false);
        expect(await s().eventBuses.count(a)).toBe(0);
      });
    });

    describe('subscriptions', () => {
      const s = useStorage();

      it('create then get round-trips every field', async () => {
        const a = unique('acct');
        const full = subscription(a, 'bounces', {
          protocol: 'http',
          endpoint: 'http://hooks.example.test:8080/sns?x=1&y=é',
          status: 'confirmed',
          attributes: { RawMessageDelivery: 'true', FilterPolicy: '{"eventType":["Bounce"]}', Note: 'Grüße 🎉' },
          createdAt: BIG_TS,
          updatedAt: BIG_TS + 1,
        });
        await s().subscriptions.create(full);
        const got = await s().subscriptions.get(full.id);
        expect(got).toEqual(full);
        expect(typeof got!.createdAt).toBe('number');
        expect(typeof got!.updatedAt).toBe('number');
        const bare = subscription(a, 'bounces');
        await s().subscriptions.create(bare);
        expect(await s().subscriptions.get(bare.id)).toEqual(bare);
        expect(await s().subscriptions.get(unique('sub'))).toBeUndefined();
      });

      it('list returns an account’s subscriptions in id order, of one topic when asked, with after (exclusive) and limit', async () => {
        const a = unique('acct');
        const b = unique('acct');
        const ids = ['s-a', 's-b', 's-c', 's-d', 's-e', 's-f'].map((id) => `${id}-${unique('x')}`);
        const topicOf = (i: number) => (i % 2 === 0 ? 'even' : 'odd');
        // Created in shuffled order, so insertion order would give the wrong answer.
        for (const i of [3, 0, 5, 1, 4, 2]) await s().subscriptions.create(subscription(a, topicOf(i), { id: ids[i]! }));
        await s().subscriptions.create(subscription(b, 'even', { id: `s-0-${unique('x')}` }));
        expect((await s().subscriptions.list(a, { limit: 100 })).map((r) => r.id)).toEqual(ids);
        expect((await s().subscriptions.list(a, { limit: 2 })).map((r) => r.id)).toEqual(ids.slice(0, 2));
        expect((await s().subscriptions.list(a, { after: ids[1], limit: 3 })).map((r) => r.id)).toEqual(ids.slice(2, 5));
        expect((await s().subscriptions.list(a, { topic: 'even', limit: 100 })).map((r) => r.id)).toEqual([ids[0], ids[2], ids[4]]);
        expect((await s().subscriptions.list(a, { topic: 'odd', limit: 100 })).map((r) => r.id)).toEqual([ids[1], ids[3], ids[5]]);
        expect((await s().subscriptions.list(a, { topic: 'even', after: ids[0], limit: 1 })).map((r) => r.id)).toEqual([ids[2]]);
        expect((await s().subscriptions.list(a, { topic: 'odd', after: ids[5], limit: 10 })).map((r) => r.id)).toEqual([]);
        // `after` need not be an existing id.
        expect((await s().subscriptions.list(a, { after: 's-c', limit: 100 })).map((r) => r.id)).toEqual(ids.slice(2));
        expect(await s().subscriptions.list(a, { topic: 'none', limit: 100 })).toEqual([]);
        expect((await s().subscriptions.list(b, { limit: 100 })).map((r) => r.topic)).toEqual(['even']);
        expect(await s().subscriptions.list(unique('nobody'), { limit: 100 })).toEqual([]);
        const page = await s().subscriptions.list(a, { topic: 'odd', limit: 1 });
        expect(page).toEqual([subscription(a, 'odd', { id: ids[1]!, token: page[0]!.token })]);
      });

      it('update replaces status, token, attributes and updatedAt only, and tells whether the subscription exists', async () => {
        const a = unique('acct');
        const sub = subscription(a, 'topic', { attributes: { RawMessageDelivery: 'false', Old: 'x' } });
        await s().subscriptions.create(sub);
        const next: SubscriptionRecord = { ...sub, status: 'confirmed', token: 'new-token', attributes: { RawMessageDelivery: 'true' }, updatedAt: BIG_TS };
        expect(await s().subscriptions.update(next)).toBe(true);
        expect(await s().subscriptions.get(sub.id)).toEqual(next);
        // The other fields are not the update's to change.
        expect(
          await s().subscriptions.update({ ...next, accountId: unique('acct'), topic: 'other', protocol: 'http', endpoint: 'http://elsewhere.test/', createdAt: 1, updatedAt: BIG_TS + 1 }),
        ).toBe(true);
        expect(await s().subscriptions.get(sub.id)).toEqual({ ...next, updatedAt: BIG_TS + 1 });
        const missing = subscription(a, 'topic');
        expect(await s().subscriptions.update(missing)).toBe(false);
        expect(await s().subscriptions.get(missing.id)).toBeUndefined();
      });

      it('delete removes one subscription and tells whether it existed', async () => {
        const a = unique('acct');
        const gone = subscription(a, 'topic');
        const kept = subscription(a, 'topic');
        await s().subscriptions.create(gone);
        await s().subscriptions.create(kept);
        expect(await s().subscriptions.delete(gone.id)).toBe(true);
        expect(await s().subscriptions.get(gone.id)).toBeUndefined();
        expect(await s().subscriptions.delete(gone.id)).toBe(false);
        expect(await s().subscriptions.get(kept.id)).toEqual(kept);
        expect((await s().subscriptions.list(a, { limit: 10 })).map((r) => r.id)).toEqual([kept.id]);
      });

      it('deleteTopic deletes every subscription of one topic of one account and counts them', async () => {
        const a = unique('acct');
        const b = unique('acct');
        for (let i = 0; i < 3; i++) await s().subscriptions.create(subscription(a, 'doomed'));
        const otherTopic = subscription(a, 'kept');
        const otherAccount = subscription(b, 'doomed');
        await s().subscriptions.create(otherTopic);
        await s().subscriptions.create(otherAccount);
        expect(await s().subscriptions.deleteTopic(a, 'doomed')).toBe(3);
        expect(await s().subscriptions.list(a, { topic: 'doomed', limit: 10 })).toEqual([]);
        expect(await s().subscriptions.list(a, { limit: 10 })).toEqual([otherTopic]);
        expect(await s().subscriptions.list(b, { limit: 10 })).toEqual([otherAccount]);
        expect(await s().subscriptions.deleteTopic(a, 'doomed')).toBe(0);
        expect(await s().subscriptions.deleteTopic(a, 'Kept')).toBe(0); // topic names are case-sensitive
        expect(await s().subscriptions.deleteTopic(unique('nobody'), 'kept')).toBe(0);
        expect(await s().subscriptions.get(otherTopic.id)).toEqual(otherTopic);
      });
    });

    describe('webhooks', () => {
      // Leases and count span every account: each test has a Storage of its own (ownStorage).
      const now = 1_800_000_000_000;

      it('enqueue then lease round-trips every field, with an id assigned by storage', async () => {
        const s = await ownStorage();
        expect(await s.webhooks.lease('w1', now, 60_000, 10)).toEqual([]);
        const a = unique('acct');
        const full = webhook(a, {
          kind: 'eventbridge',
          url: 'https://bus.example.test:8443/in?x=1&é=ü',
          subscriptionId: unique('sub'),
          headers: { 'content-type': 'application/json', 'x-sesame-signature': 'sha256=abc', 'x-note': 'Grüße 🎉' },
          body: JSON.stringify({ detail: { text: 'Grüße 🎉 "quoted" \\ \n', list: [1, 2, 3] } }).repeat(200),
          attempts: 3,
          nextAttemptAt: now - 1,
          expiresAt: BIG_TS,
          createdAt: now - 10_000,
          lastError: 'HTTP 503',
        });
        const bare = webhook(a, { nextAttemptAt: now });
        await s.webhooks.enqueue([full, bare]);
        await s.webhooks.enqueue([]);
        expect(await s.webhooks.count()).toBe(2);
        const leased = await s.webhooks.lease('w1', now, 60_000, 10);
        expect(leased).toEqual([
          { ...full, id: expect.any(Number) },
          { ...bare, id: expect.any(Number) },
        ]);
        expect(leased[0]!.id).not.toBe(leased[1]!.id);
        for (const w of leased) for (const t of [w.id, w.attempts, w.nextAttemptAt, w.expiresAt, w.createdAt]) expect(typeof t).toBe('number');
        // Leasing changes nothing but the lease: the rows are still waiting.
        expect(await s.webhooks.count()).toBe(2);
      });

      it('lease takes only due rows without a live lease, oldest first, up to limit; an expired lease goes to another owner', async () => {
        const s = await ownStorage();
        const a = unique('acct');
        // Enqueued out of order, so that id order is not due order.
        const rows = [now - 100, now + 1, now - 300, now, now - 200, now + 60_000].map((t) => webhook(a, { nextAttemptAt: t, body: `due-${t - now}` }));
        await s.webhooks.enqueue(rows);
        const first = await s.webhooks.lease('w1', now, 10_000, 2);
        expect(first.map((w) => w.body)).toEqual(['due--300', 'due--200']);
        // nextAttemptAt ≤ now is due; the live leases of w1 are skipped.
        const second = await s.webhooks.lease('w2', now, 10_000, 10);
        expect(second.map((w) => w.body)).toEqual(['due--100', 'due-0']);
        expect(await s.webhooks.lease('w3', now, 10_000, 10)).toEqual([]);
        // Later, but before the leases expire: only the newly due row.
        const third = await s.webhooks.lease('w3', now + 5_000, 100_000, 10);
        expect(third.map((w) => w.body)).toEqual(['due-1']);
        expect(await s.webhooks.lease('w4', now + 5_000, 10_000, 10)).toEqual([]);
        // After w1's and w2's leases expired (at now + 10 s), another owner gets their rows, still oldest first.
        const taken = await s.webhooks.lease('w4', now + 10_001, 100_000, 10);
        expect(taken.map((w) => w.body)).toEqual(['due--300', 'due--200', 'due--100', 'due-0']);
        expect(taken.map((w) => w.id)).toEqual([...first, ...second].map((w) => w.id));
        expect(await s.webhooks.lease('w5', now + 10_001, 10_000, 10)).toEqual([]);
        expect((await s.webhooks.lease('w5', now + 60_000, 10_000, 10)).map((w) => w.body)).toEqual(['due-60000']);
        expect(await s.webhooks.count()).toBe(6);
      });

      it('complete removes delivered and dropped rows, and a retry updates the row and releases its lease', async () => {
        const s = await ownStorage();
        const a = unique('acct');
        await s.webhooks.enqueue([webhook(a, { body: 'delivered' }), webhook(a, { body: 'dropped' }), webhook(a, { body: 'retry', lastError: null }), webhook(a, { body: 'untouched' })]);
        const leased = await s.webhooks.lease('w1', now, 200_000, 10);
        const id = (body: string) => leased.find((w) => w.body === body)!.id!;
        await s.webhooks.complete('w1', [
          { id: id('delivered'), outcome: 'delivered' },
          { id: id('dropped'), outcome: 'dropped' },
          { id: id('retry'), outcome: 'retry', attempts: 1, nextAttemptAt: now + 30_000, lastError: 'HTTP 500: Grüße' },
        ]);
        await s.webhooks.complete('w1', []);
        expect(await s.webhooks.count()).toBe(2);
        // The retried row's lease is released at once (its old lease would still be live), but it is due only at its new time.
        expect(await s.webhooks.lease('w2', now + 29_999, 60_000, 10)).toEqual([]);
        const again = await s.webhooks.lease('w2', now + 30_000, 60_000, 10);
        expect(again).toEqual([{ ...leased.find((w) => w.body === 'retry')!, attempts: 1, nextAttemptAt: now + 30_000, lastError: 'HTTP 500: Grüße' }]);
        // A retry keeps the newest error.
        await s.webhooks.complete('w2', [{ id: id('retry'), outcome: 'retry', attempts: 2, nextAttemptAt: now + 90_000, lastError: 'timeout' }]);
        expect(await s.webhooks.lease('w3', now + 90_000, 60_000, 10)).toEqual([{ ...again[0]!, attempts: 2, nextAttemptAt: now + 90_000, lastError: 'timeout' }]);
        await s.webhooks.complete('w3', [{ id: id('retry'), outcome: 'dropped' }]);
        // The untouched row is still leased by w1 until its lease expires.
        expect(await s.webhooks.count()).toBe(1);
        expect(await s.webhooks.lease('w4', now + 200_000 - 1, 60_000, 10)).toEqual([]);
        expect((await s.webhooks.lease('w4', now + 200_001, 60_000, 10)).map((w) => w.body)).toEqual(['untouched']);
      });

      it('complete by an owner whose lease was taken over, or who never leased the row, changes nothing', async () => {
        const s = await ownStorage();
        const a = unique('acct');
        const original = webhook(a, { nextAttemptAt: now, body: 'contested' });
        await s.webhooks.enqueue([original, webhook(a, { nextAttemptAt: now, body: 'other' })]);
        const [w1] = await s.webhooks.lease('w1', now, 1_000, 1);
        expect(w1!.body).toBe('contested');
        const [w2] = await s.webhooks.lease('w2', now + 1_001, 60_000, 1);
        expect(w2!.id).toBe(w1!.id);
        // w1 comes back late: neither a retry nor a removal of it applies.
        await s.webhooks.complete('w1', [{ id: w1!.id!, outcome: 'retry', attempts: 9, nextAttemptAt: now, lastError: 'stale' }]);
        await s.webhooks.complete('w1', [{ id: w1!.id!, outcome: 'delivered' }]);
        await s.webhooks.complete('w1', [{ id: w1!.id!, outcome: 'dropped' }]);
        // Nor does anything of someone who holds no lease on it, nor of an unknown id.
        await s.webhooks.complete('nobody', [{ id: w1!.id!, outcome: 'delivered' }, { id: 999_999_999, outcome: 'delivered' }]);
        expect(await s.webhooks.count()).toBe(2);
        // w2's lease is intact (nobody else can lease the row) ...
        expect((await s.webhooks.lease('w3', now + 2_000, 60_000, 10)).map((w) => w.body)).toEqual(['other']);
        // ... and so is the row: after w2's lease expires it is leased as it was.
        expect(await s.webhooks.lease('w4', now + 61_002, 60_000, 1)).toEqual([{ ...original, id: w1!.id }]);
        await s.webhooks.complete('w4', [{ id: w1!.id!, outcome: 'delivered' }]);
        expect(await s.webhooks.count()).toBe(1);
      });

      it('two owners leasing concurrently never get the same row', async () => {
        const s = await ownStorage();
        const a = unique('acct');
        await s.webhooks.enqueue(Array.from({ length: 200 }, (_, i) => webhook(a, { nextAttemptAt: now - 200 + i, body: `row-${i}` })));
        const byOwner: Record<string, number[]> = { a: [], b: [] };
        for (let round = 0; round < 2; round++) {
          const owners = ['a', 'b', 'a', 'b'];
          const results = await Promise.all(owners.map((o) => s.webhooks.lease(o, now, 60_000, 30)));
          results.forEach((r, i) => byOwner[owners[i]!]!.push(...r.map((w) => w.id!)));
        }
        const all = [...byOwner.a!, ...byOwner.b!];
        expect(all.length).toBeGreaterThan(0);
        expect(new Set(all).size).toBe(all.length);
        const rest = (await s.webhooks.lease('c', now, 60_000, 1_000)).map((w) => w.id!);
        expect(new Set([...all, ...rest]).size).toBe(all.length + rest.length);
        expect(all.length + rest.length).toBe(200);
        // Each owner completes only its own rows.
        await s.webhooks.complete('b', byOwner.a!.map((id) => ({ id, outcome: 'delivered' as const })));
        expect(await s.webhooks.count()).toBe(200);
        await s.webhooks.complete('a', byOwner.a!.map((id) => ({ id, outcome: 'delivered' as const })));
        expect(await s.webhooks.count()).toBe(200 - byOwner.a!.length);
      });

      it('count counts waiting deliveries and deleteBySubscription drops those of one subscription', async () => {
        const s = await ownStorage();
        const a = unique('acct');
        expect(await s.webhooks.count()).toBe(0);
        const sub1 = unique('sub');
        const sub2 = unique('sub');
        await s.webhooks.enqueue([
          webhook(a, { subscriptionId: sub1 }),
          webhook(a, { subscriptionId: sub1, nextAttemptAt: now + 60_000 }),
          webhook(a, { subscriptionId: sub2, body: 'sub2' }),
          webhook(a, { subscriptionId: null, kind: 'eventbridge', body: 'bus' }),
        ]);
        expect(await s.webhooks.count()).toBe(4);
        expect(await s.webhooks.deleteBySubscription(sub1)).toBe(2);
        expect(await s.webhooks.deleteBySubscription(sub1)).toBe(0);
        expect(await s.webhooks.deleteBySubscription(unique('sub'))).toBe(0);
        expect(await s.webhooks.count()).toBe(2);
        expect((await s.webhooks.lease('w', now + 60_000, 60_000, 10)).map((w) => w.body)).toEqual(['sub2', 'bus']);
        expect(typeof (await s.webhooks.count())).toBe('number');
      });
    });

    describe('event outbox', () => {
      // pending and backlog span every account: each test has a Storage of its own (ownStorage).
      const now = 1_800_000_000_000;

      it('events stored by queue.enqueue and queue.complete wait, in id order, until published', async () => {
        const s = await ownStorage();
        expect(await s.outbox.pending(100)).toEqual([]);
        expect(await s.outbox.backlog()).toBe(0);
        const a = unique('acct');
        const m1 = accepted(a, now, ['x@one.test', 'y@one.test'], ['Send']);
        const m2 = accepted(a, now + 1, ['z@two.test'], ['Send', 'DeliveryDelay']);
        await s.queue.enqueue([m1, m2]);
        const id1 = m1.message.messageId;
        await s.queue.lease('w1', now + 10, 60_000, 10);
        const update = (rcpt: string) => ({ messageId: id1, rcpt, state: 'delivered' as const, attempts: 1, nextAttemptAt: now + 10, lastResponse: '250 ok' });
        const delivery = { messageId: id1, accountId: a, type: 'Delivery', createdAt: now + 20, payload: { delivery: { recipients: ['x@one.test'] } } };
        expect(await s.queue.complete('w1', [{ update: update('x@one.test'), events: [delivery] }], now + 20)).toBe(1);
        // A completion without the lease stores no event.
        expect(await s.queue.complete('w-other', [{ update: update('y@one.test'), events: [{ ...delivery, type: 'Bounce' }] }], now + 20)).toBe(0);
        const pending = await s.outbox.pending(100);
        expect(pending).toEqual([...m1.events, ...m2.events, delivery].map((e) => ({ ...e, id: expect.any(Number) })));
        expect(ascending(pending.map((e) => e.id))).toEqual(pending.map((e) => e.id));
        expect(new Set(pending.map((e) => e.id)).size).toBe(4);
        expect(await s.outbox.pending(2)).toEqual(pending.slice(0, 2));
        expect(await s.outbox.backlog()).toBe(4);
        // Publishing takes events out of the outbox, not out of the message's history.
        expect(ascending(await s.outbox.publish([claim(pending[0]!.id!), claim(pending[3]!.id!)], now + 30))).toEqual([pending[0]!.id, pending[3]!.id]);
        expect(await s.outbox.pending(100)).toEqual([pending[1], pending[2]]);
        expect(await s.outbox.backlog()).toBe(2);
        expect((await s.queue.events(id1)).map((e) => e.type)).toEqual(['Send', 'Delivery']);
        expect(ascending(await s.outbox.publish([claim(pending[1]!.id!), claim(pending[2]!.id!)], now + 40))).toEqual([pending[1]!.id, pending[2]!.id]);
        expect(await s.outbox.pending(100)).toEqual([]);
        expect(await s.outbox.backlog()).toBe(0);
        // New events wait again.
        const m3 = accepted(a, now + 50, ['w@three.test'], ['Send']);
        await s.queue.enqueue([m3]);
        expect(await s.outbox.pending(100)).toEqual([{ ...m3.events[0]!, id: expect.any(Number) }]);
        expect((await s.outbox.pending(100))[0]!.id).toBeGreaterThan(pending[3]!.id!);
      });

      it('publish claims each event once, and inserts its webhooks and reputation counts with the claim only', async () => {
        const s = await ownStorage();
        const a = unique('acct');
        await s.outbox.record([event(a, 'Send', now), event(a, 'Bounce', now + 1), event(a, 'Complaint', now + 2)]);
        const [e1, e2, e3] = (await s.outbox.pending(10)).map((e) => e.id!);
        const hooks1 = [webhook(a, { body: 'e1-a', nextAttemptAt: now }), webhook(a, { body: 'e1-b', kind: 'eventbridge', nextAttemptAt: now })];
        const c1 = claim(e1!, { webhooks: hooks1, reputation: [delta(a, now, { sends: 1 }), delta(a, now, { configurationSet: 'set-1', sends: 1 })] });
        const c2 = claim(e2!, { webhooks: [webhook(a, { body: 'e2', nextAttemptAt: now })], reputation: [delta(a, now + 1, { hardBounces: 1 })] });
        const c3 = claim(e3!, { webhooks: [webhook(a, { body: 'e3', nextAttemptAt: now })], reputation: [delta(a, now + 2, { complaints: 1 })] });
        expect(await s.outbox.publish([], now)).toEqual([]);

        expect(ascending(await s.outbox.publish([c1, c2], now + 10))).toEqual([e1, e2]);
        expect(await s.webhooks.count()).toBe(3);
        const leased = await s.webhooks.lease('w', now + 10, 60_000, 10);
        expect(leased.map((w) => w.body).sort()).toEqual(['e1-a', 'e1-b', 'e2']);
        expect(leased.find((w) => w.body === 'e1-b')).toEqual({ ...hooks1[1], id: expect.any(Number) });
        expect(await s.reputation.totals(a, '', now)).toEqual({ sends: 1, hardBounces: 1, complaints: 0 });
        expect(await s.reputation.totals(a, 'set-1', now)).toEqual({ sends: 1, hardBounces: 0, complaints: 0 });
        expect(await s.outbox.pending(10)).toEqual([{ ...event(a, 'Complaint', now + 2), messageId: expect.any(String), id: e3 }]);

        // Publishing the same claims again claims nothing and inserts nothing.
        expect(await s.outbox.publish([c1, c2], now + 20)).toEqual([]);
        // Nor does a claim of them with other webhooks; of an overlapping set only the unclaimed one is.
        const c2again = claim(e2!, { webhooks: [webhook(a, { body: 'e2-again', nextAttemptAt: now })], reputation: [delta(a, now, { sends: 100 })] });
        expect(await s.outbox.publish([c2again, c3], now + 20)).toEqual([e3]);
        expect(await s.webhooks.count()).toBe(4);
        expect((await s.webhooks.lease('w2', now + 20, 60_000, 10)).map((w) => w.body)).toEqual(['e3']);
        expect(await s.reputation.totals(a, '', now)).toEqual({ sends: 1, hardBounces: 1, complaints: 1 });
        expect(await s.reputation.totals(a, 'set-1', now)).toEqual({ sends: 1, hardBounces: 0, complaints: 0 });
        // An event that does not exist is not claimed.
        const unknown = claim(e3! + 1_000_000, { webhooks: [webhook(a)], reputation: [delta(a, now, { sends: 1 })] });
        expect(await s.outbox.publish([unknown], now + 30)).toEqual([]);
        expect(await s.webhooks.count()).toBe(4);
        expect(await s.reputation.totals(a, '', now)).toEqual({ sends: 1, hardBounces: 1, complaints: 1 });
        expect(await s.outbox.pending(10)).toEqual([]);
        expect(await s.outbox.backlog()).toBe(0);
      });

      it('record stores events that wait in the outbox like the queue’s', async () => {
        const s = await ownStorage();
        const a = unique('acct');
        await s.outbox.record([]);
        expect(await s.outbox.backlog()).toBe(0);
        const m = accepted(a, now, ['x@one.test'], ['Send']);
        await s.queue.enqueue([m]);
        const open = event(a, 'Open', now + 5, { messageId: m.message.messageId, payload: { open: { userAgent: 'Grüße 🎉', ipAddress: '192.0.2.1' }, nested: [1, [2, { three: null }]] } });
        const click = event(a, 'Click', now + 6, { messageId: m.message.messageId, payload: { click: { link: 'https://example.test/?a=1&b=é' } } });
        await s.outbox.record([open, click]);
        const pending = await s.outbox.pending(10);
        expect(pending).toEqual([m.events[0], open, click].map((e) => ({ ...e, id: expect.any(Number) })));
        expect(ascending(pending.map((e) => e.id))).toEqual(pending.map((e) => e.id));
        expect(await s.outbox.backlog()).toBe(3);
        expect((await s.queue.events(m.message.messageId)).map((e) => e.type)).toEqual(['Send', 'Open', 'Click']);
        expect(ascending(await s.outbox.publish(pending.map((e) => claim(e.id!)), now + 10))).toEqual(pending.map((e) => e.id));
        expect(await s.outbox.backlog()).toBe(0);
        expect(typeof (await s.outbox.backlog())).toBe('number');
      });

      it('concurrent publishes of overlapping claims claim each event exactly once and insert its webhooks exactly once', async () => {
        const s = await ownStorage();
        const a = unique('acct');
        await s.outbox.record(Array.from({ length: 60 }, (_, i) => event(a, 'Send', now + i)));
        const ids = (await s.outbox.pending(100)).map((e) => e.id!);
        expect(ids).toHaveLength(60);
        const claimOf = (id: number) => claim(id, { webhooks: [webhook(a, { body: `event-${id}`, nextAttemptAt: now })], reputation: [delta(a, now, { sends: 1 })] });
        const sets = [ids.slice(0, 40), ids.slice(20, 60), ids.slice(10, 50).reverse(), [...ids.filter((_, i) => i % 2 === 1), ...ids.filter((_, i) => i % 2 === 0)]];
        for (let round = 0; round < 2; round++) {
          const results = await Promise.all(sets.map((set) => s.outbox.publish(set.map(claimOf), now + 100 + round)));
          const claimed = results.flat();
          expect(new Set(claimed).size).toBe(claimed.length);
          expect(ascending(claimed)).toEqual(round === 0 ? ids : []);
        }
        expect(await s.webhooks.count()).toBe(60);
        expect((await s.webhooks.lease('w', now, 60_000, 1_000)).map((w) => w.body).sort()).toEqual(ids.map((id) => `event-${id}`).sort());
        expect(await s.reputation.totals(a, '', now)).toEqual({ sends: 60, hardBounces: 0, complaints: 0 });
        expect(await s.outbox.backlog()).toBe(0);
      });

      it('concurrent publishes of disjoint claims that count to the same counters in opposite orders all succeed', async () => {
        // Two nodes publishing different events of the same accounts must not lock one another out (a deadlock on PostgreSQL).
        const s = await ownStorage();
        const a = unique('acct');
        const b = unique('acct');
        const rounds = 10;
        for (let round = 0; round < rounds; round++) {
          await s.outbox.record(Array.from({ length: 4 }, (_, i) => event(a, 'Send', now + i)));
          const [e1, e2, e3, e4] = (await s.outbox.pending(10)).map((e) => e.id!);
          const sends = (accountId: string, configurationSet = '') => [delta(accountId, now, { configurationSet, sends: 1 })];
          const results = await Promise.all([
            s.outbox.publish([claim(e1!, { reputation: [...sends(a), ...sends(a, 'set-1')] }), claim(e2!, { reputation: sends(b) })], now),
            s.outbox.publish([claim(e3!, { reputation: sends(b) }), claim(e4!, { reputation: [...sends(a, 'set-1'), ...sends(a)] })], now),
          ]);
          expect(ascending(results.flat())).toEqual([e1, e2, e3, e4]);
        }
        expect(await s.reputation.totals(a, '', now)).toEqual({ sends: 2 * rounds, hardBounces: 0, complaints: 0 });
        expect(await s.reputation.totals(a, 'set-1', now)).toEqual({ sends: 2 * rounds, hardBounces: 0, complaints: 0 });
        expect(await s.reputation.totals(b, '', now)).toEqual({ sends: 2 * rounds, hardBounces: 0, complaints: 0 });
        expect(await s.outbox.backlog()).toBe(0);
      });
    });

    describe('reputation', () => {
      const s = useStorage();
      const HOUR = 3_600_000;
      const H = 1_800_000_000_000; // the start of an hour

      /** Records one event per claim and publishes them, with the given reputation deltas. */
      async function publish(deltas: ReputationDelta[][]): Promise<void> {
        const messageIds = deltas.map(() => unique('msg'));
        await s().outbox.record(messageIds.map((messageId) => event('acct', 'Send', H, { messageId })));
        const events = (await s().outbox.pending(1_000)).filter((e) => messageIds.includes(e.messageId));
        expect(events).toHaveLength(deltas.length);
        const claims = events.map((e) => claim(e.id!, { reputation: deltas[messageIds.indexOf(e.messageId)]! }));
        expect(await s().outbox.publish(claims, H)).toHaveLength(deltas.length);
      }

      it('totals are zero for an account without counts', async () => {
        expect(await s().reputation.totals(unique('acct'), '', 0)).toEqual({ sends: 0, hardBounces: 0, complaints: 0 });
      });

      it('totals sum the deltas of an account or one configuration set since the hour of `since`, across publishes', async () => {
        const a = unique('acct');
        const b = unique('acct');
        await publish([
          [delta(a, H + 5 * 60_000, { sends: 2 }), delta(a, H + 5 * 60_000, { configurationSet: 'set-1', sends: 2 })],
          [delta(a, H + 6 * 60_000, { sends: 1 })], // same hour, same publish
          [delta(b, H + 10 * 60_000, { sends: 7, complaints: 7 })],
        ]);
        await publish([
          [delta(a, H + 50 * 60_000, { sends: 1, hardBounces: 1 })], // same hour, another publish
          [delta(a, H - 1, { sends: 100, hardBounces: 100, complaints: 100 })], // the hour before
          [delta(a, H + 2 * HOUR + 1, { complaints: 1 }), delta(a, H + 2 * HOUR + 1, { configurationSet: 'set-1', hardBounces: 3 })],
          [delta(a, H + 10 * 60_000, { configurationSet: 'set-2', sends: 4, hardBounces: 1, complaints: 1 })],
        ]);
        await publish([[delta(a, H + 59 * 60_000, { sends: 1 })]]);

        const sinceHalfPast = await s().reputation.totals(a, '', H + 30 * 60_000);
        expect(sinceHalfPast).toEqual({ sends: 5, hardBounces: 1, complaints: 1 });
        for (const v of Object.values(sinceHalfPast)) expect(typeof v).toBe('number');
        // Counts are hourly: `since` anywhere in an hour counts that whole hour, and no earlier one.
        expect(await s().reputation.totals(a, '', H)).toEqual({ sends: 5, hardBounces: 1, complaints: 1 });
        expect(await s().reputation.totals(a, '', H + HOUR - 1)).toEqual({ sends: 5, hardBounces: 1, complaints: 1 });
        expect(await s().reputation.totals(a, '', H - 1)).toEqual({ sends: 105, hardBounces: 101, complaints: 101 });
        expect(await s().reputation.totals(a, '', H - HOUR)).toEqual({ sends: 105, hardBounces: 101, complaints: 101 });
        expect(await s().reputation.totals(a, '', H + HOUR)).toEqual({ sends: 0, hardBounces: 0, complaints: 1 });
        expect(await s().reputation.totals(a, '', H + 2 * HOUR)).toEqual({ sends: 0, hardBounces: 0, complaints: 1 });
        expect(await s().reputation.totals(a, '', H + 3 * HOUR)).toEqual({ sends: 0, hardBounces: 0, complaints: 0 });
        // Configuration sets are counted apart from the account ('') and from each other.
        expect(await s().reputation.totals(a, 'set-1', H)).toEqual({ sends: 2, hardBounces: 3, complaints: 0 });
        expect(await s().reputation.totals(a, 'set-1', H + HOUR)).toEqual({ sends: 0, hardBounces: 3, complaints: 0 });
        expect(await s().reputation.totals(a, 'set-2', 0)).toEqual({ sends: 4, hardBounces: 1, complaints: 1 });
        expect(await s().reputation.totals(a, 'Set-1', 0)).toEqual({ sends: 0, hardBounces: 0, complaints: 0 });
        expect(await s().reputation.totals(b, '', 0)).toEqual({ sends: 7, hardBounces: 0, complaints: 7 });
        expect(await s().reputation.totals(b, 'set-1', 0)).toEqual({ sends: 0, hardBounces: 0, complaints: 0 });
      });

      it('totals count timestamps beyond 2^32 ms exactly', async () => {
        const a = unique('acct');
        await publish([[delta(a, BIG_TS, { sends: 3, hardBounces: 2, complaints: 1 })], [delta(a, BIG_TS - HOUR, { sends: 1 })]]);
        expect(await s().reputation.totals(a, '', BIG_TS)).toEqual({ sends: 3, hardBounces: 2, complaints: 1 });
        expect(await s().reputation.totals(a, '', BIG_TS - HOUR)).toEqual({ sends: 4, hardBounces: 2, complaints: 1 });
      });
    });

    describe('queue: messageMeta', () => {
      const s = useStorage();

      it('returns the account, configuration set, creation time and metadata of a message, without its body', async () => {
        const a = unique('acct');
        const meta = { mail: { source: 'Grüße <a@b.test>', destination: ['x@one.test'], headers: [{ name: 'X', value: '🎉' }], tags: { k: ['v'] } }, tracking: { opens: true } };
        const withSet = accepted(a, BIG_TS, ['x@one.test'], ['Send'], { configurationSet: 'set-1', meta, body: Buffer.alloc(64 * 1024, 7) });
        const withoutSet = accepted(a, 1_700_000_000_000, ['y@one.test'], []);
        await s().queue.enqueue([withSet, withoutSet]);
        const got = await s().queue.messageMeta(withSet.message.messageId);
        expect(got).toEqual({ accountId: a, configurationSet: 'set-1', createdAt: BIG_TS, meta });
        expect(Object.keys(got!).sort()).toEqual(['accountId', 'configurationSet', 'createdAt', 'meta']);
        expect(typeof got!.createdAt).toBe('number');
        expect(await s().queue.messageMeta(withoutSet.message.messageId)).toEqual({ accountId: a, configurationSet: null, createdAt: 1_700_000_000_000, meta: {} });
        expect(await s().queue.messageMeta(unique('msg'))).toBeUndefined();
      });
    });

    describe('blobs', () => {
      const s = useStorage();
      const collect = async (it: AsyncIterable<Buffer> | undefined) => {
        if (!it) return undefined;
        const parts: Buffer[] = [];
        for await (const c of it) parts.push(c);
        return Buffer.concat(parts);
      };
      // Longer than one PostgreSQL chunk (1 MiB), with bytes that differ by position.
      const big = Buffer.alloc(2.5 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 11)) & 0xff;

      it('stores bytes given whole or as a stream, and reads them back whole and from any offset', async () => {
        const whole = await s().blobs.put(big);
        expect(whole.size).toBe(big.length);
        expect((await s().blobs.get(whole.id))!.equals(big)).toBe(true);
        const pieces = (async function* () {
          for (let at = 0; at < big.length; at += 70_001) yield big.subarray(at, at + 70_001);
        })();
        const streamed = await s().blobs.put(pieces);
        expect(streamed.id).not.toBe(whole.id);
        for (const start of [0, 1, 1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1, 2 * 1024 * 1024 + 5, big.length - 1, big.length]) {
          expect((await collect(await s().blobs.stream(streamed.id, start)))!.equals(big.subarray(start))).toBe(true);
        }
        expect((await collect(await s().blobs.stream(whole.id)))!.equals(big)).toBe(true);
      });

      it('a writer commits what was written, in order; an aborted one leaves nothing', async () => {
        const w = await s().blobs.writer();
        await w.write(Buffer.from('head '));
        await w.write(big);
        await w.write(Buffer.from(' tail'));
        const done = await w.commit();
        expect(done.size).toBe(big.length + 10);
        const back = (await s().blobs.get(done.id))!;
        expect(back.subarray(0, 5).toString()).toBe('head ');
        expect(back.subarray(5, 5 + big.length).equals(big)).toBe(true);
        expect(back.subarray(-5).toString()).toBe(' tail');
        const aborted = await s().blobs.writer();
        await aborted.write(big);
        await aborted.abort();
        const empty = await s().blobs.put(Buffer.alloc(0));
        expect((await s().blobs.get(empty.id))!.length).toBe(0);
        expect((await collect(await s().blobs.stream(empty.id)))!.length).toBe(0);
      });

      it('an unknown or deleted blob is undefined, and deleting twice is no error', async () => {
        const { id } = await s().blobs.put(Buffer.from('x'));
        await s().blobs.delete(id);
        await s().blobs.delete(id);
        expect(await s().blobs.get(id)).toBeUndefined();
        expect(await s().blobs.stream(id)).toBeUndefined();
        expect(await s().blobs.get('0123456789abcdef0123456789abcdef')).toBeUndefined();
      });

      it('a message row names the rest of its body in a blob, and body() gives head and range', async () => {
        const a = unique('acct');
        const { id } = await s().blobs.put(big);
        const item = accepted(a, 1_700_000_000_000, ['x@one.test'], [], { body: Buffer.from('DKIM-Signature: x\r\nFrom: a@b.test\r\n\r\n') });
        item.message.bodyBlob = { id, offset: 4096 };
        const plain = accepted(a, 1_700_000_000_000, ['y@one.test'], []);
        await s().queue.enqueue([item, plain]);
        expect(await s().queue.body(item.message.messageId)).toEqual({ head: item.message.body, blob: { id, offset: 4096 } });
        expect(await s().queue.body(plain.message.messageId)).toEqual({ head: plain.message.body, blob: null });
        expect((await s().queue.message(item.message.messageId))!.bodyBlob).toEqual({ id, offset: 4096 });
        expect(await s().queue.body(unique('msg'))).toBeUndefined();
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

    describe('node registry and job leases', () => {
      function node(id: string, over: Partial<NodeRecord> = {}): NodeRecord {
        return { id, roles: ['api', 'worker'], hostname: 'host-1.example', pid: 4242, version: '1.2.3', startedAt: BIG_TS, heartbeatAt: BIG_TS + 5, heartbeatIntervalMs: 5000, ...over };
      }

      it('registers nodes, lists them oldest first, and a re-registration replaces the row', async () => {
        const st = await ownStorage();
        expect(await st.nodes.list()).toEqual([]);
        const a = node('node-a', { startedAt: BIG_TS + 10, roles: ['worker'] });
        const b = node('node-b', { hostname: 'höst-2', pid: 2 ** 22, roles: ['api', 'smtp', 'mx', 'worker'] });
        await st.nodes.register(a);
        await st.nodes.register(b);
        expect(await st.nodes.list()).toEqual([b, a]);
        // The same id starting again (a restarted node) replaces its row.
        const a2 = node('node-a', { startedAt: BIG_TS + 20, heartbeatAt: BIG_TS + 21, pid: 7, version: '1.2.4', roles: ['mx'], heartbeatIntervalMs: 250 });
        await st.nodes.register(a2);
        expect(await st.nodes.list()).toEqual([b, a2]);
      });

      it('a heartbeat moves heartbeatAt only, and says when the node has no row', async () => {
        const st = await ownStorage();
        const a = node('node-a');
        await st.nodes.register(a);
        expect(await st.nodes.heartbeat('node-a', BIG_TS + 9_999)).toBe(true);
        expect(await st.nodes.list()).toEqual([{ ...a, heartbeatAt: BIG_TS + 9_999 }]);
        expect(await st.nodes.heartbeat('node-missing', BIG_TS)).toBe(false);
        expect(await st.nodes.list()).toHaveLength(1);
      });

      it('removes a node (clean shutdown) and prunes nodes not seen since a time', async () => {
        const st = await ownStorage();
        await st.nodes.register(node('old', { heartbeatAt: 1_000 }));
        await st.nodes.register(node('recent', { heartbeatAt: 2_000 }));
        await st.nodes.register(node('gone'));
        expect(await st.nodes.remove('gone')).toBe(true);
        expect(await st.nodes.remove('gone')).toBe(false);
        expect(await st.nodes.prune(2_000)).toBe(1);
        expect((await st.nodes.list()).map((n) => n.id)).toEqual(['recent']);
      });

      it('a free lease is taken; another owner is refused until it expires; the owner renews it', async () => {
        const st = await ownStorage();
        const t = BIG_TS;
        expect(await st.jobLeases.acquire('verify', 'node-a', t, 1000)).toBe(true);
        expect(await st.jobLeases.list()).toEqual([{ job: 'verify', owner: 'node-a', acquiredAt: t, expiresAt: t + 1000 }]);
        expect(await st.jobLeases.acquire('verify', 'node-b', t + 999, 1000)).toBe(false);
        // Renewal: the expiry moves on, the tenure's start stays.
        expect(await st.jobLeases.acquire('verify', 'node-a', t + 500, 1000)).toBe(true);
        expect(await st.jobLeases.list()).toEqual([{ job: 'verify', owner: 'node-a', acquiredAt: t, expiresAt: t + 1500 }]);
        expect(await st.jobLeases.acquire('verify', 'node-b', t + 1499, 1000)).toBe(false);
        // Leases of other jobs are independent.
        expect(await st.jobLeases.acquire('other', 'node-b', t, 1000)).toBe(true);
        // The owner died: at its expiry another node takes over.
        expect(await st.jobLeases.acquire('verify', 'node-b', t + 1500, 1000)).toBe(true);
        expect(await st.jobLeases.list()).toEqual([
          { job: 'other', owner: 'node-b', acquiredAt: t, expiresAt: t + 1000 },
          { job: 'verify', owner: 'node-b', acquiredAt: t + 1500, expiresAt: t + 2500 },
        ]);
        expect(await st.jobLeases.acquire('verify', 'node-a', t + 1600, 1000)).toBe(false);
      });

      it('release frees the lease for the next node, and only its owner can release it', async () => {
        const st = await ownStorage();
        expect(await st.jobLeases.acquire('verify', 'node-a', 1_000, 60_000)).toBe(true);
        expect(await st.jobLeases.release('verify', 'node-b')).toBe(false);
        expect(await st.jobLeases.acquire('verify', 'node-b', 1_001, 60_000)).toBe(false);
        expect(await st.jobLeases.release('verify', 'node-a')).toBe(true);
        expect(await st.jobLeases.release('verify', 'node-a')).toBe(false);
        expect(await st.jobLeases.acquire('verify', 'node-b', 1_002, 60_000)).toBe(true);
        expect((await st.jobLeases.list()).map((l) => l.owner)).toEqual(['node-b']);
      });

      it('of 10 nodes racing for a free lease, and then for the expired one, exactly one wins each time', async () => {
        const st = await ownStorage();
        // Different owners each round, so that the second round is a takeover, not a renewal.
        const race = async (round: string, now: number) => {
          const got = await Promise.all(Array.from({ length: 10 }, (_, n) => st.jobLeases.acquire('race', `node-${round}${n}`, now, 1000)));
          expect(got.filter(Boolean)).toHaveLength(1);
          const leases = await st.jobLeases.list();
          expect(leases).toEqual([{ job: 'race', owner: `node-${round}${got.indexOf(true)}`, acquiredAt: now, expiresAt: now + 1000 }]);
        };
        await race('a', 10_000);
        await race('b', 11_000);
      });
    });

    describe('shared limits: token buckets, slots, strikes', () => {
      const s = useStorage();
      const T = BIG_TS;

      it('a new bucket starts full; a take gets as many as are there up to max, and none when fewer than min', async () => {
        const k = unique('bucket');
        expect(await s().limits.takeTokens(k, 10, 10, 3, 6, T)).toEqual({ taken: 6, left: 4 });
        expect(await s().limits.takeTokens(k, 10, 10, 1, 3, T)).toEqual({ taken: 3, left: 1 });
        expect(await s().limits.takeTokens(k, 10, 10, 2, 2, T)).toEqual({ taken: 0, left: 1 });
        expect(await s().limits.takeTokens(k, 10, 10, 1, 5, T)).toEqual({ taken: 1, left: 0 });
        expect(await s().limits.takeTokens(k, 10, 10, 1, 1, T)).toEqual({ taken: 0, left: 0 });
      });

      it('refills at rate per second up to the burst; a clock that goes back refills nothing', async () => {
        const k = unique('bucket');
        expect((await s().limits.takeTokens(k, 20, 20, 20, 20, T)).taken).toBe(20);
        // 100 ms at 20/s is 2 tokens.
        expect(await s().limits.takeTokens(k, 20, 20, 1, 100, T + 100)).toEqual({ taken: 2, left: 0 });
        // Another node whose clock is 50 ms behind: no refill, no going back.
        expect((await s().limits.takeTokens(k, 20, 20, 1, 1, T + 50)).taken).toBe(0);
        expect(await s().limits.takeTokens(k, 20, 20, 1, 1, T + 150)).toEqual({ taken: 1, left: 0 });
        // A long pause fills the bucket to its burst, not beyond.
        expect(await s().limits.takeTokens(k, 20, 20, 1, 1000, T + 3_600_000)).toEqual({ taken: 20, left: 0 });
        // Fractional rates and tokens are kept exactly enough: 0.5/s gives one token per 2 s.
        const slow = unique('bucket');
        expect((await s().limits.takeTokens(slow, 0.5, 1, 1, 1, T)).taken).toBe(1);
        expect((await s().limits.takeTokens(slow, 0.5, 1, 1, 1, T + 1999)).taken).toBe(0);
        expect((await s().limits.takeTokens(slow, 0.5, 1, 1, 1, T + 2000)).taken).toBe(1);
      });

      it('a take larger than the burst goes once the bucket is full and leaves it negative', async () => {
        const k = unique('bucket');
        expect(await s().limits.takeTokens(k, 2, 2, 5, 5, T)).toEqual({ taken: 5, left: -3 });
        const r = await s().limits.takeTokens(k, 2, 2, 1, 1, T + 1000);
        expect(r.taken).toBe(0);
        expect(r.left).toBeCloseTo(-1, 6);
        expect(await s().limits.takeTokens(k, 2, 2, 5, 5, T + 2499)).toMatchObject({ taken: 0 });
        expect(await s().limits.takeTokens(k, 2, 2, 5, 5, T + 2500)).toEqual({ taken: 5, left: -3 });
      });

      it('concurrent takes never take more than the bucket holds, and keys are independent', async () => {
        const [a, b] = [unique('bucket'), unique('bucket')];
        const grants = await Promise.all(Array.from({ length: 60 }, (_, i) => s().limits.takeTokens(i % 2 ? a : b, 25, 25, 1, 2, T)));
        const sum = (key: string) => grants.filter((_, i) => (i % 2 ? a : b) === key).reduce((n, g) => n + g.taken, 0);
        expect(sum(a)).toBe(25);
        expect(sum(b)).toBe(25);
        expect(grants.every((g) => g.taken >= 0 && g.taken <= 2 && g.left >= 0)).toBe(true);
      });

      it('holds at most N slots of a key; a released or expired slot is free again; only its owner frees or renews it', async () => {
        const k = unique('slots');
        const first = await s().limits.acquireSlot(k, 2, 'node-a', T, 1000);
        const second = await s().limits.acquireSlot(k, 2, 'node-b', T, 1000);
        expect(new Set([first, second])).toEqual(new Set([0, 1]));
        expect(await s().limits.acquireSlot(k, 2, 'node-c', T + 10, 1000)).toBeUndefined();
        expect(await s().limits.heldSlots(k, T + 10)).toBe(2);
        // Another key is not held up.
        expect(await s().limits.acquireSlot(unique('slots'), 2, 'node-c', T, 1000)).toBeDefined();
        // Only the owner frees a slot.
        await s().limits.releaseSlot(k, first!, 'node-c');
        expect(await s().limits.acquireSlot(k, 2, 'node-c', T + 10, 1000)).toBeUndefined();
        await s().limits.releaseSlot(k, first!, 'node-a');
        expect(await s().limits.acquireSlot(k, 2, 'node-c', T + 10, 1000)).toBe(first);
        // node-b renews its slot; node-c does not: at T + 1010 only node-c's has expired.
        expect(await s().limits.renewSlots('node-b', T + 5000)).toBeGreaterThanOrEqual(1);
        expect(await s().limits.heldSlots(k, T + 1010)).toBe(1);
        expect(await s().limits.acquireSlot(k, 2, 'node-d', T + 1010, 1000)).toBe(first);
        expect(await s().limits.acquireSlot(k, 2, 'node-e', T + 1010, 1000)).toBeUndefined();
        // node-c's late release does not free node-d's slot.
        await s().limits.releaseSlot(k, first!, 'node-c');
        expect(await s().limits.heldSlots(k, T + 1010)).toBe(2);
      });

      it("frees at a node's start the slots of its earlier lives, and only those", async () => {
        const k = unique('slots');
        const node = `node-${unique('n')}_%`;
        const dead = await s().limits.acquireSlot(k, 4, `${node}/earlier`, T, 60_000);
        const live = await s().limits.acquireSlot(k, 4, `${node}/current`, T, 60_000);
        // Another node, one whose name merely starts alike, and one that a LIKE pattern would match.
        await s().limits.acquireSlot(k, 4, `${node}x/other`, T, 60_000);
        await s().limits.acquireSlot(k, 4, `${node.slice(0, -2)}ab/other`, T, 60_000);
        expect(await s().limits.heldSlots(k, T)).toBe(4);
        expect(await s().limits.releaseEarlierSlots(node, `${node}/current`)).toBe(1);
        expect(await s().limits.heldSlots(k, T)).toBe(3);
        expect(await s().limits.acquireSlot(k, 4, 'node-new/1', T, 60_000)).toBe(dead);
        expect(await s().limits.renewSlots(`${node}/current`, T + 120_000)).toBe(1);
        expect(live).toBeDefined();
        expect(await s().limits.releaseEarlierSlots(node, `${node}/current`)).toBe(0);
      });

      it('concurrent acquisitions never hold more than N slots', async () => {
        const k = unique('slots');
        const got = await Promise.all(Array.from({ length: 12 }, (_, i) => s().limits.acquireSlot(k, 3, `node-${i}`, T, 60_000)));
        const held = got.filter((g) => g !== undefined);
        expect(held.length).toBeLessThanOrEqual(3);
        expect(new Set(held).size).toBe(held.length);
        expect(await s().limits.heldSlots(k, T)).toBe(held.length);
      });

      it('counts strikes within the window, locks out at the maximum and starts the count afresh', async () => {
        const k = unique('client');
        const st = { windowMs: 1000, max: 3, lockoutMs: 5000 };
        expect(await s().limits.lockedUntil(k)).toBe(0);
        expect(await s().limits.strike(k, T, st)).toEqual({ failures: 1, lockedUntil: 0 });
        expect(await s().limits.strike(k, T + 900, st)).toEqual({ failures: 2, lockedUntil: 0 });
        expect(await s().limits.strike(k, T + 1800, st)).toEqual({ failures: 3, lockedUntil: T + 6800 });
        expect(await s().limits.lockedUntil(k)).toBe(T + 6800);
        // Counting starts again after a lockout, and after a quiet window.
        expect((await s().limits.strike(k, T + 1900, st)).failures).toBe(1);
        expect((await s().limits.strike(k, T + 3000, st)).failures).toBe(1);
        expect(await s().limits.lockedUntil(k)).toBe(T + 6800);
        // A maximum of one locks out at the first failure.
        const once = unique('client');
        expect(await s().limits.strike(once, T, { ...st, max: 1 })).toEqual({ failures: 1, lockedUntil: T + 5000 });
      });

      it('concurrent strikes are each counted', async () => {
        const k = unique('client');
        const st = { windowMs: 60_000, max: 1000, lockoutMs: 5000 };
        const r = await Promise.all(Array.from({ length: 20 }, () => s().limits.strike(k, T, st)));
        expect(r.map((x) => x.failures).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      });
    });
  });
}
