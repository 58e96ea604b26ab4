/** `sesame functions create|list|delete`: the HTTP functions that Lambda receipt actions invoke. */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { withCore } from './context.ts';

/** Registers the command group. */
export function registerFunctions(program: Command, ctx: CliContext): void {
  const fns = program.command('functions').description('register the HTTP functions that LambdaAction receipt actions invoke');

  fns
    .command('create <name>')
    .description("register a function; prints its ARN (for LambdaAction.FunctionArn)")
    .requiredOption('--url <url>', 'the endpoint that receives SES Lambda events (http or https)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { url: string; json?: boolean }) => {
      await withCore(ctx, async (core) => {
        const f = await core.functions.create(core.settings.accountId, name, opts.url);
        ctx.out(opts.json ? JSON.stringify({ FunctionName: f.name, FunctionArn: f.arn, Url: f.url }, null, 2) : f.arn);
      });
    });

  fns
    .command('list')
    .description('list registered functions')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withCore(ctx, async (core) => {
        const list = await core.functions.list(core.settings.accountId);
        if (opts.json) ctx.out(JSON.stringify(list.map((f) => ({ FunctionName: f.name, FunctionArn: f.arn, Url: f.url, CreateDate: new Date(f.createdAt).toISOString() })), null, 2));
        else ctx.out(['NAME                 ARN                                                     URL'].concat(list.map((f) => `${f.name.padEnd(20)} ${f.arn.padEnd(55)} ${f.url}`)).join('\n'));
      });
    });

  fns
    .command('delete <name>')
    .description('remove a function (rules that name it then fail that action and log it)')
    .action(async (name: string) => {
      await withCore(ctx, async (core) => {
        await core.functions.delete(core.settings.accountId, name);
        ctx.out(`deleted function ${name}`);
      });
    });
}
