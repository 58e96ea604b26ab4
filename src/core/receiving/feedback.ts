/**
 * Bounces and complaints from the wire. Every message leaves with its own envelope sender,
 * `<MessageId>@<MAIL FROM domain>` (sending/service.ts), so an asynchronous bounce (an RFC 3464 DSN
 * sent after the remote MTA accepted the message) and a feedback-loop complaint (an RFC 5965 ARF
 * report) name the message they are about by the address they arrive at. The MX front end hands
 * such a message here; this turns it into SES's events:
 *
 * - a DSN: one Bounce event per failed recipient (SES's bounce object: type and subtype from the
 *   Status and Diagnostic-Code, `reportingMTA` from Reporting-MTA), and for a Permanent bounce a
 *   suppression entry (BOUNCE) when the message's account or configuration set suppresses bounces
 *   (decided at send time: `meta.suppressOnBounce`). Delayed, delivered, relayed and expanded
 *   recipients publish nothing (SES publishes no remote delays);
 * - an ARF report: one Complaint event for the recipients it is about, and a suppression entry
 *   (COMPLAINT) when the account's or the configuration set's suppressed reasons hold COMPLAINT;
 * - anything else (auto-replies, unknown or foreign message ids, reports about recipients the
 *   message never had) is ignored and logged.
 *
 * A report can only touch the message it arrived for and only that message's recipients: a
 * recipient knows the MessageId (it is in Message-ID), so without this check anyone could put
 * arbitrary addresses of an account on its suppression list. A report delivered twice (an MX retry)
 * adds nothing the second time. The suppression entry is written before the events, so a failure
 * between the two is repaired when the sender retries (the entry is an idempotent put).
 */
import { parseArf, type ParsedArf } from '../../lib/arf-parse.ts';
import { classifyBounce, parseDsn, type DsnRecipient, type ParsedDsn } from '../../lib/dsn-parse.ts';
import { newMessageId } from '../../lib/ids.ts';
import type { Logger } from '../../observability/logger.ts';
import type { EventRecord, Storage, SuppressionRecord } from '../../storage/ports.ts';
import type { Clock } from '../clock.ts';
import type { ConfigurationSetsService, SuppressionReason } from '../configuration-sets/service.ts';
import { SesError } from '../errors.ts';
import { bounceEvent, complaintEvent, type MailObject } from '../events/model.ts';
import type { AccountSettingsService } from '../sending/account-settings.ts';

/** What a message at a bounce address turned out to be. */
export type FeedbackOutcome = 'bounce' | 'complaint' | 'ignored';

/** A message that arrived at one of Sesame's bounce addresses. */
export interface FeedbackInput {
  /** The envelope recipient it arrived for (`<MessageId>@domain`). */
  rcptTo: string;
  /** The whole message as received. */
  raw: Buffer;
  /** The IP address of the client that delivered it. */
  remoteIp: string;
}

/** The settings this needs to read suppression options. */
export interface FeedbackServices {
  accountSettings: AccountSettingsService;
  configurationSets: ConfigurationSetsService;
}

/** SES MessageId format (lib/ids.ts newMessageId). */
const MESSAGE_ID = /^0100[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000$/;

/** Feedback types that do not mean "stop sending to me": no suppression entry for them. */
const NOT_A_COMPLAINT_OF_THE_RECIPIENT = new Set(['not-spam', 'auth-failure']);

/** The MessageId a bounce address names (`<MessageId>@domain`), if it is one. */
export function bounceAddressId(address: string): string | undefined {
  const a = address.trim().replace(/^<|>$/g, '');
  const at = a.lastIndexOf('@');
  if (at <= 0) return undefined;
  const local = a.slice(0, at).toLowerCase();
  return MESSAGE_ID.test(local) ? local : undefined;
}

/** Turns DSNs and feedback reports that arrive at bounce addresses into Bounce and Complaint events. */
export class FeedbackService {
  /** Called after events were stored (the dispatcher's wake). */
  onEvent: () => void = () => {};

  constructor(
    private readonly storage: Storage,
    private readonly services: FeedbackServices,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Handles one message that arrived at a bounce address; says what it was. */
  async handle(input: FeedbackInput): Promise<FeedbackOutcome> {
    const addressed = bounceAddressId(input.rcptTo);
    let dsn: ParsedDsn | undefined;
    let arf: ParsedArf | undefined;
    try {
      dsn = parseDsn(input.raw);
      arf = dsn ? undefined : parseArf(input.raw);
    } catch (err) {
      // The parsers are meant not to throw; if one does, the sender's retries would not help.
      return this.ignored(input, addressed, `unreadable report (${(err as Error).message})`);
    }
    if (!dsn && !arf) return this.ignored(input, addressed, 'not a delivery-status or feedback report');
    // Feedback loops may report to an address of their own rather than the Return-Path; the report
    // still names the message by its envelope sender or Message-ID.
    const named = namedIds(dsn, arf);
    const messageId = addressed ?? (arf ? named[0] : undefined);
    if (!messageId) return this.ignored(input, undefined, 'not addressed to a bounce address');
    if (named.some((id) => id !== messageId)) return this.ignored(input, messageId, 'the report is about another message');
    const m = await this.storage.queue.messageMeta(messageId);
    const mail = m?.meta.mail as MailObject | undefined;
    // Sesame's own mail (verification messages) has no mail object and publishes no events.
    if (!m || !mail) return this.ignored(input, messageId, m ? 'the message publishes no events' : 'unknown message');
    const msg = { messageId, accountId: m.accountId, configurationSet: m.configurationSet, createdAt: m.createdAt, meta: m.meta, mail };
    return dsn ? this.bounce(input, msg, dsn) : this.complaint(input, msg, arf!);
  }

  private async bounce(input: FeedbackInput, m: Message, dsn: ParsedDsn): Promise<FeedbackOutcome> {
    const failed = dsn.recipients.filter((r) => r.action === 'failed');
    if (failed.length === 0) {
      const actions = [...new Set(dsn.recipients.map((r) => r.action || 'none'))].join(', ');
      return this.ignored(input, m.messageId, `no failed recipient (${actions || 'no recipients'})`);
    }
    const destinations = new Map(m.mail.destination.map((d) => [d.toLowerCase(), d]));
    const matched = new Map<string, DsnRecipient>();
    for (const r of failed) {
      // SES's emailAddress is Final-Recipient; an alias expanded on the way has the address sent to in Original-Recipient.
      const hit = [r.finalRecipient, r.originalRecipient].find((a) => a !== undefined && destinations.has(a.toLowerCase()));
      if (hit && !matched.has(hit.toLowerCase())) matched.set(hit.toLowerCase(), r);
    }
    // A forwarding address's DSN names where it forwarded to; with one recipient there is no doubt whose it is.
    if (matched.size === 0 && failed.length === 1 && m.mail.destination.length === 1) matched.set(m.mail.destination[0]!.toLowerCase(), failed[0]!);
    if (matched.size === 0) return this.ignored(input, m.messageId, 'the failed recipients are not recipients of the message');

    const existing = await this.storage.queue.events(m.messageId);
    const already = recipientsOf(existing, 'Bounce', 'bounce', 'bouncedRecipients');
    const deliveredTo = deliveryIps(existing);
    const now = this.clock.now();
    const at = reportTime(dsn.date, now, m.createdAt);
    const events: EventRecord[] = [];
    const suppression: SuppressionRecord[] = [];
    const summary: string[] = [];
    for (const [key, r] of matched) {
      if (already.has(key)) continue;
      const emailAddress = destinations.get(key)!;
      const type = classifyBounce(r.status, r.diagnosticCode);
      const feedbackId = newMessageId(now);
      // SES's remoteMtaIp is the MTA that SES delivered to, known from the Delivery event (the
      // report's Remote-MTA is where the reporting MTA went, which may be another hop).
      const remoteMtaIp = deliveredTo.get(key);
      events.push({
        messageId: m.messageId,
        accountId: m.accountId,
        type: 'Bounce',
        createdAt: now,
        payload: bounceEvent(m.mail, {
          ...type,
          at,
          feedbackId,
          recipients: [{ emailAddress, action: 'failed', ...(r.status ? { status: r.status } : {}), ...(r.diagnosticCode ? { diagnosticCode: r.diagnosticCode } : {}) }],
          ...(dsn.reportingMta ? { reportingMTA: `dns; ${dsn.reportingMta}` } : {}),
          ...(remoteMtaIp ? { remoteMtaIp } : {}),
        }),
      });
      if (type.bounceType === 'Permanent' && m.meta.suppressOnBounce !== false) {
        suppression.push({ accountId: m.accountId, email: key, reason: 'BOUNCE', lastUpdateTime: now, messageId: m.messageId, feedbackId });
      }
      summary.push(`${emailAddress} ${type.bounceType}/${type.bounceSubType} ${r.status ?? ''}`.trim());
    }
    await this.store(events, suppression);
    this.logger.info(
      { code: 'FEEDBACK_BOUNCE', messageId: m.messageId, accountId: m.accountId, recipients: summary, duplicates: matched.size - events.length, reportingMta: dsn.reportingMta, remoteIp: input.remoteIp },
      `asynchronous bounce for ${m.messageId}: ${summary.join('; ') || 'already recorded'}`,
    );
    return 'bounce';
  }

  private async complaint(input: FeedbackInput, m: Message, arf: ParsedArf): Promise<FeedbackOutcome> {
    const destinations = new Map(m.mail.destination.map((d) => [d.toLowerCase(), d]));
    const among = (list: string[]) => [...new Set(list.map((a) => a.toLowerCase()).filter((a) => destinations.has(a)))];
    // Providers often redact the recipient; SES then looks the recipients up in the original
    // message (developer guide, complainedRecipients): Original-Rcpt-To, else the reported
    // message's To (narrowed to the reporting provider's domain when it names several), else the
    // message's only recipient.
    let recipients = among(arf.originalRcptTo);
    if (recipients.length === 0) recipients = narrowToReporter(among(arf.original?.to ?? []), arf.from);
    if (recipients.length === 0 && destinations.size === 1) recipients = [...destinations.keys()];
    if (recipients.length === 0) return this.ignored(input, m.messageId, 'the report does not say which recipient complained');

    const existing = await this.storage.queue.events(m.messageId);
    const already = recipientsOf(existing, 'Complaint', 'complaint', 'complainedRecipients');
    const fresh = recipients.filter((r) => !already.has(r));
    const now = this.clock.now();
    const feedbackId = newMessageId(now);
    const arrivalDate = isoDate(arf.arrivalDate);
    const suppression: SuppressionRecord[] = [];
    if (fresh.length > 0 && !NOT_A_COMPLAINT_OF_THE_RECIPIENT.has(arf.feedbackType) && (await this.suppressedReasons(m)).includes('COMPLAINT')) {
      for (const email of fresh) suppression.push({ accountId: m.accountId, email, reason: 'COMPLAINT', lastUpdateTime: now, messageId: m.messageId, feedbackId });
    }
    const events: EventRecord[] =
      fresh.length === 0
        ? []
        : [
            {
              messageId: m.messageId,
              accountId: m.accountId,
              type: 'Complaint',
              createdAt: now,
              payload: complaintEvent(m.mail, {
                at: reportTime(arf.date, now, m.createdAt),
                feedbackId,
                recipients: fresh.map((r) => destinations.get(r)!),
                feedbackType: arf.feedbackType,
                ...(arf.userAgent ? { userAgent: arf.userAgent } : {}),
                ...(arrivalDate ? { arrivalDate } : {}),
              }),
            },
          ];
    await this.store(events, suppression);
    this.logger.info(
      { code: 'FEEDBACK_COMPLAINT', messageId: m.messageId, accountId: m.accountId, recipients: fresh, feedbackType: arf.feedbackType, userAgent: arf.userAgent, suppressed: suppression.length > 0, remoteIp: input.remoteIp },
      `complaint (${arf.feedbackType}) for ${m.messageId}: ${fresh.join(', ') || 'already recorded'}`,
    );
    return 'complaint';
  }

  /** Suppression first, then the events (see the file comment), then the dispatcher's wake. */
  private async store(events: EventRecord[], suppression: SuppressionRecord[]): Promise<void> {
    for (const s of suppression) await this.storage.suppression.put(s);
    if (events.length === 0) return;
    await this.storage.outbox.record(events);
    this.onEvent();
  }

  /** As the sending pipeline decides: the configuration set's suppressed reasons when it has them, else the account's. */
  private async suppressedReasons(m: Message): Promise<SuppressionReason[]> {
    if (m.configurationSet) {
      try {
        const set = await this.services.configurationSets.load(m.accountId, m.configurationSet);
        if (set.suppression) return set.suppression.suppressedReasons;
      } catch (err) {
        // A set deleted since the send: the account's options apply.
        if (!(err instanceof SesError && err.code === 'NotFoundException')) throw err;
      }
    }
    return (await this.services.accountSettings.read(m.accountId)).suppressedReasons;
  }

  private ignored(input: FeedbackInput, messageId: string | undefined, reason: string): 'ignored' {
    this.logger.info({ code: 'FEEDBACK_IGNORED', rcptTo: input.rcptTo, messageId, remoteIp: input.remoteIp, reason }, `message to bounce address ${input.rcptTo} ignored: ${reason}`);
    return 'ignored';
  }
}

/** The message a report is about, as stored. */
interface Message {
  messageId: string;
  accountId: string;
  configurationSet: string | null;
  createdAt: number;
  meta: Record<string, unknown>;
  mail: MailObject;
}

/**
 * The MessageIds a report names besides the address it came to: the returned message's
 * Message-ID (`<MessageId@hostname>`, as Sesame writes it), and for ARF the Original-Mail-From and
 * the reported message's Return-Path (both the bounce address). Values in another format (a
 * message rewritten on the way) name nothing.
 */
function namedIds(dsn: ParsedDsn | undefined, arf: ParsedArf | undefined): string[] {
  const out: string[] = [];
  const messageIdHeader = dsn?.original?.messageId ?? arf?.original?.messageId;
  if (messageIdHeader) {
    const id = bounceAddressId(messageIdHeader);
    if (id) out.push(id);
  }
  for (const a of [arf?.originalMailFrom, arf?.original?.returnPath]) {
    const id = a ? bounceAddressId(a) : undefined;
    if (id) out.push(id);
  }
  return [...new Set(out)];
}

/** Lower-case addresses already in a message's events of one type (a report delivered twice adds nothing). */
function recipientsOf(events: EventRecord[], type: string, key: string, list: string): Set<string> {
  const out = new Set<string>();
  for (const e of events) {
    if (e.type !== type) continue;
    const items = (e.payload[key] as Record<string, unknown> | undefined)?.[list];
    if (!Array.isArray(items)) continue;
    for (const r of items) {
      const a = (r as { emailAddress?: unknown }).emailAddress;
      if (typeof a === 'string') out.add(a.toLowerCase());
    }
  }
  return out;
}

/** The remote MTA IP of each recipient's Delivery event. */
function deliveryIps(events: EventRecord[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of events) {
    if (e.type !== 'Delivery') continue;
    const d = e.payload.delivery as { recipients?: unknown; remoteMtaIp?: unknown } | undefined;
    if (typeof d?.remoteMtaIp !== 'string' || !Array.isArray(d.recipients)) continue;
    for (const r of d.recipients) if (typeof r === 'string') out.set(r.toLowerCase(), d.remoteMtaIp);
  }
  return out;
}

/**
 * Of several candidate recipients, those at the provider that sent the report (its From domain's
 * last two labels, `arf.mail.yahoo.com` → `yahoo.com`); all of them when that narrows to none.
 */
function narrowToReporter(candidates: string[], reporter: string | undefined): string[] {
  if (candidates.length <= 1 || !reporter) return candidates;
  const base = reporter.slice(reporter.lastIndexOf('@') + 1).toLowerCase().split('.').slice(-2).join('.');
  const hits = candidates.filter((c) => {
    const d = c.slice(c.lastIndexOf('@') + 1);
    return d === base || d.endsWith(`.${base}`);
  });
  return hits.length > 0 ? hits : candidates;
}

/**
 * SES's bounce and complaint `timestamp` is when the provider sent the report: its Date header,
 * when that is plausible (not before the message, not in the future); else the time it arrived.
 */
function reportTime(date: string | undefined, now: number, createdAt: number): number {
  const t = date ? parseDate(date) : NaN;
  return Number.isFinite(t) && t >= createdAt - 60_000 && t <= now + 300_000 ? t : now;
}

/** An RFC 5322 date as ISO 8601, or undefined when it cannot be read. */
function isoDate(date: string | undefined): string | undefined {
  const t = date ? parseDate(date) : NaN;
  return Number.isFinite(t) ? new Date(t).toISOString() : undefined;
}

function parseDate(date: string): number {
  return Date.parse(date.replace(/\([^()]*\)/g, ' ').trim());
}
