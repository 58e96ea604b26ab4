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
import { csvField, parseCsv } from '../../lib/csv.ts';

/** The most records one suppression-list import takes (the console uploads the file in one request). */
export const SUPPRESSION_IMPORT_MAX_RECORDS = 10_000;

/** What an import did: records applied, and each record refused with its line and why. */
export interface SuppressionImportResult {
  processed: number;
  failed: Array<{ line: number; value: string; reason: string }>;
}

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

  /**
   * Imports a CSV list as SES's suppression-list import jobs read it: one record per line,
   * `emailAddress,reason` (reason BOUNCE or COMPLAINT; BOUNCE when left out), an optional header
   * line naming the columns; further columns are ignored (the export's dates and message ids).
   * `PUT` adds or overwrites, `DELETE` removes. Each record is checked on its own: bad ones are
   * reported with their line and the rest applied. Needs `ses:CreateImportJob`.
   */
  async importCsv(p: Principal, text: string, action: 'PUT' | 'DELETE'): Promise<SuppressionImportResult> {
    this.accounts.authorize(p, { action: 'ses:CreateImportJob', resource: '*' });
    if (action !== 'PUT' && action !== 'DELETE') throw badRequest('SuppressionListImportAction must be PUT or DELETE.');
    let records: ReturnType<typeof parseCsv>;
    try {
      records = parseCsv(text.replace(/^\uFEFF/, ''));
    } catch (err) {
      throw badRequest(`The file is not valid CSV: ${(err as Error).message}.`);
    }
    if (records.length > 0 && /^e-?mail/i.test(records[0]!.fields[0]!.trim()) && !records[0]!.fields[0]!.includes('@')) records = records.slice(1);
    if (records.length === 0) throw badRequest('The file has no records: give one address per line, as emailAddress,reason.');
    if (records.length > SUPPRESSION_IMPORT_MAX_RECORDS) throw badRequest(`The file has ${records.length} records; one import takes at most ${SUPPRESSION_IMPORT_MAX_RECORDS}.`);
    const result: SuppressionImportResult = { processed: 0, failed: [] };
    const now = this.clock.now();
    // The last line naming an address wins, as when each line is applied in turn.
    const apply = new Map<string, SuppressionRecord>();
    for (const { line, fields } of records) {
      // The export's guard against spreadsheet formulas (a leading ') is taken off again.
      const value = fields[0]!.trim().replace(/^'(?=[=+\-@])/, '');
      const reason = (fields[1] ?? '').trim().toUpperCase() || 'BOUNCE';
      let address: string;
      try {
        address = normalise(value);
      } catch (err) {
        result.failed.push({ line, value, reason: (err as Error).message });
        continue;
      }
      if (action === 'PUT' && reason !== 'BOUNCE' && reason !== 'COMPLAINT') {
        result.failed.push({ line, value, reason: `Reason must be BOUNCE or COMPLAINT, not ${JSON.stringify(fields[1]?.trim())}.` });
        continue;
      }
      apply.delete(address);
      apply.set(address, { accountId: p.accountId, email: address, reason: reason as SuppressionRecord['reason'], lastUpdateTime: now, messageId: null, feedbackId: null });
      result.processed++;
    }
    if (action === 'DELETE') await this.storage.suppression.deleteMany(p.accountId, [...apply.keys()]);
    else await this.storage.suppression.putMany([...apply.values()]);
    return result;
  }

  /**
   * The whole list as CSV, a page at a time: `emailAddress,reason,lastUpdateTime,messageId`, which
   * `importCsv` reads back. Needs `ses:ListSuppressedDestinations` (checked before the first line).
   */
  exportCsv(p: Principal): AsyncIterable<string> {
    this.accounts.authorize(p, { action: 'ses:ListSuppressedDestinations', resource: '*' });
    const storage = this.storage;
    return (async function* () {
      yield 'emailAddress,reason,lastUpdateTime,messageId\r\n';
      let after: string | undefined;
      for (;;) {
        const rows = await storage.suppression.list(p.accountId, { after, limit: 1000 });
        if (rows.length === 0) return;
        yield rows.map((r) => [spreadsheetSafe(r.email), r.reason, new Date(r.lastUpdateTime).toISOString(), r.messageId ?? ''].map(csvField).join(',') + '\r\n').join('');
        after = rows[rows.length - 1]!.email;
        if (rows.length < 1000) return;
      }
    })();
  }
}

/**
 * An address that starts like a spreadsheet formula (`=`, `+`, `-`, `@` are valid at the start of a
 * local part) gets a leading `'`, so that opening the export in a spreadsheet shows it as text
 * instead of running it; importCsv takes the `'` off again.
 */
function spreadsheetSafe(address: string): string {
  return /^[=+\-@]/.test(address) ? `'${address}` : address;
}

function normalise(email: unknown): string {
  if (typeof email !== 'string' || email === '') throw badRequest('EmailAddress is required.');
  const c = checkEmailAddress(email.trim());
  if (!c.ok) throw badRequest(`Invalid email address <${email}>: ${c.reason}.`);
  return c.value.toLowerCase();
}
