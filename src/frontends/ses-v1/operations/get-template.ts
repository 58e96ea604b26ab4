/** GetTemplate (v1): `TemplateName` → `Template{TemplateName, SubjectPart, TextPart, HtmlPart}`. */
import type { V1Action } from '../handler.ts';

/** The action. */
export const getTemplate: V1Action = {
  action: 'GetTemplate',
  async handler({ core, principal, params }) {
    const t = await core.templates.get(principal, params.string('TemplateName'), 'ses:GetTemplate');
    return { Template: { TemplateName: t.name, SubjectPart: t.content.subject, TextPart: t.content.text, HtmlPart: t.content.html } };
  },
};
