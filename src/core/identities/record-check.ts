/**
 * Live checks of the DNS records an identity needs (the console's green/red per record): each
 * record is looked up through the node's resolver, and the answer is kept to show what was seen.
 */
import type { DnsResolver } from '../clock.ts';
import type { DnsRecord } from './service.ts';

/** What the resolver answered for one record. */
export interface RecordCheck {
  /** The record is published with the expected value. */
  found: boolean;
  /** The values the resolver returned for the name and type (TXT strings joined, MX as `preference exchange`). */
  seen: string[];
  /** Why nothing could be read: NXDOMAIN, no such record, SERVFAIL, timeout. */
  error?: string;
}

/** Checks records through a resolver. */
export class RecordChecker {
  constructor(private readonly resolver: DnsResolver) {}

  async check(records: DnsRecord[]): Promise<RecordCheck[]> {
    return Promise.all(records.map((r) => this.one(r)));
  }

  private async one(r: DnsRecord): Promise<RecordCheck> {
    try {
      if (r.type === 'TXT') {
        const seen = (await this.resolver.resolveTxt(r.name)).map((chunks) => chunks.join(''));
        return { found: seen.some((v) => sameTxt(v, r.value)), seen };
      }
      if (r.type === 'MX') {
        const seen = (await this.resolver.resolveMx(r.name)).map((m) => `${m.priority} ${m.exchange.replace(/\.$/, '')}`);
        const want = r.value.split(/\s+/)[1]?.toLowerCase() ?? '';
        return { found: seen.some((v) => v.split(' ')[1]?.toLowerCase() === want), seen };
      }
      return { found: false, seen: [], error: `${r.type} records are not checked` };
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'ERROR';
      const text = code === 'ENOTFOUND' ? 'the name does not exist (NXDOMAIN)' : code === 'ENODATA' ? `no ${r.type} record at this name` : code === 'ETIMEOUT' ? 'the DNS server did not answer in time' : code === 'ESERVFAIL' ? 'the DNS server failed (SERVFAIL)' : `lookup failed (${code})`;
      return { found: false, seen: [], error: text };
    }
  }
}

/** TXT values compare without the spaces DNS tools insert or drop around `;`. */
function sameTxt(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/\s*;\s*/g, ';').trim();
  return norm(a) === norm(b);
}
