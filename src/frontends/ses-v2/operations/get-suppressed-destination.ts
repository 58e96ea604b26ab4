/**
 * GetSuppressedDestination: `GET /v2/email/suppression/addresses/{EmailAddress}` (the SDK
 * percent-encodes the address; the router decodes path parameters).
 */
import type { V2Operation } from '../router.ts';
import { epochSeconds } from '../validate.ts';

/** The operation. */
export const getSuppressedDestination: V2Operation = {
  name: 'GetSuppressedDestination',
  method: 'GET',
  path: '/v2/email/suppression/addresses/:EmailAddress',
  async handler({ core, principal, params }) {
    const r = await core.suppression.get(principal, params.EmailAddress);
    const out: Record<string, unknown> = { EmailAddress: r.email, Reason: r.reason, LastUpdateTime: epochSeconds(r.lastUpdateTime) };
    // Entries added by a bounce or complaint name the message and feedback that caused them.
    const attributes: Record<string, string> = {};
    if (r.messageId) attributes.MessageId = r.messageId;
    if (r.feedbackId) attributes.FeedbackId = r.feedbackId;
    if (Object.keys(attributes).length > 0) out.Attributes = attributes;
    return { SuppressedDestination: out };
  },
};
