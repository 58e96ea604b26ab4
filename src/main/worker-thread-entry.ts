/**
 * Runs in the worker thread (src/main/worker-thread.ts, ADR 0019): opens its own connection to the
 * node's database, assembles core, and runs the `worker` role's loops until main asks it to stop.
 * Its log lines and metrics go to main; main's wakes reach its loops.
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { Writable } from 'node:stream';
import { createLogger } from '../observability/logger.ts';
import { assembleCore, startWorkerRole, stopWorkerRole } from './app.ts';
import { ObservationBuffer, WORKER_THREAD_NICE, type FromWorker, type ToWorker, type WorkerThreadData } from './worker-thread.ts';

const port = parentPort!;
/** How often this thread checkpoints the write-ahead log besides its own commits' checkpoints (SQLite). */
const CHECKPOINT_EVERY_MS = 250;

// This thread delivers what main accepted; main and the DKIM threads answer clients who are waiting.
// When the cores are all busy, the scheduler should run those first: this thread alone goes 10 nicer
// than the thread that started it (on Linux, pid 0 names the calling thread, which inherited main's
// niceness). Delivery still gets the cores main leaves idle, and its share of busy ones (ADR 0023).
if (process.platform === 'linux') {
  try {
    setPriority(0, Math.min(19, getPriority(0) + WORKER_THREAD_NICE));
  } catch {
    // Raising one's own niceness is always allowed on Linux; if a sandbox refuses, run at main's priority.
  }
}
const post = (m: FromWorker) => port.postMessage(m);
const { config, publicUrl, sns } = workerData as WorkerThreadData;

// pino writes each line with one write(); main writes it where its own lines go.
// Its lines carry `thread: "worker"`, so that an operator can tell the two threads' lines apart.
const logger = createLogger(
  config.logLevel,
  new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      post({ type: 'log', chunk: chunk.toString() });
      cb();
    },
  }),
).child({ thread: 'worker' });
process.on('unhandledRejection', (reason) => {
  logger.error({ code: 'UNHANDLED_REJECTION', err: reason }, 'unhandled promise rejection in the worker thread (kept running)');
});

// Counts go to main a quarter of a second after the first one of a batch: few messages under load, fresh /metrics.
let observedTimer: NodeJS.Timeout | undefined;
const sendObserved = () => {
  clearTimeout(observedTimer);
  observedTimer = undefined;
  const batch = observed.take();
  if (batch) post({ type: 'observed', batch });
};
const observed = new ObservationBuffer(() => {
  observedTimer ??= setTimeout(sendObserved, 250);
});

try {
  // DKIM signing here is rare (system mail the worker role sends, such as forwarded feedback): on this thread.
  // Main's SNS signing pair, and no bootstrap: main did it, and a restarted thread must not redo it.
  const { core, storage, dkim } = await assembleCore(config, { logger, dkimThreads: 0, observers: observed.observers, snsPair: sns });
  core.settings.publicUrl = publicUrl;
  // Main leaves the write-ahead log's checkpoints to this thread (it blocks the loop that runs one):
  // its own commits take them past 1,000 pages, as SQLite does, and this timer takes them while it
  // has nothing to commit and main writes. Unref'd: the port and the loops keep the thread alive, and
  // a thread whose start failed below must still end.
  const checkpoints = storage.checkpointWal
    ? setInterval(() => {
        try {
          storage.checkpointWal!();
        } catch (err) {
          logger.warn({ code: 'WAL_CHECKPOINT_FAILED', err }, `a checkpoint of the write-ahead log failed (${(err as Error).message}); the next one tries again`);
        }
      }, CHECKPOINT_EVERY_MS).unref()
    : undefined;
  let stopping = false;
  port.on('message', (m: ToWorker) => {
    if (m.type === 'wake') core[m.target].wake();
    else if (m.type === 'stop' && !stopping) {
      stopping = true;
      clearInterval(checkpoints);
      void (async () => {
        try {
          await stopWorkerRole(core);
          await Promise.all([storage.close(), dkim.close()]);
        } catch (err) {
          logger.error({ code: 'SHUTDOWN_FAILED', err }, 'the worker thread did not stop cleanly');
        }
        sendObserved();
        post({ type: 'stopped' });
        port.close();
      })();
    }
  });
  startWorkerRole(core);
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  port.close();
}
