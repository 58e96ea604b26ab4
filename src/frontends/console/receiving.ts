/**
 * The console's Receiving page: receipt rule sets (which one is active), their rules in evaluation
 * order, and IP filters — the SES v1 receiving operations of `core.receiptRules`, which authorize
 * each call with the session's principal and validate everything. These routes only turn JSON into
 * core's input shapes and core's results into JSON. Refusals carry SES v1's `<Code>` (what the v1
 * SDK reports, e.g. `RuleSetDoesNotExist`, `InvalidS3Configuration`, `AccessDenied`) and message.
 *
 *   GET    /receiving                                   rule sets (paged) and the active set's name
 *   POST   /receiving/rule-sets                         { name, cloneFrom? }: create, or clone
 *   GET    /receiving/rule-sets/:set                    the set, its rules in order, whether active
 *   DELETE /receiving/rule-sets/:set
 *   PUT    /receiving/active                            { name | null }: make active, or deactivate
 *   POST   /receiving/rule-sets/:set/rules              { rule, after? }: a new rule after `after` (first when absent)
 *   PUT    /receiving/rule-sets/:set/rules/:rule        { rule }: replaces the rule in place
 *   DELETE /receiving/rule-sets/:set/rules/:rule
 *   POST   /receiving/rule-sets/:set/rules/:rule/position { after: string | null }: moves it after `after`, or first
 *   PUT    /receiving/rule-sets/:set/order              { ruleNames }: the whole order
 *   GET    /receiving/filters, POST /receiving/filters { name, cidr, policy }, DELETE /receiving/filters/:name
 */
import type { FastifyRequest } from 'fastify';
import { SesError, type Core, type Principal, type ReceiptActionInput, type ReceiptRuleInput, type ReceiptRuleSetView } from '../../core/index.ts';
import { CONSOLE_API, ConsoleRefusal, json, queryOf, sesStatus, type ConsoleKit } from './kit.ts';

const BASE = `${CONSOLE_API}/receiving`;

/** Each action type's members, as core names them (camel-cased SES v1 `ReceiptAction`). */
const ACTION_MEMBERS: Record<keyof ReceiptActionInput, readonly string[]> = {
  s3: ['bucketName', 'objectKeyPrefix', 'kmsKeyArn', 'topicArn', 'iamRoleArn'],
  sns: ['topicArn', 'encoding'],
  lambda: ['functionArn', 'invocationType', 'topicArn'],
  bounce: ['smtpReplyCode', 'statusCode', 'message', 'sender', 'topicArn'],
  stop: ['scope', 'topicArn'],
  addHeader: ['headerName', 'headerValue'],
  workmail: ['organizationArn', 'topicArn'],
  connect: ['instanceArn', 'iamRoleArn'],
};

export function registerReceivingRoutes(kit: ConsoleKit, core: Core): void {
  const { app, session } = kit;
  const rules = core.receiptRules;
  /** kit.route, with the SES v1 error code where v1 has its own (receiving exists only in v1: RuleSetDoesNotExist, CannotDelete…). */
  const route: ConsoleKit['route'] = (handler) =>
    kit.route(async (req, reply) => {
      try {
        return await handler(req, reply);
      } catch (err) {
        if (err instanceof SesError) throw new ConsoleRefusal(sesStatus(err.code), err.v1Code ?? err.code, err.message);
        throw err;
      }
    });
  const param = (req: FastifyRequest, name: string) => (req.params as Record<string, string>)[name] ?? '';

  /** The set with its rules and whether it is the active one. */
  const setView = async (p: Principal, set: ReceiptRuleSetView) => {
    const active = await rules.describeActiveRuleSet(p);
    return { name: set.name, createdAt: new Date(set.createdAt).toISOString(), active: active?.name === set.name, rules: set.rules };
  };

  app.get(
    BASE,
    route(async (req) => {
      const s = await session(req);
      const q = queryOf(req);
      const page = await rules.listRuleSets(s.principal, q.nextToken || undefined);
      const active = (await rules.describeActiveRuleSet(s.principal))?.name ?? null;
      return {
        active,
        ruleSets: page.items.map((r) => ({ name: r.name, createdAt: new Date(r.createdAt).toISOString(), active: r.name === active })),
        ...(page.nextToken ? { nextToken: page.nextToken } : {}),
      };
    }),
  );
  app.post(
    `${BASE}/rule-sets`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      const name = text(body.name, 'name') ?? '';
      const from = text(body.cloneFrom, 'cloneFrom');
      if (from !== undefined && from !== '') await rules.cloneRuleSet(s.principal, name, from);
      else await rules.createRuleSet(s.principal, name);
      return setView(s.principal, await rules.describeRuleSet(s.principal, name));
    }),
  );
  app.get(
    `${BASE}/rule-sets/:set`,
    route(async (req) => {
      const s = await session(req);
      return setView(s.principal, await rules.describeRuleSet(s.principal, param(req, 'set')));
    }),
  );
  app.delete(
    `${BASE}/rule-sets/:set`,
    route(async (req) => {
      await rules.deleteRuleSet((await session(req)).principal, param(req, 'set'));
      return undefined;
    }),
  );
  app.put(
    `${BASE}/active`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      const name = body.name === null ? undefined : text(body.name, 'name');
      await rules.setActiveRuleSet(s.principal, name);
      return { active: (await rules.describeActiveRuleSet(s.principal))?.name ?? null };
    }),
  );
  app.post(
    `${BASE}/rule-sets/:set/rules`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      const set = param(req, 'set');
      const after = body.after === null ? undefined : text(body.after, 'after');
      await rules.createRule(s.principal, set, ruleInput(body.rule), after);
      return setView(s.principal, await rules.describeRuleSet(s.principal, set));
    }),
  );
  app.put(
    `${BASE}/rule-sets/:set/rules/:rule`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      const set = param(req, 'set');
      const input = ruleInput(body.rule);
      const name = param(req, 'rule');
      if (input && input.name !== undefined && input.name !== name) throw new ConsoleRefusal(400, 'InvalidParameterValue', `The rule's name (${input.name}) differs from the rule in the path (${name}); a rule cannot be renamed.`);
      await rules.updateRule(s.principal, set, input ? { ...input, name } : undefined);
      return setView(s.principal, await rules.describeRuleSet(s.principal, set));
    }),
  );
  app.delete(
    `${BASE}/rule-sets/:set/rules/:rule`,
    route(async (req) => {
      const s = await session(req);
      const set = param(req, 'set');
      await rules.deleteRule(s.principal, set, param(req, 'rule'));
      return setView(s.principal, await rules.describeRuleSet(s.principal, set));
    }),
  );
  app.post(
    `${BASE}/rule-sets/:set/rules/:rule/position`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      const set = param(req, 'set');
      const after = body.after === null ? undefined : text(body.after, 'after');
      await rules.setRulePosition(s.principal, set, param(req, 'rule'), after);
      return setView(s.principal, await rules.describeRuleSet(s.principal, set));
    }),
  );
  app.put(
    `${BASE}/rule-sets/:set/order`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      const set = param(req, 'set');
      await rules.reorderRuleSet(s.principal, set, texts(body.ruleNames, 'ruleNames') ?? []);
      return setView(s.principal, await rules.describeRuleSet(s.principal, set));
    }),
  );
  app.get(
    `${BASE}/filters`,
    route(async (req) => ({ items: await rules.listFilters((await session(req)).principal) })),
  );
  app.post(
    `${BASE}/filters`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      await rules.createFilter(s.principal, { name: text(body.name, 'name'), ipFilter: { cidr: text(body.cidr, 'cidr'), policy: text(body.policy, 'policy') } });
      return { items: await rules.listFilters(s.principal) };
    }),
  );
  app.delete(
    `${BASE}/filters/:name`,
    route(async (req) => {
      await rules.deleteFilter((await session(req)).principal, param(req, 'name'));
      return undefined;
    }),
  );
}

/** A string member of the JSON body (absent: undefined); any other type is refused. */
function text(v: unknown, path: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ConsoleRefusal(400, 'InvalidParameterValue', `${path} must be a string.`);
  return v;
}

function flag(v: unknown, path: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new ConsoleRefusal(400, 'InvalidParameterValue', `${path} must be true or false.`);
  return v;
}

function texts(v: unknown, path: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new ConsoleRefusal(400, 'InvalidParameterValue', `${path} must be a list of strings.`);
  return v.map((x, i) => text(x, `${path}[${i}]`)!);
}

function object(v: unknown, path: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ConsoleRefusal(400, 'InvalidParameterValue', `${path} must be an object.`);
  return v as Record<string, unknown>;
}

/** The JSON rule as core's input (absent: undefined, which core refuses as SES does); only the JSON types are checked here. */
function ruleInput(v: unknown): ReceiptRuleInput | undefined {
  if (v === undefined || v === null) return undefined;
  const r = object(v, 'rule');
  if (r.actions !== undefined && !Array.isArray(r.actions)) throw new ConsoleRefusal(400, 'InvalidParameterValue', 'rule.actions must be a list of actions.');
  const actions = (r.actions as unknown[] | undefined)?.map((a, i) => actionInput(a, `rule.actions[${i}]`));
  return {
    name: text(r.name, 'rule.name'),
    enabled: flag(r.enabled, 'rule.enabled'),
    tlsPolicy: text(r.tlsPolicy, 'rule.tlsPolicy'),
    recipients: texts(r.recipients, 'rule.recipients'),
    actions,
    scanEnabled: flag(r.scanEnabled, 'rule.scanEnabled'),
  };
}

/** One action `{ <type>: { <member>: string } }` with the types and members SES v1 knows. */
function actionInput(v: unknown, path: string): ReceiptActionInput {
  const a = object(v, path);
  const out: Record<string, Record<string, string | undefined>> = {};
  for (const [type, value] of Object.entries(a)) {
    const members = ACTION_MEMBERS[type as keyof ReceiptActionInput];
    if (!members) throw new ConsoleRefusal(400, 'InvalidParameterValue', `${path} has an unknown action type ${type}; use ${Object.keys(ACTION_MEMBERS).join(', ')}.`);
    if (value === undefined) continue;
    const m = object(value, `${path}.${type}`);
    for (const k of Object.keys(m)) if (!members.includes(k)) throw new ConsoleRefusal(400, 'InvalidParameterValue', `${path}.${type} has an unknown member ${k}; use ${members.join(', ')}.`);
    out[type] = Object.fromEntries(members.map((k) => [k, text(m[k], `${path}.${type}.${k}`)]));
  }
  return out as ReceiptActionInput;
}
