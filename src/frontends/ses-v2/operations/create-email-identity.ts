/** CreateEmailIdentity: `POST /v2/email/identities`. */
import type { V2Operation } from '../router.ts';
import { dkimView, verifiedForSending } from '../../../core/index.ts';
import { obj, str } from '../validate.ts';

/** The operation. */
export const createEmailIdentity: V2Operation = {
  name: 'CreateEmailIdentity',
  method: 'POST',
  path: '/v2/email/identities',
  async handler({ core, principal, body }) {
    const EmailIdentity = str(body, 'EmailIdentity', { required: true, max: 320 });
    const dkim = obj(body, 'DkimSigningAttributes');
    const identity = await core.identities.create(principal, {
      EmailIdentity,
      Tags: body.Tags as never,
      ConfigurationSetName: str(body, 'ConfigurationSetName'),
      DkimSigningAttributes: dkim
        ? {
            DomainSigningSelector: str(dkim, 'DomainSigningSelector'),
            DomainSigningPrivateKey: str(dkim, 'DomainSigningPrivateKey'),
            NextSigningKeyLength: str(dkim, 'NextSigningKeyLength'),
          }
        : undefined,
    });
    return { IdentityType: identity.type, VerifiedForSendingStatus: verifiedForSending(identity), DkimAttributes: dkimView(identity) };
  },
};
