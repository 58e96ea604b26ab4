/** `sesame dns <domain>`: every DNS record to publish for a domain identity, as a zone-file snippet or JSON. */
import type { Command } from 'commander';
import { SesError, type DnsRecord } from '../../core/index.ts';
import type { CliContext } from './context.ts';

/** Quotes a TXT value as zone-file character-strings of at most 255 bytes (RFC 1035 §3.3.14). */
export function zoneTxt(value: string): string {
  const chunks: string[] = [];
  for (let i = 0; i < value.length; i += 255) chunks.push(value.slice(i, i + 255));
  return chunks.map((c) => `"${c.replace(/(["\\])/g, '\\$1')}"`).join(' ');
}

/** Renders records as zone-file lines with a comment per record. */
export function renderZone(records: DnsRecord[]): string {
  return records
    .map((r) => {
      const value = r.type === 'TXT' ? zoneTxt(r.value) : r.type === 'MX' ? `${r.value}.` : r.value;
      return `; ${r.purpose}\n${r.name}.\t3600\tIN\t${r.type}\t${value}`;
    })
    .join('\n');
}

/** Registers the command. */
export function registerDns(program: Command, ctx: CliContext): void {
  program
    .command('dns')
    .description('print the DNS records to publish for a domain identity (DKIM, MAIL FROM, MX, DMARC)')
    .argument('<domain>')
    .option('--json', 'print [{"type","name","value"}]')
    .action(async (domain: string, opts: { json?: boolean }) => {
      const config = ctx.loadConfig();
      const opened = await ctx.openCore(config);
      try {
        const records = await opened.core.identities.dnsRecords(config.accountId, domain);
        if (opts.json) ctx.out(JSON.stringify(records.map((r) => ({ type: r.type, name: r.name, value: r.value })), null, 2));
        else ctx.out(renderZone(records));
      } catch (err) {
        if (err instanceof SesError) {
          ctx.err(err.code === 'NotFoundException' ? `${err.message} Create it first (CreateEmailIdentity or VerifyDomainIdentity).` : err.message);
          process.exitCode = 1;
          return;
        }
        throw err;
      } finally {
        await opened.close();
      }
    });
}
