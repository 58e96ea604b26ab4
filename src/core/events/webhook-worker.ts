/**
 * Delivers the durable webhook rows (SNS deliveries to subscribers, event-bus webhooks) with retries.
 * A row is removed only after a 2xx answer, so an endpoint that is down, slow or answering 5xx gets
 * every delivery once it is back, as long as it returns within the retry window; a crash between
 * the POST and the removal re-sends (at least once, as SNS). One failure of an endpoint in a pass
 * postpones that endpoint's other due rows untried, so an outage costs one attempt per pass, not
 * one per queued event.
 */
import type { Logger } from '../../observability/logger.ts';
import type { Storage, WebhookRecord, WebhookResult } from '../../storage/ports.ts';
import type { Clock } from '../clock.ts';
import { PollLoop } from '../poll-loop.ts';

/** Settings of the webhook worker. */
export interface WebhookSettings {
  /** Delays between attempts (ms); the last repeats. */
  retryScheduleMs: number[];
  /** Time allowed for one POST (connect to answer). */
  timeoutMs: number;
  /** Concurrent POSTs per endpoint. */
  perEndpoint: number;
}

/** What the worker reports, for metrics. */
export interface WebhookObserver {
  outcome(kind: string, outcome: 'delivered' | 'retry' | 'expired' | 'dropped'): void;
}

const LEASE_MS = 120_000;
const BATCH = 500;

/** The webhook delivery loop. */
export class WebhookWorker {
  private readonly loop: PollLoop;
  private starting: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(
    private readonly storage: Storage,
    private readonly clock: Clock,
    private readonly settings: WebhookSettings,
    private readonly logger: Logger,
    private readonly owner: string,
    private readonly observer: WebhookObserver = { outcome() {} },
  ) {
    this.loop = new PollLoop(async () => (await this.runOnce()) >= BATCH, 500, (err) => this.logger.error({ code: 'WEBHOOK_PASS_FAILED', err }, 'webhook delivery pass failed; will retry'));
  }

  /**
   * Starts the loop. Leases this node still held when it died are released first (the owner is
   * stable per data dir), so its in-flight deliveries go out now rather than when the leases expire.
   */
  start(): void {
    this.starting = this.storage.webhooks
      .release(this.owner)
      .catch((err: unknown) => this.logger.error({ code: 'WEBHOOK_PASS_FAILED', err }, 'could not release webhook leases left by an earlier run'))
      .then(() => {
        if (!this.stopping) this.loop.start();
      });
  }

  /** New rows are due now. */
  wake(): void {
    this.loop.wake();
  }

  /** Stops after the current pass (rows of an unfinished pass keep their leases until they expire). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.starting;
    await this.loop.stop();
  }

  /** One pass: lease due rows, POST them, store the results. Returns how many rows it leased. */
  async runOnce(): Promise<number> {
    const rows = await this.storage.webhooks.lease(this.owner, this.clock.now(), LEASE_MS, BATCH);
    if (rows.length === 0) return 0;
    const byUrl = new Map<string, WebhookRecord[]>();
    for (const r of rows) {
      let list = byUrl.get(r.url);
      if (!list) byUrl.set(r.url, (list = []));
      list.push(r);
    }
    const results: WebhookResult[] = [];
    await Promise.all([...byUrl.values()].map((list) => this.deliverEndpoint(list, results)));
    await this.storage.webhooks.complete(this.owner, results);
    return rows.length;
  }

  private async deliverEndpoint(rows: WebhookRecord[], results: WebhookResult[]): Promise<void> {
    let failure: { error: string; retryAt: number } | undefined;
    let next = 0;
    const lane = async () => {
      while (next < rows.length) {
        const r = rows[next++]!;
        if (failure) {
          // The endpoint just failed: keep this row for the same retry time, untried.
          results.push({ id: r.id!, outcome: 'retry', attempts: r.attempts, nextAttemptAt: Math.max(r.nextAttemptAt, failure.retryAt), lastError: r.lastError ?? failure.error });
          continue;
        }
        const error = await this.post(r);
        const now = this.clock.now();
        if (error === undefined) {
          results.push({ id: r.id!, outcome: 'delivered' });
          this.observer.outcome(r.kind, 'delivered');
          continue;
        }
        const attempts = r.attempts + 1;
        const schedule = this.settings.retryScheduleMs;
        const retryAt = now + schedule[Math.min(attempts - 1, schedule.length - 1)]!;
        if (retryAt > r.expiresAt) {
          results.push({ id: r.id!, outcome: 'dropped' });
          this.observer.outcome(r.kind, 'expired');
          this.logger.warn(
            { code: 'WEBHOOK_DELIVERY_EXPIRED', kind: r.kind, url: r.url, attempts, error, createdAt: new Date(r.createdAt).toISOString() },
            `gave up delivering to ${r.url} after ${attempts} attempts (retry window over): ${error}`,
          );
          continue;
        }
        if (!failure) failure = { error, retryAt };
        results.push({ id: r.id!, outcome: 'retry', attempts, nextAttemptAt: retryAt, lastError: error });
        this.observer.outcome(r.kind, 'retry');
        if (attempts === 1 || attempts % 10 === 0) {
          this.logger.warn({ code: 'WEBHOOK_DELIVERY_FAILED', kind: r.kind, url: r.url, attempts, error }, `delivery to ${r.url} failed (${error}); retrying at ${new Date(retryAt).toISOString()}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.perEndpoint, rows.length) }, lane));
  }

  /** POSTs one row; undefined on a 2xx answer, else what went wrong. */
  private async post(r: WebhookRecord): Promise<string | undefined> {
    try {
      const res = await fetch(r.url, { method: 'POST', headers: r.headers, body: r.body, redirect: 'manual', signal: AbortSignal.timeout(this.settings.timeoutMs) });
      // Drain the body so the keep-alive connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return undefined;
      return `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError') return `no answer within ${this.settings.timeoutMs} ms`;
      return e.cause?.code ?? e.cause?.message ?? e.message;
    }
  }
}
