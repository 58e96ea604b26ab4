/** CreateTemplate (v1): `Template.TemplateName`, `Template.SubjectPart`, `.TextPart`, `.HtmlPart`; AlreadyExists when the name is taken. */
import type { V1Action } from '../handler.ts';
import { templateInput } from './template-content.ts';

/** The action. */
export const createTemplate: V1Action = {
  action: 'CreateTemplate',
  async handler({ core, principal, params }) {
    const t = templateInput(params);
    await core.templates.create(principal, t.name, t.content, 'ses:CreateTemplate');
    return undefined;
  },
};
