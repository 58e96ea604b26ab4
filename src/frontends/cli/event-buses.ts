/** `sesame event-buses create|list|delete`: the webhooks that EventBridge event destinations deliver to. */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { withCore } from './context.ts';

/** Registers the command group. */
export function registerEventBuses(program: Command, ctx: CliContext): void {
  const buses = program.command('event-buses').description('register the webhooks that EventBridgeDestination event destinations post to');

  buses
    .command('create <name>')
    .description('register an event bus; prints its ARN (for EventBridgeDestination.EventBusArn) and its signing secret, once')
    .requiredOption('--url <url>', 'the webhook that receives the events (http or https)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { url: string; json?: boolean }) => {
      await withCore(ctx, async (core) => {
        const b = await core.eventBuses.create(core.settings.accountId, name, opts.url);
        if (opts.json) ctx.out(JSON.stringify({ Name: b.name, Arn: b.arn, Url: b.url, Secret: b.secret }, null, 2));
        else ctx.out([`EventBusArn: ${b.arn}`, `URL:         ${b.url}`, `Secret:      ${b.secret}`, '', 'The secret signs every delivery (X-Sesame-Signature); it is shown only now.'].join('\n'));
      });
    });

  buses
    .command('list')
    .description('list event buses (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withCore(ctx, async (core) => {
        const list = await core.eventBuses.list(core.settings.accountId);
        if (opts.json) ctx.out(JSON.stringify(list.map((b) => ({ Name: b.name, Arn: b.arn, Url: b.url, CreateDate: new Date(b.createdAt).toISOString() })), null, 2));
        else ctx.out(['NAME                 URL'].concat(list.map((b) => `${b.name.padEnd(20)} ${b.url}`)).join('\n'));
      });
    });

  buses
    .command('delete <name>')
    .description('remove an event bus (events for it are then skipped and logged)')
    .action(async (name: string) => {
      await withCore(ctx, async (core) => {
        await core.eventBuses.delete(core.settings.accountId, name);
        ctx.out(`deleted event bus ${name}`);
      });
    });
}
