/**
 * `sesame events <messageId>`: what happened to a message — its recipients with their state,
 * attempts, last response and next attempt, then its SES events in order. `--json` prints the
 * stored SES event-publishing records themselves, the objects destinations will receive.
 */
import type { Command } from 'commander';
import type { MessageInspection, QueueEventView, QueueMessageView, QueueRecipientView } from '../../core/index.ts';
import type { CliContext } from './context.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/** Lays out rows in columns (two spaces apart); the last column is never padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** "in 5m", "12s ago": how far `at` is from `now`, for people. */
export function relative(at: number, now: number): string {
  const d = Math.abs(at - now);
  const s = Math.round(d / 1000);
  const text = s < 60 ? `${s}s` : s < 3600 ? `${Math.round(s / 60)}m` : s < 172_800 ? `${Math.round(s / 360) / 10}h` : `${Math.round(s / 8640) / 10}d`;
  return at >= now ? `in ${text}` : `${text} ago`;
}

/** When a recipient is tried next, for people: a time, "due now", "attempt in flight", or "-" once final. */
export function nextAttemptText(r: QueueRecipientView, now: number): string {
  if (r.nextAttemptAt === null) return '-';
  if (r.inFlight) return 'attempt in flight';
  if (r.nextAttemptAt <= now) return 'due now';
  return `${iso(r.nextAttemptAt)} (${relative(r.nextAttemptAt, now)})`;
}

/** The message block and the recipient table (shared with `sesame queue show`). */
export function renderSummary(i: Pick<MessageInspection, 'message' | 'recipients'>, now: number): string {
  const m = i.message;
  const lines = [
    `Message    ${m.messageId}`,
    `From       ${m.source || m.from.join(', ') || '(unknown)'}`,
    ...(m.subject !== undefined ? [`Subject    ${m.subject}`] : []),
    `Account    ${m.accountId}`,
    `MAIL FROM  ${m.mailFrom}`,
    `Accepted   ${iso(m.createdAt)} (${relative(m.createdAt, now)})`,
    `Expires    ${iso(m.expiresAt)} (${relative(m.expiresAt, now)}; still-deferred recipients bounce then)`,
    '',
    `Recipients (${i.recipients.length})`,
    table(
      ['  RECIPIENT', 'STATE', 'ATTEMPTS', 'NEXT ATTEMPT', 'LAST RESPONSE'],
      i.recipients.map((r) => [`  ${r.rcpt}`, r.state, String(r.attempts), nextAttemptText(r, now), r.lastResponse ?? '-']),
    ),
  ];
  return lines.join('\n');
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

/** The recipients an SES event is about, and its one-line detail. */
export function describeEvent(e: QueueEventView): { recipients: string[]; detail: string } {
  const p = e.payload;
  switch (e.type) {
    case 'Send': {
      const mail = obj(p.mail);
      return { recipients: arr(mail.destination).map(String), detail: `accepted from ${str(mail.source) ?? '?'}` };
    }
    case 'Delivery': {
      const d = obj(p.delivery);
      const extra = [str(d.remoteMtaIp) && `remote ${str(d.remoteMtaIp)}`, str(d.processingTimeMillis) && `after ${str(d.processingTimeMillis)} ms`].filter(Boolean).join(', ');
      return { recipients: arr(d.recipients).map(String), detail: `${str(d.smtpResponse) ?? ''}${extra ? ` (${extra})` : ''}` };
    }
    case 'Bounce': {
      const b = obj(p.bounce);
      const rs = arr(b.bouncedRecipients).map(obj);
      const codes = [...new Set(rs.map((r) => str(r.diagnosticCode)).filter((x): x is string => !!x))];
      return { recipients: rs.map((r) => str(r.emailAddress) ?? '?'), detail: `${str(b.bounceType) ?? '?'}/${str(b.bounceSubType) ?? '?'}${codes.length ? `: ${codes.join('; ')}` : ''}` };
    }
    case 'DeliveryDelay': {
      const d = obj(p.deliveryDelay);
      const rs = arr(d.delayedRecipients).map(obj);
      const codes = [...new Set(rs.map((r) => str(r.diagnosticCode)).filter((x): x is string => !!x))];
      return { recipients: rs.map((r) => str(r.emailAddress) ?? '?'), detail: `${str(d.delayType) ?? '?'}${codes.length ? `: ${codes.join('; ')}` : ''}${str(d.expirationTime) ? ` (gives up ${str(d.expirationTime)})` : ''}` };
    }
    case 'Complaint': {
      const c = obj(p.complaint);
      return { recipients: arr(c.complainedRecipients).map((r) => str(obj(r).emailAddress) ?? '?'), detail: str(c.complaintFeedbackType) ?? '' };
    }
    case 'Reject':
      return { recipients: [], detail: str(obj(p.reject).reason) ?? '' };
    case 'Open':
      return { recipients: [], detail: [str(obj(p.open).ipAddress), str(obj(p.open).userAgent)].filter(Boolean).join(' ') };
    case 'Click':
      return { recipients: [], detail: str(obj(p.click).link) ?? '' };
    case 'Rendering Failure':
      return { recipients: [], detail: [str(obj(p.failure).templateName), str(obj(p.failure).errorMessage)].filter(Boolean).join(': ') };
    default:
      return { recipients: [], detail: '' };
  }
}

/** The event table. */
export function renderEvents(events: QueueEventView[]): string {
  return [
    `Events (${events.length})`,
    table(
      ['  TIME', 'EVENT', 'RECIPIENTS', 'DETAIL'],
      events.map((e) => {
        const d = describeEvent(e);
        return [`  ${iso(e.createdAt)}`, e.type, d.recipients.join(', ') || '-', d.detail || '-'];
      }),
    ),
  ].join('\n');
}

/** The message and recipients as JSON-ready objects (times as ISO 8601). */
export function summaryJson(i: Pick<MessageInspection, 'message' | 'recipients'>): { message: Obj; recipients: Obj[] } {
  const m: QueueMessageView = i.message;
  return {
    message: {
      messageId: m.messageId,
      accountId: m.accountId,
      source: m.source,
      from: m.from,
      ...(m.subject !== undefined ? { subject: m.subject } : {}),
      destination: m.destination,
      mailFrom: m.mailFrom,
      createdAt: iso(m.createdAt),
      expiresAt: iso(m.expiresAt),
    },
    recipients: i.recipients.map((r) => ({
      rcpt: r.rcpt,
      state: r.state,
      attempts: r.attempts,
      nextAttemptAt: r.nextAttemptAt === null ? null : iso(r.nextAttemptAt),
      inFlight: r.inFlight,
      lastResponse: r.lastResponse,
      updatedAt: iso(r.updatedAt),
    })),
  };
}

/** What to say when a MessageId is unknown. */
export function unknownMessage(messageId: string): string {
  return `No message ${messageId} in this installation. Check the MessageId (sesame queue list shows the queued ones) and that SESAME_DATA_DIR / SESAME_DATABASE_URL point at the server's data.`;
}

/** Registers the command. */
export function registerEvents(program: Command, ctx: CliContext): void {
  program
    .command('events')
    .description('what happened to a message: its recipients (state, attempts, last response, next attempt) and its SES events in order')
    .argument('<messageId>')
    .option('--json', 'print {"message","recipients","events"} with the stored SES event records')
    .action(async (messageId: string, opts: { json?: boolean }) => {
      const opened = await ctx.openCore(ctx.loadConfig());
      try {
        const found = await opened.core.queueAdmin.inspect(messageId);
        if (!found) {
          ctx.err(unknownMessage(messageId));
          process.exitCode = 1;
          return;
        }
        if (opts.json) {
          ctx.out(JSON.stringify({ ...summaryJson(found), events: found.events.map((e) => e.payload) }, null, 2));
          return;
        }
        ctx.out(`${renderSummary(found, Date.now())}\n\n${renderEvents(found.events)}`);
      } finally {
        await opened.close();
      }
    });
}
