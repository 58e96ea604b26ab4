/**
 * Configuration sets (SES v2 Create/Get/List/DeleteConfigurationSet and PutConfigurationSet*Options;
 * v1 Create/Delete/Describe/ListConfigurationSets and their Update* actions). What sends use today:
 * delivery options (`TlsPolicy` REQUIRE makes delivery refuse hosts without STARTTLS,
 * `MaxDeliverySeconds` caps retries), sending options (a paused set refuses sends), and suppression
 * options (which reasons the account list applies for sends through the set). Reputation and
 * tracking options are stored and returned; their effects arrive with later capabilities.
 *
 * Event destinations (Create/Get/Update/DeleteConfigurationSetEventDestination, v1 and v2) live in
 * the set's stored document beside the options, so every change of either is one compare-and-swap
 * of the same row; the event dispatcher reads them from `ConfigurationSet.eventDestinations`.
 */
import type { NamedRecord, Storage } from '../../storage/ports.ts';
import { StorageConflictError } from '../../storage/ports.ts';
import type { AccountsService, Principal } from '../accounts/service.ts';
import type { Clock } from '../clock.ts';
import { badRequest, notFound, SesError } from '../errors.ts';
import { EVENT_TYPE_NAMES, type DimensionConfiguration, type DimensionValueSource, type EventDestination, type EventTypeName } from '../events/destinations.ts';
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
  /** Its event destinations, in creation order ([] for sets stored before destinations existed). */
  eventDestinations: EventDestination[];
}

/**
 * An event destination as a front end hands it to core: wire names translated (v1 and v2 differ),
 * values not yet checked. Core checks every value (SES v2 `EventDestinationDefinition` rules).
 */
export interface EventDestinationDefinition {
  /** v1 carries the name inside the definition; v2 beside it (core takes it as a parameter there). */
  name?: unknown;
  enabled?: unknown;
  /** v2 names (SEND, BOUNCE, …); the v1 front end converts its camelCase names. */
  matchingEventTypes?: unknown;
  sns?: { topicArn?: unknown };
  eventBridge?: { eventBusArn?: unknown };
  cloudWatch?: { dimensions?: Array<{ name?: unknown; source?: unknown; defaultValue?: unknown }> | unknown };
  firehose?: { deliveryStreamArn?: unknown; iamRoleArn?: unknown };
  /** PinpointDestination: present means the caller asked for Pinpoint, which Sesame refuses. */
  pinpoint?: unknown;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_SETS = 10_000;
/** SES quota: event destinations per configuration set. */
export const MAX_EVENT_DESTINATIONS = 10;
/** Dimensions per CloudWatch destination (each one is a label of Sesame's event counter). */
export const MAX_DIMENSIONS = 10;
const DESTINATION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
// SES CloudWatchDimensionConfiguration: DimensionName is ASCII letters, digits, '_', '-' and ':'
// (M1 lists ':'; M2's text omits it, but auto-tags such as ses:from-domain are usable dimensions),
// DefaultDimensionValue letters, digits, '_', '-', '@' and '.'; both at most 256 characters.
const DIMENSION_NAME = /^[A-Za-z0-9_:-]{1,256}$/;
const DIMENSION_VALUE = /^[A-Za-z0-9_.@-]{1,256}$/;
const DIMENSION_SOURCES: readonly DimensionValueSource[] = ['MESSAGE_TAG', 'EMAIL_HEADER', 'LINK_TAG'];
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
      await this.storage.configurationSets.create({ accountId: p.accountId, name: n, data: { ...set, eventDestinations: [] }, createdAt: now, updatedAt: now });
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
      // The data is rebuilt from the option groups, so the destinations are carried over explicitly.
      const data = { ...next, eventDestinations: current.eventDestinations };
      if (await this.storage.configurationSets.swap({ ...r, data, updatedAt: Math.max(this.clock.now(), r.updatedAt + 1) }, r.updatedAt)) return;
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

  /**
   * SES CreateConfigurationSetEventDestination (v2 and v1): adds a destination to a set. Checks, in
   * order: the names, the definition, that the set exists, that the name is free and the set has
   * room (10, SES's quota), then that the target exists (topic of this account, registered bus).
   */
  async createEventDestination(p: Principal, setName: unknown, def: EventDestinationDefinition, action = 'ses:CreateConfigurationSetEventDestination'): Promise<EventDestination> {
    const n = checkName(setName);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, n) });
    const dest = this.checkDefinition(p.accountId, checkDestinationName(def.name), def);
    const check = (current: ConfigurationSet) => {
      if (current.eventDestinations.some((d) => d.name === dest.name)) throw destinationExists(n, dest.name);
      if (current.eventDestinations.length >= MAX_EVENT_DESTINATIONS) {
        throw new SesError('LimitExceededException', `Configuration set <${n}> already has ${MAX_EVENT_DESTINATIONS} event destinations, the most a configuration set can have.`, 'LimitExceeded');
      }
    };
    check(await this.load(p.accountId, n));
    await this.checkTargetExists(p.accountId, dest);
    await this.changeDestinations(p.accountId, n, (current) => {
      check(current);
      return [...current.eventDestinations, dest];
    });
    return dest;
  }

  /** SES v2 GetConfigurationSetEventDestinations (v1 DescribeConfigurationSet reads them through `get`). */
  async getEventDestinations(p: Principal, setName: unknown, action = 'ses:GetConfigurationSetEventDestinations'): Promise<EventDestination[]> {
    const n = checkName(setName);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, n) });
    return (await this.load(p.accountId, n)).eventDestinations;
  }

  /**
   * SES UpdateConfigurationSetEventDestination (v2 and v1). Members the definition leaves out keep
   * their current values (Enabled, MatchingEventTypes, and the target when no target is given); a
   * target given replaces the current one, of whatever kind.
   */
  async updateEventDestination(
    p: Principal,
    setName: unknown,
    destName: unknown,
    def: EventDestinationDefinition,
    action = 'ses:UpdateConfigurationSetEventDestination',
  ): Promise<EventDestination> {
    const n = checkName(setName);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, n) });
    const d = checkDestinationName(destName);
    const existing = (await this.load(p.accountId, n)).eventDestinations.find((x) => x.name === d);
    if (!existing) throw destinationMissing(n, d);
    const next = this.checkDefinition(p.accountId, d, def, existing);
    if (hasTarget(def)) await this.checkTargetExists(p.accountId, next);
    await this.changeDestinations(p.accountId, n, (current) => {
      const i = current.eventDestinations.findIndex((x) => x.name === d);
      if (i < 0) throw destinationMissing(n, d);
      return current.eventDestinations.map((x, j) => (j === i ? next : x));
    });
    return next;
  }

  /** SES DeleteConfigurationSetEventDestination (v2 and v1). */
  async deleteEventDestination(p: Principal, setName: unknown, destName: unknown, action = 'ses:DeleteConfigurationSetEventDestination'): Promise<void> {
    const n = checkName(setName);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, n) });
    if (typeof destName !== 'string' || destName === '') throw badRequest('EventDestinationName is required.');
    await this.changeDestinations(p.accountId, n, (current) => {
      if (!current.eventDestinations.some((x) => x.name === destName)) throw destinationMissing(n, destName);
      return current.eventDestinations.filter((x) => x.name !== destName);
    });
  }

  /** Replaces a set's destinations by compare-and-swap, leaving its options as stored. */
  private async changeDestinations(accountId: string, name: string, change: (current: ConfigurationSet) => EventDestination[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.storage.configurationSets.get(accountId, name);
      if (!r) throw missing(name);
      const eventDestinations = change(toSet(r));
      if (await this.storage.configurationSets.swap({ ...r, data: { ...r.data, eventDestinations }, updatedAt: Math.max(this.clock.now(), r.updatedAt + 1) }, r.updatedAt)) return;
      if (attempt > 10) throw new SesError('ConflictException', `Configuration set <${name}> is being changed concurrently; try again.`);
    }
  }

  /**
   * Checks a definition's values and returns the destination to store. With `current` (an update),
   * members the definition leaves out are taken from it.
   */
  private checkDefinition(accountId: string, name: string, def: EventDestinationDefinition, current?: EventDestination): EventDestination {
    if (def.enabled !== undefined && def.enabled !== null && typeof def.enabled !== 'boolean') throw badRequest('Enabled must be true or false.');
    const enabled = typeof def.enabled === 'boolean' ? def.enabled : (current?.enabled ?? false);
    const types = def.matchingEventTypes === undefined || def.matchingEventTypes === null ? current?.matchingEventTypes : checkEventTypes(def.matchingEventTypes);
    if (!types) throw badRequest('MatchingEventTypes is required: list at least one event type.');
    const out: EventDestination = { name, enabled, matchingEventTypes: types };
    if (!hasTarget(def)) {
      if (!current) throw badRequest(TARGET_REQUIRED);
      return { ...out, ...targetOf(current) };
    }
    return { ...out, ...this.checkTarget(accountId, def) };
  }

  /** Checks the one target of a definition (format, region and account; existence is checked later). */
  private checkTarget(accountId: string, def: EventDestinationDefinition): Partial<EventDestination> {
    if (def.pinpoint !== undefined && def.pinpoint !== null) {
      throw badRequest('PinpointDestination is not supported: Sesame has no Amazon Pinpoint. Use SnsDestination, EventBridgeDestination, CloudWatchDestination or KinesisFirehoseDestination.');
    }
    const given = (['sns', 'eventBridge', 'cloudWatch', 'firehose'] as const).filter((k) => def[k] !== undefined && def[k] !== null);
    if (given.length !== 1) throw badRequest(TARGET_REQUIRED);
    if (def.sns) {
      const arn = def.sns.topicArn;
      if (typeof arn !== 'string' || arn === '') throw badRequest('SnsDestination.TopicArn is required.', 'InvalidSNSDestination');
      if (!SNS_ARN.test(arn)) throw badRequest(`Invalid SNS topic ARN <${arn}>: use arn:aws:sns:${this.region}:${accountId}:<topic name>.`, 'InvalidSNSDestination');
      return { sns: { topicArn: arn } };
    }
    if (def.eventBridge) {
      const arn = def.eventBridge.eventBusArn;
      if (typeof arn !== 'string' || arn === '') throw badRequest('EventBridgeDestination.EventBusArn is required.');
      const m = BUS_ARN.exec(arn);
      if (!m || m[1] !== this.region || m[2] !== accountId) {
        throw badRequest(`Invalid event bus ARN <${arn}>: use arn:aws:events:${this.region}:${accountId}:event-bus/<bus name>.`);
      }
      return { eventBridge: { eventBusArn: arn } };
    }
    if (def.cloudWatch) {
      return { cloudWatch: { dimensions: checkDimensions(def.cloudWatch.dimensions) } };
    }
    const f = def.firehose!;
    const stream = f.deliveryStreamArn;
    const role = f.iamRoleArn;
    if (typeof stream !== 'string' || stream === '') throw badRequest('KinesisFirehoseDestination.DeliveryStreamArn is required.', 'InvalidFirehoseDestination');
    if (typeof role !== 'string' || role === '') throw badRequest('KinesisFirehoseDestination.IamRoleArn is required.', 'InvalidFirehoseDestination');
    const m = STREAM_ARN.exec(stream);
    if (!m || m[1] !== this.region || m[2] !== accountId) {
      throw badRequest(
        `Invalid delivery stream ARN <${stream}>: use arn:aws:firehose:${this.region}:${accountId}:deliverystream/<name>, the name 1 to 64 ASCII letters, digits, underscores, periods or dashes.`,
        'InvalidFirehoseDestination',
      );
    }
    if (!ROLE_ARN.test(role)) throw badRequest(`Invalid IAM role ARN <${role}>: use arn:aws:iam::<account>:role/<name>.`, 'InvalidFirehoseDestination');
    return { firehose: { deliveryStreamArn: stream, iamRoleArn: role } };
  }

  /** The target must exist: an SNS topic of this account, or the default or a registered event bus. */
  private async checkTargetExists(accountId: string, d: EventDestination): Promise<void> {
    if (d.sns) {
      const m = SNS_ARN.exec(d.sns.topicArn)!;
      // SES answers InvalidSNSDestination "SNS topic <arn> not found." (also for another account's or region's topic here).
      if (m[1] !== this.region || m[2] !== accountId || !(await this.storage.topics.get(accountId, m[3]!))) {
        throw badRequest(`SNS topic <${d.sns.topicArn}> not found.`, 'InvalidSNSDestination');
      }
    }
    if (d.eventBridge) {
      const bus = BUS_ARN.exec(d.eventBridge.eventBusArn)![3]!;
      // SES accepts only the default bus; Sesame maps bus names to webhooks registered by the operator.
      if (bus !== 'default' && !(await this.storage.eventBuses.get(accountId, bus))) {
        throw badRequest(`Event bus <${bus}> is not registered: register its webhook with \`sesame event-buses create ${bus} --url URL\`, or use the default bus.`);
      }
    }
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

const TARGET_REQUIRED = 'An event destination needs exactly one of SnsDestination, EventBridgeDestination, CloudWatchDestination and KinesisFirehoseDestination.';
const SNS_ARN = /^arn:aws:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256}(?:\.fifo)?)$/;
const BUS_ARN = /^arn:aws:events:([a-z0-9-]+):(\d{12}):event-bus\/([A-Za-z0-9/_.-]{1,256})$/;
const STREAM_ARN = /^arn:aws:firehose:([a-z0-9-]+):(\d{12}):deliverystream\/[A-Za-z0-9_.-]{1,64}$/;
const ROLE_ARN = /^arn:aws:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/;

function checkDestinationName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw badRequest('EventDestinationName is required.');
  if (!DESTINATION_NAME.test(name)) throw badRequest(`Invalid event destination name <${name}>: use 1 to 64 ASCII letters, digits, underscores or dashes.`);
  return name;
}

function checkEventTypes(v: unknown): EventTypeName[] {
  if (!Array.isArray(v) || v.length === 0) throw badRequest('MatchingEventTypes must list at least one event type.');
  for (const t of v) {
    if (typeof t !== 'string' || !(EVENT_TYPE_NAMES as readonly string[]).includes(t)) throw badRequest(`Invalid MatchingEventTypes value <${String(t)}>: use ${EVENT_TYPE_NAMES.join(', ')}.`);
  }
  return [...new Set(v as EventTypeName[])];
}

function checkDimensions(v: unknown): DimensionConfiguration[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_DIMENSIONS) {
    throw badRequest(`CloudWatchDestination.DimensionConfigurations must list 1 to ${MAX_DIMENSIONS} dimensions.`, 'InvalidCloudWatchDestination');
  }
  const seen = new Set<string>();
  return v.map((raw: unknown) => {
    const x = (raw && typeof raw === 'object' ? raw : {}) as { name?: unknown; source?: unknown; defaultValue?: unknown };
    if (typeof x.name !== 'string' || !DIMENSION_NAME.test(x.name)) {
      throw badRequest(`Invalid DimensionName <${String(x.name)}>: use 1 to 256 ASCII letters, digits, underscores, dashes or colons.`, 'InvalidCloudWatchDestination');
    }
    if (seen.has(x.name)) throw badRequest(`DimensionName <${x.name}> is given more than once.`, 'InvalidCloudWatchDestination');
    seen.add(x.name);
    if (typeof x.source !== 'string' || !(DIMENSION_SOURCES as readonly string[]).includes(x.source)) {
      throw badRequest(`Invalid DimensionValueSource <${String(x.source)}> of dimension ${x.name}: use ${DIMENSION_SOURCES.join(', ')}.`, 'InvalidCloudWatchDestination');
    }
    if (typeof x.defaultValue !== 'string' || !DIMENSION_VALUE.test(x.defaultValue)) {
      throw badRequest(
        `Invalid DefaultDimensionValue <${String(x.defaultValue)}> of dimension ${x.name}: use 1 to 256 ASCII letters, digits, underscores, dashes, at signs or periods.`,
        'InvalidCloudWatchDestination',
      );
    }
    return { name: x.name, source: x.source as DimensionValueSource, defaultValue: x.defaultValue };
  });
}

/** Whether a definition names a target (any kind, Pinpoint included). */
function hasTarget(def: EventDestinationDefinition): boolean {
  return [def.sns, def.eventBridge, def.cloudWatch, def.firehose, def.pinpoint].some((t) => t !== undefined && t !== null);
}

/** The target members of a stored destination. */
function targetOf(d: EventDestination): Partial<EventDestination> {
  if (d.sns) return { sns: d.sns };
  if (d.eventBridge) return { eventBridge: d.eventBridge };
  if (d.cloudWatch) return { cloudWatch: d.cloudWatch };
  if (d.firehose) return { firehose: d.firehose };
  return {};
}

function destinationExists(set: string, dest: string): SesError {
  return new SesError('AlreadyExistsException', `Event destination ${dest} already exists in configuration set <${set}>.`, 'EventDestinationAlreadyExists');
}

// SES's wording ("No EventDestination found for <set>"), with the destination's name added.
function destinationMissing(set: string, dest: string): SesError {
  return notFound(`No EventDestination found for ${set}: it has no event destination named ${dest}.`, 'EventDestinationDoesNotExist');
}

function missing(name: string): SesError {
  return notFound(`Configuration set <${name}> does not exist.`, 'ConfigurationSetDoesNotExist');
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function toSet(r: NamedRecord): ConfigurationSet {
  const d = r.data as unknown as ConfigurationSetOptions & { eventDestinations?: EventDestination[] };
  return {
    accountId: r.accountId,
    name: r.name,
    createdAt: r.createdAt,
    delivery: d.delivery,
    sending: d.sending,
    reputation: d.reputation,
    suppression: d.suppression,
    tracking: d.tracking,
    // Sets stored before event destinations existed have none.
    eventDestinations: d.eventDestinations ?? [],
  };
}
