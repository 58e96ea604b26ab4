/** GetTopicAttributes: the topic's attributes as an entry/key/value map. */
import type { SnsAction } from '../context.ts';
import { XmlMap } from '../xml.ts';

export const getTopicAttributes: SnsAction = {
  action: 'GetTopicAttributes',
  async handler({ core, principal, params }) {
    const attributes = await core.topics.getTopicAttributes(principal, params.string('TopicArn'));
    return { Attributes: new XmlMap(Object.entries(attributes)) };
  },
};
