/**
 * SetIdentityFeedbackForwardingEnabled (v1): `Identity`, `ForwardingEnabled`. `false` needs SNS
 * topics for both Bounce and Complaint notifications first.
 */
import type { V1Action } from '../handler.ts';

/** The action. */
export const setIdentityFeedbackForwardingEnabled: V1Action = {
  action: 'SetIdentityFeedbackForwardingEnabled',
  async handler({ core, principal, params }) {
    await core.identities.setFeedbackForwarding(
      principal,
      params.string('Identity', { required: true }),
      params.boolean('ForwardingEnabled', { required: true }),
      'ses:SetIdentityFeedbackForwardingEnabled',
    );
    return undefined;
  },
};
