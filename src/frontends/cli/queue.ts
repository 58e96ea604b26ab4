/**
 * `sesame queue list|show|retry|purge|destinations|pause|resume`: the delivery queue as an operator
 * sees it, read and written in the data dir directly. A running server's delivery worker notices
 * retried recipients on its next poll; purged ones end as `bounced` with a Bounce event, so the
 * message's history says why. A paused destination is skipped by every node's next claim.
 */
import { userInfo } from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import type { DestinationView, QueueStats } from '../../core/index.ts';
import type { CliContext } from './context.ts';
import { nextAttemptText, relative, renderSummary, summaryJson, table, unknownMessage } from './events.ts';

/** "queued 2, delivered 10, bounced 1, suppressed 0". */
export function statsLine(s: QueueStats): string {
  return `queued ${s.queued}, delivered ${s.delivered}, bounced ${s.bounced}, suppressed ${s.suppressed}`;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('give a whole number of at least 1.');
  return n;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Who paused or resumed, in the log and the pause record: the CLI and the OS user running it. */
function operator(): string {
  try {
    return `cli (${userInfo().username})`;
  } catch {
    return 'cli';
  }
}

/** "3 h 12 min", "45 s": an age for people. */
export function ageText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

function destinationJson(d: DestinationView) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    domain: d.domain,
    queued: d.queued,
    inFlight: d.inFlight,
    oldestCreatedAt: iso(d.oldestCreatedAt),
    nextAttemptAt: iso(d.nextAttemptAt),
    deferrals: d.deferrals,
    paused: d.paused ? { pausedAt: iso(d.paused.pausedAt), pausedBy: d.paused.pausedBy, reason: d.paused.reason } : null,
  };
}

/** Registers the command group. */
export function registerQueue(program: Command, ctx: CliContext): void {
  const queue = program.command('queue').description('inspect and manage the delivery queue (list, show, retry, purge, destinations, pause, resume)');

  queue
    .command('list')
    .description('queued recipients, soonest next attempt first, with counts by state')
    .option('-n, --limit <n>', 'show at most this many recipients', positiveInt, 100)
    .option('--json', 'print {"stats","recipients"}')
    .action(async (opts: { limit: number; json?: boolean }) => {
      const opened = await ctx.openCore(ctx.loadConfig());
      try {
        const admin = opened.core.queueAdmin;
        const [stats, list] = await Promise.all([admin.stats(), admin.listQueued(opts.limit)]);
        if (opts.json) {
          ctx.out(
            JSON.stringify(
              {
                stats,
                recipients: list.map((r) => ({
                  messageId: r.messageId,
                  rcpt: r.rcpt,
                  attempts: r.attempts,
                  nextAttemptAt: r.nextAttemptAt === null ? null : new Date(r.nextAttemptAt).toISOString(),
                  inFlight: r.inFlight,
                  lastResponse: r.lastResponse,
                })),
              },
              null,
              2,
            ),
          );
          return;
        }
        const now = Date.now();
        const lines = [`Recipients by state: ${statsLine(stats)}`];
        if (list.length === 0) {
          lines.push('Nothing is queued.');
        } else {
          lines.push(
            '',
            table(
              ['NEXT ATTEMPT', 'ATTEMPTS', 'MESSAGE ID', 'RECIPIENT', 'LAST RESPONSE'],
              list.map((r) => [nextAttemptText(r, now), String(r.attempts), r.messageId, r.rcpt, r.lastResponse ?? '-']),
            ),
          );
          if (stats.queued > list.length) lines.push('', `Showing ${list.length} of ${stats.queued} queued recipients; --limit shows more.`);
        }
        ctx.out(lines.join('\n'));
      } finally {
        await opened.close();
      }
    });

  queue
    .command('show')
    .alias('inspect')
    .description("a message's envelope, recipients and header fields (not its body)")
    .argument('<messageId>')
    .option('--json', 'print {"message","recipients","headers"}')
    .action(async (messageId: string, opts: { json?: boolean }) => {
      const opened = await ctx.openCore(ctx.loadConfig());
      try {
        const found = await opened.core.queueAdmin.inspect(messageId, { headers: true });
        if (!found) {
          ctx.err(unknownMessage(messageId));
          process.exitCode = 1;
          return;
        }
        if (opts.json) {
          ctx.out(JSON.stringify({ ...summaryJson(found), headers: found.headers ?? '' }, null, 2));
          return;
        }
        ctx.out(`${renderSummary(found, Date.now())}\n\nHeaders (as sent, body omitted)\n${found.headers ?? ''}\n\nHistory: sesame events ${messageId}`);
      } finally {
        await opened.close();
      }
    });

  queue
    .command('retry')
    .description("make a message's queued recipients due now; a running server's delivery worker tries them on its next poll")
    .argument('<messageId>')
    .action(async (messageId: string) => {
      const opened = await ctx.openCore(ctx.loadConfig());
      try {
        const n = await opened.core.queueAdmin.retry(messageId);
        if (n === undefined) {
          ctx.err(unknownMessage(messageId));
          process.exitCode = 1;
          return;
        }
        if (n === 0) ctx.out(`Nothing to retry: no recipient of ${messageId} is queued (see: sesame events ${messageId}).`);
        else ctx.out(`${plural(n, 'queued recipient')} of ${messageId} due now; a running server tries ${n === 1 ? 'it' : 'them'} within a second. Follow: sesame events ${messageId}`);
      } finally {
        await opened.close();
      }
    });

  queue
    .command('destinations')
    .description('the queue per destination domain (every account): queued, in flight, oldest message, next attempt, commonest deferral replies, paused')
    .option('--json', 'print {"destinations","totalQueued","truncated"}')
    .action(async (opts: { json?: boolean }) => {
      const opened = await ctx.openCore(ctx.loadConfig());
      try {
        const q = await opened.core.queueAdmin.destinations(undefined);
        if (opts.json) {
          ctx.out(JSON.stringify({ destinations: q.destinations.map(destinationJson), totalQueued: q.totalQueued, truncated: q.truncated }, null, 2));
          return;
        }
        if (q.destinations.length === 0) {
          ctx.out('Nothing is queued and no destination is paused.');
          return;
        }
        const now = Date.now();
        const next = (d: DestinationView) => (d.paused ? 'paused' : d.nextAttemptAt === null ? (d.queued > 0 ? 'attempt in flight' : '-') : d.nextAttemptAt <= now ? 'due now' : relative(d.nextAttemptAt, now));
        const lines = [
          table(
            ['DOMAIN', 'QUEUED', 'IN FLIGHT', 'OLDEST', 'NEXT ATTEMPT', 'DEFERRALS'],
            q.destinations.map((d) => [
              d.domain,
              String(d.queued),
              String(d.inFlight),
              d.oldestCreatedAt === null ? '-' : ageText(now - d.oldestCreatedAt),
              next(d),
              d.deferrals.map((r) => `${r.count}× ${r.response}`).join(' | ') || '-',
            ]),
          ),
          '',
          `Total queued: ${q.totalQueued}${q.truncated ? ' (the deepest 100 destinations; more are queued)' : ''}`,
        ];
        for (const d of q.destinations.filter((x) => x.paused)) {
          lines.push(`Paused: ${d.domain} since ${new Date(d.paused!.pausedAt).toISOString()} by ${d.paused!.pausedBy}${d.paused!.reason ? ` (${d.paused!.reason})` : ''}; resume: sesame queue resume ${d.domain}`);
        }
        ctx.out(lines.join('\n'));
      } finally {
        await opened.close();
      }
    });

  queue
    .command('pause')
    .description('stop delivering to a destination domain, for every account and node: its mail stays queued (no attempt counted) until resumed')
    .argument('<domain>')
    .option('--reason <text>', 'why (shown in the console and `queue destinations`)')
    .action(async (domain: string, opts: { reason?: string }) => {
      const opened = await ctx.openCore(ctx.loadConfig());
      try {
        const p = await opened.core.queueAdmin.pauseDestination(domain, operator(), opts.reason);
        ctx.out(
          p.alreadyPaused
            ? `${p.domain} was already paused (since ${new Date(p.pausedAt).toISOString()}); reason now: ${p.reason ?? '(none)'}.`
            : `Delivery to ${p.domain} paused: its mail stays queued until \`sesame queue resume ${p.domain}\`.`,
        );
      } finally {
        await opened.close();
      }
    });

  queue
    .command('resume')
    .description("deliver to a paused destination domain again: its queued mail is due now")
    .argument('<domain>')
    .action(async (domain: string) => {
      const opened = await ctx.openCore(ctx.loadConfig());
      try {
        const r = await opened.core.queueAdmin.resumeDestination(domain, operator());
        ctx.out(`Delivery to ${r.domain} resumed; ${plural(r.recipientsMadeDue, 'queued recipient')} due now.`);
      } finally {
        await opened.close();
      }
    });

  queue
    .command('purge')
    .description('drop a message: every still-queued recipient ends as bounced ("purged by operator") with a Bounce event; delivered ones are untouched')
    .argument('<messageId>')
    .action(async (messageId: string) => {
      const opened = await ctx.openCore(ctx.loadConfig());
      try {
        const purged = await opened.core.queueAdmin.purge(messageId);
        if (purged === undefined) {
          ctx.err(unknownMessage(messageId));
          process.exitCode = 1;
          return;
        }
        if (purged.length === 0) ctx.out(`Nothing to purge: no recipient of ${messageId} is queued (see: sesame events ${messageId}).`);
        else ctx.out(`Purged ${plural(purged.length, 'queued recipient')} of ${messageId} (${purged.join(', ')}): now bounced, with a Bounce event. See: sesame events ${messageId}`);
      } finally {
        await opened.close();
      }
    });
}
