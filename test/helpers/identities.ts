/** Makes a domain identity verified the way a user does: create it, publish its records, wait. */
import { CreateEmailIdentityCommand, GetEmailIdentityCommand } from '@aws-sdk/client-sesv2';
import type { TestDnsServer } from './dns-server.ts';
import { eventually, type TestServer } from './server.ts';

/** Creates `domain` (RSA-1024 for speed unless told), publishes every record `sesame dns` lists, and waits for SUCCESS. */
export async function verifyDomain(server: TestServer, dns: TestDnsServer, domain: string, keyLength: 'RSA_1024_BIT' | 'RSA_2048_BIT' = 'RSA_1024_BIT'): Promise<void> {
  const v2 = server.sesv2();
  await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: domain, DkimSigningAttributes: { NextSigningKeyLength: keyLength } }));
  publishRecords(dns, await server.instance.core.identities.dnsRecords(server.instance.config.accountId, domain));
  await eventually(async () => (await v2.send(new GetEmailIdentityCommand({ EmailIdentity: domain }))).VerifiedForSendingStatus, 15_000, `${domain} to verify`);
}

/** Points `domain`'s MX at the loopback sink (mx.<domain> → 127.0.0.1). */
export function routeToSink(dns: TestDnsServer, domain: string): void {
  dns.set(domain, 'MX', [{ priority: 10, exchange: `mx.${domain}` }]);
  dns.set(`mx.${domain}`, 'A', ['127.0.0.1']);
}

/** Publishes records as `sesame dns --json` lists them (TXT, and MX as "priority exchange") in the test DNS. */
export function publishRecords(dns: TestDnsServer, records: Array<{ type: string; name: string; value: string }>): void {
  for (const r of records) {
    if (r.type === 'MX') {
      const [priority, exchange] = r.value.split(/\s+/);
      dns.add(r.name, 'MX', { priority: Number(priority), exchange: exchange! });
    } else {
      dns.add(r.name, r.type as 'TXT', r.value);
    }
  }
}
