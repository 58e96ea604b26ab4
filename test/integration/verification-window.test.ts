/**
 * The verification worker against a controlled clock and resolver: PENDING while records are
 * missing, TEMPORARY_FAILURE on DNS errors, FAILED once 72 hours pass, and no re-check after a
 * terminal state. No sleeping: the clock is injected.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCore, type DnsResolver, type Principal } from '../../src/core/index.ts';
import { ALLOW_ALL } from '../../src/core/accounts/policy.ts';
import { SecretBox } from '../../src/lib/secretbox.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { openSqliteStorage } from '../../src/storage/sqlite/index.ts';
import type { Storage } from '../../src/storage/ports.ts';

class FakeClock {
  constructor(public t: number) {}
  now() {
    return this.t;
  }
}

/** A resolver whose answers a test sets; unknown names are NXDOMAIN. */
class FakeResolver implements DnsResolver {
  txt = new Map<string, string[][]>();
  failing = new Set<string>();
  async resolveTxt(name: string) {
    if (this.failing.has(name)) throw Object.assign(new Error('SERVFAIL'), { code: 'ESERVFAIL' });
    const v = this.txt.get(name);
    if (!v) throw Object.assign(new Error('NXDOMAIN'), { code: 'ENOTFOUND' });
    return v;
  }
  async resolveMx(): Promise<import('../../src/core/index.ts').MxRecord[]> {
    throw Object.assign(new Error('NODATA'), { code: 'ENODATA' });
  }
  async resolve4(): Promise<string[]> {
    throw Object.assign(new Error('NODATA'), { code: 'ENODATA' });
  }
  async resolve6(): Promise<string[]> {
    throw Object.assign(new Error('NODATA'), { code: 'ENODATA' });
  }
}

const HOUR = 3_600_000;
let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'sesame-verify-'));
  const storage: Storage = await openSqliteStorage(join(dir, 'db.sqlite'));
  cleanup.push(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });
  const clock = new FakeClock(Date.UTC(2026, 10, 28));
  const resolver = new FakeResolver();
  const core = createCore({
    storage,
    box: new SecretBox(Buffer.alloc(32, 1)),
    clock,
    resolver,
    logger: createLogger('silent'),
    settings: { region: 'us-east-1', accountId: '000000000000', hostname: 'mta.test', publicUrl: 'http://127.0.0.1', verifyIntervalMs: 5 * 60_000 },
    sending: { maxDeliverySeconds: 50_400, outboundPort: 25, retryScheduleMs: [60_000] },
  });
  await core.accounts.bootstrap();
  const root: Principal = { accountId: '000000000000', accessKeyId: 'AKIAROOT', isRoot: true, policy: ALLOW_ALL };
  return { storage, clock, resolver, core, root };
}

describe('verification window', () => {
  it('stays PENDING, then FAILED after 72 hours, and is not checked again', async () => {
    const { clock, core, root, storage } = await setup();
    await core.identities.verifyDomainIdentity(root, 'late.test');
    await core.verification.runOnce();
    let i = await core.identities.require('000000000000', 'late.test');
    expect(i.verificationStatus).toBe('PENDING');
    expect(i.data.verificationInfo.errorType).toBe('HOST_NOT_FOUND');
    expect(i.nextCheckAt).toBe(clock.t + 5 * 60_000);

    clock.t += 71 * HOUR;
    await core.verification.runOnce();
    expect((await core.identities.require('000000000000', 'late.test')).verificationStatus).toBe('PENDING');

    clock.t += 1 * HOUR;
    await core.verification.runOnce();
    i = await core.identities.require('000000000000', 'late.test');
    expect(i.verificationStatus).toBe('FAILED');
    expect(i.nextCheckAt).toBeNull();
    expect(await storage.identities.listDue(clock.t + 365 * 24 * HOUR, 10)).toEqual([]);

    // Asking again starts a new 72-hour window, as SES does.
    await core.identities.verifyDomainIdentity(root, 'late.test');
    i = await core.identities.require('000000000000', 'late.test');
    expect(i.verificationStatus).toBe('PENDING');
    expect(i.data.verificationStartedAt).toBe(clock.t);
    expect(i.nextCheckAt).toBe(clock.t);
  });

  it('reports TEMPORARY_FAILURE during DNS errors and SUCCESS once the token resolves', async () => {
    const { clock, core, root, resolver } = await setup();
    const token = await core.identities.verifyDomainIdentity(root, 'dns.test');
    resolver.failing.add('_amazonses.dns.test');
    await core.verification.runOnce();
    let i = await core.identities.require('000000000000', 'dns.test');
    expect(i.verificationStatus).toBe('TEMPORARY_FAILURE');
    expect(i.data.verificationInfo.errorType).toBe('DNS_SERVER_ERROR');

    resolver.failing.clear();
    resolver.txt.set('_amazonses.dns.test', [[token]]);
    clock.t += 5 * 60_000;
    await core.verification.runOnce();
    i = await core.identities.require('000000000000', 'dns.test');
    expect(i.verificationStatus).toBe('SUCCESS');
    expect(i.data.verificationInfo.lastSuccessTimestamp).toBe(clock.t);
    expect(i.nextCheckAt).toBeNull();
  });

  it('accepts the token as amazonses:<token> at the domain apex too', async () => {
    const { core, root, resolver } = await setup();
    const token = await core.identities.verifyDomainIdentity(root, 'apex.test');
    resolver.txt.set('apex.test', [['v=spf1 -all'], [`amazonses:${token}`]]);
    await core.verification.runOnce();
    expect((await core.identities.require('000000000000', 'apex.test')).verificationStatus).toBe('SUCCESS');
  });

  it('does not check an identity before it is due', async () => {
    const { clock, core, root, resolver } = await setup();
    const token = await core.identities.verifyDomainIdentity(root, 'later.test');
    await core.verification.runOnce();
    resolver.txt.set('_amazonses.later.test', [[token]]);
    clock.t += 60_000; // interval is 5 minutes
    expect((await core.verification.runOnce()).checked).toBe(0);
    clock.t += 4 * 60_000;
    expect((await core.verification.runOnce()).verified).toBe(1);
  });
});
