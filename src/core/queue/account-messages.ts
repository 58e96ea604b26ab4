/**
 * An account's own messages, as a signed-in user sees them (the web console): the queue
 * administration of QueueAdmin, with the key's policy checked and other accounts' messages
 * answered as unknown. Reading needs `ses:GetMessageInsights`; retry and cancel need `ses:SendEmail`.
 * The queue per destination reads with `sesame:GetQueue` and retries a destination's mail with
 * `sesame:RetryDestination` (both within the account); pausing or resuming a destination stops or
 * restarts every account's delivery to it, so it takes a root key or an explicit allow of
 * `sesame:PauseDestination` (Sesame's own actions: a `ses:*` policy does not grant them).
 */
import type { Storage } from '../../storage/ports.ts';
import type { AccountsService, Principal } from '../accounts/service.ts';
import { callerArn } from '../arn.ts';
import { notFound, SesError } from '../errors.ts';
import type { MessageInspection, QueueAdmin, QueueOverview } from './admin.ts';

export class AccountMessages {
  constructor(
    private readonly admin: QueueAdmin,
    private readonly accounts: AccountsService,
    private readonly storage: Storage,
  ) {}

  /** QueueAdmin.search, within the principal's account. */
  async search(p: Principal, q: Parameters<QueueAdmin['search']>[1], limit?: number): ReturnType<QueueAdmin['search']> {
    this.accounts.authorize(p, { action: 'ses:GetMessageInsights', resource: '*' });
    return this.admin.search(p.accountId, q, limit);
  }

  /** One message with its recipients and events. */
  async inspect(p: Principal, messageId: string): Promise<MessageInspection> {
    this.accounts.authorize(p, { action: 'ses:GetMessageInsights', resource: '*' });
    const m = await this.admin.inspect(messageId);
    if (!m || m.message.accountId !== p.accountId) throw this.unknown(messageId);
    return m;
  }

  /** Makes the message's queued recipients due now; returns how many. */
  async retry(p: Principal, messageId: string): Promise<number> {
    await this.own(p, messageId);
    return (await this.admin.retry(messageId)) ?? 0;
  }

  /** Ends delivery of the message's queued recipients (as bounces); returns them. */
  async cancel(p: Principal, messageId: string): Promise<string[]> {
    await this.own(p, messageId);
    return (await this.admin.purge(messageId)) ?? [];
  }

  /** The account's queue per destination domain, with every paused destination. */
  async destinations(p: Principal): Promise<QueueOverview> {
    this.accounts.authorize(p, { action: 'sesame:GetQueue', resource: '*' });
    const overview = await this.admin.destinations(p.accountId);
    if (this.canPause(p)) return overview;
    // Pauses hold for every account; who paused and why (the operator's note) are for those who may pause.
    return { ...overview, destinations: overview.destinations.map((d) => (d.paused ? { ...d, paused: { ...d.paused, pausedBy: 'the operator', reason: null } } : d)) };
  }

  /** Makes the account's queued recipients at a domain due now; returns how many. */
  async retryDestination(p: Principal, domain: string): Promise<number> {
    this.accounts.authorize(p, { action: 'sesame:RetryDestination', resource: '*' });
    return this.admin.retryDestination(p.accountId, domain, p.accessKeyId);
  }

  /** Pauses delivery to a domain for the whole installation. */
  async pauseDestination(p: Principal, domain: string, reason?: string): ReturnType<QueueAdmin['pauseDestination']> {
    this.mayPause(p);
    return this.admin.pauseDestination(domain, p.accessKeyId, reason);
  }

  /** Resumes a paused domain: its queued recipients, of every account, are due now. */
  async resumeDestination(p: Principal, domain: string): ReturnType<QueueAdmin['resumeDestination']> {
    this.mayPause(p);
    return this.admin.resumeDestination(domain, p.accessKeyId);
  }

  /** A root key, or a key whose policy allows sesame:PauseDestination (which also governs resuming). */
  private mayPause(p: Principal): void {
    // A pause holds for every account, so only the installation's own (default) account may pause:
    // another account's root key, or its `*` policy, must not stop delivery for the others.
    if (p.accountId !== this.accounts.defaultAccountId) {
      throw new SesError(
        'AccessDenied',
        `User: ${callerArn(p.accountId, p.accessKeyId)} is not authorized to perform: sesame:PauseDestination on resource: *: pausing a destination stops its delivery for every account, so only keys of the installation's account (${this.accounts.defaultAccountId}) may`,
      );
    }
    if (!p.isRoot) this.accounts.authorize(p, { action: 'sesame:PauseDestination', resource: '*' });
  }

  private canPause(p: Principal): boolean {
    try {
      this.mayPause(p);
      return true;
    } catch {
      return false;
    }
  }

  private async own(p: Principal, messageId: string): Promise<void> {
    this.accounts.authorize(p, { action: 'ses:SendEmail', resource: '*' });
    const m = await this.storage.queue.messageMeta(messageId);
    if (!m || m.accountId !== p.accountId) throw this.unknown(messageId);
  }

  /** Another account's message is not told apart from none. */
  private unknown(messageId: string) {
    return notFound(`There is no message ${messageId} in this account.`);
  }
}
