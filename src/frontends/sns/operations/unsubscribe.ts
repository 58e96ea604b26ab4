/** Unsubscribe: deletes the subscription; a confirmed endpoint gets an UnsubscribeConfirmation. */
import type { SnsAction } from '../context.ts';

export const unsubscribe: SnsAction = {
  action: 'Unsubscribe',
  async handler({ core, principal, params }) {
    await core.topics.unsubscribe(principal, params.string('SubscriptionArn'));
    return undefined;
  },
};
