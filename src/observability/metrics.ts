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
  /** 1 once every listener and worker is ready. */
  readonly ready = new Gauge({ name: 'sesame_ready', help: '1 when every listener and worker of this node is ready', registers: [this.registry] });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'sesame_' });
  }
}
