/** The DNS resolver core uses: Node's c-ares resolver, pointed at SESAME_DNS_SERVERS when set. */
import { promises as dns } from 'node:dns';
import type { DnsResolver } from '../core/index.ts';

/** Creates a resolver over the given `host[:port]` servers (system resolvers when empty). */
export function createResolver(servers: string[], options: { timeoutMs?: number; tries?: number } = {}): DnsResolver {
  const r = new dns.Resolver({ timeout: options.timeoutMs ?? 3000, tries: options.tries ?? 2 });
  if (servers.length > 0) r.setServers(servers);
  return {
    resolveTxt: (name) => r.resolveTxt(name),
    resolveMx: (name) => r.resolveMx(name),
    resolve4: (name) => r.resolve4(name),
    resolve6: (name) => r.resolve6(name),
  };
}
