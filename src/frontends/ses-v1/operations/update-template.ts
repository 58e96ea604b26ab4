/** UpdateTemplate (v1): replaces the parts of a stored template; TemplateDoesNotExist when there is none. */
import type { V1Action } from '../handler.ts';
import { templateInput } from './template-content.ts';

/** The action. */
export const updateTemplate: V1Action = {
  action: 'UpdateTemplate',
  async handler({ core, principal, params }) {
    const t = templateInput(params);
    await core.templates.update(principal, t.name, t.content, 'ses:UpdateTemplate');
    return undefined;
  },
};
