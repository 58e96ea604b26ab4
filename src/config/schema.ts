/**
 * The one configuration schema: every key with its environment variable, default, parser and
 * description. `docs/config.md` is generated from this table (`sesame config --markdown`), and a test
 * fails when the two disagree, so the documentation cannot drift from the code.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { parseDomainRates } from '../lib/rates.ts';

/** A configuration value after parsing. */
export type ConfigValue = string | number | boolean | string[] | number[] | undefined;

/** Why a value could not be parsed; the message names the variable and what it accepts. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** One configuration key. `default` is a function when it depends on other keys or the machine. */
export interface ConfigKey<T> {
  /** Environment variable name (also the key in a config file). */
  env: string;
  /** Parses the raw string; throws ConfigError with a readable message. */
  parse: (raw: string, env: string) => T;
  /** Default value, possibly derived from keys parsed before it. */
  default: T | ((c: Partial<Record<string, unknown>>) => T);
  /** How the default reads in docs when it is computed. */
  defaultDoc?: string;
  /** One-sentence meaning. */
  description: string;
  /** Which capability reads it, for the docs. */
  usedBy: string;
  /** Never print the value (logs, `sesame config`). */
  secret?: boolean;
  /** Unit of a numeric value when printed back (`ms` for durations, so the output parses again). */
  unit?: 'ms';
}

/** Parses durations such as `250ms`, `60s`, `5m`, `2h` (a bare number is seconds) into milliseconds. */
export function parseDuration(raw: string, env = 'duration'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(raw);
  if (!m) throw new ConfigError(`${env}: "${raw}" is not a duration (use e.g. 500ms, 60s, 5m, 2h)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit] ?? 1000;
  return Math.round(n * factor);
}

function parsePort(raw: string, env: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${env}: "${raw}" is not a TCP port (0-65535)`);
  return n;
}

function parseInteger(min: number, max: number) {
  return (raw: string, env: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${env}: "${raw}" must be an integer from ${min} to ${max}`);
    return n;
  };
}

function parseString(raw: string): string {
  return raw.trim();
}

function parseUrl(schemes: string[]) {
  return (raw: string, env: string): string => {
    let u: URL;
    try {
      u = new URL(raw.trim());
    } catch {
      throw new ConfigError(`${env}: "${raw}" is not a URL`);
    }
    const scheme = u.protocol.replace(/:$/, '');
    if (!schemes.includes(scheme)) throw new ConfigError(`${env}: scheme "${scheme}" is not one of ${schemes.join(', ')}`);
    return raw.trim();
  };
}

const ROLES = ['api', 'smtp', 'mx', 'worker'] as const;
/** A part of Sesame that a node may run. */
export type Role = (typeof ROLES)[number];

function parseRoles(raw: string, env: string): Role[] {
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const r of list) {
    if (!(ROLES as readonly string[]).includes(r)) throw new ConfigError(`${env}: unknown role "${r}" (roles: ${ROLES.join(', ')})`);
  }
  if (list.length === 0) throw new ConfigError(`${env}: at least one role is needed (${ROLES.join(', ')})`);
  return list as Role[];
}

function parseDnsServers(raw: string, env: string): string[] {
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) {
    // host, host:port, [v6]:port, or a bare IPv6 address
    if (!/^(\[[0-9a-f:.]+\](:\d+)?|[0-9a-f:]+:[0-9a-f:]*|[A-Za-z0-9.-]+(:\d+)?)$/i.test(s)) {
      throw new ConfigError(`${env}: "${s}" is not host[:port]`);
    }
  }
  return list;
}

function parseAddressList(raw: string, env: string): string[] {
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) {
    const [address, prefix, extra] = s.split('/');
    const family = isIP(address ?? '');
    const bits = family === 4 ? 32 : 128;
    if (family === 0 || extra !== undefined || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits))) {
      throw new ConfigError(`${env}: "${s}" is not an IP address or a CIDR block (e.g. 10.0.0.5, 10.0.0.0/8, fd00::/8)`);
    }
  }
  return list;
}

function parseRates(raw: string, env: string): Record<string, number> {
  try {
    return parseDomainRates(raw);
  } catch (err) {
    throw new ConfigError(`${env}: ${(err as Error).message}`);
  }
}

function parseRetrySchedule(raw: string, env: string): number[] {
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new ConfigError(`${env}: give at least one delay, e.g. 60s,5m,15m`);
  return list.map((s) => parseDuration(s, env));
}

function parseRate(raw: string, env: string): number {
  const t = raw.trim();
  const n = t.endsWith('%') ? Number(t.slice(0, -1)) / 100 : Number(t);
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new ConfigError(`${env}: "${raw}" must be a rate above 0 and at most 1 (e.g. 0.05 or 5%)`);
  return n;
}

function parseBoolean(raw: string, env: string): boolean {
  const t = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off'].includes(t)) return false;
  throw new ConfigError(`${env}: "${raw}" must be true or false`);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Every configuration key, in documentation order. */
export const schema = {
  dataDir: { env: 'SESAME_DATA_DIR', parse: parseString, default: './data', description: 'Directory for the SQLite database, message spool, generated keys and certificates.', usedBy: 'all' },
  databaseUrl: {
    env: 'SESAME_DATABASE_URL',
    parse: parseUrl(['postgres', 'postgresql', 'sqlite', 'file']),
    default: undefined as string | undefined,
    defaultDoc: 'SQLite file `sesame.db` in the data dir',
    description: '`postgres://user@host:5432/db` to run on PostgreSQL (several nodes may share it; add `?schema=name` to keep the tables in their own schema); `sqlite:/path/file.db` for another SQLite file.',
    usedBy: 'all',
    secret: true,
  },
  listenHost: { env: 'SESAME_LISTEN_HOST', parse: parseString, default: '127.0.0.1', description: 'Address every listener binds; `0.0.0.0` in production.', usedBy: 'api, smtp, mx' },
  httpPort: { env: 'SESAME_HTTP_PORT', parse: parsePort, default: 8080, description: 'SES v2 REST, SES v1 Query, SNS-compatible Query, tracking, console, `/health`, `/metrics`.', usedBy: 'api' },
  smtpPort: { env: 'SESAME_SMTP_PORT', parse: parsePort, default: 2587, description: 'SMTP submission with STARTTLS (SES\'s alternate port).', usedBy: 'smtp' },
  smtpsPort: { env: 'SESAME_SMTPS_PORT', parse: parsePort, default: 2465, description: 'SMTP submission with implicit TLS.', usedBy: 'smtp' },
  mxPort: { env: 'SESAME_MX_PORT', parse: parsePort, default: 2525, description: 'Inbound MX (25 in production).', usedBy: 'mx' },
  hostname: {
    env: 'SESAME_HOSTNAME',
    parse: parseString,
    default: () => hostname(),
    defaultDoc: 'the OS hostname',
    description: "This server's name: EHLO, `Message-ID` domain, default MAIL FROM domain.",
    usedBy: 'smtp, mx, worker',
  },
  region: { env: 'SESAME_REGION', parse: parseString, default: 'us-east-1', description: 'Region in SigV4 scopes, ARNs and SMTP password derivation.', usedBy: 'api, smtp' },
  accountId: {
    env: 'SESAME_ACCOUNT_ID',
    parse: (raw: string, env: string) => {
      if (!/^\d{12}$/.test(raw.trim())) throw new ConfigError(`${env}: "${raw}" must be 12 digits, like an AWS account id`);
      return raw.trim();
    },
    default: '000000000000',
    description: "The default account's id in ARNs.",
    usedBy: 'api, smtp',
  },
  rootAccessKeyId: {
    env: 'SESAME_ROOT_ACCESS_KEY_ID',
    parse: (raw: string, env: string) => {
      if (!/^[A-Z0-9]{16,128}$/.test(raw.trim())) throw new ConfigError(`${env}: access key ids are 16-128 upper-case letters and digits`);
      return raw.trim();
    },
    default: undefined as string | undefined,
    defaultDoc: 'generated on first start',
    description: 'Bootstrap administrator access key id. When generated, the pair is printed once and kept only sealed with the master key in the database (mode 0600); the secret cannot be shown again.',
    usedBy: 'api, smtp',
  },
  rootSecretAccessKey: {
    env: 'SESAME_ROOT_SECRET_ACCESS_KEY',
    parse: (raw: string, env: string) => {
      if (raw.trim().length < 16) throw new ConfigError(`${env}: a secret access key needs at least 16 characters`);
      return raw.trim();
    },
    default: undefined as string | undefined,
    defaultDoc: 'generated on first start',
    description: 'Bootstrap administrator secret access key (set together with `SESAME_ROOT_ACCESS_KEY_ID`).',
    usedBy: 'api, smtp',
    secret: true,
  },
  publicUrl: {
    env: 'SESAME_PUBLIC_URL',
    parse: parseUrl(['http', 'https']),
    default: (c: Partial<Record<string, unknown>>) => `http://${String(c.listenHost)}:${String(c.httpPort)}`,
    defaultDoc: '`http://<listen host>:<http port>`',
    description: 'Base of tracking, unsubscribe and verification links.',
    usedBy: 'api, worker',
  },
  dnsServers: {
    env: 'SESAME_DNS_SERVERS',
    parse: parseDnsServers,
    default: [] as string[],
    defaultDoc: 'system resolvers',
    description: '`host[:port],…` used for every DNS lookup (MX, SPF, DKIM, verification).',
    usedBy: 'worker, mx',
  },
  trustedProxies: {
    env: 'SESAME_TRUSTED_PROXIES',
    parse: parseAddressList,
    default: [] as string[],
    defaultDoc: 'none',
    description:
      'Addresses or CIDR blocks of the reverse proxies in front of the HTTP port (`127.0.0.1,10.0.0.0/8`). A request from one of them is taken to come from the client its `X-Forwarded-For` names: the console\'s sign-in brake, the source IP of sent messages and the logs use that address. Without it, every request behind a proxy comes from the proxy.',
    usedBy: 'api',
  },
  outboundPort: { env: 'SESAME_OUTBOUND_PORT', parse: parsePort, default: 25, description: "Port used to connect to recipients' MX hosts.", usedBy: 'worker' },
  deliveryConnectTimeoutMs: {
    env: 'SESAME_DELIVERY_CONNECT_TIMEOUT',
    parse: parseDuration,
    default: 30_000,
    defaultDoc: '`30s`',
    unit: 'ms' as const,
    description: "How long delivery waits for a recipient's MX host to accept the connection, and again for its greeting (as Postfix's `smtp_connect_timeout`); then the next MX host is tried, and the recipient is deferred when none answers.",
    usedBy: 'worker',
  },
  deliveryConnectionCacheMs: {
    env: 'SESAME_DELIVERY_CONNECTION_CACHE',
    parse: parseDuration,
    default: 2_000,
    defaultDoc: '`2s`',
    unit: 'ms' as const,
    description:
      "How long a delivery connection stays open after its last message, for the next messages to the same destination (as Postfix's `smtp_connection_cache_time_limit`): they go over it without a DNS lookup, a TCP connection, a greeting, EHLO and STARTTLS. A kept connection holds one of the destination's `SESAME_DOMAIN_CONNECTIONS` slots, and is not reused after 5 minutes (Postfix's `smtp_connection_reuse_time_limit`); at most 256 are kept at once. A connection is not kept while another of the node waits for the destination's slot, nor on nodes that share PostgreSQL (a kept slot is the installation's, and other nodes may be waiting for it). `0` closes every connection after its messages.",
    usedBy: 'worker',
  },
  deliveryLeaseMs: {
    env: 'SESAME_DELIVERY_LEASE',
    parse: parseDuration,
    default: 300_000,
    defaultDoc: '`5m`',
    unit: 'ms' as const,
    description:
      'How long a node holds the recipients it is delivering (its lease). A node that dies leaves its in-flight recipients to the others once the lease expires (a node restarted on its data dir takes its own back at once). A live node renews its leases every third of this while it delivers, so a slow batch is not taken over; the value bounds how long the recipients of a dead node wait.',
    usedBy: 'worker',
  },
  smartHost: {
    env: 'SESAME_SMART_HOST',
    parse: parseUrl(['smtp', 'smtps']),
    default: undefined as string | undefined,
    defaultDoc: 'none',
    description: '`smtp://[user:pass@]host:port` relay that all outbound mail goes through.',
    usedBy: 'worker',
    secret: true,
  },
  tlsCert: { env: 'SESAME_TLS_CERT', parse: parseString, default: undefined as string | undefined, defaultDoc: 'self-signed certificate created in the data dir', description: 'PEM certificate file for STARTTLS, implicit TLS and HTTPS.', usedBy: 'smtp, mx' },
  tlsKey: { env: 'SESAME_TLS_KEY', parse: parseString, default: undefined as string | undefined, defaultDoc: 'key created in the data dir', description: 'PEM private key file matching `SESAME_TLS_CERT`.', usedBy: 'smtp, mx' },
  smtpMaxConnections: {
    env: 'SESAME_SMTP_MAX_CONNECTIONS',
    parse: parseInteger(1, 100_000),
    default: 1000,
    description: 'Simultaneous SMTP submission connections on this node (both ports together); more get `421 Too many concurrent SMTP connections`.',
    usedBy: 'smtp',
  },
  smtpMaxConnectionsPerIp: {
    env: 'SESAME_SMTP_MAX_CONNECTIONS_PER_IP',
    parse: parseInteger(1, 100_000),
    // A submission client is usually one application host with a connection pool of its own
    // (200 sessions is an ordinary pool for a bulk sender), not a stranger on the internet: the
    // default takes such a pool whole, with room for sessions reconnecting, and still keeps one
    // address to a quarter of the node's 1000 connections.
    default: 250,
    description:
      'Simultaneous SMTP submission connections from one client address (an IPv6 client counts per /64); more get `421 Too many concurrent SMTP connections`. The default takes one application host with a 200-connection pool (plus sessions reconnecting) and still keeps one address to a quarter of the default `SESAME_SMTP_MAX_CONNECTIONS`; behind a load balancer that hides client addresses, every client counts as the balancer\'s.',
    usedBy: 'smtp',
  },
  mxMaxConnections: {
    env: 'SESAME_MX_MAX_CONNECTIONS',
    parse: parseInteger(1, 100_000),
    default: 1000,
    description: 'Simultaneous MX connections on this node; more get `421 4.7.0 <hostname> Error: too many connections`.',
    usedBy: 'mx',
  },
  mxMaxConnectionsPerIp: {
    env: 'SESAME_MX_MAX_CONNECTIONS_PER_IP',
    parse: parseInteger(1, 100_000),
    default: 50,
    description: 'Simultaneous MX connections from one client address (an IPv6 client counts per /64), separate from the submission limit: large senders deliver over many sessions at once. More get `421 4.7.0 <hostname> Error: too many connections from <address>`, as from Postfix.',
    usedBy: 'mx',
  },
  smtpMaxCommands: {
    env: 'SESAME_SMTP_MAX_COMMANDS',
    parse: parseInteger(10, 10_000_000),
    default: 10_000,
    description: 'Commands one SMTP connection may send (each line of an AUTH exchange counts); then `421` and the connection closes, and the client reconnects.',
    usedBy: 'smtp',
  },
  smtpMaxUnauthenticatedCommands: {
    env: 'SESAME_SMTP_MAX_UNAUTHENTICATED_COMMANDS',
    parse: parseInteger(5, 1000),
    default: 20,
    description: 'Commands an SMTP connection may send before it has authenticated (EHLO, STARTTLS and AUTH lines included); then `421` and the connection closes.',
    usedBy: 'smtp',
  },
  smtpIdleTimeoutMs: {
    env: 'SESAME_SMTP_IDLE_TIMEOUT',
    parse: parseDuration,
    default: 60_000,
    defaultDoc: '`60s`',
    unit: 'ms' as const,
    description: 'An SMTP connection that sends nothing for this long gets `421` and is closed (also bounds a stalled DATA).',
    usedBy: 'smtp',
  },
  smtpAuthMaxFailures: {
    env: 'SESAME_SMTP_AUTH_MAX_FAILURES',
    parse: parseInteger(1, 10_000),
    default: 10,
    description: 'Failed SMTP AUTH attempts from one client address (within `SESAME_SMTP_AUTH_LOCKOUT` of each other) before the address is locked out; from the fourth failure on, each refusal is delayed.',
    usedBy: 'smtp',
  },
  smtpAuthLockoutMs: {
    env: 'SESAME_SMTP_AUTH_LOCKOUT',
    parse: parseDuration,
    default: 900_000,
    defaultDoc: '`15m`',
    unit: 'ms' as const,
    description: 'How long a locked-out client address gets `454 4.7.0 Temporary authentication failure` for every AUTH, right password or not; also how long failures are remembered.',
    usedBy: 'smtp',
  },
  smtpAuthFailureDelayMs: {
    env: 'SESAME_SMTP_AUTH_FAILURE_DELAY',
    parse: parseDuration,
    default: 1000,
    defaultDoc: '`1s`',
    unit: 'ms' as const,
    description: 'Step of the delay before refusing a failed SMTP AUTH: the fourth failure from an address waits one step, the fifth two, up to five steps.',
    usedBy: 'smtp',
  },
  consoleSignInMaxFailures: {
    env: 'SESAME_CONSOLE_SIGN_IN_MAX_FAILURES',
    parse: parseInteger(1, 10_000),
    default: 5,
    description: 'Failed console sign-ins for one user name or access key id (each within `SESAME_CONSOLE_SIGN_IN_LOCKOUT` of the previous) before sign-ins with it are refused (`429 TooManyRequestsException`, right password or not) for `SESAME_CONSOLE_SIGN_IN_LOCKOUT`.',
    usedBy: 'api',
  },
  consoleSignInMaxFailuresPerClient: {
    env: 'SESAME_CONSOLE_SIGN_IN_MAX_FAILURES_PER_CLIENT',
    parse: parseInteger(1, 100_000),
    default: 20,
    description: 'Failed console sign-ins from one client address (IPv4 address, IPv6 /64), whatever the name, before every sign-in from it is refused for `SESAME_CONSOLE_SIGN_IN_LOCKOUT`.',
    usedBy: 'api',
  },
  consoleSignInLockoutMs: {
    env: 'SESAME_CONSOLE_SIGN_IN_LOCKOUT',
    parse: parseDuration,
    default: 900_000,
    defaultDoc: '`15m`',
    unit: 'ms' as const,
    description: 'How long a locked-out console user name, key id or client address is refused (the `Retry-After` of the `429`); also how long a failed sign-in is remembered.',
    usedBy: 'api',
  },
  retrySchedule: {
    env: 'SESAME_RETRY_SCHEDULE',
    parse: parseRetrySchedule,
    default: [60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000],
    defaultDoc: '`60s,5m,15m,30m,1h,2h,4h`',
    unit: 'ms' as const,
    description: 'Delays between delivery attempts; the last one repeats.',
    usedBy: 'worker',
  },
  maxDeliverySeconds: {
    env: 'SESAME_MAX_DELIVERY_SECONDS',
    parse: parseInteger(1, 10 * 86400),
    default: 50_400,
    defaultDoc: '`50400` (14 h)',
    description: 'After this many seconds a deferred recipient bounces (`Transient`).',
    usedBy: 'worker',
  },
  domainConnections: {
    env: 'SESAME_DOMAIN_CONNECTIONS',
    parse: parseInteger(1, 1000),
    default: 20,
    description: "Simultaneous outbound connections per destination domain (20, as Postfix's `default_destination_concurrency_limit`): from the node on SQLite, from the whole installation when nodes share PostgreSQL.",
    usedBy: 'worker',
  },
  domainRates: {
    env: 'SESAME_DOMAIN_RATE',
    parse: parseRates,
    default: {} as Record<string, number>,
    defaultDoc: 'no limit',
    description: 'Messages per destination domain (from the whole installation when nodes share PostgreSQL): `50/s`, or per domain with a default, `gmail.com=20/s,example.org=300/m,*=100/s` (units s, m, h). Mail over the rate waits its turn; it is not counted as an attempt.',
    usedBy: 'worker',
  },
  verifyIntervalMs: {
    env: 'SESAME_VERIFY_INTERVAL',
    parse: parseDuration,
    default: 300_000,
    defaultDoc: '`5m`',
    unit: 'ms' as const,
    description: 'How often pending identities and MAIL FROM domains are re-checked in DNS.',
    usedBy: 'worker',
  },
  nodeHeartbeatMs: {
    env: 'SESAME_NODE_HEARTBEAT',
    parse: (raw: string, env: string) => {
      const ms = parseDuration(raw, env);
      if (ms < 100) throw new ConfigError(`${env}: "${raw}" is too short; give at least 100ms (e.g. 5s)`);
      return ms;
    },
    default: 5000,
    defaultDoc: '`5s`',
    unit: 'ms' as const,
    description:
      'How often this node refreshes its row in the node registry (`sesame nodes`). A node that missed three heartbeats is shown as down, and the installation-wide jobs it held (identity verification) pass to another node after the same time.',
    usedBy: 'all',
  },
  webhookRetrySchedule: {
    env: 'SESAME_WEBHOOK_RETRY_SCHEDULE',
    parse: parseRetrySchedule,
    default: [1000, 5000, 15_000, 30_000, 60_000, 120_000, 300_000],
    defaultDoc: '`1s,5s,15s,30s,1m,2m,5m`',
    unit: 'ms' as const,
    description: 'Delays between attempts of an HTTP delivery (SNS subscriptions, event-bus webhooks) that failed; the last one repeats.',
    usedBy: 'worker',
  },
  webhookRetryWindowMs: {
    env: 'SESAME_WEBHOOK_RETRY_WINDOW',
    parse: parseDuration,
    default: 86_400_000,
    defaultDoc: '`24h`',
    unit: 'ms' as const,
    description: 'How long an HTTP delivery is retried before it is given up (logged as `WEBHOOK_DELIVERY_EXPIRED`).',
    usedBy: 'worker',
  },
  webhookTimeoutMs: {
    env: 'SESAME_WEBHOOK_TIMEOUT',
    parse: parseDuration,
    default: 15_000,
    defaultDoc: '`15s`',
    unit: 'ms' as const,
    description: 'Time an HTTP endpoint has to answer one delivery; no answer counts as a failure.',
    usedBy: 'worker',
  },
  reputationWindowMs: {
    env: 'SESAME_REPUTATION_WINDOW',
    parse: parseDuration,
    default: 7 * 86_400_000,
    defaultDoc: '`7d`',
    unit: 'ms' as const,
    description: 'Bounce and complaint rates are computed over the sending of this last period.',
    usedBy: 'worker',
  },
  reputationMinSends: {
    env: 'SESAME_REPUTATION_MIN_SENDS',
    parse: parseInteger(1, 1_000_000_000),
    default: 100,
    description: 'Recipients an account must have sent in the window before its rates lead to a verdict (a representative volume).',
    usedBy: 'worker',
  },
  reputationBounceReview: { env: 'SESAME_REPUTATION_BOUNCE_REVIEW', parse: parseRate, default: 0.05, description: "Hard-bounce rate that puts an account under review (`EnforcementStatus` PROBATION); SES's 5 %.", usedBy: 'worker' },
  reputationBouncePause: { env: 'SESAME_REPUTATION_BOUNCE_PAUSE', parse: parseRate, default: 0.1, description: "Hard-bounce rate that pauses an account's sending (`EnforcementStatus` SHUTDOWN); SES's 10 %.", usedBy: 'worker' },
  reputationComplaintReview: { env: 'SESAME_REPUTATION_COMPLAINT_REVIEW', parse: parseRate, default: 0.001, description: "Complaint rate that puts an account under review; SES's 0.1 %.", usedBy: 'worker' },
  reputationComplaintPause: { env: 'SESAME_REPUTATION_COMPLAINT_PAUSE', parse: parseRate, default: 0.005, description: "Complaint rate that pauses an account's sending; SES's 0.5 %.", usedBy: 'worker' },
  reputationAutoPause: {
    env: 'SESAME_REPUTATION_AUTO_PAUSE',
    parse: parseBoolean,
    default: true,
    description: 'Pause sending automatically when a rate passes its pause threshold (`false`: only report PROBATION).',
    usedBy: 'worker',
  },
  masterKey: {
    env: 'SESAME_MASTER_KEY',
    parse: (raw: string, env: string) => {
      const b = Buffer.from(raw.trim(), 'base64');
      if (b.length !== 32 && !/^[0-9a-f]{64}$/i.test(raw.trim())) throw new ConfigError(`${env}: give 32 bytes as base64 (44 characters) or hex (64 characters); generate one with: openssl rand -base64 32`);
      return raw.trim();
    },
    default: undefined as string | undefined,
    defaultDoc: 'generated key file `master.key` in the data dir',
    description: 'Key (32 bytes, base64 or hex) that seals secrets at rest (secret access keys, DKIM private keys) and the stored mail of capabilities that encrypt it. Back it up: without it sealed data cannot be read.',
    usedBy: 'all',
    secret: true,
  },
  rspamdUrl: { env: 'SESAME_RSPAMD_URL', parse: parseUrl(['http', 'https']), default: undefined as string | undefined, defaultDoc: 'none', description: "rspamd's HTTP endpoint (`http://127.0.0.1:11333`) for spam verdicts on received mail.", usedBy: 'mx' },
  clamdUrl: { env: 'SESAME_CLAMD_URL', parse: parseUrl(['tcp']), default: undefined as string | undefined, defaultDoc: 'none', description: "clamd's TCP address (`tcp://127.0.0.1:3310`) for virus verdicts on received mail.", usedBy: 'mx' },
  workerThread: {
    env: 'SESAME_WORKER_THREAD',
    parse: parseBoolean,
    default: true,
    description:
      'On SQLite, run the `worker` role (delivery, event publishing, webhooks, DNS checks) on a thread of its own with its own database connection, so that accepting and delivering use two cores (ADR 0019). `false` runs everything on one thread. Ignored on PostgreSQL.',
    usedBy: 'worker',
  },
  readCacheMs: {
    env: 'SESAME_READ_CACHE',
    parse: parseDuration,
    default: 50,
    defaultDoc: '`50ms`',
    unit: 'ms' as const,
    description:
      "How long a node answers again from what it read of an access key, an account's settings and an identity, instead of reading the row for every request (ADR 0024). The node's own changes are seen at once; a change made by another node or by the CLI is seen at most this late (a key revoked there may still sign requests to this node for that long; IAM too is eventually consistent). `0` reads every time.",
    usedBy: 'all',
  },
  roles: { env: 'SESAME_ROLES', parse: parseRoles, default: ['api', 'smtp', 'mx', 'worker'] as Role[], defaultDoc: '`api,smtp,mx,worker`', description: 'Which parts this node runs (several nodes may share one PostgreSQL).', usedBy: 'all' },
  logLevel: {
    env: 'SESAME_LOG_LEVEL',
    parse: (raw: string, env: string) => {
      const v = raw.trim().toLowerCase();
      if (!LOG_LEVELS.includes(v)) throw new ConfigError(`${env}: "${raw}" is not one of ${LOG_LEVELS.join(', ')}`);
      return v;
    },
    default: 'info',
    description: 'pino log level.',
    usedBy: 'all',
  },
} satisfies Record<string, ConfigKey<unknown>>;

type Schema = typeof schema;
type ValueOf<K extends keyof Schema> = Schema[K] extends ConfigKey<infer T> ? T : never;

/** The parsed configuration. */
export type Config = { [K in keyof Schema]: ValueOf<K> } & {
  /** Variables that looked like ours but are not in the schema (reported at start). */
  unknownVariables: string[];
  /** Where the config file was read from, if any. */
  configFile?: string;
};
