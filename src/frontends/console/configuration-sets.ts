/**
 * The console's configuration sets page: list (paged, name filter), create, read with options and
 * event destinations, delete, one route per option group (each with its SES action), and the
 * event destinations' create, update (enable/disable, event types, target) and delete. Every value
 * is checked by core (`ConfigurationSetsService`), which also authorizes each call with SES's
 * action; these routes only shape JSON (the console's camelCase names, core's definitions).
 */
import type { FastifyRequest } from 'fastify';
import type { ConfigurationSet, ConfigurationSetOptions, Core, EventDestination, EventDestinationDefinition } from '../../core/index.ts';
import { CONSOLE_API, ConsoleRefusal, json, queryOf, type ConsoleKit } from './kit.ts';

const BASE = `${CONSOLE_API}/configuration-sets`;

/** The option groups, each with the SES action that changes it. */
const OPTION_GROUPS = {
  sending: 'ses:PutConfigurationSetSendingOptions',
  reputation: 'ses:PutConfigurationSetReputationOptions',
  suppression: 'ses:PutConfigurationSetSuppressionOptions',
  tracking: 'ses:PutConfigurationSetTrackingOptions',
  delivery: 'ses:PutConfigurationSetDeliveryOptions',
} as const;
type OptionGroup = keyof typeof OPTION_GROUPS;

export function registerConfigurationSetsRoutes(kit: ConsoleKit, core: Core): void {
  const { app, route, session } = kit;
  const sets = core.configurationSets;
  const setName = (req: FastifyRequest) => (req.params as { name: string }).name;
  const destName = (req: FastifyRequest) => (req.params as { dest: string }).dest;

  app.get(
    BASE,
    route(async (req) => {
      const s = await session(req);
      const q = queryOf(req);
      const page = await sets.list(s.principal, { nextToken: q.nextToken || undefined, pageSize: 50, nameContains: q.nameContains || undefined });
      return { items: page.items.map(summary), ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
    }),
  );
  app.post(
    BASE,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      const name = typeof body.name === 'string' ? body.name.trim() : body.name;
      // Default options, as SES v2 CreateConfigurationSet without option members.
      await sets.create(s.principal, name, {});
      // Not read back: creating needs only ses:CreateConfigurationSet.
      return { name };
    }),
  );
  app.get(
    `${BASE}/:name`,
    route(async (req) => {
      const s = await session(req);
      const set = await sets.get(s.principal, setName(req));
      // Read with their own action, as GetConfigurationSetEventDestinations does.
      const destinations = await sets.getEventDestinations(s.principal, set.name);
      return { ...summary(set), options: optionsView(set), eventDestinations: destinations.map(destinationView) };
    }),
  );
  app.delete(
    `${BASE}/:name`,
    route(async (req) => {
      const s = await session(req);
      await sets.delete(s.principal, setName(req));
      return undefined;
    }),
  );
  app.put(
    `${BASE}/:name/options/:group`,
    route(async (req) => {
      const s = await session(req);
      const group = (req.params as { group: string }).group;
      if (!Object.hasOwn(OPTION_GROUPS, group)) throw new ConsoleRefusal(404, 'NotFound', `There are no ${group} options: use ${Object.keys(OPTION_GROUPS).join(', ')}.`);
      const g = group as OptionGroup;
      await sets.putOptions(s.principal, setName(req), optionChange(g, json(req.body)), OPTION_GROUPS[g]);
      return undefined;
    }),
  );
  app.post(
    `${BASE}/:name/event-destinations`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      return destinationView(await sets.createEventDestination(s.principal, setName(req), { ...definition(body), name: body.name }));
    }),
  );
  app.patch(
    `${BASE}/:name/event-destinations/:dest`,
    route(async (req) => {
      const s = await session(req);
      return destinationView(await sets.updateEventDestination(s.principal, setName(req), destName(req), definition(json(req.body))));
    }),
  );
  app.delete(
    `${BASE}/:name/event-destinations/:dest`,
    route(async (req) => {
      const s = await session(req);
      await sets.deleteEventDestination(s.principal, setName(req), destName(req));
      return undefined;
    }),
  );
}

/** A set as the list shows it. */
function summary(set: ConfigurationSet) {
  return { name: set.name, createdAt: new Date(set.createdAt).toISOString() };
}

/** A set's options in the console's names; `suppression`/`tracking` are null while unset. */
function optionsView(set: ConfigurationSetOptions) {
  return {
    sending: { sendingEnabled: set.sending.sendingEnabled },
    reputation: { reputationMetricsEnabled: set.reputation.reputationMetricsEnabled, ...(set.reputation.lastFreshStart ? { lastFreshStart: new Date(set.reputation.lastFreshStart).toISOString() } : {}) },
    suppression: set.suppression ? { suppressedReasons: set.suppression.suppressedReasons } : null,
    tracking: set.tracking ? { customRedirectDomain: set.tracking.customRedirectDomain, ...(set.tracking.httpsPolicy ? { httpsPolicy: set.tracking.httpsPolicy } : {}) } : null,
    delivery: { tlsPolicy: set.delivery.tlsPolicy, ...(set.delivery.maxDeliverySeconds !== undefined ? { maxDeliverySeconds: set.delivery.maxDeliverySeconds } : {}) },
  };
}

/**
 * One option group's change from the request body, values as given (core checks them). As SES v2:
 * a null or absent `suppressedReasons` removes the set's override of the account's suppression
 * settings, and tracking options without a custom redirect domain are removed.
 */
function optionChange(group: OptionGroup, body: Record<string, unknown>): Partial<ConfigurationSetOptions> {
  switch (group) {
    case 'sending':
      return { sending: { sendingEnabled: body.sendingEnabled as boolean } };
    case 'reputation':
      return { reputation: { reputationMetricsEnabled: body.reputationMetricsEnabled as boolean } };
    case 'suppression':
      return { suppression: body.suppressedReasons === undefined || body.suppressedReasons === null ? undefined : { suppressedReasons: body.suppressedReasons as ['BOUNCE'] } };
    case 'tracking': {
      const domain = typeof body.customRedirectDomain === 'string' ? body.customRedirectDomain.trim() : body.customRedirectDomain;
      const policy = body.httpsPolicy === '' || body.httpsPolicy === null ? undefined : body.httpsPolicy;
      if ((domain === undefined || domain === null || domain === '') && policy === undefined) return { tracking: undefined };
      return { tracking: { customRedirectDomain: domain as string, httpsPolicy: policy as 'OPTIONAL' | undefined } };
    }
    case 'delivery':
      return {
        delivery: {
          tlsPolicy: (body.tlsPolicy ?? 'OPTIONAL') as 'OPTIONAL',
          ...(body.maxDeliverySeconds === undefined || body.maxDeliverySeconds === null || body.maxDeliverySeconds === '' ? {} : { maxDeliverySeconds: body.maxDeliverySeconds as number }),
        },
      };
  }
}

/** An event destination definition from the request body: the members core reads, values as given. */
function definition(body: Record<string, unknown>): EventDestinationDefinition {
  const def: EventDestinationDefinition = { enabled: body.enabled, matchingEventTypes: body.matchingEventTypes };
  const member = (k: string) => {
    const v = body[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw new ConsoleRefusal(400, 'BadRequest', `${k} must be an object.`);
    return v as Record<string, unknown>;
  };
  const sns = member('sns');
  if (sns) def.sns = { topicArn: sns.topicArn };
  const bus = member('eventBridge');
  if (bus) def.eventBridge = { eventBusArn: bus.eventBusArn };
  const cw = member('cloudWatch');
  if (cw) def.cloudWatch = { dimensions: cw.dimensions };
  const fh = member('firehose');
  if (fh) def.firehose = { deliveryStreamArn: fh.deliveryStreamArn, iamRoleArn: fh.iamRoleArn };
  return def;
}

/** An event destination as the console shows it (core's stored shape). */
function destinationView(d: EventDestination) {
  return {
    name: d.name,
    enabled: d.enabled,
    matchingEventTypes: d.matchingEventTypes,
    ...(d.sns ? { sns: d.sns } : {}),
    ...(d.eventBridge ? { eventBridge: d.eventBridge } : {}),
    ...(d.cloudWatch ? { cloudWatch: d.cloudWatch } : {}),
    ...(d.firehose ? { firehose: d.firehose } : {}),
  };
}
