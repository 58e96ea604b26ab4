/**
 * The v1 spellings of event destinations (M1 `EventDestination`): `Name`, `Enabled`,
 * `MatchingEventTypes.member.N` in v1's camelCase (send, reject, bounce, complaint, delivery, open,
 * click, renderingFailure), `SNSDestination.TopicARN`, `KinesisFirehoseDestination.IAMRoleARN` /
 * `DeliveryStreamARN`, and `CloudWatchDestination.DimensionConfigurations.member.N.{DimensionName,
 * DimensionValueSource (messageTag|emailHeader|linkTag), DefaultDimensionValue}`. v1 has no
 * EventBridge destination: one created through v2 is listed without its target.
 */
import { badRequest, V1_EVENT_TYPE, type DimensionValueSource, type EventDestination, type EventDestinationDefinition, type EventTypeName } from '../../../core/index.ts';
import type { QueryParams } from '../query.ts';
import type { XmlValue } from '../xml.ts';

/** The event types v1 accepts (M1 `EventType`: v1 has no deliveryDelay or subscription). */
const V1_INPUT_TYPES: EventTypeName[] = ['SEND', 'REJECT', 'BOUNCE', 'COMPLAINT', 'DELIVERY', 'OPEN', 'CLICK', 'RENDERING_FAILURE'];
const FROM_V1 = new Map(V1_INPUT_TYPES.map((t) => [V1_EVENT_TYPE[t], t]));

const V1_SOURCE: Record<DimensionValueSource, string> = { MESSAGE_TAG: 'messageTag', EMAIL_HEADER: 'emailHeader', LINK_TAG: 'linkTag' };
const SOURCE_FROM_V1 = new Map(Object.entries(V1_SOURCE).map(([k, v]) => [v, k as DimensionValueSource]));

/** Reads `EventDestination.*` of a Create/UpdateConfigurationSetEventDestination request. */
export function v1EventDestination(params: QueryParams): EventDestinationDefinition & { name: string } {
  const p = 'EventDestination';
  const name = params.string(`${p}.Name`, { required: true });
  const def: EventDestinationDefinition & { name: string } = { name, enabled: params.boolean(`${p}.Enabled`) };
  const types = params.list(`${p}.MatchingEventTypes`);
  if (types.length > 0) {
    def.matchingEventTypes = types.map((t) => {
      const v2 = FROM_V1.get(t);
      if (!v2) {
        throw badRequest(
          `1 validation error detected: Value '[${t}]' at 'eventDestination.matchingEventTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [${[...FROM_V1.keys()].join(', ')}]]`,
          'ValidationError',
        );
      }
      return v2;
    });
  }
  const topic = params.string(`${p}.SNSDestination.TopicARN`);
  if (topic !== undefined) def.sns = { topicArn: topic };
  const role = params.string(`${p}.KinesisFirehoseDestination.IAMRoleARN`);
  const stream = params.string(`${p}.KinesisFirehoseDestination.DeliveryStreamARN`);
  if (role !== undefined || stream !== undefined) def.firehose = { iamRoleArn: role, deliveryStreamArn: stream };
  const dims = params.structList(`${p}.CloudWatchDestination.DimensionConfigurations`, ['DimensionName', 'DimensionValueSource', 'DefaultDimensionValue']);
  if (dims.length > 0) {
    def.cloudWatch = {
      dimensions: dims.map((d) => {
        const source = SOURCE_FROM_V1.get(d.DimensionValueSource ?? '');
        if (!source) {
          throw badRequest(`Invalid DimensionValueSource <${d.DimensionValueSource ?? ''}> of dimension ${d.DimensionName ?? ''}: use messageTag, emailHeader or linkTag.`, 'InvalidCloudWatchDestination');
        }
        return { name: d.DimensionName, source, defaultValue: d.DefaultDimensionValue };
      }),
    };
  }
  return def;
}

/** One `EventDestinations` member of DescribeConfigurationSet. */
export function v1EventDestinationView(d: EventDestination): Record<string, XmlValue> {
  const out: Record<string, XmlValue> = { Name: d.name, Enabled: d.enabled, MatchingEventTypes: d.matchingEventTypes.map((t) => V1_EVENT_TYPE[t]) };
  if (d.sns) out.SNSDestination = { TopicARN: d.sns.topicArn };
  if (d.firehose) out.KinesisFirehoseDestination = { IAMRoleARN: d.firehose.iamRoleArn, DeliveryStreamARN: d.firehose.deliveryStreamArn };
  if (d.cloudWatch) {
    out.CloudWatchDestination = {
      DimensionConfigurations: d.cloudWatch.dimensions.map((x) => ({ DimensionName: x.name, DimensionValueSource: V1_SOURCE[x.source], DefaultDimensionValue: x.defaultValue })),
    };
  }
  return out;
}
