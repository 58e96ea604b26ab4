/**
 * `sesame account show|set`: the operator's view of the default account's sending settings. The
 * operator plays the part AWS plays for SES: puts an account in the sandbox or takes it out
 * (granting a production-access request made with PutAccountDetails), sets its quotas, and pauses
 * or resumes its sending.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { effectiveQuota, type AccountSendingSettings, type OperatorChange } from '../../core/index.ts';
import { withCore, type CliContext } from './context.ts';

function onOff(value: string): boolean {
  if (/^(on|true|yes)$/i.test(value)) return true;
  if (/^(off|false|no)$/i.test(value)) return false;
  throw new InvalidArgumentError('give on or off.');
}

function quota(value: string): number {
  if (/^(unlimited|-1)$/i.test(value)) return -1;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('give a positive number, or "unlimited".');
  return n;
}

const limit = (n: number) => (n < 0 ? 'unlimited' : String(n));

function render(accountId: string, s: AccountSendingSettings): string {
  const q = effectiveQuota(s);
  const lines = [
    `account            ${accountId}`,
    `sending            ${s.sendingEnabled ? 'enabled' : 'PAUSED'}`,
    `production access  ${s.productionAccessEnabled ? 'yes' : 'no (sandbox: only verified recipients)'}`,
    `max 24-hour send   ${limit(q.max24HourSend)}${q.max24HourSend !== s.max24HourSend ? ` (sandbox; set: ${limit(s.max24HourSend)})` : ''}`,
    `max send rate      ${limit(q.maxSendRate)}${q.maxSendRate !== s.maxSendRate ? ` (sandbox; set: ${limit(s.maxSendRate)})` : ''} per second`,
    `suppressed reasons ${s.suppressedReasons.join(', ') || 'none'}`,
  ];
  const d = s.details;
  if (d) {
    lines.push(`details            ${d.mailType}, ${d.websiteURL}${d.useCaseDescription ? ` — ${d.useCaseDescription}` : ''}`);
    if (d.review) lines.push(`access review      ${d.review.status} (case ${d.review.caseId})${d.review.status === 'PENDING' ? ' — grant with: sesame account set --production-access on' : ''}`);
  }
  return lines.join('\n');
}

/** Registers the command group. */
export function registerAccount(program: Command, ctx: CliContext): void {
  const account = program.command('account').description("show or change the account's sending settings (sandbox, quotas, pause)");

  account
    .command('show')
    .description('sending status, production access, quotas and any pending production-access request')
    .option('--json', 'print the settings as JSON')
    .action(async (opts: { json?: boolean }) => {
      await withCore(ctx, async (core) => {
        const id = core.settings.accountId;
        const s = await core.accountSettings.read(id);
        ctx.out(opts.json ? JSON.stringify({ accountId: id, ...s, effectiveQuota: effectiveQuota(s) }, null, 2) : render(id, s));
      });
    });

  account
    .command('set')
    .description('change settings; unchanged options keep their values')
    .option('--sending <on|off>', 'resume or pause all sending of the account', onOff)
    .option('--production-access <on|off>', 'off puts the account in the sandbox (verified recipients, 200/day, 1/s); on grants production access', onOff)
    .option('--max-24-hour-send <n>', 'recipients per rolling 24 hours, or "unlimited"', quota)
    .option('--max-send-rate <n>', 'recipients per second, or "unlimited"', quota)
    .action(async (opts: { sending?: boolean; productionAccess?: boolean; max24HourSend?: number; maxSendRate?: number }) => {
      const change: OperatorChange = {};
      if (opts.sending !== undefined) change.sendingEnabled = opts.sending;
      if (opts.productionAccess !== undefined) change.productionAccessEnabled = opts.productionAccess;
      if (opts.max24HourSend !== undefined) change.max24HourSend = opts.max24HourSend;
      if (opts.maxSendRate !== undefined) change.maxSendRate = opts.maxSendRate;
      if (Object.keys(change).length === 0) throw new InvalidArgumentError('nothing to change: give at least one option (see sesame account set --help).');
      await withCore(ctx, async (core) => {
        const s = await core.accountSettings.operatorSet(core.settings.accountId, change);
        ctx.out(render(core.settings.accountId, s));
      });
    });
}
