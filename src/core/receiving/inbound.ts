/**
 * Receiving (SES developer guide "receiving-email-concepts"): what the MX front end asks core.
 * - At connect, the client's address against the default account's IP filters (Allow beats Block).
 * - At RCPT, whether Sesame takes mail for the address: one of its own bounce addresses
 *   (`<MessageId>@<MAIL FROM domain or SESAME_HOSTNAME>`, for asynchronous bounces and feedback
 *   reports), or an address on a verified domain (or a verified address) of an account whose active
 *   rule set has an enabled rule matching it, and whose filters do not block the client. Anything
 *   else is refused there: Sesame is never an open relay.
 * - At the end of DATA, the message: SPF, DKIM and DMARC verdicts (mailauth), spam and virus
 *   verdicts when a matching rule has ScanEnabled (rspamd, ClamAV), the headers SES adds, then each
 *   account's active rule set, rules in order and actions in order (§8.1): S3, SNS, Lambda, Bounce,
 *   Stop, AddHeader. Everything a rule does is stored (object, HTTP deliveries, bounce in the
 *   outbound queue) before the 250 reply, so an accepted message is never lost; a failure answers
 *   451 and the sending MTA tries again.
 *
 * Large messages stream (BENCHMARKS §6, ARCHITECTURE "stream large bodies"): the MX hands over
 * `MessageBytes`, and a message over 1 MiB arrives spooled in the BlobStore with only its first MiB
 * in memory. The header block is parsed from that head; mailauth, rspamd and clamd read the spool
 * as streams; the S3 action writes the stored object (Sesame's header block, then the original body)
 * from a stream; the SNS action's content (150 KB at most) and a feedback report (10 MB at most) are
 * the only things ever read whole. The spool blob is deleted when processing ends, whatever the
 * outcome: the S3 object is always a new blob (its header block differs from the spool's).
 */
import { randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { Readable } from 'node:stream';
import { checkEmailAddress } from '../../lib/domain.ts';
import { field, headerBlockEnd, headerValue, headerValues, parseAddressList, splitMessage, type HeaderField } from '../../lib/mime.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Storage, WebhookRecord } from '../../storage/ports.ts';
import type { Clock, DnsResolver } from '../clock.ts';
import { isSpooled, readAll, sizeOf, type MessageBytes } from '../spool.ts';
import { fromRecord } from '../identities/model.ts';
import { allNamed } from '../paging.ts';
import type { TopicsService } from '../events/topics.ts';
import type { FunctionsService } from './functions.ts';
import { ACTIVE_RULE_SET_SETTING, type ReceiptAction, type ReceiptFilterData, type ReceiptRule, type VerdictStatus } from './model.ts';

/** A spam or virus verdict with what the scanner said. */
export interface ScanVerdict {
  status: VerdictStatus;
  detail?: string;
}

/** A message as a scanner reads it: its exact size, and its bytes as a new stream at each call. */
export interface ScanInput {
  size: number;
  stream(): AsyncIterable<Buffer>;
}

/** What receiving needs from other services (narrow, so each can be tested alone). */
export interface InboundDeps {
  storage: Storage;
  resolver: DnsResolver;
  clock: Clock;
  logger: Logger;
  topics: TopicsService;
  functions: FunctionsService;
  /** Stores an object in the built-in store (the S3 action), its bytes streamed; `size` is what the stream must yield. */
  putObject(accountId: string, bucket: string, key: string, body: Buffer | AsyncIterable<Buffer>, o: { contentType?: string; encrypt?: boolean; size?: number; kmsKeyArn?: string }): Promise<unknown>;
  /** Handles a message that arrived at one of Sesame's bounce addresses (at most FEEDBACK_MAX_BYTES, in memory). */
  feedback(input: { rcptTo: string; raw: Buffer; remoteIp: string }): Promise<string>;
  /** Queues a prebuilt message (a bounce) for outbound delivery; returns its MessageId. */
  sendReport(accountId: string, m: { from: string; to: string; raw: Buffer }): Promise<string>;
  /** Builds a DSN (RFC 3464) for the Bounce action. */
  buildDsn(o: { from: string; to: string; reportingMta: string; originalHeaders: string; recipients: Array<{ address: string; status: string; action: 'failed' | 'delayed'; diagnostic?: string }>; explanation?: string; messageId: string; date: Date }): Buffer;
  /** Spam and virus scanners, when configured; they read the message as a stream. */
  scanSpam?(message: ScanInput, ctx: { from: string; rcpt: string[]; ip: string; helo: string }): Promise<ScanVerdict>;
  scanVirus?(message: ScanInput): Promise<ScanVerdict>;
  /** Called after HTTP deliveries were stored (the webhook worker's wake). */
  onDeliveries(): void;
}

/** Settings of receiving. */
export interface InboundSettings {
  hostname: string;
  region: string;
  /** The default account: its IP filters apply at connect. */
  accountId: string;
  /** How long a RequestResponse Lambda action may take (SES: 30 s). */
  lambdaTimeoutMs: number;
  retryWindowMs: number;
}

/** The envelope and bytes of one received message. */
export interface InboundMessage {
  mailFrom: string;
  rcptTo: string[];
  remoteIp: string;
  helo: string;
  secure: boolean;
  /**
   * The message as DATA delivered it: in memory, or spooled in the BlobStore. A spooled message
   * belongs to `receive()` from the call on: its blob is deleted when processing ends.
   */
  raw: MessageBytes;
  /** What `recipient()` decided for each address at RCPT, so that DATA does not decide it again. */
  verdicts?: Map<string, RecipientVerdict>;
}

/** Where a recipient goes. */
export type RecipientVerdict = { kind: 'feedback' } | { kind: 'account'; accountId: string } | { kind: 'refused'; reason: 'relay' | 'no-rule' | 'blocked' };

/** The reply at the end of DATA. */
export interface InboundReply {
  code: number;
  text: string;
  messageId?: string;
}

/** SES's receipt notification's limit for the SNS action's content (150 KB; larger mail is not sent). */
const SNS_CONTENT_LIMIT = 150 * 1024;
/**
 * Largest message at a bounce address that is read as a report. DSNs and ARF reports are small (a
 * few KB, plus at most the returned message); a larger one is not parsed (it would be read whole)
 * and is logged as ignored.
 */
export const FEEDBACK_MAX_BYTES = 10 * 1024 * 1024;
const MESSAGE_ID = /^[0-9a-f]{16}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[0-9a-f]{6}$/;

/** Receiving. */
export class InboundService {
  private readonly filterCache = new Map<string, { at: number; list: Promise<Array<ReceiptFilterData>> }>();

  constructor(
    private readonly deps: InboundDeps,
    private readonly settings: InboundSettings,
  ) {}

  /** Whether the default account's IP filters let `ip` connect (no filter: yes). */
  async admitIp(ip: string): Promise<boolean> {
    return this.allowed(this.settings.accountId, ip);
  }

  /** Decides one RCPT TO. */
  async recipient(address: string, ip: string): Promise<RecipientVerdict> {
    const c = checkEmailAddress(address);
    if (!c.ok) return { kind: 'refused', reason: 'relay' };
    const addr = c.value;
    const at = addr.lastIndexOf('@');
    const local = addr.slice(0, at);
    const domain = addr.slice(at + 1).toLowerCase();
    if (MESSAGE_ID.test(local) && (await this.isBounceDomain(domain))) return { kind: 'feedback' };
    for (const accountId of await this.accountsFor(addr)) {
      if (!(await this.allowed(accountId, ip))) return { kind: 'refused', reason: 'blocked' };
      const set = await this.activeRules(accountId);
      if (set.some((r) => r.enabled && this.matches(r, addr))) return { kind: 'account', accountId };
      return { kind: 'refused', reason: 'no-rule' };
    }
    return { kind: 'refused', reason: 'relay' };
  }

  /** Processes a message whose recipients were all accepted at RCPT; a spooled message's blob is removed at the end. */
  async receive(m: InboundMessage): Promise<InboundReply> {
    try {
      return await this.process(m);
    } finally {
      // Nothing names the spool blob (the S3 action wrote objects of their own): drop it, on a 451
      // too (the sender sends the message again). A crash before this leaves an unnamed blob only.
      if (isSpooled(m.raw)) {
        const id = m.raw.blobId;
        await this.deps.storage.blobs.delete(id).catch((err: unknown) => this.deps.logger.warn({ code: 'RECEIVE_SPOOL_NOT_REMOVED', blobId: id, err }, `the spool blob ${id} of a received message could not be removed`));
      }
    }
  }

  private async process(m: InboundMessage): Promise<InboundReply> {
    const started = this.deps.clock.now();
    const messageId = inboundMessageId();
    const size = sizeOf(m.raw);
    // Feedback first: those recipients get no rules.
    const byAccount = new Map<string, string[]>();
    let report: Buffer | undefined;
    for (const r of m.rcptTo) {
      const v = m.verdicts?.get(r) ?? (await this.recipient(r, m.remoteIp));
      if (v.kind === 'feedback') {
        if (size > FEEDBACK_MAX_BYTES) {
          this.deps.logger.info({ code: 'RECEIVED_FEEDBACK', rcpt: r, outcome: 'ignored', reason: 'too large for a report', bytes: size, client: m.remoteIp }, `feedback for ${r}: ignored (${size} bytes is too large for a report)`);
          continue;
        }
        report ??= await readAll(this.deps.storage.blobs, m.raw);
        const outcome = await this.deps.feedback({ rcptTo: r, raw: report, remoteIp: m.remoteIp });
        this.deps.logger.info({ code: 'RECEIVED_FEEDBACK', rcpt: r, outcome, client: m.remoteIp }, `feedback for ${r}: ${outcome}`);
      } else if (v.kind === 'account') {
        let list = byAccount.get(v.accountId);
        if (!list) byAccount.set(v.accountId, (list = []));
        list.push(r);
      }
    }
    if (byAccount.size === 0) return { code: 250, text: `Ok ${messageId}`, messageId };

    // The header block: from the message in memory, or from a spooled message's head, which must
    // hold all of it (1 MiB; Postfix's header_size_limit is 100 KB). A header block that does not
    // end there is refused as malformed rather than read whole.
    let split: { headers: HeaderField[]; bodyStart: number };
    try {
      if (!isSpooled(m.raw)) {
        const s = splitMessage(m.raw);
        split = { headers: s.headers, bodyStart: m.raw.length - s.body.length };
      } else {
        const block = headerBlockEnd(m.raw.head);
        if (!block) {
          this.deps.logger.warn({ code: 'RECEIVE_MALFORMED', client: m.remoteIp, from: m.mailFrom, bytes: size, reason: 'header block too long' }, `refused a message from ${m.remoteIp}: its header block does not end within the first ${m.raw.head.length} bytes`);
          return { code: 554, text: `5.6.0 Message rejected: malformed message, the header block does not end within the first ${m.raw.head.length} bytes` };
        }
        split = { headers: splitMessage(m.raw.head.subarray(0, block.bodyStart)).headers, bodyStart: block.bodyStart };
      }
    } catch (err) {
      this.deps.logger.warn({ code: 'RECEIVE_MALFORMED', client: m.remoteIp, from: m.mailFrom, bytes: size, reason: (err as Error).message }, `refused a message from ${m.remoteIp}: ${(err as Error).message}`);
      return { code: 554, text: `5.6.0 Message rejected: the message is not a valid MIME message (${(err as Error).message})` };
    }
    const auth = await this.authenticate(m);
    const needsScan = [...byAccount].some(([accountId, rcpts]) => this.rulesCache.get(accountId)?.some((r) => r.enabled && r.scanEnabled && rcpts.some((x) => this.matches(r, x))));
    const scan = needsScan ? await this.scan(m) : undefined;
    const added: HeaderField[] = [
      field('Return-Path', `<${m.mailFrom}>`),
      field('Received', `from ${m.helo || 'unknown'} (${m.remoteIp}) by ${this.settings.hostname} with ${m.secure ? 'ESMTPS' : 'ESMTP'} id ${messageId}; ${new Date(started).toUTCString().replace('GMT', '+0000')}`),
      ...auth.headers,
      ...(scan ? [field('X-SES-Spam-Verdict', scan.spam.status), field('X-SES-Virus-Verdict', scan.virus.status)] : []),
    ];
    const headers = [...added, ...split.headers.filter((h) => h.name.toLowerCase() !== 'return-path')];
    const mail = this.mailObject(m, messageId, started, headers);

    // The received message is recorded once (its mail object and header block, not its body) so
    // that SendBounce and `sesame events` can name it; it has no recipients to deliver. It belongs
    // to the first account it was for (a domain verified by two accounts is rare).
    const [firstAccount, firstRcpts] = [...byAccount][0]!;
    await this.deps.storage.queue.enqueue([
      {
        message: { messageId, accountId: firstAccount, mailFrom: m.mailFrom, body: Buffer.alloc(0), configurationSet: null, createdAt: started, expiresAt: started, meta: { inbound: true, mail, recipients: firstRcpts, headers: headers.map((h) => h.raw).join('\r\n') } },
        recipients: [],
        events: [],
        countTowardQuota: false,
      },
    ]);
    for (const [accountId, rcpts] of byAccount) {
      await this.runRules(accountId, rcpts, { m, messageId, started, auth, scan, headers, bodyStart: split.bodyStart, mail });
    }
    this.deps.logger.info({ code: 'RECEIVED', messageId, client: m.remoteIp, from: m.mailFrom, recipients: m.rcptTo.length, bytes: size }, `received ${messageId} from ${m.remoteIp}`);
    return { code: 250, text: `Ok ${messageId}`, messageId };
  }

  /** Rules of an account's active set, read once per message and kept for this node briefly. */
  private readonly rulesCache = new Map<string, ReceiptRule[]>();

  private async activeRules(accountId: string): Promise<ReceiptRule[]> {
    const account = await this.deps.storage.accounts.get(accountId);
    const name = (account?.settings as Record<string, unknown> | undefined)?.[ACTIVE_RULE_SET_SETTING];
    let rules: ReceiptRule[] = [];
    if (typeof name === 'string') {
      const r = await this.deps.storage.receiptRuleSets.get(accountId, name);
      rules = ((r?.data as { rules?: ReceiptRule[] } | undefined)?.rules ?? []) as ReceiptRule[];
    }
    this.rulesCache.set(accountId, rules);
    return rules;
  }

  /** Accounts that have the address, its domain or a parent domain as a verified identity. */
  private async accountsFor(address: string): Promise<string[]> {
    const candidates = [address.toLowerCase()];
    const labels = address.slice(address.lastIndexOf('@') + 1).toLowerCase().split('.');
    for (let i = 0; i < labels.length - 1; i++) candidates.push(labels.slice(i).join('.'));
    const out: string[] = [];
    for (const name of candidates) {
      for (const r of await this.deps.storage.identities.byName(name)) if (r.verificationStatus === 'SUCCESS' && !out.includes(r.accountId)) out.push(r.accountId);
    }
    return out;
  }

  /** Whether a domain is SESAME_HOSTNAME or a verified custom MAIL FROM domain. */
  private async isBounceDomain(domain: string): Promise<boolean> {
    if (domain === this.settings.hostname.toLowerCase()) return true;
    // MAIL FROM domains are subdomains of a verified domain identity: look at the parents' identities.
    const labels = domain.split('.');
    for (let i = 1; i < labels.length - 1; i++) {
      for (const r of await this.deps.storage.identities.byName(labels.slice(i).join('.'))) {
        const mf = fromRecord(r).data.mailFrom;
        if (mf && mf.domain.toLowerCase() === domain && mf.status === 'SUCCESS') return true;
      }
    }
    return false;
  }

  /** Does a rule's recipient list match the address? (Empty: every verified domain of the account.) */
  private matches(rule: ReceiptRule, address: string): boolean {
    if (rule.recipients.length === 0) return true;
    const a = address.toLowerCase();
    const domain = a.slice(a.lastIndexOf('@') + 1);
    return rule.recipients.some((r) => {
      const x = r.toLowerCase();
      if (x.includes('@')) return x === a;
      if (x.startsWith('.')) return domain.endsWith(x);
      return domain === x;
    });
  }

  private async allowed(accountId: string, ip: string): Promise<boolean> {
    const now = this.deps.clock.now();
    let c = this.filterCache.get(accountId);
    if (!c || now - c.at > 1000) {
      c = { at: now, list: this.listFilters(accountId) };
      this.filterCache.set(accountId, c);
    }
    const filters = await c.list;
    if (filters.length === 0) return true;
    const addr = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    const hit = (policy: 'Allow' | 'Block') => {
      const list = new BlockList();
      for (const f of filters) if (f.policy === policy) addCidr(list, f.cidr);
      return list.check(addr, family);
    };
    // SES: an address on an Allow filter is accepted even when a Block filter covers it too.
    if (hit('Allow')) return true;
    return !hit('Block');
  }

  private async listFilters(accountId: string): Promise<ReceiptFilterData[]> {
    return (await allNamed(this.deps.storage.receiptFilters, accountId)).map((r) => r.data as unknown as ReceiptFilterData);
  }

  /** SPF, DKIM and DMARC through mailauth, with Sesame's resolver. */
  private async authenticate(m: InboundMessage): Promise<Auth> {
    const resolver = this.deps.resolver;
    // mailauth reads a stream as it comes (the DKIM body hash is computed on the way).
    const input = isSpooled(m.raw) ? Readable.from(this.bytes(m.raw), { objectMode: false }) : m.raw;
    try {
      // mailauth (with its resolver, BIMI and ARC code) is loaded on the first received message.
      const { authenticate } = await import('mailauth');
      const r = await authenticate(input, {
        ip: m.remoteIp.startsWith('::ffff:') ? m.remoteIp.slice(7) : m.remoteIp,
        helo: m.helo,
        sender: m.mailFrom,
        mta: this.settings.hostname,
        disableArc: true,
        disableBimi: true,
        resolver: (async (name: string, rr: string) => {
          switch (rr) {
            case 'TXT':
              return resolver.resolveTxt(name);
            case 'MX':
              return resolver.resolveMx(name);
            case 'A':
              return resolver.resolve4(name);
            case 'AAAA':
              return resolver.resolve6(name);
            default:
              throw Object.assign(new Error(`no ${rr} records`), { code: 'ENOTFOUND' });
          }
        }) as never,
      });
      const spf = verdictOf((r.spf && typeof r.spf === 'object' ? (r.spf as { status?: { result?: string } }).status?.result : undefined) ?? 'none');
      const dkimResults = (r.dkim?.results ?? []) as Array<{ status?: { result?: string } }>;
      // A signature that is there but does not verify (mailauth: fail, or neutral for a body hash
      // mismatch) is SES's FAIL; no signature is GRAY.
      const dkimFirst = dkimResults[0]?.status?.result ?? 'none';
      const dkim: VerdictStatus =
        dkimResults.length === 0 || dkimFirst === 'none' ? 'GRAY' : dkimResults.some((x) => x.status?.result === 'pass') ? 'PASS' : dkimFirst === 'temperror' ? 'PROCESSING_FAILED' : 'FAIL';
      const dm = r.dmarc as { status?: { result?: string }; policy?: string } | false;
      const dmarc = dm ? verdictOf(dm.status?.result ?? 'none') : 'GRAY';
      const headers = splitHeaderBlock(r.headers ?? '');
      return { spf, dkim, dmarc, dmarcPolicy: dmarc === 'FAIL' && dm && dm.policy ? dm.policy : undefined, headers };
    } catch (err) {
      this.deps.logger.warn({ code: 'RECEIVE_AUTH_FAILED', err }, 'SPF/DKIM/DMARC checks failed; verdicts are PROCESSING_FAILED');
      return { spf: 'PROCESSING_FAILED', dkim: 'PROCESSING_FAILED', dmarc: 'PROCESSING_FAILED', headers: [] };
    } finally {
      // A check that failed halfway leaves the spool's read stream open otherwise.
      if (input instanceof Readable) input.destroy();
    }
  }

  private async scan(m: InboundMessage): Promise<{ spam: ScanVerdict; virus: ScanVerdict }> {
    // Each scanner reads its own stream of the message (both run at once).
    const input: ScanInput = { size: sizeOf(m.raw), stream: () => this.bytes(m.raw) };
    const [spam, virus] = await Promise.all([
      this.deps.scanSpam ? this.deps.scanSpam(input, { from: m.mailFrom, rcpt: m.rcptTo, ip: m.remoteIp, helo: m.helo }).catch((err: Error) => ({ status: 'PROCESSING_FAILED' as const, detail: err.message })) : { status: 'PROCESSING_FAILED' as const, detail: 'no spam scanner configured (SESAME_RSPAMD_URL)' },
      this.deps.scanVirus ? this.deps.scanVirus(input).catch((err: Error) => ({ status: 'PROCESSING_FAILED' as const, detail: err.message })) : { status: 'PROCESSING_FAILED' as const, detail: 'no virus scanner configured (SESAME_CLAMD_URL)' },
    ]);
    return { spam, virus };
  }

  /**
   * The received bytes from offset `from` to the end, as a stream: a slice of the buffer, or the
   * part of the spool's head past `from`, then the blob after the head (read from disk in chunks).
   */
  private bytes(raw: MessageBytes, from = 0): AsyncIterable<Buffer> {
    if (!isSpooled(raw)) return once(raw.subarray(from));
    const blobs = this.deps.storage.blobs;
    return (async function* () {
      const { head, blobId } = raw;
      if (from < head.length) yield head.subarray(from);
      const rest = await blobs.stream(blobId, Math.max(from, head.length));
      if (!rest) throw new Error(`the spooled message ${blobId} is missing from the blob store`);
      yield* rest;
    })();
  }

  /**
   * The message as an action stores or publishes it: `headers` (Sesame's in front, then the
   * original's), the empty line, then the original body byte for byte. `chunks()` streams it;
   * nothing here copies the body.
   */
  private composed(c: RuleContext, headers: HeaderField[]): { size: number; chunks(): AsyncIterable<Buffer> } {
    const block = Buffer.from(`${headers.map((h) => h.raw).join('\r\n')}\r\n\r\n`, 'latin1');
    const raw = c.m.raw;
    const bodyStart = c.bodyStart;
    const size = block.length + sizeOf(raw) - bodyStart;
    const body = () => this.bytes(raw, bodyStart);
    return {
      size,
      chunks: () =>
        (async function* () {
          yield block;
          yield* body();
        })(),
    };
  }

  /** SES's `mail` object of a received message (§8.2). */
  private mailObject(m: InboundMessage, messageId: string, at: number, headers: HeaderField[]): Record<string, unknown> {
    const h = (n: string) => headerValue(headers, n);
    const list = (n: string) => headerValues(headers, n).flatMap((v) => v.split(',').map((s) => s.trim()).filter(Boolean));
    const common: Record<string, unknown> = { returnPath: m.mailFrom, from: list('From'), date: h('Date'), to: list('To'), messageId: h('Message-ID'), subject: h('Subject') };
    if (h('Cc')) common.cc = list('Cc');
    if (h('Reply-To')) common.replyTo = list('Reply-To');
    if (h('Sender')) common.sender = h('Sender');
    for (const k of Object.keys(common)) if (common[k] === undefined) delete common[k];
    const all = headers.map((x) => ({ name: x.name, value: x.value }));
    const kept: typeof all = [];
    let size = 0;
    for (const x of all) {
      size += x.name.length + x.value.length;
      if (size > 10_240) break;
      kept.push(x);
    }
    const destination = ['To', 'Cc'].flatMap((n) => headerValues(headers, n).flatMap(parseAddressList));
    return {
      timestamp: new Date(at).toISOString(),
      source: m.mailFrom,
      messageId,
      destination: destination.length > 0 ? destination : m.rcptTo,
      headersTruncated: kept.length < all.length,
      headers: kept,
      commonHeaders: common,
    };
  }

  /** Runs one account's active rule set over the recipients it owns. */
  private async runRules(accountId: string, rcpts: string[], c: RuleContext): Promise<void> {
    const rules = this.rulesCache.get(accountId) ?? (await this.activeRules(accountId));
    let headers = c.headers;
    for (const rule of rules) {
      if (!rule.enabled) continue;
      const matched = rcpts.filter((r) => this.matches(rule, r));
      if (matched.length === 0) continue;
      if (rule.tlsPolicy === 'Require' && !c.m.secure) {
        // SES bounces mail that a Require rule receives without TLS.
        await this.bounce(accountId, c, headers, { smtpReplyCode: '530', statusCode: '5.7.1', message: 'TLS is required for this recipient', sender: `MAILER-DAEMON@${this.settings.hostname}` }, matched);
        continue;
      }
      for (const action of rule.actions) {
        const receipt = this.receipt(c, rule, matched);
        const outcome = await this.runAction(accountId, action, receipt, c, headers, matched);
        if (outcome.headers) headers = outcome.headers;
        if (outcome.stop === 'rule-set') return;
        if (outcome.stop === 'rule') break;
      }
    }
  }

  private receipt(c: RuleContext, rule: ReceiptRule, recipients: string[]): Record<string, unknown> {
    const scanned = rule.scanEnabled && c.scan;
    return {
      timestamp: new Date(c.started).toISOString(),
      processingTimeMillis: this.deps.clock.now() - c.started,
      recipients,
      spamVerdict: { status: scanned ? c.scan!.spam.status : 'DISABLED' },
      virusVerdict: { status: scanned ? c.scan!.virus.status : 'DISABLED' },
      spfVerdict: { status: c.auth.spf },
      dkimVerdict: { status: c.auth.dkim },
      dmarcVerdict: { status: c.auth.dmarc },
      ...(c.auth.dmarcPolicy ? { dmarcPolicy: c.auth.dmarcPolicy } : {}),
    };
  }

  private async runAction(
    accountId: string,
    a: ReceiptAction,
    receipt: Record<string, unknown>,
    c: RuleContext,
    headers: HeaderField[],
    recipients: string[],
  ): Promise<{ stop?: 'rule' | 'rule-set'; headers?: HeaderField[] }> {
    const notify = async (topicArn: string | undefined, action: Record<string, unknown>, content?: string) => {
      if (!topicArn) return;
      const n: Record<string, unknown> = { notificationType: 'Received', mail: c.mail, receipt: { ...receipt, action } };
      if (content !== undefined) n.content = content;
      await this.publish(accountId, topicArn, JSON.stringify(n));
    };
    if (a.addHeader) {
      return { headers: [field(a.addHeader.headerName, a.addHeader.headerValue), ...headers] };
    }
    if (a.s3) {
      const key = `${a.s3.objectKeyPrefix ?? ''}${c.messageId}`;
      // Streamed into a new blob, MD5 (the ETag) and, with KmsKeyArn, AES-256-GCM computed chunk by
      // chunk on the way (object-store.ts); the object's row is written after the blob is flushed.
      const msg = this.composed(c, headers);
      await this.deps.putObject(accountId, a.s3.bucketName, key, msg.chunks(), { contentType: 'message/rfc822', encrypt: Boolean(a.s3.kmsKeyArn), size: msg.size, ...(a.s3.kmsKeyArn ? { kmsKeyArn: a.s3.kmsKeyArn } : {}) });
      await notify(a.s3.topicArn, { type: 'S3', topicArn: a.s3.topicArn, bucketName: a.s3.bucketName, objectKey: key, ...(a.s3.kmsKeyArn ? { kmsKeyArn: a.s3.kmsKeyArn } : {}) });
      return {};
    }
    if (a.sns) {
      const msg = this.composed(c, headers);
      if (msg.size > SNS_CONTENT_LIMIT) {
        this.deps.logger.warn({ code: 'RECEIVE_SNS_TOO_LARGE', messageId: c.messageId, bytes: msg.size, topicArn: a.sns.topicArn }, `message ${c.messageId} is larger than the SNS action's 150 KB; not published (use an S3 action)`);
        return {};
      }
      // At most 150 KB: the one place the composed message is held whole.
      const parts: Buffer[] = [];
      for await (const chunk of msg.chunks()) parts.push(chunk);
      const raw = Buffer.concat(parts);
      const encoding = a.sns.encoding ?? 'UTF-8';
      await notify(a.sns.topicArn, { type: 'SNS', topicArn: a.sns.topicArn, encoding }, encoding === 'Base64' ? raw.toString('base64') : raw.toString('utf8'));
      return {};
    }
    if (a.lambda) {
      const fn = await this.deps.functions.byArn(accountId, a.lambda.functionArn);
      const invocationType = a.lambda.invocationType ?? 'Event';
      const action = { type: 'Lambda', functionArn: a.lambda.functionArn, invocationType };
      if (!fn) {
        this.deps.logger.warn({ code: 'RECEIVE_FUNCTION_MISSING', messageId: c.messageId, functionArn: a.lambda.functionArn }, `function ${a.lambda.functionArn} is not registered (sesame functions create); action skipped`);
        return {};
      }
      const event = JSON.stringify({ Records: [{ eventSource: 'aws:ses', eventVersion: '1.0', ses: { mail: c.mail, receipt: { ...receipt, action } } }] });
      await notify(a.lambda.topicArn, action);
      if (invocationType === 'Event') {
        const now = this.deps.clock.now();
        await this.deps.storage.webhooks.enqueue([
          { accountId, kind: 'lambda', url: fn.url, subscriptionId: null, headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'Event', 'user-agent': 'Sesame-Lambda/1' }, body: event, attempts: 0, nextAttemptAt: now, expiresAt: now + this.settings.retryWindowMs, createdAt: now, lastError: null },
        ]);
        this.deps.onDeliveries();
        return {};
      }
      const disposition = await this.invoke(fn.url, event, c.messageId);
      if (disposition === 'STOP_RULE') return { stop: 'rule' };
      if (disposition === 'STOP_RULE_SET') return { stop: 'rule-set' };
      return {};
    }
    if (a.bounce) {
      await this.bounce(accountId, c, headers, a.bounce, recipients);
      await notify(a.bounce.topicArn, { type: 'Bounce', topicArn: a.bounce.topicArn, smtpReplyCode: a.bounce.smtpReplyCode, statusCode: a.bounce.statusCode, message: a.bounce.message, sender: a.bounce.sender });
      return {};
    }
    if (a.stop) {
      await notify(a.stop.topicArn, { type: 'Stop', topicArn: a.stop.topicArn });
      return { stop: 'rule-set' };
    }
    return {};
  }

  /** A RequestResponse invocation: the function's `disposition`, or CONTINUE when it fails or says nothing valid. */
  private async invoke(url: string, event: string, messageId: string): Promise<string> {
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse', 'user-agent': 'Sesame-Lambda/1' }, body: event, signal: AbortSignal.timeout(this.settings.lambdaTimeoutMs) });
      const text = await res.text();
      if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}`);
      const d = (JSON.parse(text) as { disposition?: unknown } | null)?.disposition;
      return d === 'STOP_RULE' || d === 'STOP_RULE_SET' ? d : 'CONTINUE';
    } catch (err) {
      this.deps.logger.warn({ code: 'RECEIVE_FUNCTION_FAILED', messageId, url, err: (err as Error).message }, `function at ${url} failed for ${messageId} (${(err as Error).message}); the rule set goes on (CONTINUE)`);
      return 'CONTINUE';
    }
  }

  /** Sends a DSN back to the envelope sender (never to the null sender). */
  private async bounce(accountId: string, c: RuleContext, headers: HeaderField[], b: { smtpReplyCode: string; statusCode?: string; message: string; sender: string }, recipients: string[]): Promise<void> {
    if (!c.m.mailFrom) return;
    const status = b.statusCode ?? (b.smtpReplyCode.startsWith('4') ? '4.0.0' : '5.0.0');
    const raw = this.deps.buildDsn({
      from: b.sender,
      to: c.m.mailFrom,
      reportingMta: this.settings.hostname,
      originalHeaders: headers.map((h) => h.raw).join('\r\n'),
      recipients: recipients.map((address) => ({ address, status, action: status.startsWith('4') ? 'delayed' : 'failed', diagnostic: `smtp; ${b.smtpReplyCode} ${status} ${b.message}` })),
      explanation: b.message,
      messageId: `${inboundMessageId()}@${this.settings.hostname}`,
      date: new Date(this.deps.clock.now()),
    });
    const id = await this.deps.sendReport(accountId, { from: b.sender, to: c.m.mailFrom, raw });
    this.deps.logger.info({ code: 'RECEIVE_BOUNCED', messageId: c.messageId, bounceMessageId: id, to: c.m.mailFrom, recipients }, `bounced ${c.messageId} to ${c.m.mailFrom}`);
  }

  private async publish(accountId: string, topicArn: string, message: string): Promise<void> {
    const rows: WebhookRecord[] = await this.deps.topics.deliveriesFor(accountId, topicArn, message);
    if (rows.length === 0) return;
    await this.deps.storage.webhooks.enqueue(rows);
    this.deps.onDeliveries();
  }
}

/** What a rule run needs about the message. */
interface RuleContext {
  m: InboundMessage;
  messageId: string;
  started: number;
  auth: Auth;
  scan: { spam: ScanVerdict; virus: ScanVerdict } | undefined;
  headers: HeaderField[];
  /** Where the original body starts in `m.raw` (after the empty line). */
  bodyStart: number;
  mail: Record<string, unknown>;
}

/** SPF, DKIM and DMARC verdicts and the headers that record them. */
interface Auth {
  spf: VerdictStatus;
  dkim: VerdictStatus;
  dmarc: VerdictStatus;
  dmarcPolicy?: string;
  headers: HeaderField[];
}

/** SES's verdict for a mailauth result. */
function verdictOf(result: string): VerdictStatus {
  switch (result) {
    case 'pass':
      return 'PASS';
    case 'fail':
    case 'softfail':
    case 'permerror':
      return 'FAIL';
    case 'temperror':
      return 'PROCESSING_FAILED';
    default:
      return 'GRAY';
  }
}

/** Header fields of a block such as mailauth's `headers` (folded lines kept). */
function splitHeaderBlock(block: string): HeaderField[] {
  const out: HeaderField[] = [];
  for (const line of block.replace(/\r?\n$/, '').split(/\r?\n/)) {
    if (line === '') continue;
    if (/^[ \t]/.test(line) && out.length > 0) {
      const last = out[out.length - 1]!;
      last.raw += `\r\n${line}`;
      last.value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    out.push({ name: line.slice(0, colon), value: line.slice(colon + 1).trim(), raw: line });
  }
  return out;
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

function addCidr(list: BlockList, cidr: string): void {
  const [addr, bits] = cidr.split('/');
  const family = isIP(addr!) === 6 ? 'ipv6' : 'ipv4';
  if (!isIP(addr!)) return;
  if (bits === undefined) list.addAddress(addr!, family);
  else list.addSubnet(addr!, Number(bits), family);
}

/** SES's inbound message ids are 40 lower-case letters and digits (developer guide examples). */
function inboundMessageId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(40);
  let s = '';
  for (const b of bytes) s += alphabet[b % 36];
  return s;
}
