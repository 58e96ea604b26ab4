/** What an SNS action handler receives and returns. */
import type { Core, Principal } from '../../core/index.ts';
import type { QueryParams } from '../../lib/query.ts';
import type { XmlValue } from './xml.ts';

/** What an action handler receives. */
export interface SnsContext {
  core: Core;
  principal: Principal;
  params: QueryParams;
}

/** One SNS action. The handler returns the members of `<ActionResult>` (nothing for actions without one). */
export interface SnsAction {
  action: string;
  handler: (ctx: SnsContext) => Promise<Record<string, XmlValue> | undefined>;
}
