/** ConfirmSubscription: TopicArn and the Token sent to the endpoint; returns the SubscriptionArn. */
import type { SnsAction } from '../context.ts';

export const confirmSubscription: SnsAction = {
  action: 'ConfirmSubscription',
  async handler({ core, principal, params }) {
    // AuthenticateOnUnsubscribe is accepted; every Unsubscribe through the API is authenticated anyway.
    params.boolean('AuthenticateOnUnsubscribe');
    const subscriptionArn = await core.topics.confirmSubscription(principal, params.string('TopicArn'), params.string('Token'));
    return { SubscriptionArn: subscriptionArn };
  },
};
