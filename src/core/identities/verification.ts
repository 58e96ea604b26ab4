/**
 * The verification worker's logic: look up the DNS records of identities that are due and move
 * them PENDING → SUCCESS, TEMPORARY_FAILURE on DNS errors, FAILED after 72 hours (SES's window).
 * Checked: every DKIM selector's TXT at `<selector>._domainkey.<domain>` must hold that key's public
 * key; the v1 token at `_amazonses.<domain>`; a custom MAIL FROM domain needs an MX pointing at this
 * server and an SPF TXT record.
 *
 * The worker's loop runs passes only on the node that holds the installation-wide verification lease
 * (src/core/cluster/job-lease.ts), so that several nodes on one database check each identity once per
 * interval between them, not once per node.
 */
import { publicKeyFromTxt } from '../../lib/dkim-keys.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Storage, VerificationStatus } from '../../storage/ports.ts';
import { isDnsNotFound, type Clock, type DnsResolver } from '../clock.ts';
import type { JobLease } from '../cluster/job-lease.ts';
import { fromRecord, toRecord, VERIFICATION_WINDOW_MS, type Identity, type VerificationInfo } from './model.ts';

/** Outcome of one DNS check. */
type CheckResult = { ok: true } | { ok: false; temporary: boolean; errorType: NonNullable<VerificationInfo['errorType']>; detail: string };

/** Counters of one pass, for logs and metrics. */
export interface VerificationPass {
  checked: number;
  verified: number;
  failed: number;
}

/** Identities checked per batch; a full batch means more may be due at once. */
const BATCH = 100;

/** Runs DNS checks for identities that are due. */
export class VerificationWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = true;

  /**
   * @param lease the installation-wide verification lease; without one (a lone core, tests) the loop
   *   runs on this node unconditionally
   */
  constructor(
    private readonly storage: Storage,
    private readonly resolver: DnsResolver,
    private readonly clock: Clock,
    private readonly settings: { hostname: string; verifyIntervalMs: number },
    private readonly logger: Logger,
    private readonly onChecked: (result: 'success' | 'pending' | 'temporary_failure' | 'failed') => void = () => {},
    private readonly lease?: JobLease,
  ) {}

  /**
   * Starts the loop: every tick, if this node holds (or can take) the verification lease, check
   * every identity that is due. A tick comes often enough that a due identity waits at most a second
   * (or the interval, if shorter), and that the holder renews its lease well before it runs out.
   */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops the loop, waits for the pass in progress, and gives the lease up for another node. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.lease?.release().catch((err: unknown) => this.logger.warn({ code: 'JOB_LEASE_RELEASE_FAILED', job: this.lease?.job, err }, 'could not release the verification lease; another node takes it when it expires'));
  }

  /**
   * Checks every identity that is due now, on this node, whoever holds the lease (tests and
   * maintenance commands); waits first for a pass of the loop in progress.
   */
  async runAll(): Promise<void> {
    await this.running;
    await this.pass(false);
  }

  private schedule(): void {
    if (this.stopped) return;
    const tick = Math.min(1000, this.settings.verifyIntervalMs, this.lease ? this.lease.ttlMs / 3 : Infinity);
    this.timer = setTimeout(() => {
      this.running = this.pass(true).finally(() => this.schedule());
    }, tick);
    this.timer.unref();
  }

  /** Checks due identities in batches until fewer than a batch were due; with `leased`, only while holding the lease. */
  private async pass(leased: boolean): Promise<void> {
    try {
      // The holder renews only when a third of the lease has passed (no write on every tick); the others ask for it.
      if (leased && this.lease && !((await this.lease.keep()) || (await this.lease.acquire()))) return;
      const keep = leased && this.lease ? () => this.lease!.keep() : undefined;
      for (;;) {
        const pass = await this.runOnce(BATCH, keep);
        if (pass.checked < BATCH || (keep && !this.lease!.held)) break;
      }
    } catch (err) {
      this.logger.error({ code: 'VERIFICATION_PASS_FAILED', err }, 'identity verification pass failed; will retry');
    }
  }

  /**
   * Checks up to `limit` due identities; returns what happened. `keep`, asked before each identity,
   * renews the lease of a long pass and ends the pass when it says the lease is lost.
   */
  async runOnce(limit = BATCH, keep?: () => Promise<boolean>): Promise<VerificationPass> {
    const now = this.clock.now();
    const due = await this.storage.identities.listDue(now, limit);
    const pass: VerificationPass = { checked: 0, verified: 0, failed: 0 };
    for (const r of due) {
      if (keep && !(await keep())) break;
      const before = fromRecord(r);
      const after = await this.check(structuredClone(before), now);
      after.updatedAt = Math.max(now, before.updatedAt + 1);
      // Lost the race with a user's change (or another node): the next pass sees the new state.
      if (!(await this.storage.identities.update(toRecord(after), before.updatedAt))) continue;
      pass.checked++;
      if (after.verificationStatus === 'SUCCESS' && before.verificationStatus !== 'SUCCESS') {
        pass.verified++;
        this.logger.info({ code: 'IDENTITY_VERIFIED', identity: after.name, accountId: after.accountId }, `identity ${after.name} verified`);
      }
      if (after.verificationStatus === 'FAILED' && before.verificationStatus !== 'FAILED') {
        pass.failed++;
        this.logger.warn({ code: 'IDENTITY_VERIFICATION_FAILED', identity: after.name, accountId: after.accountId, info: after.data.verificationInfo }, `identity ${after.name} was not verified within 72 hours`);
      }
    }
    return pass;
  }

  /** Applies one round of DNS checks to an identity (mutates and returns it). */
  async check(i: Identity, now: number): Promise<Identity> {
    let pending = false;
    const info = i.data.verificationInfo;
    let domainProof: CheckResult | undefined;

    const dkim = i.data.dkim;
    if (dkim && dkim.status !== 'SUCCESS' && dkim.status !== 'FAILED') {
      const r = await this.checkDkim(i);
      dkim.status = this.nextStatus(r, dkim.startedAt, now);
      if (dkim.status === 'PENDING' || dkim.status === 'TEMPORARY_FAILURE') pending = true;
      domainProof = r;
      this.onChecked(statusLabel(dkim.status));
    }
    if (i.type === 'DOMAIN' && i.verificationStatus !== 'SUCCESS' && i.verificationStatus !== 'FAILED') {
      // The domain is proven by its DKIM records (v2) or by the v1 token; either is enough.
      let proof: CheckResult | undefined = dkim?.status === 'SUCCESS' ? { ok: true } : domainProof;
      if (!proof?.ok && i.data.verificationToken) {
        const t = await this.checkToken(i.name, i.data.verificationToken);
        proof = t.ok || !proof ? t : proof;
      }
      if (proof) {
        i.verificationStatus = this.nextStatus(proof, i.data.verificationStartedAt, now);
        info.lastCheckedTimestamp = now;
        if (proof.ok) {
          info.lastSuccessTimestamp = now;
          delete info.errorType;
        } else {
          info.errorType = proof.errorType;
        }
        if (i.verificationStatus === 'PENDING' || i.verificationStatus === 'TEMPORARY_FAILURE') pending = true;
      }
    }
    const mf = i.data.mailFrom;
    if (mf && mf.status !== 'SUCCESS' && mf.status !== 'FAILED') {
      const r = await this.checkMailFrom(mf.domain);
      mf.status = this.nextStatus(r, mf.startedAt, now) as typeof mf.status;
      if (mf.status === 'PENDING' || mf.status === 'TEMPORARY_FAILURE') pending = true;
    }
    i.nextCheckAt = pending ? now + this.settings.verifyIntervalMs : null;
    return i;
  }

  private nextStatus(r: CheckResult, startedAt: number, now: number): VerificationStatus {
    if (r.ok) return 'SUCCESS';
    if (now - startedAt >= VERIFICATION_WINDOW_MS) return 'FAILED';
    return r.temporary ? 'TEMPORARY_FAILURE' : 'PENDING';
  }

  private async checkDkim(i: Identity): Promise<CheckResult> {
    for (const key of i.data.dkim?.keys ?? []) {
      const name = `${key.selector}._domainkey.${i.name}`;
      const r = await this.txt(name);
      if (!r.ok) return r.result;
      const found = r.records.map((chunks) => publicKeyFromTxt(chunks.join(''))).filter((p): p is string => p !== undefined);
      if (!found.includes(key.publicKey)) {
        return { ok: false, temporary: false, errorType: 'INVALID_VALUE', detail: `${name} does not hold the expected public key` };
      }
    }
    return { ok: true };
  }

  private async checkToken(domain: string, token: string): Promise<CheckResult> {
    const r = await this.txt(`_amazonses.${domain}`);
    if (r.ok && r.records.some((c) => c.join('') === token)) return { ok: true };
    // SES also accepts `amazonses:<token>` at the domain itself.
    const apex = await this.txt(domain);
    if (apex.ok && apex.records.some((c) => c.join('') === `amazonses:${token}`)) return { ok: true };
    if (!r.ok) return r.result;
    return { ok: false, temporary: false, errorType: 'INVALID_VALUE', detail: `_amazonses.${domain} does not hold the verification token` };
  }

  private async checkMailFrom(domain: string): Promise<CheckResult> {
    let mx;
    try {
      mx = await this.resolver.resolveMx(domain);
    } catch (err) {
      return dnsFailure(err, domain);
    }
    const host = this.settings.hostname.toLowerCase().replace(/\.$/, '');
    if (!mx.some((m) => m.exchange.toLowerCase().replace(/\.$/, '') === host)) {
      return { ok: false, temporary: false, errorType: 'INVALID_VALUE', detail: `${domain} has no MX record pointing at ${host}` };
    }
    const spf = await this.txt(domain);
    if (!spf.ok) return spf.result;
    if (!spf.records.some((c) => /^v=spf1(\s|$)/i.test(c.join('')))) {
      return { ok: false, temporary: false, errorType: 'TYPE_NOT_FOUND', detail: `${domain} has no SPF (v=spf1) TXT record` };
    }
    return { ok: true };
  }

  private async txt(name: string): Promise<{ ok: true; records: string[][] } | { ok: false; result: CheckResult }> {
    try {
      return { ok: true, records: await this.resolver.resolveTxt(name) };
    } catch (err) {
      return { ok: false, result: dnsFailure(err, name) };
    }
  }
}

function dnsFailure(err: unknown, name: string): CheckResult {
  const code = (err as { code?: string })?.code ?? 'UNKNOWN';
  if (isDnsNotFound(err)) {
    return { ok: false, temporary: false, errorType: code === 'ENODATA' ? 'TYPE_NOT_FOUND' : 'HOST_NOT_FOUND', detail: `${name}: ${code}` };
  }
  return { ok: false, temporary: true, errorType: 'DNS_SERVER_ERROR', detail: `${name}: ${code}` };
}

function statusLabel(s: VerificationStatus): 'success' | 'pending' | 'temporary_failure' | 'failed' {
  return s === 'SUCCESS' ? 'success' : s === 'FAILED' ? 'failed' : s === 'TEMPORARY_FAILURE' ? 'temporary_failure' : 'pending';
}
