/** GetEmailTemplate: `GET /v2/email/templates/{TemplateName}`. */
import type { V2Operation } from '../router.ts';

/** The operation. */
export const getEmailTemplate: V2Operation = {
  name: 'GetEmailTemplate',
  method: 'GET',
  path: '/v2/email/templates/:TemplateName',
  async handler({ core, principal, params }) {
    const t = await core.templates.get(principal, params.TemplateName);
    // Absent parts stay absent (JSON drops undefined), as SES returns only the parts a template has.
    return { TemplateName: t.name, TemplateContent: { Subject: t.content.subject, Text: t.content.text, Html: t.content.html } };
  },
};
