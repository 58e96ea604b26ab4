/** CreateEmailTemplate: `POST /v2/email/templates` with `{TemplateName, TemplateContent, Tags}`. */
import { badRequest } from '../../../core/index.ts';
import type { V2Operation } from '../router.ts';
import { obj } from '../validate.ts';
import { templateContent } from './content.ts';

/** The operation. */
export const createEmailTemplate: V2Operation = {
  name: 'CreateEmailTemplate',
  method: 'POST',
  path: '/v2/email/templates',
  async handler({ core, principal, body }) {
    const content = obj(body, 'TemplateContent');
    if (!content) throw badRequest('TemplateContent is required.');
    // Templates are not a taggable resource here yet (TagResource would not find them); refusing
    // tags is better than dropping them without a word.
    if (Array.isArray(body.Tags) ? body.Tags.length > 0 : body.Tags !== undefined && body.Tags !== null) {
      throw badRequest('Tags on email templates are not supported by this Sesame version; create the template without Tags.');
    }
    await core.templates.create(principal, body.TemplateName, templateContent(content));
    return {};
  },
};
