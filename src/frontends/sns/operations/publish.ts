/**
 * Publish: to a topic (TopicArn or TargetArn), with Subject, MessageStructure=json and
 * MessageAttributes; returns the MessageId. SMS (PhoneNumber) and FIFO parameters are refused.
 */
import { badRequest } from '../../../core/index.ts';
import type { SnsAction } from '../context.ts';

export const publish: SnsAction = {
  action: 'Publish',
  async handler({ core, principal, params }) {
    if (params.string('PhoneNumber') !== undefined) throw badRequest('Invalid parameter: PhoneNumber Reason: Sesame does not send SMS; publish to a topic with TopicArn');
    for (const fifo of ['MessageGroupId', 'MessageDeduplicationId']) {
      if (params.string(fifo) !== undefined) throw badRequest(`Invalid parameter: ${fifo} Reason: The request includes ${fifo} parameter that is not valid for this topic type (Sesame has no FIFO topics)`);
    }
    const attributes = params.entries('MessageAttributes', 'Name', ['Value.DataType', 'Value.StringValue', 'Value.BinaryValue']);
    const messageId = await core.topics.publish(principal, {
      topicArn: params.string('TopicArn'),
      targetArn: params.string('TargetArn'),
      message: params.string('Message'),
      subject: params.string('Subject'),
      messageStructure: params.string('MessageStructure'),
      messageAttributes: Object.fromEntries(
        attributes.map((a) => [a.key, { dataType: a.values['Value.DataType'], stringValue: a.values['Value.StringValue'], binaryValue: a.values['Value.BinaryValue'] }]),
      ),
    });
    return { MessageId: messageId };
  },
};
