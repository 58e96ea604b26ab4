/**
 * TestRenderTemplate (v1): `TemplateName`, `TemplateData` → `RenderedTemplate`, the whole MIME
 * message. Values are not HTML-escaped; data that is not a JSON object is InvalidRenderingParameter
 * and an attribute the data lacks is MissingRenderingAttribute (at send time the same problem is a
 * Rendering Failure event instead).
 */
import type { V1Action } from '../handler.ts';

/** The action. */
export const testRenderTemplate: V1Action = {
  action: 'TestRenderTemplate',
  async handler({ core, principal, params }) {
    // M1 marks both members required.
    const name = params.string('TemplateName', { required: true });
    const data = params.string('TemplateData', { required: true });
    return { RenderedTemplate: await core.templates.testRender(principal, name, data, 'ses:TestRenderTemplate') };
  },
};
