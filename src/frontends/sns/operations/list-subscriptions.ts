/** ListSubscriptions: the account's subscriptions, 100 per page. */
import type { SnsAction } from '../context.ts';
import { subscriptionMembers } from './subscription-view.ts';

export const listSubscriptions: SnsAction = {
  action: 'ListSubscriptions',
  async handler({ core, principal, params }) {
    const r = await core.topics.listSubscriptions(principal, params.string('NextToken'));
    return { Subscriptions: subscriptionMembers(r.subscriptions), NextToken: r.nextToken };
  },
};
