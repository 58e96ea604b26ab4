/** DeleteEmailTemplate: `DELETE /v2/email/templates/{TemplateName}`. */
import type { V2Operation } from '../router.ts';

/** The operation. */
export const deleteEmailTemplate: V2Operation = {
  name: 'DeleteEmailTemplate',
  method: 'DELETE',
  path: '/v2/email/templates/:TemplateName',
  async handler({ core, principal, params }) {
    await core.templates.delete(principal, params.TemplateName);
    return {};
  },
};
