/**
 * The JSON shapes of SES v2 event destinations (M2 `EventDestinationDefinition`, `EventDestination`):
 * read for Create/UpdateConfigurationSetEventDestination, written for
 * GetConfigurationSetEventDestinations. Shape checks only; the value rules are core's.
 */
import { badRequest, type EventDestination, type EventDestinationDefinition } from '../../../core/index.ts';
import { bool, obj, str, type Body } from '../validate.ts';

/** `EventDestination` of a Create or Update request body (a missing one is an empty definition). */
export function eventDestinationDefinition(body: Body): EventDestinationDefinition {
  const d = obj(body, 'EventDestination');
  if (!d) throw badRequest('EventDestination is required.');
  const def: EventDestinationDefinition = { enabled: bool(d, 'Enabled'), matchingEventTypes: d.MatchingEventTypes ?? undefined };
  const sns = obj(d, 'SnsDestination');
  if (sns) def.sns = { topicArn: str(sns, 'TopicArn') };
  const bus = obj(d, 'EventBridgeDestination');
  if (bus) def.eventBridge = { eventBusArn: str(bus, 'EventBusArn') };
  const cw = obj(d, 'CloudWatchDestination');
  if (cw) {
    const dims = cw.DimensionConfigurations;
    def.cloudWatch = {
      dimensions: Array.isArray(dims)
        ? dims.map((x: unknown) => {
            if (!x || typeof x !== 'object' || Array.isArray(x)) throw badRequest('DimensionConfigurations must be a list of objects.');
            const b = x as Body;
            return { name: str(b, 'DimensionName'), source: str(b, 'DimensionValueSource'), defaultValue: str(b, 'DefaultDimensionValue') };
          })
        : dims,
    };
  }
  const fh = obj(d, 'KinesisFirehoseDestination');
  if (fh) def.firehose = { iamRoleArn: str(fh, 'IamRoleArn'), deliveryStreamArn: str(fh, 'DeliveryStreamArn') };
  const pinpoint = obj(d, 'PinpointDestination');
  if (pinpoint) def.pinpoint = pinpoint;
  return def;
}

/** One entry of GetConfigurationSetEventDestinations' `EventDestinations`. */
export function eventDestinationView(d: EventDestination): Record<string, unknown> {
  const out: Record<string, unknown> = { Name: d.name, Enabled: d.enabled, MatchingEventTypes: d.matchingEventTypes };
  if (d.sns) out.SnsDestination = { TopicArn: d.sns.topicArn };
  if (d.eventBridge) out.EventBridgeDestination = { EventBusArn: d.eventBridge.eventBusArn };
  if (d.cloudWatch) {
    out.CloudWatchDestination = {
      DimensionConfigurations: d.cloudWatch.dimensions.map((x) => ({ DimensionName: x.name, DimensionValueSource: x.source, DefaultDimensionValue: x.defaultValue })),
    };
  }
  if (d.firehose) out.KinesisFirehoseDestination = { IamRoleArn: d.firehose.iamRoleArn, DeliveryStreamArn: d.firehose.deliveryStreamArn };
  return out;
}
