/** Prometheus metrics (prom-client), one registry per Sesame instance so tests can run several. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The metrics Sesame exports at /metrics. */
export class Metrics {
  readonly registry = new Registry();
  /** API requests by operation and outcome. */
  readonly apiRequests = new Counter({ name: 'sesame_api_requests_total', help: 'SES API requests by API, operation and result code', labelNames: ['api', 'operation', 'code'] as const, registers: [this.registry] });
  /** API latency. */
  readonly apiDuration = new Histogram({
    name: 'sesame_api_request_duration_seconds',
    help: 'SES API request duration',
    labelNames: ['api'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  /** Where an accepted send's time went (core's SendStages). */
  readonly sendStages = new Histogram({
    name: 'sesame_send_stage_seconds',
    help: 'Time of each stage of an accepted send (API or SMTP): checks, sign (compose and DKIM), store (durable commit to the queue)',
    labelNames: ['stage'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  /** Authentication failures by reason. */
  readonly authFailures = new Counter({ name: 'sesame_auth_failures_total', help: 'Refused API authentications by error code', labelNames: ['code'] as const, registers: [this.registry] });
  /** DNS verification checks by outcome. */
  readonly verificationChecks = new Counter({ name: 'sesame_identity_verification_checks_total', help: 'Identity DNS checks by resulting status', labelNames: ['result'] as const, registers: [this.registry] });
  /** Delivery attempts by outcome. */
  readonly deliveries = new Counter({ name: 'sesame_delivery_attempts_total', help: 'Recipient delivery attempts by outcome (delivered, bounced, deferred)', labelNames: ['outcome'] as const, registers: [this.registry] });
  /** SMTP submission connections by listener and outcome. */
  readonly smtpConnections = new Counter({
    name: 'sesame_smtp_connections_total',
    help: 'SMTP submission connections by listener (starttls, tls) and result (accepted, refused_per_ip, refused_total)',
    labelNames: ['listener', 'result'] as const,
    registers: [this.registry],
  });
  /** SMTP submission connections open now. */
  readonly smtpOpenConnections = new Gauge({ name: 'sesame_smtp_open_connections', help: 'SMTP submission connections open now (both listeners)', registers: [this.registry] });
  /** SMTP AUTH attempts by result. */
  readonly smtpAuth = new Counter({ name: 'sesame_smtp_auth_total', help: 'SMTP AUTH attempts by result (success, failure, locked_out, error)', labelNames: ['result'] as const, registers: [this.registry] });
  /** Messages at the end of DATA, by the reply they got. */
  readonly smtpMessages = new Counter({
    name: 'sesame_smtp_messages_total',
    help: 'SMTP messages at the end of DATA by result (accepted, refused), reply class (2xx, 4xx, 5xx) and reply code',
    labelNames: ['result', 'class', 'code'] as const,
    registers: [this.registry],
  });
  /** HTTP deliveries (SNS subscriptions, event buses) by kind and outcome. */
  readonly webhookDeliveries = new Counter({
    name: 'sesame_webhook_deliveries_total',
    help: 'HTTP deliveries to SNS subscribers (kind sns) and event-bus webhooks (kind eventbridge) by outcome (delivered, retry, expired)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });
  /** Reputation: hard-bounce rate over the reputation window (SES's Reputation.BounceRate). */
  readonly bounceRate = new Gauge({ name: 'sesame_reputation_bounce_rate', help: 'Hard-bounce rate (0-1) over SESAME_REPUTATION_WINDOW, per account and configuration set ("" for the account); SES Reputation.BounceRate', labelNames: ['account', 'configuration_set'] as const, registers: [this.registry] });
  /** Reputation: complaint rate (SES's Reputation.ComplaintRate). */
  readonly complaintRate = new Gauge({ name: 'sesame_reputation_complaint_rate', help: 'Complaint rate (0-1) over SESAME_REPUTATION_WINDOW, per account and configuration set; SES Reputation.ComplaintRate', labelNames: ['account', 'configuration_set'] as const, registers: [this.registry] });
  /** Events waiting in the outbox and HTTP deliveries waiting (set by main's collect callbacks). */
  backlogs: { events: () => Promise<number>; webhooks: () => Promise<number> } = { events: async () => 0, webhooks: async () => 0 };
  readonly eventBacklog: Gauge = new Gauge({
    name: 'sesame_events_unpublished',
    help: 'Events stored but not yet published to their destinations',
    registers: [this.registry],
    collect: async (): Promise<void> => this.eventBacklog.set(await this.backlogs.events().catch(() => 0)),
  });
  readonly webhookBacklog: Gauge = new Gauge({
    name: 'sesame_webhook_deliveries_pending',
    help: 'HTTP deliveries waiting (first attempt or retry)',
    registers: [this.registry],
    collect: async (): Promise<void> => this.webhookBacklog.set(await this.backlogs.webhooks().catch(() => 0)),
  });
  /** Counters of CloudWatch event destinations (their labels differ per destination, so rendered by hand). */
  readonly cloudWatch = new CloudWatchCounters();

  /** The whole exposition: the registry plus the CloudWatch destination counters. */
  async render(): Promise<string> {
    return (await this.registry.metrics()) + this.cloudWatch.render();
  }

  /** 1 once every listener and worker is ready. */
  readonly ready = new Gauge({ name: 'sesame_ready', help: '1 when every listener and worker of this node is ready', registers: [this.registry] });

  /**
   * The SQLite worker thread's state (ADR 0019), registered only on a node that runs one, so that an
   * alert on `sesame_worker_thread_up == 0` does not fire on nodes without it.
   */
  workerThreadMetrics(): { up: Gauge; restarts: Counter } {
    this.workerThread ??= {
      up: new Gauge({ name: 'sesame_worker_thread_up', help: '1 while the worker thread (delivery, events, webhooks, DNS checks on SQLite) runs, 0 while it is being started again', registers: [this.registry] }),
      restarts: new Counter({ name: 'sesame_worker_thread_restarts_total', help: 'Times the worker thread ended unexpectedly and was started again', registers: [this.registry] }),
    };
    return this.workerThread;
  }
  private workerThread: { up: Gauge; restarts: Counter } | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'sesame_' });
  }
}

/**
 * Event counts of CloudWatch event destinations, as Prometheus counters named
 * `sesame_ses_events_total` with labels `configuration_set`, `destination`, `event_type` (SES's
 * metric: Send, Delivery, …) and one label per configured dimension (its name with characters
 * Prometheus does not allow replaced by `_`). Each destination has its own dimensions, which
 * prom-client's fixed label names cannot hold, so the family is rendered here.
 */
export class CloudWatchCounters {
  private readonly series = new Map<string, { labels: string; value: number }>();

  /** Adds one event. */
  count(labels: { configurationSet: string; destination: string; eventType: string }, dimensions: Array<[string, string]>): void {
    const pairs: Array<[string, string]> = [
      ['configuration_set', labels.configurationSet],
      ['destination', labels.destination],
      ['event_type', labels.eventType.replace(/ /g, '')],
    ];
    const fixed = new Set(pairs.map(([k]) => k));
    for (const [name, value] of dimensions) {
      let label = name.replace(/[^A-Za-z0-9_]/g, '_');
      if (/^[0-9]/.test(label) || label.startsWith('__') || fixed.has(label)) label = `dim_${label}`;
      pairs.push([label, value]);
    }
    const text = pairs.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join(',');
    const s = this.series.get(text);
    if (s) s.value++;
    else this.series.set(text, { labels: text, value: 1 });
  }

  /** The exposition text of the family (empty when nothing was counted). */
  render(): string {
    if (this.series.size === 0) return '';
    const lines = ['# HELP sesame_ses_events_total SES events counted by CloudWatch event destinations, with their dimensions', '# TYPE sesame_ses_events_total counter'];
    for (const s of this.series.values()) lines.push(`sesame_ses_events_total{${s.labels}} ${s.value}`);
    return lines.join('\n') + '\n';
  }
}
