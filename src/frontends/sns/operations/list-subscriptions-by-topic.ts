/** ListSubscriptionsByTopic: one topic's subscriptions, 100 per page. */
import type { SnsAction } from '../context.ts';
import { subscriptionMembers } from './subscription-view.ts';

export const listSubscriptionsByTopic: SnsAction = {
  action: 'ListSubscriptionsByTopic',
  async handler({ core, principal, params }) {
    const r = await core.topics.listSubscriptionsByTopic(principal, params.string('TopicArn'), params.string('NextToken'));
    return { Subscriptions: subscriptionMembers(r.subscriptions), NextToken: r.nextToken };
  },
};
