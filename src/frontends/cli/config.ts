/** `sesame config`: the effective configuration (secrets hidden), or the Markdown reference. */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';

/** Registers the command. */
export function registerConfig(program: Command, ctx: CliContext): void {
  program
    .command('config')
    .description('print the effective configuration (secrets hidden)')
    .option('--markdown', 'print the configuration reference (docs/config.md) instead')
    .action((opts: { markdown?: boolean }) => {
      if (opts.markdown) {
        ctx.out(ctx.renderConfigMarkdown().trimEnd());
        return;
      }
      ctx.out(ctx.describeConfig(ctx.loadConfig()));
    });
}
