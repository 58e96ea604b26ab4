/** What CLI commands get from the composition root (src/main/cli.ts): configuration and ways to open Sesame. */
import type { Config } from '../../config/schema.ts';
import type { BootstrapResult, Core } from '../../core/index.ts';
import type { MigrateToPostgres } from './migrate.ts';

/** An opened core for one command; `close` releases the database. */
export interface OpenedCore {
  core: Core;
  bootstrap: BootstrapResult;
  close(): Promise<void>;
}

/** Dependencies of CLI commands. */
export interface CliContext {
  /** Parses configuration from the environment (and SESAME_CONFIG); throws ConfigError. */
  loadConfig(): Config;
  /** Opens the data dir / database named by the configuration. */
  openCore(config: Config): Promise<OpenedCore>;
  /** Copies the SQLite installation of the configuration onto an empty PostgreSQL database (`sesame migrate`). */
  migrateToPostgres: MigrateToPostgres;
  /** Runs the server until SIGINT/SIGTERM. */
  serve(config: Config): Promise<void>;
  /** Renders docs/config.md. */
  renderConfigMarkdown(): string;
  /** The configuration as KEY=value lines, secrets hidden. */
  describeConfig(config: Config): string;
  /** Where normal output goes (stdout). */
  out: (text: string) => void;
  /** Where notices go (stderr). */
  err: (text: string) => void;
}

/** Prints freshly generated root credentials once, in a block a person will notice. */
export function printGeneratedCredentials(ctx: CliContext, bootstrap: BootstrapResult, smtpPassword: (secret: string) => string): void {
  if (bootstrap.kind !== 'generated') return;
  const k = bootstrap.key;
  ctx.err(
    [
      '',
      '================================================================================',
      ' Sesame generated root credentials for this data dir. They are shown only now;',
      ' the secret is stored encrypted and cannot be printed again.',
      '',
      `   AWS_ACCESS_KEY_ID=${k.accessKeyId}`,
      `   AWS_SECRET_ACCESS_KEY=${k.secretAccessKey}`,
      `   SMTP user name:  ${k.accessKeyId}`,
      `   SMTP password:   ${smtpPassword(k.secretAccessKey)}`,
      '',
      ' Sign in to the web console (/console on the HTTP port) with the same key pair.',
      ' Lost them? Create another key with: npx sesame keys create',
      '================================================================================',
      '',
    ].join('\n'),
  );
}

/** Opens Sesame for one command, runs `fn`, and closes the database whatever happens. */
export async function withCore<T>(ctx: CliContext, fn: (core: Core) => Promise<T>): Promise<T> {
  const opened = await ctx.openCore(ctx.loadConfig());
  try {
    return await fn(opened.core);
  } finally {
    await opened.close();
  }
}
