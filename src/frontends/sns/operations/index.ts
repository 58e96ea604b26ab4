/** Every SNS action Sesame serves, one file per action. */
import type { SnsAction } from '../context.ts';
import { confirmSubscription } from './confirm-subscription.ts';
import { createTopic } from './create-topic.ts';
import { deleteTopic } from './delete-topic.ts';
import { getTopicAttributes } from './get-topic-attributes.ts';
import { listSubscriptionsByTopic } from './list-subscriptions-by-topic.ts';
import { listSubscriptions } from './list-subscriptions.ts';
import { listTopics } from './list-topics.ts';
import { publish } from './publish.ts';
import { setTopicAttributes } from './set-topic-attributes.ts';
import { subscribe } from './subscribe.ts';
import { unsubscribe } from './unsubscribe.ts';

/** The actions, by name. */
export const actions: SnsAction[] = [
  createTopic,
  deleteTopic,
  listTopics,
  getTopicAttributes,
  setTopicAttributes,
  subscribe,
  confirmSubscription,
  unsubscribe,
  listSubscriptions,
  listSubscriptionsByTopic,
  publish,
];
