/** SetTopicAttributes: DisplayName, Policy or DeliveryPolicy. */
import type { SnsAction } from '../context.ts';

export const setTopicAttributes: SnsAction = {
  action: 'SetTopicAttributes',
  async handler({ core, principal, params }) {
    await core.topics.setTopicAttributes(principal, params.string('TopicArn'), params.string('AttributeName'), params.string('AttributeValue'));
    return undefined;
  },
};
