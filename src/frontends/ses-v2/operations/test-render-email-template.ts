/**
 * TestRenderEmailTemplate: `POST /v2/email/templates/{TemplateName}/render` with `{TemplateData}` →
 * `{RenderedTemplate}`, the whole MIME message. Values are not HTML-escaped, and a missing
 * attribute is a BadRequestException here (at send time it is a Rendering Failure event instead).
 */
import type { V2Operation } from '../router.ts';
import { str } from '../validate.ts';

/** The operation. */
export const testRenderEmailTemplate: V2Operation = {
  name: 'TestRenderEmailTemplate',
  method: 'POST',
  path: '/v2/email/templates/:TemplateName/render',
  async handler({ core, principal, params, body }) {
    // M2 marks TemplateData required.
    const data = str(body, 'TemplateData', { required: true });
    return { RenderedTemplate: await core.templates.testRender(principal, params.TemplateName, data) };
  },
};
