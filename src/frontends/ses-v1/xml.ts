/**
 * XML for the SES v1 Query protocol (namespace http://ses.amazonaws.com/doc/2010-12-01/): the shared
 * Query XML writer (src/lib/xml.ts) with SES's namespace.
 */
import { queryError, queryResponse, type XmlValue } from '../../lib/xml.ts';

export { XmlDate, XmlMap, escapeXml, type XmlValue } from '../../lib/xml.ts';

/** The SES v1 XML namespace. */
export const SES_NS = 'http://ses.amazonaws.com/doc/2010-12-01/';

/** A success response: `<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…`. */
export function xmlResponse(action: string, result: Record<string, XmlValue> | undefined, requestId: string): string {
  return queryResponse(SES_NS, action, result, requestId);
}

/** An error response in the Query protocol's ErrorResponse shape. */
export function xmlError(type: 'Sender' | 'Receiver', code: string, message: string, requestId: string): string {
  return queryError(SES_NS, type, code, message, requestId);
}
