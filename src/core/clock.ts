/** Time and DNS as core sees them: injected, so that tests control both without sleeping or networking. */

/** A source of the current time in epoch milliseconds. */
export interface Clock {
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** An MX record. */
export interface MxRecord {
  exchange: string;
  priority: number;
}

/**
 * The DNS lookups core needs. Implementations throw errors whose `code` is one of Node's DNS codes
 * (`ENOTFOUND` for NXDOMAIN, `ENODATA` for no records of that type, `ESERVFAIL`, `ETIMEOUT`, …).
 */
export interface DnsResolver {
  /** TXT records, each as its list of character-strings. */
  resolveTxt(name: string): Promise<string[][]>;
  resolveMx(name: string): Promise<MxRecord[]>;
  /** IPv4 addresses (A records). */
  resolve4(name: string): Promise<string[]>;
  /** IPv6 addresses (AAAA records). */
  resolve6(name: string): Promise<string[]>;
}

/** True when a DNS error means "the name or the record does not exist" rather than "DNS failed". */
export function isDnsNotFound(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === 'ENOTFOUND' || code === 'ENODATA' || code === 'NXDOMAIN';
}
