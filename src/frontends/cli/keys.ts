/** `sesame keys create|list|revoke|smtp-password`: access keys, read and written in the data dir directly. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { deriveSmtpPassword } from '../../lib/smtp-password.ts';
import { printGeneratedCredentials, type CliContext } from './context.ts';

/** Registers the command group. */
export function registerKeys(program: Command, ctx: CliContext): void {
  const keys = program.command('keys').description('manage access keys (API credentials and SMTP user names)');

  keys
    .command('create')
    .description('create an access key; prints its secret and SMTP password once')
    .option('-d, --description <text>', 'what the key is for', '')
    .option('-p, --policy <json|@file>', 'IAM-style policy document (default: allow ses:*)')
    .option('--json', 'print JSON')
    .action(async (opts: { description: string; policy?: string; json?: boolean }) => {
      const config = ctx.loadConfig();
      let policy: unknown;
      if (opts.policy !== undefined) policy = opts.policy.startsWith('@') ? readFileSync(opts.policy.slice(1), 'utf8') : opts.policy;
      const opened = await ctx.openCore(config);
      try {
        printGeneratedCredentials(ctx, opened.bootstrap, (s) => deriveSmtpPassword(s, config.region));
        const k = await opened.core.accounts.createKey({ description: opts.description, policy });
        const smtpPassword = deriveSmtpPassword(k.secretAccessKey, config.region);
        if (opts.json) {
          ctx.out(JSON.stringify({ AccessKeyId: k.accessKeyId, SecretAccessKey: k.secretAccessKey, SmtpPassword: smtpPassword, Region: config.region, Policy: k.policy }, null, 2));
        } else {
          ctx.out(
            [
              `AccessKeyId:      ${k.accessKeyId}`,
              `SecretAccessKey:  ${k.secretAccessKey}`,
              `SMTP password:    ${smtpPassword}   (region ${config.region})`,
              '',
              'The secret is shown only now; store it safely.',
            ].join('\n'),
          );
        }
      } finally {
        await opened.close();
      }
    });

  keys
    .command('list')
    .description('list access keys (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const config = ctx.loadConfig();
      const opened = await ctx.openCore(config);
      try {
        printGeneratedCredentials(ctx, opened.bootstrap, (s) => deriveSmtpPassword(s, config.region));
        const list = await opened.core.accounts.listKeys();
        if (opts.json) {
          ctx.out(JSON.stringify(list.map((k) => ({ AccessKeyId: k.accessKeyId, Status: k.status, Root: k.isRoot, CreateDate: new Date(k.createdAt).toISOString(), Description: k.description, Policy: k.policy })), null, 2));
          return;
        }
        ctx.out(['ACCESS KEY ID          STATUS    ROOT  CREATED                   DESCRIPTION'].concat(list.map((k) => `${k.accessKeyId.padEnd(22)} ${k.status.padEnd(9)} ${(k.isRoot ? 'yes' : 'no').padEnd(5)} ${new Date(k.createdAt).toISOString().padEnd(25)} ${k.description}`)).join('\n'));
      } finally {
        await opened.close();
      }
    });

  keys
    .command('revoke')
    .description('deactivate an access key; API calls and SMTP logins with it fail at once')
    .argument('<accessKeyId>')
    .action(async (id: string) => {
      const opened = await ctx.openCore(ctx.loadConfig());
      try {
        if (!(await opened.core.accounts.revokeKey(id))) {
          ctx.err(`No access key ${id}. See: sesame keys list`);
          process.exitCode = 1;
          return;
        }
        ctx.out(`Access key ${id} is now Inactive.`);
      } finally {
        await opened.close();
      }
    });

  keys
    .command('smtp-password')
    .description("print the SES SMTP password derived from a key's secret (username = the key id)")
    .argument('[accessKeyId]', 'a key stored in this data dir')
    .option('--secret <secretAccessKey>', 'derive from this secret instead of a stored key (reads nothing)')
    .option('--region <region>', 'region the password is for (default SESAME_REGION)')
    .action(async (id: string | undefined, opts: { secret?: string; region?: string }) => {
      const config = ctx.loadConfig();
      const region = opts.region ?? config.region;
      if (opts.secret) {
        ctx.out(deriveSmtpPassword(opts.secret, region));
        return;
      }
      if (!id) {
        ctx.err('Give an access key id (sesame keys list shows them) or --secret.');
        process.exitCode = 1;
        return;
      }
      const opened = await ctx.openCore(config);
      try {
        const key = (await opened.core.accounts.listKeys()).find((k) => k.accessKeyId === id);
        if (key?.status === 'Inactive') {
          ctx.err(`Access key ${id} is revoked (Inactive); its SMTP password no longer works.`);
          process.exitCode = 1;
          return;
        }
        const secret = key ? await opened.core.accounts.revealSecret(id) : undefined;
        if (!secret) {
          ctx.err(`No access key ${id}. See: sesame keys list`);
          process.exitCode = 1;
          return;
        }
        ctx.out(deriveSmtpPassword(secret, region));
      } finally {
        await opened.close();
      }
    });
}
