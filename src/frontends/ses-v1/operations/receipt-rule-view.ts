/**
 * The v1 wire form of receipt rules (M1 `ReceiptRule`, `ReceiptAction`, `ReceiptRuleSetMetadata`):
 * `Rule.Name`, `Rule.Enabled`, `Rule.TlsPolicy`, `Rule.Recipients.member.N`, `Rule.ScanEnabled`,
 * and `Rule.Actions.member.N.<Type>Action.<Member>` in, the same structure out as XML.
 */
import type { ReceiptActionInput, ReceiptRuleInput, ReceiptRulesService, ReceiptRuleSetView } from '../../../core/index.ts';
import type { QueryParams } from '../query.ts';
import { XmlDate, type XmlValue } from '../xml.ts';

/** A stored rule, as core returns it. */
type ReceiptRule = Awaited<ReturnType<ReceiptRulesService['describeRule']>>;

/** The members of each action type on the wire (M1 shapes), and core's names for them. */
const ACTIONS = {
  S3Action: { key: 's3', members: { TopicArn: 'topicArn', BucketName: 'bucketName', ObjectKeyPrefix: 'objectKeyPrefix', KmsKeyArn: 'kmsKeyArn', IamRoleArn: 'iamRoleArn' } },
  BounceAction: { key: 'bounce', members: { TopicArn: 'topicArn', SmtpReplyCode: 'smtpReplyCode', StatusCode: 'statusCode', Message: 'message', Sender: 'sender' } },
  WorkmailAction: { key: 'workmail', members: { TopicArn: 'topicArn', OrganizationArn: 'organizationArn' } },
  LambdaAction: { key: 'lambda', members: { TopicArn: 'topicArn', FunctionArn: 'functionArn', InvocationType: 'invocationType' } },
  StopAction: { key: 'stop', members: { Scope: 'scope', TopicArn: 'topicArn' } },
  AddHeaderAction: { key: 'addHeader', members: { HeaderName: 'headerName', HeaderValue: 'headerValue' } },
  SNSAction: { key: 'sns', members: { TopicArn: 'topicArn', Encoding: 'encoding' } },
  ConnectAction: { key: 'connect', members: { InstanceARN: 'instanceArn', IAMRoleARN: 'iamRoleArn' } },
} as const;

const ACTION_FIELDS = Object.entries(ACTIONS).flatMap(([type, a]) => Object.keys(a.members).map((m) => `${type}.${m}`));

/** Reads `Rule.*`; undefined when the request has no Rule at all. */
export function v1Rule(params: QueryParams): ReceiptRuleInput | undefined {
  const name = params.string('Rule.Name');
  const enabled = params.boolean('Rule.Enabled');
  const tlsPolicy = params.string('Rule.TlsPolicy');
  const scanEnabled = params.boolean('Rule.ScanEnabled');
  const recipients = params.list('Rule.Recipients');
  const actions = params.structList('Rule.Actions', ACTION_FIELDS).map(v1Action);
  if (name === undefined && enabled === undefined && tlsPolicy === undefined && scanEnabled === undefined && recipients.length === 0 && actions.length === 0) return undefined;
  return { name, enabled, tlsPolicy, scanEnabled, recipients, actions };
}

/** One `Rule.Actions.member.N`: each action type with any member given becomes core's member of that name. */
function v1Action(entry: Record<string, string | undefined>): ReceiptActionInput {
  const out: Record<string, Record<string, string | undefined>> = {};
  for (const [type, a] of Object.entries(ACTIONS)) {
    const members = Object.entries(a.members) as Array<[string, string]>;
    if (!members.some(([m]) => entry[`${type}.${m}`] !== undefined)) continue;
    out[a.key] = Object.fromEntries(members.map(([m, core]) => [core, entry[`${type}.${m}`]]));
  }
  return out as ReceiptActionInput;
}

/** A rule as XML (`Rule` of DescribeReceiptRule, a member of `Rules`); empty lists are left out. */
export function v1RuleView(r: ReceiptRule): Record<string, XmlValue> {
  return {
    Name: r.name,
    Enabled: r.enabled,
    TlsPolicy: r.tlsPolicy,
    Recipients: r.recipients.length > 0 ? r.recipients : undefined,
    Actions: r.actions.length > 0 ? r.actions.map(actionView) : undefined,
    ScanEnabled: r.scanEnabled,
  };
}

/** `Metadata` and `Rules` of DescribeReceiptRuleSet and DescribeActiveReceiptRuleSet. */
export function v1RuleSetView(s: ReceiptRuleSetView): Record<string, XmlValue> {
  return { Metadata: { Name: s.name, CreatedTimestamp: new XmlDate(s.createdAt) }, Rules: s.rules.map(v1RuleView) };
}

function actionView(a: ReceiptRule['actions'][number]): Record<string, XmlValue> {
  const out: Record<string, XmlValue> = {};
  for (const [type, def] of Object.entries(ACTIONS)) {
    const value = (a as Record<string, Record<string, string | undefined> | undefined>)[def.key];
    if (!value) continue;
    out[type] = Object.fromEntries((Object.entries(def.members) as Array<[string, string]>).map(([m, core]) => [m, value[core]]));
  }
  return out;
}
