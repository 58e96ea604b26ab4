/**
 * SES's event-publishing records (developer guide "event-publishing-retrieving-sns-contents"): one
 * object per event with `eventType`, the `mail` object of the message, and one sub-object per type.
 * Core builds them here, stores them in the outbox in the same transaction as the state change, and
 * later capabilities publish the same objects to destinations.
 */

/** SES's `mail` object, captured once at acceptance and stored with the message. */
export interface MailObject {
  timestamp: string;
  source: string;
  sourceArn: string;
  sendingAccountId: string;
  messageId: string;
  destination: string[];
  headersTruncated: boolean;
  headers: Array<{ name: string; value: string }>;
  commonHeaders: Record<string, unknown>;
  tags: Record<string, string[]>;
}

/** Event types SES publishes (eventType values; note the space in "Rendering Failure"). */
export type EventType = 'Send' | 'Reject' | 'Bounce' | 'Complaint' | 'Delivery' | 'Open' | 'Click' | 'Rendering Failure' | 'DeliveryDelay' | 'Subscription';

const iso = (ms: number) => new Date(ms).toISOString();

/** A Send event. */
export function sendEvent(mail: MailObject): Record<string, unknown> {
  return { eventType: 'Send', mail, send: {} };
}

/** A Delivery event for one recipient. */
export function deliveryEvent(mail: MailObject, a: { at: number; recipients: string[]; smtpResponse: string; reportingMTA: string; remoteMtaIp?: string; acceptedAt: number }): Record<string, unknown> {
  return {
    eventType: 'Delivery',
    mail,
    delivery: {
      timestamp: iso(a.at),
      processingTimeMillis: a.at - a.acceptedAt,
      recipients: a.recipients,
      smtpResponse: a.smtpResponse,
      reportingMTA: a.reportingMTA,
      ...(a.remoteMtaIp ? { remoteMtaIp: a.remoteMtaIp } : {}),
    },
  };
}

/** Bounce types and subtypes (SES notification contents). */
export type BounceType = { bounceType: 'Permanent'; bounceSubType: 'General' | 'NoEmail' | 'Suppressed' | 'OnAccountSuppressionList' } | { bounceType: 'Transient'; bounceSubType: 'General' | 'MailboxFull' | 'MessageTooLarge' | 'ContentRejected' | 'AttachmentRejected' } | { bounceType: 'Undetermined'; bounceSubType: 'Undetermined' };

/** A Bounce event. */
export function bounceEvent(
  mail: MailObject,
  a: BounceType & { at: number; feedbackId: string; recipients: Array<{ emailAddress: string; action?: string; status?: string; diagnosticCode?: string }>; reportingMTA?: string; remoteMtaIp?: string },
): Record<string, unknown> {
  return {
    eventType: 'Bounce',
    mail,
    bounce: {
      bounceType: a.bounceType,
      bounceSubType: a.bounceSubType,
      bouncedRecipients: a.recipients,
      timestamp: iso(a.at),
      feedbackId: a.feedbackId,
      ...(a.reportingMTA ? { reportingMTA: a.reportingMTA } : {}),
      ...(a.remoteMtaIp ? { remoteMtaIp: a.remoteMtaIp } : {}),
    },
  };
}

/** A DeliveryDelay event. */
export function deliveryDelayEvent(
  mail: MailObject,
  a: { at: number; delayType: string; expirationTime: number; recipients: Array<{ emailAddress: string; status: string; diagnosticCode: string }>; reportingMTA: string },
): Record<string, unknown> {
  return {
    eventType: 'DeliveryDelay',
    mail,
    deliveryDelay: { timestamp: iso(a.at), delayType: a.delayType, expirationTime: iso(a.expirationTime), delayedRecipients: a.recipients, reportingMTA: a.reportingMTA },
  };
}

/** A Rendering Failure event: the template could not be rendered with the data given, nothing was sent. */
export function renderingFailureEvent(mail: MailObject, a: { templateName: string; errorMessage: string }): Record<string, unknown> {
  return { eventType: 'Rendering Failure', mail, failure: { templateName: a.templateName, errorMessage: a.errorMessage } };
}

/**
 * A Complaint event (developer guide "notification-contents", complaint object): `complaintSubType`
 * is null for a complaint from a feedback report; `userAgent`, `complaintFeedbackType` and
 * `arrivalDate` (ISO 8601) appear only when the report gave them.
 */
export function complaintEvent(
  mail: MailObject,
  a: { at: number; feedbackId: string; recipients: string[]; feedbackType?: string; userAgent?: string; arrivalDate?: string; complaintSubType?: 'OnAccountSuppressionList' | null },
): Record<string, unknown> {
  return {
    eventType: 'Complaint',
    mail,
    complaint: {
      complainedRecipients: a.recipients.map((emailAddress) => ({ emailAddress })),
      timestamp: iso(a.at),
      feedbackId: a.feedbackId,
      complaintSubType: a.complaintSubType ?? null,
      ...(a.userAgent ? { userAgent: a.userAgent } : {}),
      ...(a.feedbackType ? { complaintFeedbackType: a.feedbackType } : {}),
      ...(a.arrivalDate ? { arrivalDate: a.arrivalDate } : {}),
    },
  };
}
