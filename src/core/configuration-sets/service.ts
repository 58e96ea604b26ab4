/**
 * Configuration sets (SES v2 Create/Get/List/DeleteConfigurationSet and PutConfigurationSet*Options;
 * v1 Create/Delete/Describe/ListConfigurationSets and their Update* actions). What sends use today:
 * delivery options (`TlsPolicy` REQUIRE makes delivery refuse hosts without STARTTLS,
 * `MaxDeliverySeconds` caps retries), sending options (a paused set refuses sends), and suppression
 * options (which reasons the account list applies for sends through the set). Reputation and
 * tracking options are stored and returned; their effects arrive with later capabilities.
 */
import type { NamedRecord, Storage } from '../../storage/ports.ts';
import { StorageConflictError } from '../../storage/ports.ts';
import type { AccountsService, Principal } from '../accounts/service.ts';
import type { Clock } from '../clock.ts';
import { badRequest, notFound, SesError } from '../errors.ts';
import { filteredPage, pageSize } from '../paging.ts';
import type { TagsService } from '../tags/service.ts';
import type { Tag } from '../../storage/ports.ts';

/** Suppression reasons, as SES names them. */
export type SuppressionReason = 'BOUNCE' | 'COMPLAINT';

/** A configuration set's options. */
export interface ConfigurationSetOptions {
  delivery: { tlsPolicy: 'REQUIRE' | 'OPTIONAL'; maxDeliverySeconds?: number; sendingPoolName?: string };
  sending: { sendingEnabled: boolean };
  reputation: { reputationMetricsEnabled: boolean; lastFreshStart?: number };
  /** Absent: the account's suppression attributes apply. */
  suppression?: { suppressedReasons: SuppressionReason[] };
  tracking?: { customRedirectDomain: string; httpsPolicy?: 'REQUIRE' | 'REQUIRE_OPEN_ONLY' | 'OPTIONAL' };
}

/** A configuration set. */
export interface ConfigurationSet extends ConfigurationSetOptions {
  accountId: string;
  name: string;
  createdAt: number;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_SETS = 10_000;
/** SES v2 DeliveryOptions.MaxDeliverySeconds bounds (5 minutes to 14 hours). */
export const MAX_DELIVERY_SECONDS = { min: 300, max: 50_400 } as const;

/** Configuration sets service. */
export class ConfigurationSetsService {
  constructor(
    private readonly storage: Storage,
    private readonly accounts: AccountsService,
    private readonly tags: TagsService,
    private readonly clock: Clock,
    private readonly region: string,
  ) {}

  /** ARN of a configuration set. */
  arn(accountId: string, name: string): string {
    return `arn:aws:ses:${this.region}:${accountId}:configuration-set/${name}`;
  }

  /** Creates a configuration set with its options and tags. */
  async create(p: Principal, name: unknown, options: Partial<ConfigurationSetOptions>, rawTags?: unknown, action = 'ses:CreateConfigurationSet'): Promise<void> {
    const n = checkName(name);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, n) });
    const tags = this.tags.validate(rawTags);
    const set = this.validate({
      delivery: options.delivery ?? { tlsPolicy: 'OPTIONAL' },
      sending: options.sending ?? { sendingEnabled: true },
      reputation: options.reputation ?? { reputationMetricsEnabled: false },
      suppression: options.suppression,
      tracking: options.tracking,
    });
    if ((await this.storage.configurationSets.count(p.accountId)) >= MAX_SETS) {
      throw new SesError('LimitExceededException', `An account can have at most ${MAX_SETS} configuration sets.`, 'LimitExceeded');
    }
    const now = this.clock.now();
    try {
      await this.storage.configurationSets.create({ accountId: p.accountId, name: n, data: { ...set }, createdAt: now, updatedAt: now });
    } catch (err) {
      if (err instanceof StorageConflictError) throw new SesError('AlreadyExistsException', `Configuration set <${n}> already exists.`, 'ConfigurationSetAlreadyExists');
      throw err;
    }
    if (tags.length > 0) await this.storage.tags.put(p.accountId, this.arn(p.accountId, n), tags);
  }

  /** A configuration set with its tags. */
  async get(p: Principal, name: unknown, action = 'ses:GetConfigurationSet'): Promise<ConfigurationSet & { tags: Tag[] }> {
    const n = checkName(name);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, n) });
    const set = await this.load(p.accountId, n);
    return { ...set, tags: await this.storage.tags.list(p.accountId, this.arn(p.accountId, n)) };
  }

  /** Sets in name order, optionally only those whose name contains `nameContains`. */
  async list(p: Principal, o: { nextToken?: string; pageSize?: number; action?: string; maxPage?: number; nameContains?: string }): Promise<{ items: ConfigurationSet[]; nextToken?: string }> {
    this.accounts.authorize(p, { action: o.action ?? 'ses:ListConfigurationSets', resource: '*' });
    const size = pageSize(o.pageSize, Math.min(100, o.maxPage ?? 1000), o.maxPage ?? 1000);
    const needle = o.nameContains;
    const r = await filteredPage((after, limit) => this.storage.configurationSets.list(p.accountId, { after, limit }), o.nextToken, size, (x) => !needle || x.name.includes(needle));
    return { items: r.items.map(toSet), nextToken: r.nextToken };
  }

  /** Deletes a configuration set and its tags. */
  async delete(p: Principal, name: unknown, action = 'ses:DeleteConfigurationSet'): Promise<void> {
    const n = checkName(name);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, n) });
    if (!(await this.storage.configurationSets.delete(p.accountId, n))) throw missing(n);
    await this.storage.tags.removeAll(p.accountId, this.arn(p.accountId, n));
  }

  /**
   * Changes some options of a set (the PutConfigurationSet*Options operations). `change` may be a
   * function of the current options, applied inside the compare-and-swap loop, for callers that
   * keep part of an option group (v1 delivery options keep v2's MaxDeliverySeconds).
   */
  async putOptions(
    p: Principal,
    name: unknown,
    changeOrFn: Partial<ConfigurationSetOptions> | ((current: ConfigurationSet) => Partial<ConfigurationSetOptions>),
    action: string,
  ): Promise<void> {
    const n = checkName(name);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, n) });
    for (let attempt = 0; ; attempt++) {
      const r = await this.storage.configurationSets.get(p.accountId, n);
      if (!r) throw missing(n);
      const current = toSet(r);
      const change = typeof changeOrFn === 'function' ? changeOrFn(current) : changeOrFn;
      const next = this.validate({
        delivery: change.delivery ?? current.delivery,
        sending: change.sending ?? current.sending,
        reputation: change.reputation ? { ...current.reputation, ...change.reputation } : current.reputation,
        suppression: 'suppression' in change ? change.suppression : current.suppression,
        tracking: 'tracking' in change ? change.tracking : current.tracking,
      });
      if (await this.storage.configurationSets.swap({ ...r, data: { ...next }, updatedAt: Math.max(this.clock.now(), r.updatedAt + 1) }, r.updatedAt)) return;
      if (attempt > 10) throw new SesError('ConflictException', `Configuration set <${n}> is being changed concurrently; try again.`);
    }
  }

  /** The set a send names, for the pipeline; NotFound (v1 ConfigurationSetDoesNotExist) when absent. */
  async load(accountId: string, name: string): Promise<ConfigurationSet> {
    if (!NAME.test(name)) throw missing(name);
    const r = await this.storage.configurationSets.get(accountId, name);
    if (!r) throw missing(name);
    return toSet(r);
  }

  private validate(o: ConfigurationSetOptions): ConfigurationSetOptions {
    const d = o.delivery;
    if (d.tlsPolicy !== 'REQUIRE' && d.tlsPolicy !== 'OPTIONAL') throw badRequest('TlsPolicy must be REQUIRE or OPTIONAL.');
    if (d.maxDeliverySeconds !== undefined && (!Number.isInteger(d.maxDeliverySeconds) || d.maxDeliverySeconds < MAX_DELIVERY_SECONDS.min || d.maxDeliverySeconds > MAX_DELIVERY_SECONDS.max)) {
      throw badRequest(`MaxDeliverySeconds must be an integer from ${MAX_DELIVERY_SECONDS.min} to ${MAX_DELIVERY_SECONDS.max}.`);
    }
    if (d.sendingPoolName !== undefined) throw notFound(`Dedicated IP pool ${d.sendingPoolName} does not exist: Sesame sends from the addresses of its host.`);
    if (typeof o.sending.sendingEnabled !== 'boolean') throw badRequest('SendingEnabled must be true or false.');
    if (typeof o.reputation.reputationMetricsEnabled !== 'boolean') throw badRequest('ReputationMetricsEnabled must be true or false.');
    if (o.suppression) checkReasons(o.suppression.suppressedReasons);
    if (o.tracking) {
      if (typeof o.tracking.customRedirectDomain !== 'string' || o.tracking.customRedirectDomain === '') throw badRequest('TrackingOptions.CustomRedirectDomain is required.');
      if (o.tracking.httpsPolicy !== undefined && !['REQUIRE', 'REQUIRE_OPEN_ONLY', 'OPTIONAL'].includes(o.tracking.httpsPolicy)) throw badRequest('HttpsPolicy must be REQUIRE, REQUIRE_OPEN_ONLY or OPTIONAL.');
    }
    const out: ConfigurationSetOptions = { delivery: stripUndefined(d), sending: o.sending, reputation: stripUndefined(o.reputation) };
    if (o.suppression) out.suppression = { suppressedReasons: [...new Set(o.suppression.suppressedReasons)] };
    if (o.tracking) out.tracking = stripUndefined(o.tracking);
    return out;
  }
}

/** Checks a SuppressedReasons list. */
export function checkReasons(reasons: unknown): asserts reasons is SuppressionReason[] {
  if (!Array.isArray(reasons) || !reasons.every((r) => r === 'BOUNCE' || r === 'COMPLAINT')) throw badRequest('SuppressedReasons must be a list of BOUNCE and COMPLAINT.');
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw badRequest('ConfigurationSetName is required.');
  if (!NAME.test(name)) throw badRequest('ConfigurationSetName must be 1 to 64 ASCII letters, digits, underscores or dashes.', 'InvalidConfigurationSet');
  return name;
}

function missing(name: string): SesError {
  return notFound(`Configuration set <${name}> does not exist.`, 'ConfigurationSetDoesNotExist');
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function toSet(r: NamedRecord): ConfigurationSet {
  const d = r.data as unknown as ConfigurationSetOptions;
  return { accountId: r.accountId, name: r.name, createdAt: r.createdAt, delivery: d.delivery, sending: d.sending, reputation: d.reputation, suppression: d.suppression, tracking: d.tracking };
}
