/** CreateTopic: idempotent for the same name; Attributes (DisplayName, Policy, DeliveryPolicy) and Tags. */
import type { SnsAction } from '../context.ts';
import { attributesParam, tagsParam } from './params.ts';

export const createTopic: SnsAction = {
  action: 'CreateTopic',
  async handler({ core, principal, params }) {
    const topicArn = await core.topics.createTopic(principal, { name: params.string('Name'), attributes: attributesParam(params), tags: tagsParam(params) });
    return { TopicArn: topicArn };
  },
};
