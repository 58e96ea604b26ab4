/**
 * XML for the SES v1 Query protocol (namespace http://ses.amazonaws.com/doc/2010-12-01/): lists are
 * `<member>` elements, maps are `<entry><key/><value/></entry>`, booleans `true`/`false`, timestamps
 * ISO-8601, as botocore's query serializer model describes them.
 */

/** The SES v1 XML namespace. */
export const SES_NS = 'http://ses.amazonaws.com/doc/2010-12-01/';

/** A map value, serialised as entry/key/value. */
export class XmlMap {
  constructor(readonly entries: Array<[string, XmlValue]>) {}
}

/** A timestamp value. */
export class XmlDate {
  constructor(readonly ms: number) {}
}

/** Anything the serialiser accepts. */
export type XmlValue = string | number | boolean | undefined | null | XmlMap | XmlDate | XmlValue[] | { [k: string]: XmlValue };

/** Escapes text for element content. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function render(v: XmlValue): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return escapeXml(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof XmlDate) return new Date(v.ms).toISOString();
  if (v instanceof XmlMap) return v.entries.map(([k, val]) => `<entry><key>${escapeXml(k)}</key><value>${render(val)}</value></entry>`).join('');
  if (Array.isArray(v)) return v.map((item) => `<member>${render(item)}</member>`).join('');
  return Object.entries(v)
    .filter(([, val]) => val !== undefined && val !== null)
    .map(([k, val]) => `<${k}>${render(val)}</${k}>`)
    .join('');
}

/** A success response: `<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…`. */
export function xmlResponse(action: string, result: Record<string, XmlValue> | undefined, requestId: string): string {
  const body = result && Object.keys(result).length > 0 ? `<${action}Result>${render(result)}</${action}Result>` : `<${action}Result/>`;
  return `<${action}Response xmlns="${SES_NS}">${body}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
}

/** An error response in the Query protocol's ErrorResponse shape. */
export function xmlError(type: 'Sender' | 'Receiver', code: string, message: string, requestId: string): string {
  return `<ErrorResponse xmlns="${SES_NS}"><Error><Type>${type}</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}
