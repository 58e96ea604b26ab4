/**
 * Open and click tracking (SES "event publishing" Open and Click events). A message sent through a
 * configuration set whose event destinations want OPEN or CLICK events gets, before it is signed, a
 * 1×1 pixel and links rewritten to Sesame's public URL (or the set's CustomRedirectDomain). The URLs
 * carry the MessageId and an HMAC, so they cannot be forged to record events or to redirect to an
 * arbitrary site: the link itself is kept in the message's metadata and found by its index.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { rewriteHtml, type TrackedLink } from '../../lib/html-tracking.ts';
import type { Storage } from '../../storage/ports.ts';
import type { Clock } from '../clock.ts';
import type { ConfigurationSet } from '../configuration-sets/service.ts';
import type { EventDestination } from './destinations.ts';
import type { MailObject } from './model.ts';

/** Settings of tracking. */
export interface TrackingSettings {
  /** SESAME_PUBLIC_URL, read at each use (it may be known only after the listener starts). */
  publicUrl: () => string;
}

/** A 1×1 transparent GIF. */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** Tracking: rewriting at send time, and recording opens and clicks. */
export class TrackingService {
  /** Called after an event was stored (the dispatcher's wake). */
  onEvent: () => void = () => {};

  constructor(
    private readonly storage: Storage,
    private readonly key: Buffer,
    private readonly clock: Clock,
    private readonly settings: TrackingSettings,
  ) {}

  /** Which tracking a configuration set asks for (an enabled destination matching OPEN or CLICK). */
  wants(set: ConfigurationSet | undefined): { open: boolean; click: boolean } {
    const list = ((set as { eventDestinations?: EventDestination[] } | undefined)?.eventDestinations ?? []).filter((d) => d.enabled);
    return { open: list.some((d) => d.matchingEventTypes.includes('OPEN')), click: list.some((d) => d.matchingEventTypes.includes('CLICK')) };
  }

  /**
   * Rewrites an HTML body for the message; returns the new HTML and the tracked links to keep in its
   * metadata. `firstIndex` numbers the links after those of the message's earlier HTML parts.
   */
  rewrite(set: ConfigurationSet, messageId: string, html: string, firstIndex = 0): { html: string; links: TrackedLink[] } {
    const want = this.wants(set);
    const base = (open: boolean) => {
      const t = set.tracking;
      if (!t?.customRedirectDomain) return this.settings.publicUrl().replace(/\/+$/, '');
      const https = t.httpsPolicy === 'REQUIRE' || (t.httpsPolicy === 'REQUIRE_OPEN_ONLY' && open);
      return `${https ? 'https' : 'http'}://${t.customRedirectDomain}`;
    };
    return rewriteHtml(html, {
      ...(want.open ? { pixelUrl: `${base(true)}/t/o/${messageId}/${this.sign(`o:${messageId}`)}.gif` } : {}),
      ...(want.click ? { linkUrl: (i: number) => `${base(false)}/t/c/${messageId}/${firstIndex + i}/${this.sign(`c:${messageId}:${firstIndex + i}`)}` } : {}),
    });
  }

  /** Records an Open event when the pixel URL is genuine; false otherwise. */
  async open(messageId: string, sig: string, ip: string, userAgent: string): Promise<boolean> {
    if (!this.check(`o:${messageId}`, sig)) return false;
    const m = await this.storage.queue.messageMeta(messageId);
    const mail = m?.meta.mail as MailObject | undefined;
    if (!m || !mail) return false;
    const now = this.clock.now();
    await this.storage.outbox.record([{ messageId, accountId: m.accountId, type: 'Open', createdAt: now, payload: { eventType: 'Open', mail, open: { ipAddress: ip, timestamp: new Date(now).toISOString(), userAgent } } }]);
    this.onEvent();
    return true;
  }

  /** Records a Click event and returns the link's URL when the link URL is genuine. */
  async click(messageId: string, index: number, sig: string, ip: string, userAgent: string): Promise<string | undefined> {
    if (!Number.isInteger(index) || index < 0 || !this.check(`c:${messageId}:${index}`, sig)) return undefined;
    const m = await this.storage.queue.messageMeta(messageId);
    const mail = m?.meta.mail as MailObject | undefined;
    const link = (m?.meta.links as TrackedLink[] | undefined)?.[index];
    if (!m || !mail || !link) return undefined;
    const now = this.clock.now();
    const linkTags = Object.fromEntries(Object.entries(link.tags).map(([k, v]) => [k, [v]]));
    await this.storage.outbox.record([
      { messageId, accountId: m.accountId, type: 'Click', createdAt: now, payload: { eventType: 'Click', mail, click: { ipAddress: ip, timestamp: new Date(now).toISOString(), userAgent, link: link.url, linkTags } } },
    ]);
    this.onEvent();
    return link.url;
  }

  private sign(what: string): string {
    return createHmac('sha256', this.key).update(what).digest('base64url').slice(0, 22);
  }

  private check(what: string, sig: string): boolean {
    const want = Buffer.from(this.sign(what));
    const got = Buffer.from(sig);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}
