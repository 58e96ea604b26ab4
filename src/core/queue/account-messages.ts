/**
 * An account's own messages, as a signed-in user sees them (the web console): the queue
 * administration of QueueAdmin, with the key's policy checked and other accounts' messages
 * answered as unknown. Reading needs `ses:GetMessageInsights`; retry and cancel need `ses:SendEmail`.
 */
import type { Storage } from '../../storage/ports.ts';
import type { AccountsService, Principal } from '../accounts/service.ts';
import { notFound } from '../errors.ts';
import type { MessageInspection, QueueAdmin } from './admin.ts';

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
