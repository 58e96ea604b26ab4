/**
 * The overview page's reads beyond the account and the activity chart: the account's reputation
 * (bounce and complaint rates against SES's thresholds, and the enforcement status they led to).
 */
import type { Core } from '../../core/index.ts';
import { CONSOLE_API, type ConsoleKit } from './kit.ts';

export function registerOverviewRoutes(kit: ConsoleKit, core: Pick<Core, 'reputation'>): void {
  kit.app.get(
    `${CONSOLE_API}/reputation`,
    kit.route(async (req) => core.reputation.overview((await kit.session(req)).principal)),
  );
}
