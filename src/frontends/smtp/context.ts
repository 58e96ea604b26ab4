/** What the submission handlers share: core, settings, observability and the per-node brakes. */
import type { Core } from '../../core/index.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { AuthThrottle, AuthThrottleSettings } from './limits.ts';

/** SES's limits for SMTP: 40 MB per message (after encoding) and 50 recipients (ses-surface §4). */
export const MAX_MESSAGE_BYTES = 40 * 1024 * 1024;
/** At most 50 recipients per message (To, Cc and Bcc together), as SES. */
export const MAX_RECIPIENTS = 50;

/** Settings of the submission listeners (from SESAME_* configuration, mapped in src/main). */
export interface SubmissionSettings {
  /** SESAME_HOSTNAME: greeting, EHLO reply, and the name in Postfix-style replies. */
  hostname: string;
  /** SESAME_REGION: the SMTP password is derived for it. */
  region: string;
  listenHost: string;
  /** STARTTLS port (SESAME_SMTP_PORT; 0 picks a free one). */
  port: number;
  /** Implicit-TLS port (SESAME_SMTPS_PORT; 0 picks a free one). */
  tlsPort: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  maxCommands: number;
  maxUnauthenticatedCommands: number;
  idleTimeoutMs: number;
  auth: AuthThrottleSettings;
  /** PEM key and certificate. */
  tls: { key: string; cert: string };
}

/** Shared by every handler of both listeners. */
export interface SubmissionContext {
  core: Core;
  logger: Logger;
  metrics: Metrics;
  settings: SubmissionSettings;
  throttle: AuthThrottle;
}
