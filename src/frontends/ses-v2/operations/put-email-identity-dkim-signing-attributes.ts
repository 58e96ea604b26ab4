/** PutEmailIdentityDkimSigningAttributes: `PUT /v2/email/identities/{EmailIdentity}/dkim/signing`. */
import type { V2Operation } from '../router.ts';
import { obj, str } from '../validate.ts';

/** The operation. */
export const putEmailIdentityDkimSigningAttributes: V2Operation = {
  name: 'PutEmailIdentityDkimSigningAttributes',
  method: 'PUT',
  path: '/v2/email/identities/:EmailIdentity/dkim/signing',
  async handler({ core, principal, params, body }) {
    const origin = str(body, 'SigningAttributesOrigin', { required: true });
    const attrs = obj(body, 'SigningAttributes');
    const identity = await core.identities.putDkimSigningAttributes(
      principal,
      params.EmailIdentity,
      origin,
      attrs
        ? {
            DomainSigningSelector: str(attrs, 'DomainSigningSelector'),
            DomainSigningPrivateKey: str(attrs, 'DomainSigningPrivateKey'),
            NextSigningKeyLength: str(attrs, 'NextSigningKeyLength'),
          }
        : undefined,
    );
    const dkim = identity.data.dkim!;
    const out: Record<string, unknown> = { DkimStatus: dkim.status };
    if (dkim.origin === 'AWS_SES') out.DkimTokens = dkim.keys.map((k) => k.selector);
    return out;
  },
};
