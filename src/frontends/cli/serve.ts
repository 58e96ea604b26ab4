/** `sesame serve`: every front end and worker in one process (see SESAME_ROLES). */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';

/** Registers the command. */
export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('start Sesame: the HTTP API (SES v2, SES v1, /health, /metrics) and the workers (identity verification, delivery); embedded SQLite under ./data unless SESAME_DATABASE_URL is set')
    .action(async () => {
      await ctx.serve(ctx.loadConfig());
    });
}
