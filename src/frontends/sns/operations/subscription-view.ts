/** A subscription as SNS lists it (`<member>` with TopicArn, Protocol, SubscriptionArn, Owner, Endpoint). */
import type { XmlValue } from '../xml.ts';

/** The `<member>` elements of ListSubscriptions and ListSubscriptionsByTopic. */
export function subscriptionMembers(subs: Array<{ subscriptionArn: string; owner: string; protocol: string; endpoint: string; topicArn: string }>): XmlValue[] {
  return subs.map((s) => ({ TopicArn: s.topicArn, Protocol: s.protocol, SubscriptionArn: s.subscriptionArn, Owner: s.owner, Endpoint: s.endpoint }));
}
