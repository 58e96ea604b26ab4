/**
 * The `worker` role on a thread of its own (ADR 0019). On SQLite every statement runs on the thread
 * that issues it, so a node that accepts and delivers on one thread uses one core for both, and the
 * deliveries wait behind the accepts. With SESAME_WORKER_THREAD (the default) the main thread keeps
 * the listeners (api, smtp, mx) and this thread runs delivery, event publishing, webhooks and the DNS
 * checks with its own connection to the same database file; WAL lets both read at once, and writes
 * take turns on SQLite's write lock (`BEGIN IMMEDIATE`, busy_timeout).
 *
 * What crosses between the threads is small: main wakes the thread's loops after its commits (they
 * would otherwise wait for their poll interval), the thread sends its log lines (main writes them
 * where its own go) and, a quarter of a second after they change, the counts main's /metrics shows.
 */
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/schema.ts';
import type { DeliveryObserver } from '../core/delivery/worker.ts';
import type { EventCounter } from '../core/events/dispatcher.ts';
import type { RatesObserver } from '../core/events/reputation.ts';
import type { WebhookObserver } from '../core/events/webhook-worker.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';

/** Verification check results as the verification worker reports them. */
type CheckResult = 'success' | 'pending' | 'temporary_failure' | 'failed';

/** What the worker role reports, which main's /metrics shows. */
export interface WorkerObservers {
  deliveryObserver: DeliveryObserver;
  webhookObserver: WebhookObserver;
  ratesObserver: RatesObserver;
  counter: EventCounter;
  onVerificationCheck: (result: CheckResult) => void;
}

/** The observers of a node whose worker role runs in its own thread: straight into its metrics. */
export function metricsObservers(metrics: Metrics): WorkerObservers {
  return {
    deliveryObserver: { outcome: (kind) => metrics.deliveries.inc({ outcome: kind }) },
    webhookObserver: { outcome: (kind, outcome) => metrics.webhookDeliveries.inc({ kind, outcome }) },
    ratesObserver: (account, set, r) => {
      metrics.bounceRate.set({ account, configuration_set: set }, r.bounceRate);
      metrics.complaintRate.set({ account, configuration_set: set }, r.complaintRate);
    },
    counter: metrics.cloudWatch,
    onVerificationCheck: (result) => metrics.verificationChecks.inc({ result }),
  };
}

/** The observations of one interval, as the worker thread sends them to main. */
export interface ObservedBatch {
  deliveries: Array<[string, number]>;
  webhooks: Array<[string, string, number]>;
  rates: Array<[string, string, { bounceRate: number; complaintRate: number }]>;
  events: Array<[{ configurationSet: string; destination: string; eventType: string }, Array<[string, string]>]>;
  checks: Array<[string, number]>;
}

/**
 * How much nicer than main the worker thread runs (Linux; capped at 19), so that when the cores are
 * all busy, main and the DKIM threads, which answer waiting clients, run first (ADR 0023).
 */
export const WORKER_THREAD_NICE = 10;

/** Counts observations in the worker thread until `take()` hands them over (`onFirst` says when to plan that). */
export class ObservationBuffer {
  private empty = true;

  /** @param onFirst called when an observation arrives in an empty buffer */
  constructor(private readonly onFirst: () => void = () => {}) {}

  private note(): void {
    if (this.empty) {
      this.empty = false;
      this.onFirst();
    }
  }

  private deliveries = new Map<string, number>();
  private webhooks = new Map<string, [string, string, number]>();
  private rates = new Map<string, [string, string, { bounceRate: number; complaintRate: number }]>();
  private events: ObservedBatch['events'] = [];
  private checks = new Map<string, number>();

  readonly observers: WorkerObservers = {
    deliveryObserver: {
      outcome: (kind) => {
        this.note();
        this.deliveries.set(kind, (this.deliveries.get(kind) ?? 0) + 1);
      },
    },
    webhookObserver: {
      outcome: (kind, outcome) => {
        this.note();
        const k = `${kind}\n${outcome}`;
        const e = this.webhooks.get(k);
        if (e) e[2]++;
        else this.webhooks.set(k, [kind, outcome, 1]);
      },
    },
    // A gauge: the last value of each series wins.
    ratesObserver: (account, set, r) => {
      this.note();
      this.rates.set(`${account}\n${set}`, [account, set, { bounceRate: r.bounceRate, complaintRate: r.complaintRate }]);
    },
    counter: {
      count: (labels, dimensions) => {
        this.note();
        this.events.push([labels, dimensions]);
      },
    },
    onVerificationCheck: (result) => {
      this.note();
      this.checks.set(result, (this.checks.get(result) ?? 0) + 1);
    },
  };

  /** What was observed since the last call; undefined when nothing was. */
  take(): ObservedBatch | undefined {
    if (this.empty) return undefined;
    this.empty = true;
    const batch: ObservedBatch = {
      deliveries: [...this.deliveries],
      webhooks: [...this.webhooks.values()],
      rates: [...this.rates.values()],
      events: this.events,
      checks: [...this.checks],
    };
    this.deliveries = new Map();
    this.webhooks = new Map();
    this.rates = new Map();
    this.events = [];
    this.checks = new Map();
    return batch;
  }
}

/** Applies a batch from the worker thread to main's metrics. */
export function applyObserved(metrics: Metrics, b: ObservedBatch): void {
  for (const [outcome, n] of b.deliveries) metrics.deliveries.inc({ outcome }, n);
  for (const [kind, outcome, n] of b.webhooks) metrics.webhookDeliveries.inc({ kind, outcome }, n);
  for (const [account, set, r] of b.rates) {
    metrics.bounceRate.set({ account, configuration_set: set }, r.bounceRate);
    metrics.complaintRate.set({ account, configuration_set: set }, r.complaintRate);
  }
  for (const [labels, dims] of b.events) metrics.cloudWatch.count(labels, dims);
  for (const [result, n] of b.checks) metrics.verificationChecks.inc({ result }, n);
}

/** The worker role's loops main can wake. */
export type WakeTarget = 'delivery' | 'dispatcher' | 'webhooks';

/** Messages from main to the worker thread. */
export type ToWorker = { type: 'wake'; target: WakeTarget } | { type: 'stop' };

/** Messages from the worker thread to main. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'log'; chunk: string }
  | { type: 'observed'; batch: ObservedBatch }
  | { type: 'stopped' };

/** What the thread is started with. */
export interface WorkerThreadData {
  config: Config;
  /** The public URL main settled on after listening (port 0 becomes the real port). */
  publicUrl: string;
  /** The SNS signing pair main serves the certificate of. */
  sns: { cert: string; key: string };
}

/** The running worker thread, as main sees it. */
export interface WorkerThread {
  /** Asks a loop of the thread to look at the database now. */
  wake(target: WakeTarget): void;
  /** Stops the loops (in-flight deliveries finish, leases are released) and waits for the thread to end. */
  stop(): Promise<void>;
  /** Ends the thread at once, as a crash would; the node starts another (tests of that path). */
  terminate(): Promise<void>;
  /** `running`, or `restarting` between an unexpected end and the next thread's start (/health shows it). */
  state(): 'running' | 'restarting';
}

/** The thread's entry: registers tsx's loader (Sesame runs its TypeScript sources, ADR 0002), then runs the module. */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import(workerData.tsx)
  .then((tsx) => { tsx.register(); return import(workerData.entry); })
  .catch((err) => { require('node:worker_threads').parentPort.postMessage({ type: 'failed', message: String(err && err.stack || err) }); });
`;

/** First and longest pause before a worker thread that ended unexpectedly is started again. */
const RESTART_MIN_MS = 1000;
const RESTART_MAX_MS = 30_000;
/** A thread that ran this long before it ended is started again after the first pause, not a longer one. */
const STABLE_AFTER_MS = 60_000;

/**
 * Starts the worker role's thread and resolves once its loops run; rejects when it cannot start (the
 * node does not start either). A thread that ends unexpectedly later is logged and started again
 * (its leased recipients are released by the new one, so nothing waits for a lease to expire).
 */
export async function startWorkerThread(o: {
  data: WorkerThreadData;
  metrics: Metrics;
  logger: Logger;
  /** Where the thread's log lines are written (main's own log destination). */
  logDestination: NodeJS.WritableStream;
  /** Told when a thread is ready (true) and when it has ended (false). */
  onRunning?: (running: boolean) => void;
}): Promise<WorkerThread> {
  let worker: Worker | undefined;
  let stopping = false;
  let restartMs = RESTART_MIN_MS;
  let restartTimer: NodeJS.Timeout | undefined;
  let ended: Promise<void> = Promise.resolve();
  const gauges = o.metrics.workerThreadMetrics();
  /** Between a thread's 'ready' and its end. */
  let running = false;

  // Backs off (1 s doubling to 30 s) while the thread keeps failing; a thread that got going resets it.
  const scheduleRestart = (): void => {
    if (stopping) return;
    const wait = restartMs;
    restartMs = Math.min(RESTART_MAX_MS, restartMs * 2);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping) return;
      spawnOne().catch((err: Error) => {
        o.logger.error({ code: 'WORKER_THREAD_EXITED', err }, `the worker thread could not start again: ${err.message}`);
        scheduleRestart();
      });
    }, wait);
  };

  const spawnOne = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(BOOTSTRAP, {
        eval: true,
        workerData: { ...o.data, tsx: import.meta.resolve('tsx/esm/api'), entry: new URL('./worker-thread-entry.ts', import.meta.url).href },
      });
      worker = w;
      let started = false;
      let readyAt = 0;
      let failure: string | undefined;
      w.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'log':
            o.logDestination.write(m.chunk);
            break;
          case 'observed':
            applyObserved(o.metrics, m.batch);
            break;
          case 'ready':
            started = true;
            readyAt = performance.now();
            running = true;
            gauges.up.set(1);
            o.onRunning?.(true);
            resolve();
            break;
          case 'failed':
            failure = m.message;
            break;
          case 'stopped':
            // Its loops are done and its storage closed; idle keep-alive sockets need not hold it.
            void w.terminate();
            break;
        }
      });
      w.on('error', (err) => {
        failure ??= err.stack ?? String(err);
      });
      ended = new Promise<void>((done) =>
        w.once('exit', (code) => {
          done();
          if (worker === w) worker = undefined;
          if (running) o.onRunning?.(false);
          running = false;
          gauges.up.set(0);
          if (!started) {
            reject(new Error(`the worker thread did not start: ${failure ?? `it exited with code ${code}`}`));
            return;
          }
          if (stopping) return;
          // A thread that crashes soon after its start (every restart releases the node's leases, so a
          // message that crashes it would be sent again each time) keeps backing off.
          if (performance.now() - readyAt >= STABLE_AFTER_MS) restartMs = RESTART_MIN_MS;
          gauges.restarts.inc();
          o.logger.error(
            { code: 'WORKER_THREAD_EXITED', exitCode: code, failure },
            `the worker thread (delivery, events, webhooks, DNS checks) ended unexpectedly${failure ? `: ${failure.split('\n')[0]}` : ''}; starting it again in ${restartMs / 1000} s`,
          );
          scheduleRestart();
        }),
      );
    });

  await spawnOne();
  // Wakes asked for in one turn of the event loop (one per commit under load) go as one message per loop.
  const pending = new Set<WakeTarget>();
  const sendWakes = () => {
    for (const target of pending) worker?.postMessage({ type: 'wake', target } satisfies ToWorker);
    pending.clear();
  };
  return {
    wake(target) {
      if (pending.size === 0) setImmediate(sendWakes);
      pending.add(target);
    },
    async terminate() {
      await worker?.terminate();
    },
    state: () => (running ? 'running' : 'restarting'),
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      worker?.postMessage({ type: 'stop' } satisfies ToWorker);
      await ended;
    },
  };
}
