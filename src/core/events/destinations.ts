/**
 * Event destinations of a configuration set (SES v2 `EventDestinationDefinition`), as core stores
 * them inside the set. Each names exactly one target: a Sesame topic (SnsDestination), an event
 * bus webhook (EventBridgeDestination), Prometheus counters (CloudWatchDestination) or a stream
 * file (KinesisFirehoseDestination).
 */

/** SES v2 `EventType` values (upper case; v1 uses camelCase names of the same types). */
export const EVENT_TYPE_NAMES = ['SEND', 'REJECT', 'BOUNCE', 'COMPLAINT', 'DELIVERY', 'OPEN', 'CLICK', 'RENDERING_FAILURE', 'DELIVERY_DELAY', 'SUBSCRIPTION'] as const;

/** One SES v2 `EventType`. */
export type EventTypeName = (typeof EVENT_TYPE_NAMES)[number];

/** Where a CloudWatch dimension's value comes from (SES's DimensionValueSource). */
export type DimensionValueSource = 'MESSAGE_TAG' | 'EMAIL_HEADER' | 'LINK_TAG';

/** One CloudWatch dimension: a Prometheus label of the event counter. */
export interface DimensionConfiguration {
  name: string;
  source: DimensionValueSource;
  defaultValue: string;
}

/** An event destination as stored. */
export interface EventDestination {
  name: string;
  enabled: boolean;
  matchingEventTypes: EventTypeName[];
  sns?: { topicArn: string };
  eventBridge?: { eventBusArn: string };
  cloudWatch?: { dimensions: DimensionConfiguration[] };
  firehose?: { deliveryStreamArn: string; iamRoleArn: string };
}

/** The SES eventType (as in the JSON of an event) of each v2 EventType. */
export const EVENT_TYPE_OF: Record<EventTypeName, string> = {
  SEND: 'Send',
  REJECT: 'Reject',
  BOUNCE: 'Bounce',
  COMPLAINT: 'Complaint',
  DELIVERY: 'Delivery',
  OPEN: 'Open',
  CLICK: 'Click',
  RENDERING_FAILURE: 'Rendering Failure',
  DELIVERY_DELAY: 'DeliveryDelay',
  SUBSCRIPTION: 'Subscription',
};

/** v1 names of the event types (MatchingEventTypes of SES v1: send, reject, bounce, …). */
export const V1_EVENT_TYPE: Record<EventTypeName, string> = {
  SEND: 'send',
  REJECT: 'reject',
  BOUNCE: 'bounce',
  COMPLAINT: 'complaint',
  DELIVERY: 'delivery',
  OPEN: 'open',
  CLICK: 'click',
  RENDERING_FAILURE: 'renderingFailure',
  DELIVERY_DELAY: 'deliveryDelay',
  SUBSCRIPTION: 'subscription',
};

/** Identity notification settings (v1 SetIdentityNotificationTopic and friends), stored in the identity. */
export interface IdentityNotifications {
  /** Topic ARNs per notification type. */
  bounceTopic?: string;
  complaintTopic?: string;
  deliveryTopic?: string;
  /** Whether the notification's `mail` object carries the headers (default false). */
  headersInBounce?: boolean;
  headersInComplaint?: boolean;
  headersInDelivery?: boolean;
}
