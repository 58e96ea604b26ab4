/** Every SES v1 action Sesame serves. */
import type { V1Action } from '../handler.ts';
import { identityActions } from './identities.ts';
import { sendingActions } from './sending.ts';
import { sendBulkTemplatedEmail } from './send-bulk-templated-email.ts';
import { sendTemplatedEmail } from './send-templated-email.ts';
import { createTemplate } from './create-template.ts';
import { deleteTemplate } from './delete-template.ts';
import { getTemplate } from './get-template.ts';
import { listTemplates } from './list-templates.ts';
import { testRenderTemplate } from './test-render-template.ts';
import { updateTemplate } from './update-template.ts';
import { createConfigurationSet } from './create-configuration-set.ts';
import { deleteConfigurationSet } from './delete-configuration-set.ts';
import { describeConfigurationSet } from './describe-configuration-set.ts';
import { listConfigurationSets } from './list-configuration-sets.ts';
import { putConfigurationSetDeliveryOptions } from './put-configuration-set-delivery-options.ts';
import { updateConfigurationSetReputationMetricsEnabled } from './update-configuration-set-reputation-metrics-enabled.ts';
import { updateConfigurationSetSendingEnabled } from './update-configuration-set-sending-enabled.ts';
import { getAccountSendingEnabled } from './get-account-sending-enabled.ts';
import { getSendQuota } from './get-send-quota.ts';
import { getSendStatistics } from './get-send-statistics.ts';
import { updateAccountSendingEnabled } from './update-account-sending-enabled.ts';
import { createConfigurationSetEventDestination } from './create-configuration-set-event-destination.ts';
import { updateConfigurationSetEventDestination } from './update-configuration-set-event-destination.ts';
import { deleteConfigurationSetEventDestination } from './delete-configuration-set-event-destination.ts';
import { createConfigurationSetTrackingOptions } from './create-configuration-set-tracking-options.ts';
import { updateConfigurationSetTrackingOptions } from './update-configuration-set-tracking-options.ts';
import { deleteConfigurationSetTrackingOptions } from './delete-configuration-set-tracking-options.ts';
import { setIdentityNotificationTopic } from './set-identity-notification-topic.ts';
import { setIdentityHeadersInNotificationsEnabled } from './set-identity-headers-in-notifications-enabled.ts';
import { setIdentityFeedbackForwardingEnabled } from './set-identity-feedback-forwarding-enabled.ts';
import { getIdentityNotificationAttributes } from './get-identity-notification-attributes.ts';

/** Templated sending (SendEmail and SendRawEmail are in sending.ts). */
const templatedSendingActions: V1Action[] = [sendTemplatedEmail, sendBulkTemplatedEmail];

/** Email templates. */
const templateActions: V1Action[] = [createTemplate, getTemplate, listTemplates, updateTemplate, deleteTemplate, testRenderTemplate];

/** Configuration sets. */
const configurationSetActions: V1Action[] = [
  createConfigurationSet,
  deleteConfigurationSet,
  describeConfigurationSet,
  listConfigurationSets,
  putConfigurationSetDeliveryOptions,
  updateConfigurationSetSendingEnabled,
  updateConfigurationSetReputationMetricsEnabled,
  createConfigurationSetEventDestination,
  updateConfigurationSetEventDestination,
  deleteConfigurationSetEventDestination,
  createConfigurationSetTrackingOptions,
  updateConfigurationSetTrackingOptions,
  deleteConfigurationSetTrackingOptions,
];

/** Identity notifications (SNS topics, headers, feedback forwarding). */
const notificationActions: V1Action[] = [setIdentityNotificationTopic, setIdentityHeadersInNotificationsEnabled, setIdentityFeedbackForwardingEnabled, getIdentityNotificationAttributes];

/** Account-level sending settings and statistics. */
const accountActions: V1Action[] = [getSendQuota, getSendStatistics, getAccountSendingEnabled, updateAccountSendingEnabled];

/** The action table. */
export const actions: V1Action[] = [...identityActions, ...notificationActions, ...sendingActions, ...templatedSendingActions, ...templateActions, ...configurationSetActions, ...accountActions];
