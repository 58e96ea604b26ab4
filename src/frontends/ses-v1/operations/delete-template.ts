/**
 * DeleteTemplate (v1). M1 declares no errors for it: deleting a template that does not exist
 * succeeds, as in SES, unlike v2 DeleteEmailTemplate (NotFoundException). Authorization still
 * applies: core checks the key's policy before it looks for the template.
 */
import { SesError } from '../../../core/index.ts';
import type { V1Action } from '../handler.ts';

/** The action. */
export const deleteTemplate: V1Action = {
  action: 'DeleteTemplate',
  async handler({ core, principal, params }) {
    try {
      await core.templates.delete(principal, params.string('TemplateName'), 'ses:DeleteTemplate');
    } catch (err) {
      if (!(err instanceof SesError && err.v1Code === 'TemplateDoesNotExist')) throw err;
    }
    return undefined;
  },
};
