/**
 * `sesame migrate --to postgres://…`: moves the embedded SQLite installation this CLI points at
 * (SESAME_DATA_DIR) onto an empty PostgreSQL database, table by table with progress, blobs included.
 * The source node must be stopped; the command refuses while another process has the database open,
 * and refuses a target that already holds Sesame data. The copy itself is storage's
 * (src/storage/migrate.ts), reached through the CLI context that the composition root wires.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../../config/schema.ts';
import type { MigrationProgress, MigrationSummary } from '../../lib/migration-report.ts';
import type { CliContext } from './context.ts';

/** Copies the installation of `config` onto the PostgreSQL database `targetUrl`. */
export type MigrateToPostgres = (config: Config, targetUrl: string, onProgress: (p: MigrationProgress) => void) => Promise<MigrationSummary>;

/** Hides a password in a database URL. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Registers the command. */
export function registerMigrate(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description('copy this SQLite installation (SESAME_DATA_DIR) onto an empty PostgreSQL database; stop every Sesame process on the data dir first')
    .requiredOption('--to <url>', 'target: postgres://user[:password]@host:5432/dbname[?schema=name]')
    .option('--json', 'print the summary as JSON on stdout')
    .action(async (opts: { to: string; json?: boolean }) => {
      if (!/^postgres(ql)?:\/\//.test(opts.to)) throw new Error(`--to must be a postgres:// (or postgresql://) URL, got "${redactUrl(opts.to)}"`);
      const config = ctx.loadConfig();
      const target = redactUrl(opts.to);
      ctx.err(`Migrating ${config.databaseUrl ? redactUrl(config.databaseUrl) : join(config.dataDir, 'sesame.db')} to ${target}`);
      ctx.err('Every Sesame process on this data dir must be stopped; the copy refuses to start otherwise.');

      // Long tables report every few seconds; every table reports when it is done.
      let lastLine = 0;
      const onProgress = (p: MigrationProgress) => {
        const now = Date.now();
        switch (p.phase) {
          case 'prepare':
            ctx.err(`  ${p.message}`);
            break;
          case 'skip':
            ctx.err(`  ${p.table.padEnd(26)} not copied (${p.rows} rows): ${p.reason}`);
            break;
          case 'table':
            if (!p.done && p.copied === 0) lastLine = now;
            if (p.done) ctx.err(`  ${p.table.padEnd(26)} ${String(p.copied).padStart(9)} rows`);
            else if (p.copied > 0 && now - lastLine >= 3000) ctx.err(`  ${p.table.padEnd(26)} ${String(p.copied).padStart(9)} of ${p.total} rows…`);
            else break;
            lastLine = now;
            break;
          case 'blobs':
            if (!p.done && p.copied === 0) lastLine = now;
            if (p.done) ctx.err(`  ${'blobs (files → blob_chunks)'.padEnd(26)} ${String(p.copied).padStart(9)} of ${p.total} (${mib(p.bytes)})`);
            else if (p.copied > 0 && now - lastLine >= 3000) ctx.err(`  ${'blobs'.padEnd(26)} ${String(p.copied).padStart(9)} of ${p.total} (${mib(p.bytes)})…`);
            else break;
            lastLine = now;
            break;
          case 'commit':
            ctx.err('  committing…');
            break;
        }
      };

      const summary = await ctx.migrateToPostgres(config, opts.to, onProgress);
      const rows = summary.tables.reduce((n, t) => n + t.rows, 0);
      if (opts.json) ctx.out(JSON.stringify(summary, null, 2));
      else {
        ctx.out(
          [
            `Migrated ${plural(rows, 'row')} in ${plural(summary.tables.length, 'table')} and ${plural(summary.blobs.count, 'blob')} (${mib(summary.blobs.bytes)}) to ${target} in ${(summary.elapsedMs / 1000).toFixed(1)} s.`,
            `Leases cleared: ${summary.leasesCleared} (the new nodes take that work at once).`,
            ...summary.sequences.map((s) => `Sequence of ${s.table}.${s.column} continues at ${s.next}.`),
          ].join('\n'),
        );
      }
      if (summary.missingBlobs.length > 0) {
        ctx.err(`WARNING: ${summary.missingBlobs.length} blob(s) named by rows were missing in ${join(config.dataDir, 'blobs')} (already unreadable there), for example ${summary.missingBlobs.slice(0, 3).map((b) => `${b.table}.${b.column}=${b.id}`).join(', ')}.`);
      }
      ctx.err(
        [
          '',
          'Next steps:',
          `  1. Start the PostgreSQL nodes with SESAME_DATABASE_URL=${target}`,
          `     and the master key of this installation: ${masterKeyHint(config)}`,
          '     Without it, no access key authenticates and no DKIM key signs.',
          '  2. Do NOT start Sesame on the SQLite database again: its queue was copied, and the same',
          '     messages would be delivered twice. Keep it (and master.key) as a backup.',
        ].join('\n'),
      );
    });
}

/** Where the master key is, said without printing it. */
function masterKeyHint(config: Config): string {
  if (config.masterKey) return 'set the same SESAME_MASTER_KEY as now.';
  const file = join(config.dataDir, 'master.key');
  return existsSync(file) ? `SESAME_MASTER_KEY="$(cat ${file})" (or keep this data dir).` : `(no ${file} found: set the SESAME_MASTER_KEY this installation used).`;
}
