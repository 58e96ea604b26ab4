/**
 * The SES control headers an SMTP client puts in its message (SES Developer Guide,
 * event-publishing-send-email and sending-email-subscription-management):
 * `X-SES-CONFIGURATION-SET: name`, `X-SES-MESSAGE-TAGS: name1=value1, name2=value2` and
 * `X-SES-LIST-MANAGEMENT-OPTIONS: contactList; topic=topic`. They are read here and stripped by
 * core together with every other `X-SES-*` header before DKIM signing.
 */
import { badRequest } from '../../core/index.ts';
import { headerValue, headerValues, MimeError, splitMessage } from '../../lib/mime.ts';

/** What the headers ask for. */
export interface SesHeaders {
  /** Whether the message has a From header (else the envelope sender stands in for it). */
  hasFrom: boolean;
  configurationSetName?: string;
  tags: Array<{ name: string; value: string }>;
  /**
   * X-SES-LIST-MANAGEMENT-OPTIONS as given. Accepted and stripped, but not acted on: contact lists
   * and topics (list management) do not exist in Sesame yet, so no List-Unsubscribe is added.
   */
  listManagement?: string;
}

/**
 * Reads the control headers. A message whose header block cannot be parsed yields none; core then
 * refuses it with its own MessageRejected reason.
 */
export function readSesHeaders(data: Buffer): SesHeaders {
  let headers;
  try {
    headers = splitMessage(data).headers;
  } catch (err) {
    if (err instanceof MimeError) return { hasFrom: false, tags: [] };
    throw err;
  }
  const configurationSetName = headerValue(headers, 'X-SES-CONFIGURATION-SET');
  const listManagement = headerValue(headers, 'X-SES-LIST-MANAGEMENT-OPTIONS');
  return {
    hasFrom: headerValue(headers, 'From') !== undefined,
    ...(configurationSetName ? { configurationSetName } : {}),
    tags: headerValues(headers, 'X-SES-MESSAGE-TAGS').flatMap(parseTags),
    ...(listManagement ? { listManagement } : {}),
  };
}

/** `name1=value1, name2=value2` → tags; names and values are checked by core (ASCII letters, digits, `_`, `-`). */
export function parseTags(value: string): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const part of value.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw badRequest(`Invalid X-SES-MESSAGE-TAGS header: "${item.slice(0, 100)}" is not name=value (give name1=value1, name2=value2).`);
    out.push({ name: item.slice(0, eq).trim(), value: item.slice(eq + 1).trim() });
  }
  return out;
}
