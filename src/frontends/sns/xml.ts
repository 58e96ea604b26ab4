/**
 * XML of the SNS Query protocol (namespace http://sns.amazonaws.com/doc/2010-03-31/): the shared
 * Query XML writer (src/lib/xml.ts) with SNS's namespace. Actions without a result (DeleteTopic,
 * SetTopicAttributes, Unsubscribe) answer with ResponseMetadata only, as SNS does.
 */
import { queryError, queryResponse, type XmlValue } from '../../lib/xml.ts';

export { XmlMap, type XmlValue } from '../../lib/xml.ts';

/** The SNS XML namespace. */
export const SNS_NS = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** A success response: `<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…`. */
export function snsResponse(action: string, result: Record<string, XmlValue> | undefined, requestId: string): string {
  return queryResponse(SNS_NS, action, result, requestId, 'omit');
}

/** An SNS `ErrorResponse`. */
export function snsError(type: 'Sender' | 'Receiver', code: string, message: string, requestId: string): string {
  return queryError(SNS_NS, type, code, message, requestId);
}
