/** `sesame serve`: every front end and worker in one process, or the parts `--roles` (SESAME_ROLES) names. */
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError, schema, type Config } from '../../config/schema.ts';
import type { CliContext } from './context.ts';

/** Parses `--roles` with SESAME_ROLES's own parser, so both accept and refuse the same lists. */
function roles(value: string): Config['roles'] {
  try {
    return schema.roles.parse(value, 'SESAME_ROLES');
  } catch (err) {
    if (err instanceof ConfigError) throw new InvalidArgumentError(err.message.replace(/^SESAME_ROLES: /, ''));
    throw err;
  }
}

/** Registers the command. */
export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description(
      'start Sesame: the HTTP API (SES v2, SES v1, /health, /metrics), SMTP submission, the MX and the workers (identity verification, delivery); embedded SQLite under ./data unless SESAME_DATABASE_URL is set',
    )
    .option('--roles <list>', 'the parts this node runs, comma-separated: api, smtp, mx, worker (overrides SESAME_ROLES; default all)', roles)
    .action(async (opts: { roles?: Config['roles'] }) => {
      const config = ctx.loadConfig();
      await ctx.serve(opts.roles ? { ...config, roles: opts.roles } : config);
    });
}
