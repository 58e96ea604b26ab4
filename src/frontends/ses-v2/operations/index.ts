/** Every SES v2 operation Sesame serves. */
import type { V2Operation } from '../router.ts';
import { createEmailIdentity } from './create-email-identity.ts';
import { deleteEmailIdentity } from './delete-email-identity.ts';
import { getEmailIdentity } from './get-email-identity.ts';
import { listEmailIdentities, listEmailIdentitiesPost } from './list-email-identities.ts';
import { listTagsForResource } from './list-tags-for-resource.ts';
import { putEmailIdentityDkimAttributes } from './put-email-identity-dkim-attributes.ts';
import { putEmailIdentityDkimSigningAttributes } from './put-email-identity-dkim-signing-attributes.ts';
import { putEmailIdentityMailFromAttributes } from './put-email-identity-mail-from-attributes.ts';
import { sendEmail } from './send-email.ts';
import { tagResource } from './tag-resource.ts';
import { untagResource } from './untag-resource.ts';

/** The operation table. */
export const operations: V2Operation[] = [
  createEmailIdentity,
  getEmailIdentity,
  listEmailIdentities,
  listEmailIdentitiesPost,
  deleteEmailIdentity,
  putEmailIdentityDkimAttributes,
  putEmailIdentityDkimSigningAttributes,
  putEmailIdentityMailFromAttributes,
  sendEmail,
  tagResource,
  untagResource,
  listTagsForResource,
];
