/** Subscribe: an http or https endpoint; `pending confirmation` until it confirms, unless ReturnSubscriptionArn. */
import type { SnsAction } from '../context.ts';
import { attributesParam } from './params.ts';

export const subscribe: SnsAction = {
  action: 'Subscribe',
  async handler({ core, principal, params }) {
    const subscriptionArn = await core.topics.subscribe(principal, {
      topicArn: params.string('TopicArn'),
      protocol: params.string('Protocol'),
      endpoint: params.string('Endpoint'),
      attributes: attributesParam(params),
      returnSubscriptionArn: params.boolean('ReturnSubscriptionArn'),
    });
    return { SubscriptionArn: subscriptionArn };
  },
};
