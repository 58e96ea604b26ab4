/**
 * Entry point of the `sesame` command: wires the CLI commands to configuration, storage and the
 * server, prints readable errors instead of stack traces for configuration mistakes, and handles
 * SIGINT/SIGTERM for `serve`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeConfig, loadConfig, renderConfigMarkdown } from '../config/load.ts';
import { ConfigError, type Config } from '../config/schema.ts';
import { printGeneratedCredentials, type CliContext } from '../frontends/cli/context.ts';
import { buildProgram } from '../frontends/cli/index.ts';
import { deriveSmtpPassword } from '../lib/smtp-password.ts';
import { createLogger } from '../observability/logger.ts';
import { openCore, startSesame } from './app.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const ctx: CliContext = {
  loadConfig: () => loadConfig(process.env),
  async openCore(config: Config) {
    // Operator commands act on an existing installation; creating a new one by accident (wrong
    // directory) would hide the real data and mint unseen root credentials.
    if (!config.databaseUrl && !existsSync(join(config.dataDir, 'sesame.db'))) {
      throw new Error(`no Sesame database in ${config.dataDir}. Run "sesame serve" once to create it, or set SESAME_DATA_DIR (or SESAME_DATABASE_URL) to your installation.`);
    }
    // CLI commands log only warnings, so their output stays readable.
    const opened = await openCore(config, { logger: createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr) });
    return { core: opened.core, bootstrap: opened.bootstrap, close: () => opened.storage.close() };
  },
  async serve(config: Config) {
    // A signal during start-up (the HTTP port is already open while SMTP, the MX and the workers
    // start) is kept and acted on once the node is up, instead of killing it half-started.
    let early: string | undefined;
    const keep = (signal: string) => () => void (early ??= signal);
    const keepInt = keep('SIGINT');
    const keepTerm = keep('SIGTERM');
    process.on('SIGINT', keepInt);
    process.on('SIGTERM', keepTerm);
    const instance = await startSesame(config);
    printGeneratedCredentials(ctx, instance.bootstrap, (s) => deriveSmtpPassword(s, config.region));
    instance.logger.info(
      { code: 'SESAME_STARTED', roles: config.roles, dataDir: config.dataDir, storage: instance.storage.kind, http: instance.httpUrl, ...(instance.httpUrl ? { console: `${instance.httpUrl}/console` } : {}) },
      `Sesame ${pkg.version} ready (${instance.storage.kind}, roles ${config.roles.join(',')})${instance.httpUrl ? `; web console at ${instance.httpUrl}/console` : ''}`,
    );
    process.on('unhandledRejection', (reason) => {
      instance.logger.error({ code: 'UNHANDLED_REJECTION', err: reason }, 'unhandled promise rejection (kept running)');
    });
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          instance.logger.warn({ code: 'SHUTDOWN_FORCED', signal }, 'second signal: exiting now');
          process.exit(1);
        }
        stopping = true;
        instance.logger.info({ code: 'SIGNAL', signal }, `received ${signal}`);
        instance.close().then(resolve, (err: unknown) => {
          instance.logger.error({ code: 'SHUTDOWN_FAILED', err }, 'shutdown failed');
          process.exitCode = 1;
          resolve();
        });
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.off('SIGINT', keepInt);
      process.off('SIGTERM', keepTerm);
      if (early) stop(early);
    });
  },
  async migrateToPostgres(config, targetUrl, onProgress) {
    const { migrateSqliteToPostgres } = await import('../storage/migrate.ts');
    return migrateSqliteToPostgres({ source: { databaseUrl: config.databaseUrl, dataDir: config.dataDir }, targetUrl, onProgress });
  },
  renderConfigMarkdown,
  describeConfig,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

try {
  await buildProgram(ctx, pkg.version).parseAsync(process.argv);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`sesame: configuration error: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`sesame: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
