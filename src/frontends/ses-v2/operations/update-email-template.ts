/** UpdateEmailTemplate: `PUT /v2/email/templates/{TemplateName}` with `{TemplateContent}`. */
import { badRequest } from '../../../core/index.ts';
import type { V2Operation } from '../router.ts';
import { obj } from '../validate.ts';
import { templateContent } from './content.ts';

/** The operation. */
export const updateEmailTemplate: V2Operation = {
  name: 'UpdateEmailTemplate',
  method: 'PUT',
  path: '/v2/email/templates/:TemplateName',
  async handler({ core, principal, params, body }) {
    const content = obj(body, 'TemplateContent');
    if (!content) throw badRequest('TemplateContent is required.');
    await core.templates.update(principal, params.TemplateName, templateContent(content));
    return {};
  },
};
