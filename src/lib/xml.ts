/**
 * XML of the AWS Query protocol (SES v1, SNS): lists are `<member>` elements, maps are
 * `<entry><key/><value/></entry>`, booleans `true`/`false`, timestamps ISO-8601, as botocore's query
 * serializer model describes them. Each API passes its own namespace.
 */

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

/** The XML of a value (element content; members of an object become child elements, undefined ones are left out). */
export function renderXml(v: XmlValue): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return escapeXml(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof XmlDate) return new Date(v.ms).toISOString();
  if (v instanceof XmlMap) return v.entries.map(([k, val]) => `<entry><key>${escapeXml(k)}</key><value>${renderXml(val)}</value></entry>`).join('');
  if (Array.isArray(v)) return v.map((item) => `<member>${renderXml(item)}</member>`).join('');
  return Object.entries(v)
    .filter(([, val]) => val !== undefined && val !== null)
    .map(([k, val]) => `<${k}>${renderXml(val)}</${k}>`)
    .join('');
}

/**
 * A success response: `<ActionResponse xmlns><ActionResult>…</ActionResult><ResponseMetadata>…`.
 * Without a result, `emptyResult` decides between an empty `<ActionResult/>` and no element at all
 * (SNS answers DeleteTopic and friends with ResponseMetadata only).
 */
export function queryResponse(namespace: string, action: string, result: Record<string, XmlValue> | undefined, requestId: string, emptyResult: 'element' | 'omit' = 'element'): string {
  const body =
    result && Object.keys(result).length > 0 ? `<${action}Result>${renderXml(result)}</${action}Result>` : emptyResult === 'element' ? `<${action}Result/>` : '';
  return `<${action}Response xmlns="${namespace}">${body}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
}

/** An error response in the Query protocol's ErrorResponse shape. */
export function queryError(namespace: string, type: 'Sender' | 'Receiver', code: string, message: string, requestId: string): string {
  return `<ErrorResponse xmlns="${namespace}"><Error><Type>${type}</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}
