/** Every SES v2 operation Sesame serves. */
import type { V2Operation } from '../router.ts';
import { createConfigurationSet } from './create-configuration-set.ts';
import { createConfigurationSetEventDestination } from './create-configuration-set-event-destination.ts';
import { createEmailIdentity } from './create-email-identity.ts';
import { createEmailTemplate } from './create-email-template.ts';
import { deleteConfigurationSet } from './delete-configuration-set.ts';
import { deleteConfigurationSetEventDestination } from './delete-configuration-set-event-destination.ts';
import { deleteEmailIdentity } from './delete-email-identity.ts';
import { deleteEmailTemplate } from './delete-email-template.ts';
import { deleteSuppressedDestination } from './delete-suppressed-destination.ts';
import { getAccount } from './get-account.ts';
import { getConfigurationSet } from './get-configuration-set.ts';
import { getConfigurationSetEventDestinations } from './get-configuration-set-event-destinations.ts';
import { getEmailIdentity } from './get-email-identity.ts';
import { getEmailTemplate } from './get-email-template.ts';
import { getSuppressedDestination } from './get-suppressed-destination.ts';
import { listConfigurationSets, listConfigurationSetsPost } from './list-configuration-sets.ts';
import { listEmailIdentities, listEmailIdentitiesPost } from './list-email-identities.ts';
import { listEmailTemplates } from './list-email-templates.ts';
import { listSuppressedDestinations } from './list-suppressed-destinations.ts';
import { listTagsForResource } from './list-tags-for-resource.ts';
import { putAccountDetails } from './put-account-details.ts';
import { putAccountSendingAttributes } from './put-account-sending-attributes.ts';
import { putAccountSuppressionAttributes } from './put-account-suppression-attributes.ts';
import { putConfigurationSetDeliveryOptions } from './put-configuration-set-delivery-options.ts';
import { putConfigurationSetReputationOptions } from './put-configuration-set-reputation-options.ts';
import { putConfigurationSetSendingOptions } from './put-configuration-set-sending-options.ts';
import { putConfigurationSetSuppressionOptions } from './put-configuration-set-suppression-options.ts';
import { putConfigurationSetTrackingOptions } from './put-configuration-set-tracking-options.ts';
import { putEmailIdentityConfigurationSetAttributes } from './put-email-identity-configuration-set-attributes.ts';
import { putEmailIdentityDkimAttributes } from './put-email-identity-dkim-attributes.ts';
import { putEmailIdentityDkimSigningAttributes } from './put-email-identity-dkim-signing-attributes.ts';
import { putEmailIdentityFeedbackAttributes } from './put-email-identity-feedback-attributes.ts';
import { putEmailIdentityMailFromAttributes } from './put-email-identity-mail-from-attributes.ts';
import { putSuppressedDestination } from './put-suppressed-destination.ts';
import { sendBulkEmail } from './send-bulk-email.ts';
import { sendEmail } from './send-email.ts';
import { tagResource } from './tag-resource.ts';
import { testRenderEmailTemplate } from './test-render-email-template.ts';
import { untagResource } from './untag-resource.ts';
import { updateConfigurationSetEventDestination } from './update-configuration-set-event-destination.ts';
import { updateEmailTemplate } from './update-email-template.ts';

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
  putEmailIdentityFeedbackAttributes,
  putEmailIdentityConfigurationSetAttributes,
  sendEmail,
  sendBulkEmail,
  createEmailTemplate,
  getEmailTemplate,
  listEmailTemplates,
  updateEmailTemplate,
  deleteEmailTemplate,
  testRenderEmailTemplate,
  createConfigurationSet,
  getConfigurationSet,
  listConfigurationSets,
  listConfigurationSetsPost,
  deleteConfigurationSet,
  putConfigurationSetDeliveryOptions,
  putConfigurationSetSendingOptions,
  putConfigurationSetSuppressionOptions,
  putConfigurationSetReputationOptions,
  putConfigurationSetTrackingOptions,
  createConfigurationSetEventDestination,
  getConfigurationSetEventDestinations,
  updateConfigurationSetEventDestination,
  deleteConfigurationSetEventDestination,
  getAccount,
  putAccountSendingAttributes,
  putAccountDetails,
  putAccountSuppressionAttributes,
  putSuppressedDestination,
  getSuppressedDestination,
  deleteSuppressedDestination,
  listSuppressedDestinations,
  tagResource,
  untagResource,
  listTagsForResource,
];
