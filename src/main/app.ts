/**
 * The composition root of a Sesame node: opens storage, assembles core, starts the HTTP front ends
 * and the workers its roles ask for, and closes them in order. `sesame serve` and the test helpers
 * both start Sesame through `startSesame`.
 *
 * The listeners' modules (Fastify and the HTTP front ends, smtp-server) are imported only when a
 * role needs them, so a CLI command that opens core alone starts without loading them.
 */
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.ts';
import { createCore, systemClock, type BootstrapResult, type Clock, type Core, type DnsResolver, type ScanInput } from '../core/index.ts';
import type { SmtpSubmission } from '../frontends/smtp/server.ts';
import type { MxListener } from '../frontends/smtp/mx-server.ts';
import { createDkimSigner, defaultDkimThreads } from '../lib/dkim-sign.ts';
import { SecretBox } from '../lib/secretbox.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { Metrics } from '../observability/metrics.ts';
import { openStorage } from '../storage/open.ts';
import { withReadCache } from '../storage/read-cache.ts';
import type { Storage } from '../storage/ports.ts';
import { createResolver } from './dns.ts';
import { loadMasterKey, loadNodeId } from './master-key.ts';
import { loadTlsCredentials } from './tls-certificate.ts';
import { loadSnsSigning, snsSigningFrom } from './sns-signing.ts';
import { fileStreams } from './streams.ts';
import { metricsObservers, startWorkerThread, type WakeTarget, type WorkerObservers, type WorkerThread } from './worker-thread.ts';
import { checkSpam } from '../lib/rspamd.ts';
import { scanVirus } from '../lib/clamd.ts';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** Options a caller (tests, the CLI) may inject instead of the real thing. */
export interface StartOptions {
  logger?: Logger;
  clock?: Clock;
  resolver?: DnsResolver;
  /** DKIM signing threads; 0 signs on the event loop (the CLI's default). */
  dkimThreads?: number;
  /** Where the worker thread's log lines go (ADR 0019); process.stdout when absent. */
  logDestination?: NodeJS.WritableStream;
  /** What the worker role reports (the worker thread counts and forwards); main's metrics when absent. */
  observers?: WorkerObservers;
}

/** A running Sesame node. */
export interface SesameInstance {
  config: Config;
  core: Core;
  storage: Storage;
  logger: Logger;
  metrics: Metrics;
  bootstrap: BootstrapResult;
  /** `http://host:port` of the HTTP listener (the real port when configured as 0). */
  httpUrl?: string;
  /** Bound SMTP submission STARTTLS port when the `smtp` role runs (the real port when configured as 0). */
  smtpPort?: number;
  /** Bound SMTP submission implicit-TLS port when the `smtp` role runs. */
  smtpsPort?: number;
  /** Bound MX port when the `mx` role runs. */
  mxPort?: number;
  /** The thread the worker role runs on (SQLite, SESAME_WORKER_THREAD; ADR 0019); undefined when it runs on this one. */
  workerThread?: WorkerThread;
  /** Runs one verification pass now (tests and `sesame` maintenance commands). */
  verifyNow(): Promise<void>;
  /** Stops accepting, finishes in-flight work, closes storage. Idempotent. */
  close(): Promise<void>;
}

/** Opens storage and assembles core without starting listeners (used by CLI commands), and bootstraps the root key. */
export async function openCore(config: Config, options: StartOptions = {}) {
  const opened = await assembleCore(config, options);
  const { core, storage, dkim } = opened;
  let bootstrap: BootstrapResult;
  try {
    bootstrap = await core.accounts.bootstrap(
      config.rootAccessKeyId && config.rootSecretAccessKey ? { accessKeyId: config.rootAccessKeyId, secretAccessKey: config.rootSecretAccessKey } : undefined,
    );
  } catch (err) {
    await Promise.all([storage.close(), dkim.close()]);
    throw err;
  }
  return { ...opened, bootstrap };
}

/**
 * Opens storage and assembles core. Without `snsPair` it loads (or creates) the SNS signing pair;
 * the worker thread passes main's, and skips the bootstrap that main already did (ADR 0019): a
 * restarted thread must not renew the pair main serves, nor fail on a root key revoked meanwhile.
 */
export async function assembleCore(config: Config, options: StartOptions & { snsPair?: { cert: string; key: string } } = {}) {
  const logger = options.logger ?? createLogger(config.logLevel);
  const box = new SecretBox(loadMasterKey(config.masterKey, config.dataDir));
  // The key that signs SNS deliveries; its URLs follow the public URL, which may be known only after listen.
  const publicUrl = () => core.settings.publicUrl;
  const snsSigning = options.snsPair ? snsSigningFrom(options.snsPair, publicUrl) : await loadSnsSigning(config, box, publicUrl, logger);
  const backend = await openStorage(config.databaseUrl, config.dataDir, (err) =>
    logger.warn({ code: 'DATABASE_CONNECTION_ERROR', err }, `an idle database connection failed (${err.message}); the pool replaces it`),
  );
  const storage = withReadCache(backend, config.readCacheMs);
  const metrics = new Metrics();
  // Backlogs are read when /metrics is scraped.
  metrics.backlogs = { events: () => storage.outbox.backlog(), webhooks: () => storage.webhooks.count() };
  const observers = options.observers ?? metricsObservers(metrics);
  const dkim = createDkimSigner(options.dkimThreads ?? 0);
  const core = createCore({
    dkim,
    storage,
    consoleSignIn: { maxFailuresPerName: config.consoleSignInMaxFailures, maxFailuresPerClient: config.consoleSignInMaxFailuresPerClient, lockoutMs: config.consoleSignInLockoutMs },
    box,
    sns: { signer: snsSigning.signer },
    clock: options.clock ?? systemClock,
    resolver: options.resolver ?? createResolver(config.dnsServers),
    logger,
    settings: {
      region: config.region,
      accountId: config.accountId,
      hostname: config.hostname,
      publicUrl: config.publicUrl,
      verifyIntervalMs: config.verifyIntervalMs,
    },
    sending: {
      maxDeliverySeconds: config.maxDeliverySeconds,
      outboundPort: config.outboundPort,
      connectTimeoutMs: config.deliveryConnectTimeoutMs,
      connectionCacheMs: config.deliveryConnectionCacheMs,
      leaseMs: config.deliveryLeaseMs,
      smartHost: config.smartHost,
      retryScheduleMs: config.retrySchedule,
      domainLimits: { connections: config.domainConnections, rates: config.domainRates },
    },
    deliveryObserver: observers.deliveryObserver,
    sendObserver: {
      accepted: ({ checks, sign, store }) => {
        metrics.sendStages.observe({ stage: 'checks' }, checks);
        metrics.sendStages.observe({ stage: 'sign' }, sign);
        metrics.sendStages.observe({ stage: 'store' }, store);
      },
    },
    events: {
      webhooks: { retryScheduleMs: config.webhookRetrySchedule, retryWindowMs: config.webhookRetryWindowMs, timeoutMs: config.webhookTimeoutMs },
      webhookObserver: observers.webhookObserver,
      reputation: {
        windowMs: config.reputationWindowMs,
        minSends: config.reputationMinSends,
        bounceReview: config.reputationBounceReview,
        bouncePause: config.reputationBouncePause,
        complaintReview: config.reputationComplaintReview,
        complaintPause: config.reputationComplaintPause,
        autoPause: config.reputationAutoPause,
      },
      ratesObserver: observers.ratesObserver,
      streams: fileStreams(join(config.dataDir, 'firehose')),
      counter: observers.counter,
      trackingKey: box.derive('tracking-links'),
    },
    scanners: {
      ...(config.rspamdUrl
        ? {
            // The message is streamed to rspamd with its length (a spooled 40 MB message is never read whole).
            spam: async (message: ScanInput, ctx: { from: string; rcpt: string[]; ip: string; helo: string }) => {
              const v = await checkSpam(config.rspamdUrl!, { size: message.size, body: message.stream() }, ctx);
              return { status: v.status, detail: v.reason ?? (v.score !== undefined ? `score ${v.score}/${v.required ?? '?'} (${v.action ?? ''})` : undefined) };
            },
          }
        : {}),
      ...(config.clamdUrl
        ? {
            virus: async (message: ScanInput) => {
              const v = await scanVirus(config.clamdUrl!, message.stream());
              return { status: v.status, detail: v.signature ?? v.reason };
            },
          }
        : {}),
    },
    nodeId: loadNodeId(config.dataDir),
    cluster: { heartbeatMs: config.nodeHeartbeatMs },
    onVerificationCheck: observers.onVerificationCheck,
  });
  return { logger, storage, metrics, core, box, dkim, snsSigning };
}

/** Starts every part of Sesame that `config.roles` names. */
export async function startSesame(config: Config, options: StartOptions = {}): Promise<SesameInstance> {
  // A server signs on worker threads (the default count); a CLI command signs in its own thread.
  const { logger, storage, metrics, core, bootstrap, box, dkim, snsSigning } = await openCore(config, { dkimThreads: defaultDkimThreads(), ...options });
  for (const v of config.unknownVariables) {
    logger.warn({ code: 'CONFIG_UNKNOWN_VARIABLE', variable: v }, `unknown configuration variable ${v} is ignored (see docs/config.md)`);
  }
  const waiting = new Set<string>();
  let app: FastifyInstance | undefined;
  let smtp: SmtpSubmission | undefined;
  let mx: MxListener | undefined;
  let httpUrl: string | undefined;
  let closing = false;
  let workerThread: WorkerThread | undefined;

  const instance: SesameInstance = {
    config,
    core,
    storage,
    logger,
    metrics,
    bootstrap,
    async verifyNow() {
      await core.verification.runAll();
    },
    async close() {
      if (closing) return;
      closing = true;
      logger.info({ code: 'SHUTDOWN_STARTED' }, 'shutting down: no new connections, finishing in-flight work');
      metrics.ready.set(0);
      // Front ends first (in-flight SMTP DATA and API sends reach their commit), then the batcher.
      await Promise.all([app?.close(), smtp?.close(), mx?.close()]);
      // The worker role, here (after the batcher) or in its thread (which stops its loops and closes its connection).
      if (workerThread) {
        await core.batcher.flush();
        await workerThread.stop();
      } else await stopWorkerRole(core);
      // Last: the node stays listed as up while it drains, and leaves the registry before storage closes.
      await core.nodes.deregister();
      await Promise.all([storage.close(), dkim.close()]);
      logger.info({ code: 'SHUTDOWN_COMPLETE' }, 'shut down cleanly');
    },
  };

  try {
    // The listeners' modules, loaded before the first listener opens, so that the node is ready as
    // soon as possible after its HTTP port answers.
    const [httpModule, smtpModule, mxModule] = await Promise.all([
      config.roles.includes('api') ? import('./http-app.ts') : undefined,
      config.roles.includes('smtp') ? import('../frontends/smtp/server.ts') : undefined,
      config.roles.includes('mx') ? import('../frontends/smtp/mx-server.ts') : undefined,
    ]);
    if (config.roles.includes('api')) {
      waiting.add('http');
      app = httpModule!.buildHttpApp(instance, () => [...waiting], snsSigning);
      await app.listen({ host: config.listenHost, port: config.httpPort });
      const addr = app.server.address() as AddressInfo;
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      httpUrl = `http://${host}:${addr.port}`;
      instance.httpUrl = httpUrl;
      // With SESAME_HTTP_PORT=0 the default public URL only becomes known now.
      if (config.httpPort === 0 && core.settings.publicUrl === `http://${config.listenHost}:0`) core.settings.publicUrl = httpUrl;
      waiting.delete('http');
      logger.info({ code: 'HTTP_LISTENING', url: httpUrl }, `HTTP API listening on ${httpUrl}`);
    }
    if (config.roles.includes('smtp')) {
      waiting.add('smtp');
      const tls = await loadTlsCredentials(config, box, logger);
      smtp = await smtpModule!.startSmtpSubmission({
        core,
        logger,
        metrics,
        settings: {
          hostname: config.hostname,
          region: config.region,
          listenHost: config.listenHost,
          port: config.smtpPort,
          tlsPort: config.smtpsPort,
          maxConnections: config.smtpMaxConnections,
          maxConnectionsPerClient: config.smtpMaxConnectionsPerIp,
          maxCommands: config.smtpMaxCommands,
          maxUnauthenticatedCommands: config.smtpMaxUnauthenticatedCommands,
          idleTimeoutMs: config.smtpIdleTimeoutMs,
          auth: { maxFailures: config.smtpAuthMaxFailures, lockoutMs: config.smtpAuthLockoutMs, delayStepMs: config.smtpAuthFailureDelayMs },
          tls: { key: tls.key, cert: tls.cert },
        },
      });
      instance.smtpPort = smtp.port;
      instance.smtpsPort = smtp.tlsPort;
      waiting.delete('smtp');
    }
    if (config.roles.includes('mx')) {
      waiting.add('mx');
      const tls = await loadTlsCredentials(config, box, logger);
      mx = await mxModule!.startMx({
        core,
        logger,
        metrics,
        settings: {
          hostname: config.hostname,
          listenHost: config.listenHost,
          port: config.mxPort,
          maxConnections: config.mxMaxConnections,
          maxConnectionsPerClient: config.mxMaxConnectionsPerIp,
          maxCommands: config.smtpMaxCommands,
          idleTimeoutMs: config.smtpIdleTimeoutMs,
          tls: { key: tls.key, cert: tls.cert },
        },
      });
      instance.mxPort = mx.port;
      waiting.delete('mx');
    }
    if (config.roles.includes('worker')) {
      // On SQLite the worker role gets a thread and a connection of its own (ADR 0019), unless a
      // caller injected a clock or resolver (tests), which cannot cross to another thread.
      if (config.workerThread && storage.kind === 'sqlite' && !options.clock && !options.resolver) {
        // Until the thread runs (about 0.7 s), /health answers 503 waiting for `worker`.
        waiting.add('worker');
        workerThread = instance.workerThread = await startWorkerThread({
          data: { config, publicUrl: core.settings.publicUrl, sns: { cert: snsSigning.certPem, key: snsSigning.keyPem } },
          metrics,
          logger,
          logDestination: options.logDestination ?? process.stdout,
          // A checkpoint blocks the loop that runs it: while the thread runs, it takes them, not main.
          onRunning: (running) => storage.walCheckpoints?.(running ? 'other' : 'self'),
        });
        // Main's commits (accepted mail, events of the API and the MX) wake the thread's loops.
        const thread = workerThread;
        for (const target of ['delivery', 'dispatcher', 'webhooks'] as const satisfies readonly WakeTarget[]) core[target].wake = () => thread.wake(target);
        waiting.delete('worker');
      } else startWorkerRole(core);
    }
    // Listed by `sesame nodes` from now on, with a heartbeat every SESAME_NODE_HEARTBEAT.
    await core.nodes.register({ roles: config.roles, hostname: hostname(), pid: process.pid, version: SESAME_VERSION });
  } catch (err) {
    await instance.close();
    throw err;
  }
  metrics.ready.set(waiting.size === 0 ? 1 : 0);
  return instance;
}

/** Starts the worker role's loops on this thread. */
export function startWorkerRole(core: Core): void {
  // Runs its checks only while this node holds the installation-wide verification lease.
  core.verification.start();
  core.delivery.start();
  core.dispatcher.start();
  core.webhooks.start();
}

/** Flushes the batcher, then stops the worker role's loops: in-flight deliveries finish and their leases are released. */
export async function stopWorkerRole(core: Core): Promise<void> {
  await core.batcher.flush();
  await core.delivery.stop();
  await core.dispatcher.stop();
  await core.webhooks.stop();
  // Gives the verification lease up, so another node takes the job at once.
  await core.verification.stop();
}

/** Sesame's version (package.json), recorded in the node registry. */
const SESAME_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
