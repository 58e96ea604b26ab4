/** ListTopics: 100 topic ARNs per page. */
import type { SnsAction } from '../context.ts';

export const listTopics: SnsAction = {
  action: 'ListTopics',
  async handler({ core, principal, params }) {
    const r = await core.topics.listTopics(principal, params.string('NextToken'));
    return { Topics: r.topicArns.map((arn) => ({ TopicArn: arn })), NextToken: r.nextToken };
  },
};
