/**
 * The v1 `Template` structure (M1: TemplateName, SubjectPart, TextPart, HtmlPart) read for
 * CreateTemplate and UpdateTemplate, and the template a v1 templated send names (`Template` or
 * `TemplateArn`), shared by SendTemplatedEmail and SendBulkTemplatedEmail.
 */
import { badRequest, type TemplateContent, type TemplateRef } from '../../../core/index.ts';
import type { QueryParams } from '../query.ts';

/** `Template.TemplateName` and the parts; name and content rules (size, Handlebars syntax) are core's. */
export function templateInput(params: QueryParams): { name: string | undefined; content: TemplateContent } {
  return {
    name: params.string('Template.TemplateName'),
    content: {
      subject: params.string('Template.SubjectPart'),
      text: params.string('Template.TextPart'),
      html: params.string('Template.HtmlPart'),
    },
  };
}

/**
 * The stored template a send uses. M1 marks `Template` required and documents `TemplateArn` beside
 * it; when both are given the ARN decides, since it is the more specific reference (core checks that
 * it names a template of this account and region).
 */
export function templateRef(params: QueryParams): TemplateRef {
  const arn = params.string('TemplateArn');
  if (arn !== undefined && arn !== '') return { arn };
  const name = params.string('Template');
  if (name === undefined || name === '') throw badRequest('Template is required: give the name of a stored template (or its TemplateArn).');
  return { name };
}
