/**
 * Parsing of the message parts SendEmail and SendBulkEmail share: address lists, base64 blobs,
 * `MessageHeader` lists, `Attachment` lists, `MessageTag` lists, `EmailTemplateContent` and the
 * `Template` member (M2 shapes). Shape errors become BadRequestException naming the member; value
 * rules (tag characters, template syntax, header folding) are core's.
 */
import { badRequest, type AttachmentInput, type HeaderInput, type TemplateContent, type TemplateRef } from '../../../core/index.ts';
import { obj, str, type Body } from '../validate.ts';

/** SES v2: a message (or template) carries at most 15 custom headers (M2 `MessageHeaderList`). */
const MAX_HEADERS = 15;

/** An optional list of strings (address lists, ReplyToAddresses). */
export function strings(v: unknown, name: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw badRequest(`${name} must be a list of strings.`);
  return v as string[];
}

/** A base64 blob member (rest-json sends blobs as base64 strings). */
export function base64(v: unknown, name: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(v)) throw badRequest(`${name} must be base64-encoded.`);
  return Buffer.from(v, 'base64');
}

/** An optional list of an object's members, each checked to be an object. */
function objects(v: unknown, name: string, max?: number): Body[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || (max !== undefined && v.length > max)) throw badRequest(max === undefined ? `${name} must be a list.` : `${name} must be a list of at most ${max} items.`);
  return v.map((x) => {
    if (!x || typeof x !== 'object' || Array.isArray(x)) throw badRequest(`Each item of ${name} must be an object.`);
    return x as Body;
  });
}

/** A `MessageHeaderList` (`[{Name, Value}]`, at most 15). */
export function headers(v: unknown, name: string): HeaderInput[] {
  return objects(v, name, MAX_HEADERS).map((x) => ({ name: str(x, 'Name', { required: true }), value: str(x, 'Value', { required: true }) }));
}

/** An `AttachmentList`. */
export function attachments(v: unknown, name: string): AttachmentInput[] {
  return objects(v, name).map((x): AttachmentInput => {
    const disposition = str(x, 'ContentDisposition');
    if (disposition !== undefined && disposition !== 'ATTACHMENT' && disposition !== 'INLINE') throw badRequest('ContentDisposition must be ATTACHMENT or INLINE.');
    const enc = str(x, 'ContentTransferEncoding');
    if (enc !== undefined && !['BASE64', 'QUOTED_PRINTABLE', 'SEVEN_BIT'].includes(enc)) throw badRequest('ContentTransferEncoding must be BASE64, QUOTED_PRINTABLE or SEVEN_BIT.');
    return {
      content: base64(x.RawContent, `${name}.RawContent`),
      fileName: str(x, 'FileName', { required: true, max: 255 }),
      contentType: str(x, 'ContentType', { max: 78 }),
      disposition: disposition as AttachmentInput['disposition'],
      contentId: str(x, 'ContentId', { max: 78 }),
      description: str(x, 'ContentDescription', { max: 1000 }),
      transferEncoding: enc as AttachmentInput['transferEncoding'],
    };
  });
}

/** A `MessageTagList` (`[{Name, Value}]`); core checks the characters. */
export function messageTags(v: unknown, name: string): Array<{ name: string; value: string }> {
  if (v !== undefined && v !== null && !Array.isArray(v)) throw badRequest(`${name} must be a list of {Name, Value}.`);
  return objects(v, name).map((x) => ({ name: str(x, 'Name', { required: true }), value: str(x, 'Value', { required: true }) }));
}

/** An `EmailTemplateContent` (`{Subject, Text, Html}`); core checks that one part is there and that each compiles. */
export function templateContent(c: Body): TemplateContent {
  return { subject: str(c, 'Subject'), text: str(c, 'Text'), html: str(c, 'Html') };
}

/** What a `Template` member (SendEmail `Content.Template`, SendBulkEmail `DefaultContent.Template`) holds. */
export interface ParsedTemplate {
  template: TemplateRef;
  data?: string;
  headers: HeaderInput[];
  attachments: AttachmentInput[];
}

/**
 * A `Template`: exactly one of TemplateName, TemplateArn and TemplateContent (M2: the template is
 * named, given by ARN, or inline), plus TemplateData, Headers and Attachments. `where` names the
 * member in messages (e.g. `Content.Template`).
 */
export function template(t: Body, where: string): ParsedTemplate {
  const name = str(t, 'TemplateName');
  const arn = str(t, 'TemplateArn');
  const inline = obj(t, 'TemplateContent');
  const given = [name, arn, inline].filter((x) => x !== undefined).length;
  if (given !== 1) throw badRequest(`${where} must hold exactly one of TemplateName, TemplateArn or TemplateContent.`);
  const ref: TemplateRef = name !== undefined ? { name } : arn !== undefined ? { arn } : { inline: templateContent(inline!) };
  return {
    template: ref,
    data: str(t, 'TemplateData'),
    headers: headers(t.Headers, `${where}.Headers`),
    attachments: attachments(t.Attachments, `${where}.Attachments`),
  };
}
