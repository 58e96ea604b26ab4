/**
 * The account-level suppression list as the SES v2 API shows it: PutSuppressedDestination,
 * GetSuppressedDestination, ListSuppressedDestinations, DeleteSuppressedDestination. Addresses are
 * kept lower-cased, as the pipeline matches them. Entries added by bounces carry the message and
 * feedback ids that caused them.
 */
import { checkEmailAddress } from '../../lib/domain.ts';
import type { Storage, SuppressionRecord } from '../../storage/ports.ts';
import type { AccountsService, Principal } from '../accounts/service.ts';
import type { Clock } from '../clock.ts';
import { checkReasons, type SuppressionReason } from '../configuration-sets/service.ts';
import { badRequest, notFound } from '../errors.ts';
import { page, pageSize } from '../paging.ts';

/** Suppression list service. */
export class SuppressionService {
  constructor(
    private readonly storage: Storage,
    private readonly accounts: AccountsService,
    private readonly clock: Clock,
  ) {}

  /** Adds or updates an entry. */
  async put(p: Principal, email: unknown, reason: unknown): Promise<void> {
    this.accounts.authorize(p, { action: 'ses:PutSuppressedDestination', resource: '*' });
    const address = normalise(email);
    if (reason !== 'BOUNCE' && reason !== 'COMPLAINT') throw badRequest('Reason must be BOUNCE or COMPLAINT.');
    await this.storage.suppression.put({ accountId: p.accountId, email: address, reason, lastUpdateTime: this.clock.now(), messageId: null, feedbackId: null });
  }

  /** One entry; NotFound when the address is not on the list. */
  async get(p: Principal, email: unknown): Promise<SuppressionRecord> {
    this.accounts.authorize(p, { action: 'ses:GetSuppressedDestination', resource: '*' });
    const address = normalise(email);
    const r = await this.storage.suppression.get(p.accountId, address);
    if (!r) throw notFound(`Email address ${address} does not exist on your suppression list.`);
    return r;
  }

  /** Removes an entry; NotFound when the address is not on the list. */
  async delete(p: Principal, email: unknown): Promise<void> {
    this.accounts.authorize(p, { action: 'ses:DeleteSuppressedDestination', resource: '*' });
    const address = normalise(email);
    if (!(await this.storage.suppression.delete(p.accountId, address))) throw notFound(`Email address ${address} does not exist on your suppression list.`);
  }

  /** Entries in address order, filtered by reason and last-update time. */
  async list(
    p: Principal,
    o: { reasons?: unknown; start?: number; end?: number; nextToken?: string; pageSize?: number },
  ): Promise<{ items: SuppressionRecord[]; nextToken?: string }> {
    this.accounts.authorize(p, { action: 'ses:ListSuppressedDestinations', resource: '*' });
    let reasons: SuppressionReason[] | undefined;
    if (o.reasons !== undefined) {
      checkReasons(o.reasons);
      reasons = o.reasons;
    }
    if (o.start !== undefined && o.end !== undefined && o.start > o.end) throw badRequest('StartDate must not be after EndDate.');
    const size = pageSize(o.pageSize, 100, 1000);
    const r = await page(
      async (after, limit) => (await this.storage.suppression.list(p.accountId, { after, limit, reasons, start: o.start, end: o.end })).map((x) => ({ ...x, name: x.email })),
      o.nextToken,
      size,
    );
    return { items: r.items.map(({ name: _name, ...x }) => x), nextToken: r.nextToken };
  }
}

function normalise(email: unknown): string {
  if (typeof email !== 'string' || email === '') throw badRequest('EmailAddress is required.');
  const c = checkEmailAddress(email.trim());
  if (!c.ok) throw badRequest(`Invalid email address <${email}>: ${c.reason}.`);
  return c.value.toLowerCase();
}
