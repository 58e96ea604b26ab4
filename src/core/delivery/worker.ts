/**
 * Outbound delivery: lease due recipients, group them by destination domain, find the domain's MX
 * hosts through SESAME_DNS_SERVERS (preference order; implicit MX on no MX records; null MX per
 * RFC 7505 bounces at once), send over one SMTP connection per domain (STARTTLS when offered,
 * several messages per connection), and record each recipient's outcome with its event in one
 * transaction: 2xx delivered, 5xx Permanent bounce (and a suppression entry), 4xx or a network
 * failure deferred on SESAME_RETRY_SCHEDULE with a DeliveryDelay, and a Transient bounce once the
 * message's delivery window has passed.
 */
import { randomUUID } from 'node:crypto';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { newMessageId } from '../../lib/ids.ts';
import type { Logger } from '../../observability/logger.ts';
import type { CompletionItem, EventRecord, LeasedRecipient, Storage } from '../../storage/ports.ts';
import { isDnsNotFound, type Clock, type DnsResolver } from '../clock.ts';
import { bounceEvent, deliveryDelayEvent, deliveryEvent, type MailObject } from '../events/model.ts';
import { commitDepth, GroupCommit } from '../queue/batcher.ts';
import { storedBodyStream } from '../spool.ts';
import { DomainLimits, type DomainLimitSettings } from './limits.ts';

/** Delivery settings. */
export interface DeliverySettings {
  hostname: string;
  outboundPort: number;
  /** `smtp://[user:pass@]host:port` or `smtps://…`: every message goes through it. */
  smartHost?: string;
  retryScheduleMs: number[];
  leaseMs?: number;
  batchSize?: number;
  /** Domains delivered at once by one pass. */
  domainConcurrency?: number;
  /** Passes (lease, deliver) running at once on this node, so one slow domain does not hold up the rest. */
  passes?: number;
  /** Per-destination limits: connections and message rate. */
  domainLimits?: DomainLimitSettings;
  connectTimeoutMs?: number;
  /** How long a connection is kept open after its last message for the next ones to its destination; 0 closes it at once (default 2 s). */
  connectionCacheMs?: number;
  /** Idle wait between polls when the queue has nothing due. */
  pollMs?: number;
}

/** Recipients that found every shared connection slot of their domain taken are due again after this. */
const SLOT_RETRY_MS = 1000;

/** How often each node re-reads the paused destinations (the claim itself always sees them). */
const PAUSED_REFRESH_MS = 1000;

/** How far ahead a paused domain's due recipients are set aside (resume makes them due at once). */
const PAUSED_HOLD_MS = 10 * 60_000;

/** Below this many messages per connection, a domain's messages are not spread over more connections. */
const MESSAGES_PER_CONNECTION = 10;

/** A kept connection is not reused once it is this old (Postfix's smtp_connection_reuse_time_limit). */
const CONNECTION_REUSE_LIMIT_MS = 300_000;

/** At most this many idle connections are kept at once (a mailing to thousands of domains keeps no thousands of sockets). */
const MAX_KEPT_CONNECTIONS = 256;

/** One recipient's outcome. */
type Outcome =
  | { kind: 'delivered'; response: string; ip?: string }
  | { kind: 'permanent'; response: string; ip?: string }
  | { kind: 'transient'; response: string; delayType: string; ip?: string };

interface Target {
  host: string;
  ip: string;
  port: number;
  secure: boolean;
  auth?: { user: string; pass: string };
}

/** An open connection to a destination, with the connection slot of the destination it holds. */
interface OpenConnection {
  c: SMTPConnection;
  target: Target;
  /** Gives the destination's connection slot back (once the connection is gone or passed on). */
  release: () => void;
  openedAt: number;
  /** Taken from the cache: the server may have closed it meanwhile. */
  reused: boolean;
}

/** A connection kept open between passes (see DeliverySettings.connectionCacheMs). */
interface KeptConnection extends OpenConnection {
  timer: NodeJS.Timeout;
  gone: () => void;
}

/** Counters the composition root turns into metrics. */
export interface DeliveryObserver {
  outcome(kind: 'delivered' | 'bounced' | 'deferred'): void;
}

/**
 * Least time between two wakes of the delivery loops (see DeliveryWorker.wake). §5 of the bench at
 * 196 SendEmail/s, alternating: node CPU 6.97 / 6.82 / 6.25 → 5.88 / 5.42 / 5.38 ms per message,
 * p99 62.3 / 83.8 / 36.9 → 55.5 / 31.2 / 30.1 ms; 100 ms was no better than 50.
 */
const WAKE_INTERVAL_MS = 50;

/**
 * How long delivery outcomes wait for others to share their transaction. Each commit takes
 * SQLite's one write lock (which the accepting thread needs for every send) and a flush of the
 * WAL; outcomes arrive a few milliseconds apart, so without it nearly every one was a commit of
 * its own. Connections do not wait for it (see deliverOverConnection).
 */
const OUTCOME_LINGER_MS = 10;

/** The outcome commits of one connection's messages, in flight while it sends the next. */
interface Recording {
  outcomes: Array<Promise<void>>;
  /** One of them was refused by the database. */
  refused: boolean;
}

/** The delivery worker of one node. */
export class DeliveryWorker {
  readonly owner: string;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private readonly wakers = new Set<() => void>();
  private readonly limits: DomainLimits;
  private readonly completions: GroupCommit<CompletionItem>;
  /** Recipients leased by this node's passes and not yet finished; their leases are renewed while > 0. */
  private inFlight = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  /**
   * Paused destination domains, re-read every second. The claim already skips them (in SQL, on
   * every node); this catches recipients leased just before a pause, so none of them is started.
   */
  private paused = new Set<string>();
  private pausedTimer: NodeJS.Timeout | undefined;
  /** The read (and hold) of the paused destinations under way, if any: one at a time. */
  private pausedRead: Promise<void> | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly resolver: DnsResolver,
    private readonly clock: Clock,
    private readonly settings: DeliverySettings,
    private readonly logger: Logger,
    private readonly observer: DeliveryObserver = { outcome() {} },
    /** Lease owner: stable per node (its data dir), so a restarted node takes back its own leases. */
    owner?: string,
  ) {
    this.owner = owner ?? `node-${randomUUID()}`;
    // Nodes sharing PostgreSQL share the per-destination limits too (ADR 0014); one node keeps them in memory.
    this.limits = new DomainLimits(
      settings.domainLimits ?? { connections: 20, rates: {} },
      storage.kind === 'postgres' ? { limits: storage.limits, owner: this.owner, now: () => this.clock.now(), logger } : undefined,
    );
    // Outcomes of every connection and pass share transactions: one disk flush for many messages
    // instead of one per message. Each caller still waits for its own commit before going on.
    this.completions = new GroupCommit(async (items) => {
      const n = await this.storage.queue.complete(this.owner, items, this.clock.now());
      if (items.some((i) => i.events.length > 0)) this.onEvents();
      return n;
    }, undefined, commitDepth(storage), OUTCOME_LINGER_MS);
  }

  /**
   * Starts the polling loop. Leases this node still held when it died (kill -9, power loss) are
   * released first, so its in-flight recipients are retried now rather than when the leases expire.
   */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.limits.open();
    // A batch can outlive its lease (a slow MX, waiting for a shared connection slot): the leases
    // this node holds are extended every third of their life while it delivers, so that no other
    // node takes over a recipient that is still being delivered here. A dead node stops renewing.
    const leaseMs = this.leaseMs();
    this.renewTimer = setInterval(() => {
      if (this.inFlight === 0) return;
      this.storage.queue
        .renew(this.owner, this.clock.now(), leaseMs)
        .catch((err: unknown) => this.logger.warn({ code: 'DELIVERY_LEASE_RENEWAL_FAILED', err }, 'could not renew delivery leases; retrying'));
    }, Math.max(1000, Math.floor(leaseMs / 3)));
    this.renewTimer.unref();
    const readPaused = () =>
      (this.pausedRead ??= this.storage.queue
        .pausedDestinations()
        .then(async (list) => {
          this.paused = new Set(list.map((p) => p.domain));
          // A paused domain's due mail is set aside (resume makes it due again), so that claims do
          // not step over its backlog on every poll. Nothing to do, and no write, when none is paused.
          if (list.length > 0) await this.storage.queue.holdPaused(this.clock.now(), this.clock.now() + PAUSED_HOLD_MS);
        })
        .catch((err: unknown) => this.logger.warn({ code: 'DELIVERY_PAUSED_READ_FAILED', err }, 'could not read the paused destinations; retrying'))
        .finally(() => (this.pausedRead = undefined)));
    void readPaused();
    this.pausedTimer = setInterval(readPaused, PAUSED_REFRESH_MS);
    this.pausedTimer.unref();
    // What an earlier run of this node left when it died: its leases (retried at once) and, when
    // nodes share the limits, the destinations' connection slots it held.
    const earlier = Promise.all([
      this.storage.queue.release(this.owner).catch((err: unknown) => this.logger.error({ code: 'DELIVERY_PASS_FAILED', err }, 'could not release leases left by an earlier run')),
      this.limits.releaseEarlierSlots().catch((err: unknown) => {
        this.logger.warn({ code: 'DELIVERY_SLOT_RELEASE_FAILED', err }, 'could not free the connection slots left by an earlier run (they expire anyway)');
      }),
    ]);
    this.loop = earlier.then(async () => {
      await Promise.all(Array.from({ length: Math.max(1, this.settings.passes ?? 4) }, () => this.run()));
    });
  }

  /** Called after outcomes with events were committed (the event dispatcher's wake). */
  onEvents: () => void = () => {};

  private lastWake = -Infinity;
  private wakeTimer: NodeJS.Timeout | undefined;

  /**
   * Asks a waiting loop to look at the queue (called after each commit). Under load commits come
   * hundreds of times a second, each with a few messages: wakes are spaced WAKE_INTERVAL_MS apart
   * (the ones between become one, at the end of the interval), and each wakes one loop, so that a
   * pass leases what several commits brought instead of one lease (a write) per commit per loop.
   * A loop that leased a full batch goes on by itself.
   */
  wake(): void {
    if (this.wakeTimer) return;
    const wait = this.lastWake + WAKE_INTERVAL_MS - performance.now();
    const fire = () => {
      this.wakeTimer = undefined;
      this.lastWake = performance.now();
      this.wakers.values().next().value?.();
    };
    if (wait <= 0) fire();
    else {
      this.wakeTimer = setTimeout(fire, wait);
      this.wakeTimer.unref();
    }
  }

  /** Wakes every waiting loop now (at stop). */
  private wakeAll(): void {
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    for (const w of [...this.wakers]) w();
  }

  /** Connections kept open after their messages, per destination (domain, or '*' for the smart host), newest last. */
  private readonly kept = new Map<string, KeptConnection[]>();
  private keptCount = 0;

  /** Takes `k` out of the cache (its timer and close listener too); false when it was no longer there. */
  private unkeep(key: string, k: KeptConnection): boolean {
    const list = this.kept.get(key);
    const i = list?.indexOf(k) ?? -1;
    if (!list || i === -1) return false;
    list.splice(i, 1);
    if (list.length === 0) this.kept.delete(key);
    this.keptCount--;
    clearTimeout(k.timer);
    k.c.removeListener('end', k.gone);
    return true;
  }

  /** A kept connection to `key`, taken out of the cache (with its slot), or undefined. */
  private takeKept(key: string): OpenConnection | undefined {
    const k = this.kept.get(key)?.at(-1);
    if (!k || !this.unkeep(key, k)) return undefined;
    k.reused = true;
    return k;
  }

  /**
   * Keeps a connection whose messages are done for the next pass to the same destination, for
   * connectionCacheMs; it is closed (and its slot released) when that passes unused, when the
   * server closes it, or when the worker stops. Returns false when it is not kept.
   */
  private keep(key: string, conn: OpenConnection): boolean {
    const ms = this.settings.connectionCacheMs ?? 2_000;
    // Not kept while another connection of this node waits for the domain's slot (it gets the slot
    // now), nor when the slots are the installation's (PostgreSQL): a node keeping its connections
    // busy would hold slots that other nodes wait for, which this node cannot see.
    if (this.stopped || ms <= 0 || this.limits.isShared() || this.limits.hasWaiters(key)) return false;
    if (this.keptCount >= MAX_KEPT_CONNECTIONS || this.clock.now() - conn.openedAt >= CONNECTION_REUSE_LIMIT_MS || isDestroyed(conn.c)) return false;
    const drop = () => this.unkeep(key, k);
    const k: KeptConnection = {
      ...conn,
      reused: false,
      // Unused for connectionCacheMs: QUIT, and the slot is free once the socket has closed.
      timer: setTimeout(() => {
        if (drop()) void closeConnection(k.c).finally(k.release);
      }, ms),
      // The server closed it (its idle timeout, a restart): nothing to say goodbye to.
      gone: () => {
        if (drop()) k.release();
      },
    };
    k.timer.unref();
    k.c.once('end', k.gone);
    const list = this.kept.get(key) ?? [];
    list.push(k);
    this.kept.set(key, list);
    this.keptCount++;
    return true;
  }

  /** Closes every kept connection (at stop). */
  private async closeKept(): Promise<void> {
    const all: OpenConnection[] = [];
    for (const key of [...this.kept.keys()]) for (let c = this.takeKept(key); c; c = this.takeKept(key)) all.push(c);
    await Promise.all(all.map((c) => closeConnection(c.c).finally(c.release)));
  }

  /** Stops leasing, waits for in-flight deliveries, releases leases. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.renewTimer);
    clearInterval(this.pausedTimer);
    // Passes waiting for a shared connection slot give their recipients back instead of waiting on.
    this.limits.close();
    this.wakeAll();
    await this.loop;
    await this.closeKept();
    await this.completions.flush();
    await this.settle().catch((err: unknown) => this.logger.warn({ code: 'DELIVERY_PASS_FAILED', err }, 'delivery outcomes whose commit failed could not be recorded at stop; their recipients will be delivered again'));
    await this.pausedRead;
    await this.storage.queue.release(this.owner).catch(() => {});
  }

  /** Outcomes whose commit failed, oldest first (see finish). */
  private unsettled: CompletionItem[] = [];

  /** Commits the outcomes whose commit failed before; throws (keeping them) while the database still refuses. */
  private async settle(): Promise<void> {
    if (this.unsettled.length === 0) return;
    const items = this.unsettled;
    this.unsettled = [];
    try {
      await this.completions.submit(items);
    } catch (err) {
      this.unsettled = [...items, ...this.unsettled];
      throw err;
    }
    this.logger.info({ code: 'DELIVERY_OUTCOMES_RECORDED', recipients: items.length }, `committed ${items.length} delivery outcomes whose first commit had failed (an outcome of a recipient the node no longer leases changes nothing)`);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let n = 0;
      try {
        await this.settle();
        n = await this.runOnce();
      } catch (err) {
        this.logger.error({ code: 'DELIVERY_PASS_FAILED', err }, 'delivery pass failed; retrying');
      }
      if (n === 0 && !this.stopped) {
        await new Promise<void>((resolve) => {
          const waker = () => {
            clearTimeout(t);
            this.wakers.delete(waker);
            resolve();
          };
          const t = setTimeout(waker, this.settings.pollMs ?? 250);
          this.wakers.add(waker);
        });
      }
    }
  }

  /** Leases one batch and delivers it; returns how many recipients it handled. */
  async runOnce(): Promise<number> {
    const now = this.clock.now();
    const leased = await this.storage.queue.lease(this.owner, now, this.leaseMs(), this.settings.batchSize ?? 200);
    if (leased.length === 0) return 0;
    this.inFlight += leased.length;
    try {
      await this.deliverBatch(leased);
    } finally {
      this.inFlight -= leased.length;
    }
    return leased.length;
  }

  private leaseMs(): number {
    return this.settings.leaseMs ?? 300_000;
  }

  private async deliverBatch(leased: LeasedRecipient[]): Promise<void> {
    if (this.paused.size > 0) {
      // Leased just before their domain was paused: given back untouched (no attempt, no event).
      const held = leased.filter((r) => this.paused.has(r.domain));
      if (held.length > 0) {
        await this.postpone(held, this.clock.now() + PAUSED_REFRESH_MS);
        leased = leased.filter((r) => !this.paused.has(r.domain));
      }
    }
    const byDomain = new Map<string, LeasedRecipient[]>();
    for (const r of leased) {
      const key = this.settings.smartHost ? '*' : r.domain;
      const list = byDomain.get(key) ?? [];
      list.push(r);
      byDomain.set(key, list);
    }
    const domains = [...byDomain.entries()];
    const limit = this.settings.domainConcurrency ?? 16;
    let next = 0;
    const workers = Array.from({ length: Math.min(limit, domains.length) }, async () => {
      while (next < domains.length) {
        const [domain, rcpts] = domains[next++]!;
        try {
          await this.deliverDomain(domain, rcpts);
        } catch (err) {
          this.logger.error({ code: 'DELIVERY_DOMAIN_FAILED', err, domain }, `delivery to ${domain} failed unexpectedly; deferring`);
          await this.finish(rcpts, () => ({ kind: 'transient', response: '451 4.3.0 Local error in processing', delayType: 'InternalFailure' }));
        }
      }
    });
    await Promise.all(workers);
  }

  private async deliverDomain(domain: string, rcpts: LeasedRecipient[]): Promise<void> {
    // DNS is asked only when a new connection is needed: a kept connection already knows where to go.
    let resolved: Promise<Awaited<ReturnType<DeliveryWorker['targets']>>> | undefined;
    const targets = () => (resolved ??= this.targets(domain));
    if (!this.kept.has(domain)) {
      const t = await targets();
      if ('outcome' in t) {
        await this.finish(rcpts, () => t.outcome);
        return;
      }
    }
    const byMessage = new Map<string, LeasedRecipient[]>();
    for (const r of rcpts) {
      const list = byMessage.get(r.messageId);
      if (list) list.push(r);
      else byMessage.set(r.messageId, [r]);
    }
    const messages = [...byMessage.values()];
    // Spread the messages over several connections (at most the domain's connection limit, and
    // only when each still carries a useful number of messages), each taking a slot first.
    const lanes = Math.max(1, Math.min(this.limits.connections(), Math.ceil(messages.length / MESSAGES_PER_CONNECTION)));
    const split: LeasedRecipient[][][] = Array.from({ length: lanes }, () => []);
    messages.forEach((m, i) => split[i % lanes]!.push(m));
    await Promise.all(
      split.map(async (share) => {
        // A kept connection comes with its slot; a new one takes a slot first.
        const kept = this.takeKept(domain);
        const release = kept ? kept.release : await this.limits.acquireWithin(domain, this.slotWaitMs());
        if (!release) {
          // Every connection slot of the domain stays taken by other nodes: give the recipients back
          // for a little while (no attempt counted, no event) rather than sit on their leases.
          const rest = share.flat();
          this.logger.debug({ code: 'DELIVERY_CONNECTIONS_BUSY', domain, recipients: rest.length }, `${domain}: every connection slot is taken; ${rest.length} recipients wait`);
          await this.postpone(rest, this.clock.now() + SLOT_RETRY_MS);
          return;
        }
        await this.deliverOverConnection(domain, targets, share, kept ?? release);
      }),
    );
  }

  /**
   * Opens a connection to the domain's first reachable host; the outcome for every recipient when
   * DNS decides or no host can be reached.
   */
  private async open(domain: string, targets: () => Promise<{ list: Target[] } | { outcome: Outcome }>, release: () => void): Promise<OpenConnection | { outcome: Outcome }> {
    const t = await targets();
    if ('outcome' in t) return t;
    let lastFailure = '421 4.4.1 Unable to connect to any MX host';
    for (const target of t.list) {
      const opened = { target, release, openedAt: this.clock.now(), reused: false };
      try {
        return { c: await this.connect(target), ...opened };
      } catch (err) {
        lastFailure = describeError(err, target);
        this.logger.info({ code: 'DELIVERY_CONNECT_FAILED', domain, host: target.host, ip: target.ip, port: target.port, reason: lastFailure }, `cannot connect to ${target.host} [${target.ip}]:${target.port}`);
        if (!isTlsFailure(err) || target.secure || target.auth) continue; // never a smart-host password in the clear
        // Opportunistic TLS whose handshake failed: a new connection to the same host without
        // STARTTLS (as KumoMTA's opportunistic_tls_reconnect_on_failed_handshake), so that a broken
        // TLS stack does not stop the mail. A message whose TlsPolicy is REQUIRE is still never
        // handed over in plain text (checked per message below).
        try {
          const c = await this.connect(target, { plain: true });
          this.logger.info({ code: 'DELIVERY_TLS_FALLBACK', domain, host: target.host, ip: target.ip, port: target.port }, `STARTTLS with ${target.host} [${target.ip}]:${target.port} failed; delivering without TLS`);
          return { c, ...opened };
        } catch (again) {
          lastFailure = describeError(again, target);
        }
      }
    }
    return { outcome: { kind: 'transient', response: lastFailure, delayType: 'TransientCommunicationFailure' } };
  }

  /**
   * Delivers `messages` over one connection (sendOverConnection) and returns once every outcome of
   * them is committed; throws its own error, else the first outcome the database refused.
   */
  private async deliverOverConnection(domain: string, targets: () => Promise<{ list: Target[] } | { outcome: Outcome }>, messages: LeasedRecipient[][], given: OpenConnection | (() => void)): Promise<void> {
    // The outcome of each message is committed while the next one is sent: a connection does not
    // wait for the disk between messages, and outcomes share transactions (OUTCOME_LINGER_MS). All
    // of them are committed (or refused, and kept for settle) before this returns, as before; once
    // one is refused, no further message is sent (the pass's failure handler defers them).
    const recording: Recording = { outcomes: [], refused: false };
    let failure: { err: unknown } | undefined;
    try {
      await this.sendOverConnection(domain, targets, messages, given, recording);
    } catch (err) {
      failure = { err };
    }
    const recorded = await Promise.allSettled(recording.outcomes);
    if (failure) throw failure.err;
    const refused = recorded.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (refused) throw refused.reason;
  }

  /**
   * Sends `messages` in turn over a kept connection, or a new one to the domain's first reachable
   * host (`release` is then the slot it holds), handing each outcome to `recording`. The connection
   * is kept for the next pass when all went well, else closed; either way the slot is given back
   * once the connection is done with.
   */
  private async sendOverConnection(
    domain: string,
    targets: () => Promise<{ list: Target[] } | { outcome: Outcome }>,
    messages: LeasedRecipient[][],
    given: OpenConnection | (() => void),
    recording: Recording,
  ): Promise<void> {
    let conn: OpenConnection | undefined;
    let reusable = false;
    const release = typeof given === 'function' ? given : given.release;
    try {
      if (typeof given === 'function') {
        const opened = await this.open(domain, targets, release);
        if ('outcome' in opened) {
          await this.finish(messages.flat(), () => opened.outcome);
          return;
        }
        conn = opened;
      } else conn = given;
      for (let i = 0; i < messages.length; i++) {
        if (recording.refused) return; // the database refused an outcome: deliverOverConnection reports it
        const group = messages[i]!;
        const wait = await this.limits.takeMessage(domain, this.clock.now());
        if (wait > 0) {
          // Over the domain's message rate: the rest waits, not counted as an attempt, no event.
          const rest = messages.slice(i).flat();
          this.logger.debug({ code: 'DELIVERY_RATE_LIMITED', domain, recipients: rest.length, waitMs: wait }, `${domain}: message rate reached, ${rest.length} recipients wait ${wait} ms`);
          await this.postpone(rest, this.clock.now() + wait);
          reusable = true;
          return;
        }
        if (group[0]!.requireTls && (conn.c as unknown as { secure?: boolean }).secure !== true) {
          // TlsPolicy REQUIRE (configuration set): never hand this message over in plain text.
          const t = conn.target;
          await this.finish(group, () => ({ kind: 'transient', response: `451 4.7.5 TLS is required for this message but ${t.host} [${t.ip}]:${t.port} did not offer STARTTLS`, delayType: 'TransientCommunicationFailure' }));
          continue;
        }
        const results = await this.sendOne(conn.c, group);
        if (results.broken && conn.reused) {
          // A kept connection the server had closed meanwhile (its idle timeout crossed our send):
          // not this message's attempt. A new connection takes it and the rest.
          this.logger.debug({ code: 'DELIVERY_KEPT_CONNECTION_LOST', domain, reason: results.brokenReason }, `${domain}: a kept connection was closed by the server; connecting again`);
          await closeConnection(conn.c);
          const again = await this.open(domain, targets, release);
          if ('outcome' in again) {
            conn = undefined;
            await this.finish(messages.slice(i).flat(), () => again.outcome);
            return;
          }
          conn = again;
          i--;
          continue;
        }
        // A reply came on this connection: from now on it is as good as a new one.
        conn.reused = false;
        const ip = conn.target.ip;
        const outcome = this.finish(group, (r) => ({ ...results.get(r.rcpt)!, ip }));
        // Awaited by deliverOverConnection; a refusal stops this loop before its next message.
        outcome.catch(() => {
          recording.refused = true;
        });
        recording.outcomes.push(outcome);
        if (results.broken) {
          // The connection died: defer the rest now rather than hang on a dead socket.
          const rest = messages.slice(i + 1).flat();
          await this.finish(rest, () => ({ kind: 'transient', response: results.brokenReason ?? '421 4.4.2 Connection dropped', delayType: 'TransientCommunicationFailure' }));
          return;
        }
      }
      reusable = true;
    } finally {
      // The domain's connection slot is released only once the connection is really gone (or kept
      // with it), so the receiving side never sees more than SESAME_DOMAIN_CONNECTIONS at once.
      if (!conn) release();
      else if (!(reusable && this.keep(domain, conn))) await closeConnection(conn.c).finally(release);
    }
  }

  /** How long a connection waits for a shared slot of its domain: well inside the recipients' lease. */
  private slotWaitMs(): number {
    return Math.min(60_000, Math.floor(this.leaseMs() / 4));
  }

  /** Gives leased recipients back, due at `at`, without counting an attempt or writing an event. */
  private async postpone(rcpts: LeasedRecipient[], at: number): Promise<void> {
    if (rcpts.length === 0) return;
    await this.completions.submit(
      rcpts.map((r) => ({ update: { messageId: r.messageId, rcpt: r.rcpt, state: 'queued' as const, attempts: r.attempts, nextAttemptAt: Math.min(at, r.expiresAt), lastResponse: r.lastResponse }, events: [] })),
    );
  }

  /** Sends one message to its recipients on an open connection; per-recipient outcomes. */
  private async sendOne(c: SMTPConnection, group: LeasedRecipient[]): Promise<Map<string, Outcome> & { broken?: boolean; brokenReason?: string }> {
    const out = new Map<string, Outcome>() as Map<string, Outcome> & { broken?: boolean; brokenReason?: string };
    const stored = await this.storage.queue.body(group[0]!.messageId);
    // A large message streams from the BlobStore behind the head its row holds.
    const body = stored && (stored.blob ? await storedBodyStream(this.storage.blobs, stored) : stored.head);
    if (!body) {
      for (const r of group) out.set(r.rcpt, { kind: 'permanent', response: '554 5.3.0 Message body missing from the queue' });
      return out;
    }
    const info = await new Promise<{ err?: SmtpError; info?: SMTPConnection.SentMessageInfo }>((resolve) => {
      c.send({ from: group[0]!.mailFrom, to: group.map((r) => r.rcpt) }, body, (err, info) => resolve(err ? { err: err as SmtpError } : { info }));
    });
    if (info.info) {
      const accepted = new Set(info.info.accepted.map((a) => a.toLowerCase()));
      const rejected = new Map((info.info.rejectedErrors ?? []).map((e) => [String((e as SmtpError).recipient ?? '').toLowerCase(), e as SmtpError]));
      for (const r of group) {
        if (accepted.has(r.rcpt.toLowerCase())) out.set(r.rcpt, { kind: 'delivered', response: info.info.response });
        else out.set(r.rcpt, classify(rejected.get(r.rcpt.toLowerCase()) ?? { message: 'recipient refused', response: '550 5.1.1 Recipient refused' }));
      }
      return out;
    }
    const err = info.err!;
    // Every recipient refused at RCPT: nodemailer reports EENVELOPE with the per-recipient errors.
    const per = new Map((err.rejectedErrors ?? []).map((e) => [String(e.recipient ?? '').toLowerCase(), e]));
    for (const r of group) out.set(r.rcpt, classify(per.get(r.rcpt.toLowerCase()) ?? err));
    if (!err.responseCode) {
      out.broken = true;
      out.brokenReason = describeError(err);
    } else {
      await new Promise<void>((resolve) => c.reset(() => resolve()));
    }
    return out;
  }

  /** Connects (and logs in, for a smart host); `plain` does not use STARTTLS even when offered. */
  private connect(t: Target, o: { plain?: boolean } = {}): Promise<SMTPConnection> {
    return new Promise((resolve, reject) => {
      const c = new SMTPConnection({
        host: t.ip,
        port: t.port,
        secure: t.secure,
        servername: t.host,
        name: this.settings.hostname,
        // Opportunistic STARTTLS as MTAs do (RFC 3207): use it when offered, do not verify the peer.
        opportunisticTLS: !o.plain,
        ignoreTLS: o.plain === true,
        tls: { rejectUnauthorized: false, servername: t.host },
        connectionTimeout: this.settings.connectTimeoutMs ?? 30_000,
        greetingTimeout: this.settings.connectTimeoutMs ?? 30_000,
        socketTimeout: 120_000,
      });
      let settled = false;
      c.once('error', (err: Error) => {
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      c.connect(() => {
        const done = () => {
          if (settled) return;
          settled = true;
          c.removeAllListeners('error');
          c.on('error', () => {}); // errors after this surface through send()
          resolve(c);
        };
        if (t.auth) c.login({ user: t.auth.user, pass: t.auth.pass }, (err) => (err ? (settled = true, reject(err)) : done()));
        else done();
      });
    });
  }

  /** Where to connect for a domain, or an outcome for all its recipients when DNS decides. */
  private async targets(domain: string): Promise<{ list: Target[] } | { outcome: Outcome }> {
    if (this.settings.smartHost) {
      const u = new URL(this.settings.smartHost);
      const secure = u.protocol === 'smtps:';
      const host = u.hostname.replace(/^\[|\]$/g, '');
      const ips = /^[\d.]+$|:/.test(host) ? [host] : await this.addresses(host).catch(() => [] as string[]);
      const auth = u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : undefined;
      if (ips.length === 0) return { outcome: { kind: 'transient', response: `451 4.4.3 Cannot resolve smart host ${host}`, delayType: 'TransientCommunicationFailure' } };
      return { list: ips.map((ip) => ({ host, ip, port: Number(u.port || (secure ? 465 : 587)), secure, auth })) };
    }
    let hosts: string[];
    try {
      const mx = await this.resolver.resolveMx(domain);
      if (mx.length === 1 && (mx[0]!.exchange === '' || mx[0]!.exchange === '.')) {
        return { outcome: { kind: 'permanent', response: `556 5.1.10 ${domain} does not accept mail (null MX, RFC 7505)` } };
      }
      hosts = [...mx].sort((a, b) => a.priority - b.priority).map((m) => m.exchange.replace(/\.$/, '')).filter((h) => h !== '');
      if (hosts.length === 0) hosts = [domain];
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENODATA') hosts = [domain]; // implicit MX (RFC 5321 §5.1)
      else if (isDnsNotFound(err)) return { outcome: { kind: 'permanent', response: `550 5.1.2 Domain ${domain} does not exist (NXDOMAIN)` } };
      else return { outcome: { kind: 'transient', response: `451 4.4.3 DNS lookup of MX for ${domain} failed (${code ?? 'error'})`, delayType: 'TransientCommunicationFailure' } };
    }
    const list: Target[] = [];
    let dnsTrouble: string | undefined;
    for (const host of hosts) {
      try {
        for (const ip of await this.addresses(host)) list.push({ host, ip, port: this.settings.outboundPort, secure: false });
      } catch (err) {
        if (!isDnsNotFound(err)) dnsTrouble = (err as { code?: string }).code ?? 'error';
      }
    }
    if (list.length === 0) {
      if (dnsTrouble) return { outcome: { kind: 'transient', response: `451 4.4.3 DNS lookup of ${hosts.join(', ')} failed (${dnsTrouble})`, delayType: 'TransientCommunicationFailure' } };
      return { outcome: { kind: 'transient', response: `451 4.4.4 No address for the MX hosts of ${domain} (${hosts.join(', ')})`, delayType: 'TransientCommunicationFailure' } };
    }
    return { list };
  }

  private async addresses(host: string): Promise<string[]> {
    const v4 = await this.resolver.resolve4(host).catch((err: unknown) => {
      if (isDnsNotFound(err)) return [] as string[];
      throw err;
    });
    const v6 = await this.resolver.resolve6(host).catch(() => [] as string[]);
    if (v4.length === 0 && v6.length === 0) throw Object.assign(new Error(`no address for ${host}`), { code: 'ENODATA' });
    return [...v4, ...v6];
  }

  /** Records outcomes for leased recipients (with their events) in one transaction. */
  private async finish(rcpts: LeasedRecipient[], outcomeOf: (r: LeasedRecipient) => Outcome): Promise<void> {
    if (rcpts.length === 0) return;
    const now = this.clock.now();
    const items: CompletionItem[] = [];
    for (const r of rcpts) {
      const o = outcomeOf(r);
      const m = r.meta.mail ? { mail: r.meta.mail as MailObject, createdAt: r.messageCreatedAt } : undefined;
      const attempts = r.attempts + 1;
      const ev = (type: string, payload: Record<string, unknown>): EventRecord => ({ messageId: r.messageId, accountId: r.accountId, type, createdAt: now, payload });
      const reportingMTA = this.settings.hostname;
      if (o.kind === 'delivered') {
        this.observer.outcome('delivered');
        items.push({
          update: { messageId: r.messageId, rcpt: r.rcpt, state: 'delivered', attempts, nextAttemptAt: now, lastResponse: o.response },
          events: m ? [ev('Delivery', deliveryEvent(m.mail, { at: now, recipients: [r.rcpt], smtpResponse: o.response, reportingMTA, remoteMtaIp: o.ip, acceptedAt: m.createdAt }))] : [],
        });
        continue;
      }
      const expired = now >= r.expiresAt;
      if (o.kind === 'permanent' || expired) {
        this.observer.outcome('bounced');
        const feedbackId = newMessageId(now);
        const status = enhancedStatus(o.response, o.kind === 'permanent' ? '5.0.0' : '4.4.7');
        items.push({
          update: { messageId: r.messageId, rcpt: r.rcpt, state: 'bounced', attempts, nextAttemptAt: now, lastResponse: o.response },
          events: m
            ? [
                ev(
                  'Bounce',
                  bounceEvent(m.mail, {
                    ...(o.kind === 'permanent' ? { bounceType: 'Permanent' as const, bounceSubType: 'General' as const } : { bounceType: 'Transient' as const, bounceSubType: 'General' as const }),
                    at: now,
                    feedbackId,
                    recipients: [{ emailAddress: r.rcpt, action: 'failed', status, diagnosticCode: `smtp; ${o.response}` }],
                    reportingMTA: `dns; ${reportingMTA}`,
                    remoteMtaIp: o.ip,
                  }),
                ),
              ]
            : [],
        });
        // Hard bounces join the suppression list when the account (or the message's configuration set) lists BOUNCE.
        if (o.kind === 'permanent' && r.meta.suppressOnBounce !== false) {
          items[items.length - 1]!.suppression = { accountId: r.accountId, email: r.rcpt.toLowerCase(), reason: 'BOUNCE', lastUpdateTime: now, messageId: r.messageId, feedbackId };
        }
        continue;
      }
      this.observer.outcome('deferred');
      const delay = this.settings.retryScheduleMs[Math.min(attempts - 1, this.settings.retryScheduleMs.length - 1)] ?? 60_000;
      const nextAttemptAt = Math.min(now + delay, r.expiresAt);
      items.push({
        update: { messageId: r.messageId, rcpt: r.rcpt, state: 'queued', attempts, nextAttemptAt, lastResponse: o.response },
        events: m
          ? [
              ev(
                'DeliveryDelay',
                deliveryDelayEvent(m.mail, {
                  at: now,
                  delayType: o.delayType,
                  expirationTime: r.expiresAt,
                  recipients: [{ emailAddress: r.rcpt, status: enhancedStatus(o.response, '4.0.0'), diagnosticCode: `smtp; ${o.response}` }],
                  reportingMTA,
                }),
              ),
            ]
          : [],
      });
    }
    try {
      await this.completions.submit(items);
    } catch (err) {
      // Not recorded (the database refused the write: a full disk, say). What happened is known, so
      // it is committed again before the next lease (settle), in this order: a delivered outcome
      // then wins over the deferral the pass's failure handler asks for next, and the message is
      // not sent twice. Until then the recipients keep their leases, renewed while in flight.
      this.unsettled.push(...items);
      throw err;
    }
    for (const { update } of items) {
      this.logger.info(
        { code: update.state === 'delivered' ? 'DELIVERY_OK' : update.state === 'bounced' ? 'DELIVERY_BOUNCED' : 'DELIVERY_DEFERRED', messageId: update.messageId, rcpt: update.rcpt, attempts: update.attempts, response: update.lastResponse },
        `${update.messageId} to ${update.rcpt}: ${update.state}`,
      );
    }
  }
}

/** The error shape nodemailer's SMTP connection reports. */
interface SmtpError {
  message: string;
  code?: string;
  response?: string;
  responseCode?: number;
  recipient?: string;
  rejectedErrors?: SmtpError[];
}

function classify(e: SmtpError): Outcome {
  const response = (e.response ?? e.message).replace(/\r?\n/g, ' ').trim();
  const code = e.responseCode ?? Number(/^(\d{3})/.exec(response)?.[1] ?? 0);
  if (code >= 500) return { kind: 'permanent', response };
  if (code >= 400) return { kind: 'transient', response, delayType: /mailbox full|quota/i.test(response) ? 'MailboxFull' : 'RecipientServerError' };
  return { kind: 'transient', response: describeError(e), delayType: 'TransientCommunicationFailure' };
}

function describeError(err: unknown, t?: Target): string {
  const e = err as SmtpError;
  if (e?.responseCode) return (e.response ?? e.message).replace(/\r?\n/g, ' ');
  const where = t ? ` ${t.host} [${t.ip}]:${t.port}` : '';
  return `421 4.4.1 Connection to${where || ' remote host'} failed: ${e?.code ?? ''} ${e?.message ?? String(err)}`.replace(/\s+/g, ' ').trim();
}

/** A failed STARTTLS: nodemailer's ETLS, or a socket that broke during the handshake (OpenSSL's words). */
function isTlsFailure(err: unknown): boolean {
  const e = err as SmtpError & { message?: string };
  return e?.code === 'ETLS' || (!e?.responseCode && /\b(TLS|SSL)\b/.test(e?.message ?? ''));
}

/** The RFC 3463 enhanced status code in a reply, or a default. */
function enhancedStatus(response: string, fallback: string): string {
  return /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(response)?.[1] ?? fallback;
}

/** Whether nodemailer has closed the connection (its socket is gone). */
function isDestroyed(c: SMTPConnection): boolean {
  return (c as unknown as { _destroyed?: boolean })._destroyed === true;
}

/** Ends a connection with QUIT and waits (at most `timeoutMs`) until its socket has closed. */
function closeConnection(c: SMTPConnection, timeoutMs = 5000): Promise<void> {
  if (isDestroyed(c)) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      c.close();
      resolve();
    }, timeoutMs);
    t.unref();
    c.once('end', () => {
      clearTimeout(t);
      resolve();
    });
    try {
      c.quit();
    } catch {
      c.close();
    }
  });
}
