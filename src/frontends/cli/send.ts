/**
 * `sesame send`: a test message through the same pipeline as the API (core.sending.send, as the
 * default account's root key: From must be a verified identity, suppression and quotas apply). The
 * message is committed to the queue in the data dir; the running server's delivery worker, which
 * shares the database, delivers it.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SesError, type SendContent } from '../../core/index.ts';
import { deriveSmtpPassword } from '../../lib/smtp-password.ts';
import { printGeneratedCredentials, type CliContext } from './context.ts';

/** SES v2's limit for a message, as the API and SMTP submission apply it. */
const MAX_BYTES = 40 * 1024 * 1024;

/** Collects repeated and comma-separated address options. */
function addresses(value: string, previous: string[] = []): string[] {
  return previous.concat(value.split(',').map((s) => s.trim()).filter(Boolean));
}

interface SendOptions {
  from?: string;
  to?: string[];
  cc?: string[];
  bcc?: string[];
  subject?: string;
  text?: string;
  html?: string;
  raw?: string;
  json?: boolean;
}

/** Registers the command. */
export function registerSend(program: Command, ctx: CliContext): void {
  program
    .command('send')
    .description('send a test message through the sending pipeline (From must be a verified identity); a running server delivers it')
    .option('--from <address>', 'sender, e.g. "Shop <orders@example.com>" (with --raw: default the From header)')
    .option('--to <address[,address]>', 'recipient(s); repeat or separate with commas (with --raw: default To/Cc/Bcc headers)', addresses)
    .option('--cc <address[,address]>', 'Cc recipient(s)', addresses)
    .option('--bcc <address[,address]>', 'Bcc recipient(s)', addresses)
    .option('--subject <text>', 'subject (default "Sesame test message")')
    .option('--text <text>', 'plain-text body')
    .option('--html <html>', 'HTML body')
    .option('--raw <file>', 'send this MIME file as it is (SES replaces Message-ID and Date, drops Bcc)')
    .option('--json', 'print {"MessageId"}')
    .action(async (opts: SendOptions) => {
      const to = opts.to ?? [];
      const cc = opts.cc ?? [];
      const bcc = opts.bcc ?? [];
      let content: SendContent;
      if (opts.raw !== undefined) {
        if (opts.subject !== undefined || opts.text !== undefined || opts.html !== undefined) {
          ctx.err('--raw sends the file as it is; leave out --subject, --text and --html.');
          process.exitCode = 1;
          return;
        }
        let data: Buffer;
        try {
          data = readFileSync(opts.raw);
        } catch (err) {
          ctx.err(`Cannot read ${opts.raw}: ${(err as Error).message}`);
          process.exitCode = 1;
          return;
        }
        content = { kind: 'raw', data };
      } else {
        if (!opts.from || to.length + cc.length + bcc.length === 0) {
          ctx.err('Give --from and at least one --to (or --raw <file>). Example: sesame send --from me@example.com --to you@example.org');
          process.exitCode = 1;
          return;
        }
        const text = opts.text ?? (opts.html === undefined ? 'This is a test message sent with "sesame send".\n' : undefined);
        content = { kind: 'simple', subject: opts.subject ?? 'Sesame test message', text, html: opts.html };
      }

      const config = ctx.loadConfig();
      const opened = await ctx.openCore(config);
      try {
        printGeneratedCredentials(ctx, opened.bootstrap, (s) => deriveSmtpPassword(s, config.region));
        const principal = await opened.core.accounts.rootPrincipal();
        let messageId: string;
        try {
          messageId = await opened.core.sending.send(principal, {
            action: 'ses:SendEmail',
            operation: 'SendEmail',
            from: opts.from,
            to: to.length > 0 ? to : undefined,
            cc: cc.length > 0 ? cc : undefined,
            bcc: bcc.length > 0 ? bcc : undefined,
            content,
            maxBytes: MAX_BYTES,
          });
        } catch (err) {
          if (err instanceof SesError) {
            ctx.err(`Message not sent (${err.code}): ${err.message}`);
            process.exitCode = 1;
            return;
          }
          throw err;
        }
        if (opts.json) {
          ctx.out(JSON.stringify({ MessageId: messageId }));
          return;
        }
        ctx.out(
          [
            `MessageId: ${messageId}`,
            '',
            'Queued. A running server (sesame serve) delivers it. Follow it with:',
            `  sesame events ${messageId}`,
          ].join('\n'),
        );
      } finally {
        await opened.close();
      }
    });
}
