/**
 * The operator's view of the queue (`sesame queue`, `sesame events`): inspect one message with its
 * recipients and events, list what is still queued, make a message due now, and purge it. Every
 * queued message can be inspected (ARCHITECTURE style 7), and a purge leaves the same trail as any
 * other end of delivery: a terminal state and a Bounce event written in the same transaction.
 */
import { newMessageId } from '../../lib/ids.ts';
import { MimeError, splitMessage } from '../../lib/mime.ts';
import type { Logger } from '../../observability/logger.ts';
import type { DestinationSummary, EventRecord, MessageRecord, PausedDestination, RecipientRecord, RecipientState, Storage } from '../../storage/ports.ts';
import type { Clock } from '../clock.ts';
import { badRequest, notFound } from '../errors.ts';
import { bounceEvent, type MailObject } from '../events/model.ts';

/** What a purged recipient's `lastResponse` says. */
export const PURGED_RESPONSE = 'purged by operator';

/** A message as an operator sees it (never its body). */
export interface QueueMessageView {
  messageId: string;
  accountId: string;
  /** `Source` / `FromEmailAddress` as given. */
  source: string;
  /** Addresses of the From header. */
  from: string[];
  subject?: string;
  destination: string[];
  /** Envelope sender (Return-Path) of every attempt. */
  mailFrom: string;
  configurationSet: string | null;
  createdAt: number;
  /** When recipients still deferred bounce as Transient. */
  expiresAt: number;
}

/** One recipient of a message, as an operator sees it. */
export interface QueueRecipientView {
  messageId: string;
  rcpt: string;
  domain: string;
  state: RecipientState;
  attempts: number;
  /** Next attempt time while queued; null in a terminal state. */
  nextAttemptAt: number | null;
  /** True while a delivery worker holds the recipient (an attempt is in flight). */
  inFlight: boolean;
  lastResponse: string | null;
  updatedAt: number;
}

/** One stored event: SES's event-publishing JSON in `payload`. */
export interface QueueEventView {
  id?: number;
  type: string;
  createdAt: number;
  payload: Record<string, unknown>;
}

/** Everything known about one message. */
export interface MessageInspection {
  message: QueueMessageView;
  recipients: QueueRecipientView[];
  events: QueueEventView[];
  /** The header block of the stored (signed) message, as it goes out; only when asked for. */
  headers?: string;
}

/** Recipient counts by state. */
export type QueueStats = Record<RecipientState, number>;

/** How many destination domains the queue overview shows at most (the deepest first). */
export const MAX_DESTINATIONS = 100;

/** One destination domain of the queue overview; a paused domain is listed even with nothing queued. */
export interface DestinationView extends Omit<DestinationSummary, 'oldestCreatedAt'> {
  /** When the oldest queued message was accepted (ms); null when nothing is queued. */
  oldestCreatedAt: number | null;
  /** Set while delivery to the domain is paused (for every account). */
  paused: Omit<PausedDestination, 'domain'> | null;
}

/** The queue per destination domain. */
export interface QueueOverview {
  destinations: DestinationView[];
  /** Queued recipients of the destinations shown. */
  totalQueued: number;
  /** True when there were more than MAX_DESTINATIONS domains with queued mail (the shallowest are left out). */
  truncated: boolean;
}

/** Lower case without a trailing dot (how recipients store their domain); BadRequest when it is no domain name. */
export function destinationDomain(input: unknown): string {
  const d = typeof input === 'string' ? input.trim().toLowerCase().replace(/\.$/, '') : '';
  // Labels of 1–63 characters (letters of any script, digits, hyphens, underscores), 253 in all.
  if (d.length === 0 || d.length > 253 || !d.split('.').every((l) => /^[\p{L}\p{N}_](?:[\p{L}\p{N}_-]{0,61}[\p{L}\p{N}_])?$/u.test(l))) {
    throw badRequest(`${JSON.stringify(typeof input === 'string' ? input : String(input))} is not a domain name: give the destination domain, such as example.com.`);
  }
  return d;
}

/** Queue administration for operators. */
export class QueueAdmin {
  constructor(
    private readonly storage: Storage,
    private readonly clock: Clock,
    private readonly settings: { hostname: string },
    private readonly logger: Logger,
  ) {}

  /** The message with its recipients and events in order; undefined when no such message is stored. */
  async inspect(messageId: string, options: { headers?: boolean } = {}): Promise<MessageInspection | undefined> {
    const m = await this.storage.queue.message(messageId);
    if (!m) return undefined;
    const now = this.clock.now();
    const [recipients, events] = await Promise.all([this.storage.queue.recipients(messageId), this.storage.queue.events(messageId)]);
    const out: MessageInspection = {
      message: messageView(m),
      recipients: recipients.map((r) => recipientView(r, now)),
      events: events.map((e) => ({ id: e.id, type: e.type, createdAt: e.createdAt, payload: e.payload })),
    };
    if (options.headers) out.headers = headerBlock(m.body);
    return out;
  }

  /**
   * An account's messages, newest first, with their recipients (no bodies): by MessageId, recipient
   * address, recipient state, time range, and text found in the sender (Source or From) or the
   * subject. `cursor` continues a previous page (its `nextCursor`).
   */
  async search(
    accountId: string,
    q: { messageId?: string; recipient?: string; state?: RecipientState; text?: string; since?: number; until?: number; cursor?: string },
    limit = 50,
  ): Promise<{ items: Array<QueueMessageView & { recipients: QueueRecipientView[] }>; nextCursor?: string }> {
    const text = q.text?.trim().toLowerCase() || undefined;
    let after = q.cursor ? decodeCursor(q.cursor) : undefined;
    if (q.cursor && !after) throw badRequest('The cursor is not one this search gave; start the search again without it.');
    const found: Array<QueueMessageView & { recipients: QueueRecipientView[] }> = [];
    const now = this.clock.now();
    let more = true;
    // The storage matches the text anywhere in the stored `mail` object; the view is checked here, a
    // page at a time, until the page is full (or a few pages were read: the next cursor goes on).
    for (let pass = 0; pass < 5 && found.length < limit && more; pass++) {
      const rows = await this.storage.queue.search({ accountId, messageId: q.messageId, recipient: q.recipient, state: q.state, text, since: q.since, until: q.until, after }, limit);
      more = rows.length === limit;
      for (const row of rows) {
        after = { createdAt: row.createdAt, messageId: row.messageId, ...(row.seq !== undefined ? { seq: row.seq } : {}) };
        const v = messageView({ ...row, body: Buffer.alloc(0) });
        if (!text || [v.source, v.subject ?? '', ...v.from].some((s) => s.toLowerCase().includes(text))) found.push({ ...v, recipients: row.recipients.map((r) => recipientView(r, now)) });
        if (found.length === limit) {
          more = true;
          break;
        }
      }
    }
    return { items: found, ...(more && after ? { nextCursor: encodeCursor(after) } : {}) };
  }

  /** Queued recipients of every message, soonest next attempt first. */
  async listQueued(limit: number): Promise<QueueRecipientView[]> {
    const now = this.clock.now();
    return (await this.storage.queue.listQueued(limit)).map((r) => recipientView(r, now));
  }

  /** Recipient counts by state. */
  stats(): Promise<QueueStats> {
    return this.storage.queue.stats();
  }

  /**
   * Makes the message's queued recipients due now (a running delivery worker picks them up on its
   * next poll). Returns how many, or undefined when no such message is stored.
   */
  async retry(messageId: string): Promise<number | undefined> {
    if (!(await this.storage.queue.message(messageId))) return undefined;
    return this.storage.queue.retryNow(messageId, this.clock.now());
  }

  /**
   * The queue per destination domain (of one account's messages, or of every account), deepest
   * first, with every paused domain (paused for all accounts) even when nothing of it is queued.
   */
  async destinations(accountId: string | undefined): Promise<QueueOverview> {
    const now = this.clock.now();
    const [rows, paused] = await Promise.all([this.storage.queue.destinations(accountId, now, MAX_DESTINATIONS + 1), this.storage.queue.pausedDestinations()]);
    const truncated = rows.length > MAX_DESTINATIONS;
    const shown: DestinationView[] = rows.slice(0, MAX_DESTINATIONS).map((r) => ({ ...r, paused: null }));
    const byDomain = new Map(shown.map((d) => [d.domain, d]));
    for (const { domain, ...pause } of paused) {
      const d = byDomain.get(domain);
      if (d) d.paused = pause;
      else shown.push({ domain, queued: 0, inFlight: 0, oldestCreatedAt: null, nextAttemptAt: null, deferrals: [], paused: pause });
    }
    return { destinations: shown, totalQueued: shown.reduce((n, d) => n + d.queued, 0), truncated };
  }

  /** Makes every queued recipient of a domain (of one account's messages, or of all) due now; returns how many. */
  async retryDestination(accountId: string | undefined, domain: string, by: string): Promise<number> {
    const d = destinationDomain(domain);
    const n = await this.storage.queue.retryDestination(accountId, d, this.clock.now());
    this.logger.info({ code: 'DESTINATION_RETRIED', domain: d, accountId, by, recipients: n }, `${d}: ${n} queued recipient(s) made due now by ${by}`);
    return n;
  }

  /**
   * Pauses delivery to a domain on every node, for every account: its recipients stay queued (no
   * attempt counted, no event) until it is resumed. Pausing a paused domain replaces who and why.
   */
  async pauseDestination(domain: string, by: string, reason?: string): Promise<PausedDestination & { alreadyPaused: boolean }> {
    const d = destinationDomain(domain);
    const why = reason?.trim() ? reason.trim().slice(0, 500) : null;
    const pause: PausedDestination = { domain: d, pausedAt: this.clock.now(), pausedBy: by, reason: why };
    const fresh = await this.storage.queue.pauseDestination(pause);
    this.logger.info({ code: 'DESTINATION_PAUSED', domain: d, by, reason: why }, `delivery to ${d} paused by ${by}${why ? `: ${why}` : ''}`);
    const stored = (await this.storage.queue.pausedDestinations()).find((p) => p.domain === d) ?? pause;
    return { ...stored, alreadyPaused: !fresh };
  }

  /** Resumes a paused domain; its queued recipients (of every account) are due now. NotFound when it was not paused. */
  async resumeDestination(domain: string, by: string): Promise<{ domain: string; recipientsMadeDue: number; pausedFor: number }> {
    const d = destinationDomain(domain);
    const now = this.clock.now();
    const r = await this.storage.queue.resumeDestination(d, now);
    if (!r) throw notFound(`Delivery to ${d} is not paused.`);
    this.logger.info(
      { code: 'DESTINATION_RESUMED', domain: d, by, pausedBy: r.pause.pausedBy, pausedMs: now - r.pause.pausedAt, recipients: r.due },
      `delivery to ${d} resumed by ${by}; ${r.due} queued recipient(s) due now`,
    );
    return { domain: d, recipientsMadeDue: r.due, pausedFor: now - r.pause.pausedAt };
  }

  /**
   * Drops a message on the operator's word: every still-queued recipient becomes `bounced` (last
   * response "purged by operator") with a Permanent/General Bounce event saying so, in one
   * transaction; delivered, bounced and suppressed recipients are untouched. The address is not put
   * on the suppression list: the recipient did nothing wrong. A recipient whose attempt is in flight
   * is purged too, and the worker's result for it is then discarded (its lease is dropped).
   * Returns the purged recipients, or undefined when no such message is stored.
   */
  async purge(messageId: string): Promise<string[] | undefined> {
    const m = await this.storage.queue.message(messageId);
    if (!m) return undefined;
    const queued = (await this.storage.queue.recipients(messageId)).filter((r) => r.state === 'queued');
    if (queued.length === 0) return [];
    const now = this.clock.now();
    const mail = mailOf(m);
    const items = queued.map((r) => {
      const event: EventRecord = {
        messageId,
        accountId: m.accountId,
        type: 'Bounce',
        createdAt: now,
        payload: bounceEvent(mail, {
          bounceType: 'Permanent',
          bounceSubType: 'General',
          at: now,
          feedbackId: newMessageId(now),
          recipients: [
            {
              emailAddress: r.rcpt,
              action: 'failed',
              status: '5.0.0',
              diagnosticCode: `Purged by operator (sesame queue purge) after ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}; the message was not delivered to this recipient.`,
            },
          ],
          reportingMTA: `dns; ${this.settings.hostname}`,
        }),
      };
      return { rcpt: r.rcpt, lastResponse: PURGED_RESPONSE, events: [event] };
    });
    const purged = await this.storage.queue.purge(messageId, items, now);
    if (purged.length > 0) {
      this.logger.info({ code: 'QUEUE_PURGED', messageId, recipients: purged }, `${messageId}: ${purged.length} queued recipient(s) purged by operator`);
    }
    return purged;
  }
}

function encodeCursor(a: { createdAt: number; messageId: string; seq?: number }): string {
  return Buffer.from(`${a.createdAt}:${a.seq ?? ''}:${a.messageId}`).toString('base64url');
}

function decodeCursor(c: string): { createdAt: number; messageId: string; seq?: number } | undefined {
  const m = /^(\d+):(\d*):(.+)$/.exec(Buffer.from(c, 'base64url').toString('utf8'));
  return m ? { createdAt: Number(m[1]), messageId: m[3]!, ...(m[2] ? { seq: Number(m[2]) } : {}) } : undefined;
}

function messageView(m: MessageRecord): QueueMessageView {
  const mail = m.meta.mail as Partial<MailObject> | undefined;
  const common = (mail?.commonHeaders ?? {}) as { from?: unknown; subject?: unknown };
  return {
    messageId: m.messageId,
    accountId: m.accountId,
    source: mail?.source ?? '',
    from: Array.isArray(common.from) ? common.from.map(String) : [],
    ...(typeof common.subject === 'string' ? { subject: common.subject } : {}),
    destination: Array.isArray(mail?.destination) ? mail.destination : [],
    mailFrom: m.mailFrom,
    configurationSet: m.configurationSet,
    createdAt: m.createdAt,
    expiresAt: m.expiresAt,
  };
}

function recipientView(r: RecipientRecord, now: number): QueueRecipientView {
  return {
    messageId: r.messageId,
    rcpt: r.rcpt,
    domain: r.domain,
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt: r.state === 'queued' ? r.nextAttemptAt : null,
    inFlight: r.state === 'queued' && r.leaseOwner !== null && (r.leaseExpiresAt ?? 0) > now,
    lastResponse: r.lastResponse,
    updatedAt: r.updatedAt,
  };
}

/** The stored `mail` object, or a minimal one for a message stored without it. */
function mailOf(m: MessageRecord): MailObject {
  const mail = m.meta.mail as MailObject | undefined;
  if (mail) return mail;
  return {
    timestamp: new Date(m.createdAt).toISOString(),
    source: '',
    sourceArn: '',
    sendingAccountId: m.accountId,
    messageId: m.messageId,
    destination: [],
    headersTruncated: false,
    headers: [],
    commonHeaders: {},
    tags: {},
  };
}

/** The header block exactly as stored (folded lines kept), decoded as UTF-8 for display. */
function headerBlock(body: Buffer): string {
  try {
    const split = splitMessage(body);
    return body.subarray(0, body.length - split.body.length).toString('utf8').replace(/\r\n/g, '\n').trimEnd();
  } catch (err) {
    if (err instanceof MimeError) return `(the stored message has no readable header block: ${err.message})`;
    throw err;
  }
}
