/**
 * Structured JSON logs (pino). Warn and error lines carry a stable `code` (listed in
 * docs/log-codes.md) so operators can alert on them; every line about a message carries its id.
 */
import { pino, type Logger as PinoLogger } from 'pino';

/** The logger type used across Sesame. */
export type Logger = PinoLogger;

/** Creates the process logger writing JSON lines to stdout (or to `destination`). */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { service: 'sesame' }, timestamp: pino.stdTimeFunctions.isoTime }, destination ?? process.stdout);
}
