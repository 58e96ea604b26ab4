/**
 * The v1 identity actions: VerifyDomainIdentity, VerifyDomainDkim, VerifyEmailIdentity,
 * VerifyEmailAddress, ListIdentities, ListVerifiedEmailAddresses, GetIdentityVerificationAttributes,
 * GetIdentityDkimAttributes, GetIdentityMailFromDomainAttributes, DeleteIdentity,
 * DeleteVerifiedEmailAddress, SetIdentityMailFromDomain, SetIdentityDkimEnabled.
 */
import { badRequest, type Identity } from '../../../core/index.ts';
import type { V1Action } from '../handler.ts';
import { XmlMap, type XmlValue } from '../xml.ts';
import { v1Enum, v2Behavior } from './status.ts';

function mapOf(found: Map<string, Identity>, view: (i: Identity) => XmlValue): XmlMap {
  return new XmlMap([...found.entries()].map(([k, i]) => [k, view(i)]));
}

/** The v1 identity actions. */
export const identityActions: V1Action[] = [
  {
    action: 'VerifyDomainIdentity',
    async handler({ core, principal, params }) {
      return { VerificationToken: await core.identities.verifyDomainIdentity(principal, params.string('Domain', { required: true })) };
    },
  },
  {
    action: 'VerifyDomainDkim',
    async handler({ core, principal, params }) {
      return { DkimTokens: await core.identities.verifyDomainDkim(principal, params.string('Domain', { required: true })) };
    },
  },
  {
    action: 'VerifyEmailIdentity',
    async handler({ core, principal, params }) {
      await core.identities.verifyEmailIdentity(principal, params.string('EmailAddress', { required: true }));
      return undefined;
    },
  },
  {
    action: 'VerifyEmailAddress',
    async handler({ core, principal, params }) {
      await core.identities.verifyEmailIdentity(principal, params.string('EmailAddress', { required: true }), 'ses:VerifyEmailAddress');
      return undefined;
    },
  },
  {
    action: 'ListIdentities',
    async handler({ core, principal, params }) {
      const t = params.string('IdentityType');
      if (t !== undefined && t !== 'EmailAddress' && t !== 'Domain') throw badRequest(`Invalid IdentityType ${t}; use EmailAddress or Domain.`);
      const page = await core.identities.list(principal, {
        nextToken: params.string('NextToken'),
        pageSize: params.integer('MaxItems', 1, 1000) ?? 1000,
        type: t === 'EmailAddress' ? 'EMAIL_ADDRESS' : t === 'Domain' ? 'DOMAIN' : undefined,
        action: 'ses:ListIdentities',
      });
      return { Identities: page.items.map((i) => i.name), NextToken: page.nextToken };
    },
  },
  {
    action: 'ListVerifiedEmailAddresses',
    async handler({ core, principal }) {
      const out: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await core.identities.list(principal, { nextToken, pageSize: 1000, type: 'EMAIL_ADDRESS', action: 'ses:ListVerifiedEmailAddresses' });
        out.push(...page.items.filter((i) => i.verificationStatus === 'SUCCESS').map((i) => i.name));
        nextToken = page.nextToken;
      } while (nextToken);
      return { VerifiedEmailAddresses: out };
    },
  },
  {
    action: 'GetIdentityVerificationAttributes',
    async handler({ core, principal, params }) {
      const found = await core.identities.getMany(principal, params.list('Identities'), 'ses:GetIdentityVerificationAttributes');
      return {
        VerificationAttributes: mapOf(found, (i) => ({ VerificationStatus: v1Enum(i.verificationStatus), VerificationToken: i.data.verificationToken })),
      };
    },
  },
  {
    action: 'GetIdentityDkimAttributes',
    async handler({ core, principal, params }) {
      const found = await core.identities.getMany(principal, params.list('Identities'), 'ses:GetIdentityDkimAttributes');
      return {
        DkimAttributes: mapOf(found, (i) => ({
          DkimEnabled: i.data.dkim?.signingEnabled ?? false,
          DkimVerificationStatus: v1Enum(i.data.dkim?.status ?? 'NOT_STARTED'),
          DkimTokens: i.data.dkim?.origin === 'AWS_SES' ? i.data.dkim.keys.map((k) => k.selector) : undefined,
        })),
      };
    },
  },
  {
    action: 'GetIdentityMailFromDomainAttributes',
    async handler({ core, principal, params }) {
      const found = await core.identities.getMany(principal, params.list('Identities'), 'ses:GetIdentityMailFromDomainAttributes');
      return {
        MailFromDomainAttributes: mapOf(found, (i) =>
          i.data.mailFrom
            ? { MailFromDomain: i.data.mailFrom.domain, MailFromDomainStatus: v1Enum(i.data.mailFrom.status), BehaviorOnMXFailure: v1Enum(i.data.mailFrom.behaviorOnMxFailure) }
            : { BehaviorOnMXFailure: 'UseDefaultValue' },
        ),
      };
    },
  },
  {
    action: 'DeleteIdentity',
    async handler({ core, principal, params }) {
      await core.identities.delete(principal, params.string('Identity', { required: true }), { action: 'ses:DeleteIdentity', ifExists: true });
      return undefined;
    },
  },
  {
    action: 'DeleteVerifiedEmailAddress',
    async handler({ core, principal, params }) {
      await core.identities.delete(principal, params.string('EmailAddress', { required: true }), { action: 'ses:DeleteVerifiedEmailAddress', ifExists: true });
      return undefined;
    },
  },
  {
    action: 'SetIdentityMailFromDomain',
    async handler({ core, principal, params }) {
      await core.identities.putMailFrom(
        principal,
        params.string('Identity', { required: true }),
        params.string('MailFromDomain'),
        v2Behavior(params.string('BehaviorOnMXFailure')),
        'ses:SetIdentityMailFromDomain',
      );
      return undefined;
    },
  },
  {
    action: 'SetIdentityDkimEnabled',
    async handler({ core, principal, params }) {
      await core.identities.setDkimSigning(principal, params.string('Identity', { required: true }), params.boolean('DkimEnabled', { required: true }), 'ses:SetIdentityDkimEnabled');
      return undefined;
    },
  },
];
