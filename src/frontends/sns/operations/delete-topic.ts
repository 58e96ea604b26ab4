/** DeleteTopic: removes the topic, its subscriptions and their pending deliveries (idempotent). */
import type { SnsAction } from '../context.ts';

export const deleteTopic: SnsAction = {
  action: 'DeleteTopic',
  async handler({ core, principal, params }) {
    await core.topics.deleteTopic(principal, params.string('TopicArn'));
    return undefined;
  },
};
