/**
 * `sesame console-users add|list|remove|passwd`: web console users (a name and a password, acting
 * with one access key's policy), read and written in the data dir directly. Passwords are read from
 * standard input (`--password-stdin`) or generated and printed once; they never appear in argv.
 */
import type { Command } from 'commander';
import { generatePassword, SesError } from '../../core/index.ts';
import { withCore, type CliContext } from './context.ts';

/** Registers the command group. */
export function registerConsoleUsers(program: Command, ctx: CliContext): void {
  const users = program.command('console-users').description('manage web console users (sign-in with a user name and password)');

  users
    .command('add')
    .description("add a console user acting with an access key's policy; prints a generated password once unless --password-stdin")
    .argument('<name>', 'an email address or a login name')
    .requiredOption('-k, --access-key <accessKeyId>', 'the access key whose policy the user acts with (sesame keys list)')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { accessKey: string; passwordStdin?: boolean; json?: boolean }) => {
      const given = opts.passwordStdin ? await passwordFromStdin(ctx) : undefined;
      if (given === '') return;
      const password = given ?? generatePassword();
      await withCore(ctx, async (core) => {
        const u = await refusalsToStderr(ctx, () => core.consoleUsers.add({ name, accessKeyId: opts.accessKey, password }));
        if (!u) return;
        if (opts.json) {
          ctx.out(JSON.stringify({ UserName: u.name, AccountId: u.accountId, AccessKeyId: u.accessKeyId, CreateDate: new Date(u.createdAt).toISOString(), ...(given === undefined ? { Password: password } : {}) }, null, 2));
          return;
        }
        const lines = [`Console user ${u.name} (account ${u.accountId}) signs in with the policy of access key ${u.accessKeyId}.`];
        if (given === undefined) lines.push('', `Password:  ${password}`, '', 'The password is shown only now; give it to the user safely.');
        ctx.out(lines.join('\n'));
      });
    });

  users
    .command('list')
    .description("list an account's console users (never their passwords)")
    .option('--account <accountId>', 'the account (default: SESAME_ACCOUNT_ID)')
    .option('--json', 'print JSON')
    .action(async (opts: { account?: string; json?: boolean }) => {
      await withCore(ctx, async (core) => {
        const list = await core.consoleUsers.list(opts.account ?? core.settings.accountId);
        if (opts.json) {
          ctx.out(JSON.stringify(list.map((u) => ({ UserName: u.name, AccountId: u.accountId, AccessKeyId: u.accessKeyId, CreateDate: new Date(u.createdAt).toISOString(), PasswordLastSet: new Date(u.passwordChangedAt).toISOString() })), null, 2));
          return;
        }
        const width = Math.max(9, ...list.map((u) => u.name.length)) + 1;
        ctx.out([`${'USER NAME'.padEnd(width)} ACCESS KEY ID          CREATED                   PASSWORD SET`].concat(list.map((u) => `${u.name.padEnd(width)} ${u.accessKeyId.padEnd(22)} ${new Date(u.createdAt).toISOString().padEnd(25)} ${new Date(u.passwordChangedAt).toISOString()}`)).join('\n'));
      });
    });

  users
    .command('remove')
    .description('remove a console user; its console sessions end at once')
    .argument('<name>')
    .action(async (name: string) => {
      await withCore(ctx, async (core) => {
        if (!(await core.consoleUsers.remove(name))) {
          ctx.err(`No console user ${name}. See: sesame console-users list`);
          process.exitCode = 1;
          return;
        }
        ctx.out(`Console user ${name.trim().toLowerCase()} removed; its console sessions have ended.`);
      });
    });

  users
    .command('passwd')
    .description("set a console user's password (generated and printed once unless --password-stdin); its sessions end")
    .argument('<name>')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .action(async (name: string, opts: { passwordStdin?: boolean }) => {
      const given = opts.passwordStdin ? await passwordFromStdin(ctx) : undefined;
      if (given === '') return;
      const password = given ?? generatePassword();
      await withCore(ctx, async (core) => {
        const changed = await refusalsToStderr(ctx, () => core.consoleUsers.setPassword(name, password));
        if (changed === undefined) return;
        if (!changed) {
          ctx.err(`No console user ${name}. See: sesame console-users list`);
          process.exitCode = 1;
          return;
        }
        const lines = [`Password of console user ${name.trim().toLowerCase()} set; its console sessions have ended.`];
        if (given === undefined) lines.push('', `Password:  ${password}`, '', 'The password is shown only now; give it to the user safely.');
        ctx.out(lines.join('\n'));
      });
    });
}

/** Runs `fn`; a refusal (bad name, short password, unknown key, taken name) goes to stderr with exit code 1. */
async function refusalsToStderr<T>(ctx: CliContext, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof SesError)) throw err;
    ctx.err(err.message);
    process.exitCode = 1;
    return undefined;
  }
}

/** The password on the first line of standard input (its line ending removed); '' after saying what is wrong. */
async function passwordFromStdin(ctx: CliContext): Promise<string> {
  let text = '';
  if (!process.stdin.isTTY) {
    for await (const chunk of process.stdin) {
      text += String(chunk);
      if (text.includes('\n')) break;
    }
  }
  const line = text.split(/\r?\n/)[0] ?? '';
  if (!line) {
    ctx.err('--password-stdin: standard input gave no password (pipe it in, e.g. printf %s "$PASSWORD" | sesame console-users …).');
    process.exitCode = 1;
  }
  return line;
}
