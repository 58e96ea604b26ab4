/** The `sesame` command line: one file per command, assembled here. */
import { Command } from 'commander';
import { registerAccount } from './account.ts';
import { registerConfig } from './config.ts';
import type { CliContext } from './context.ts';
import { registerDns } from './dns.ts';
import { registerEvents } from './events.ts';
import { registerEventBuses } from './event-buses.ts';
import { registerFunctions } from './functions.ts';
import { registerBuckets } from './buckets.ts';
import { registerKeys } from './keys.ts';
import { registerConsoleUsers } from './console-users.ts';
import { registerNodes } from './nodes.ts';
import { registerMigrate } from './migrate.ts';
import { registerQueue } from './queue.ts';
import { registerSend } from './send.ts';
import { registerServe } from './serve.ts';

/** Builds the program; `ctx` comes from the composition root. */
export function buildProgram(ctx: CliContext, version: string): Command {
  const program = new Command('sesame')
    .description('Sesame: a self-hosted email platform that speaks Amazon SES. Every command reads the same environment and data dir as the server.')
    .version(version)
    .showHelpAfterError();
  registerServe(program, ctx);
  registerKeys(program, ctx);
  registerConsoleUsers(program, ctx);
  registerDns(program, ctx);
  registerSend(program, ctx);
  registerQueue(program, ctx);
  registerAccount(program, ctx);
  registerEvents(program, ctx);
  registerEventBuses(program, ctx);
  registerFunctions(program, ctx);
  registerBuckets(program, ctx);
  registerMigrate(program, ctx);
  registerConfig(program, ctx);
  registerNodes(program, ctx);
  return program;
}
