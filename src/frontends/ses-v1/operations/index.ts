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
import { createReceiptRuleSet } from './create-receipt-rule-set.ts';
import { cloneReceiptRuleSet } from './clone-receipt-rule-set.ts';
import { deleteReceiptRuleSet } from './delete-receipt-rule-set.ts';
import { describeReceiptRuleSet } from './describe-receipt-rule-set.ts';
import { listReceiptRuleSets } from './list-receipt-rule-sets.ts';
import { setActiveReceiptRuleSet } from './set-active-receipt-rule-set.ts';
import { describeActiveReceiptRuleSet } from './describe-active-receipt-rule-set.ts';
import { reorderReceiptRuleSet } from './reorder-receipt-rule-set.ts';
import { createReceiptRule } from './create-receipt-rule.ts';
import { updateReceiptRule } from './update-receipt-rule.ts';
import { deleteReceiptRule } from './delete-receipt-rule.ts';
import { describeReceiptRule } from './describe-receipt-rule.ts';
import { setReceiptRulePosition } from './set-receipt-rule-position.ts';
import { createReceiptFilter } from './create-receipt-filter.ts';
import { deleteReceiptFilter } from './delete-receipt-filter.ts';
import { listReceiptFilters } from './list-receipt-filters.ts';
import { sendBounce } from './send-bounce.ts';

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

/** Receiving: receipt rule sets, rules, IP filters, and SendBounce. */
const receivingActions: V1Action[] = [
  createReceiptRuleSet,
  cloneReceiptRuleSet,
  deleteReceiptRuleSet,
  describeReceiptRuleSet,
  listReceiptRuleSets,
  setActiveReceiptRuleSet,
  describeActiveReceiptRuleSet,
  reorderReceiptRuleSet,
  createReceiptRule,
  updateReceiptRule,
  deleteReceiptRule,
  describeReceiptRule,
  setReceiptRulePosition,
  createReceiptFilter,
  deleteReceiptFilter,
  listReceiptFilters,
  sendBounce,
];

/** The action table. */
export const actions: V1Action[] = [...identityActions, ...notificationActions, ...sendingActions, ...templatedSendingActions, ...templateActions, ...configurationSetActions, ...accountActions, ...receivingActions];
