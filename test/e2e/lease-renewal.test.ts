/**
 * Two nodes on one PostgreSQL, a destination that takes longer to answer DATA than a delivery lease
 * lasts: the node delivering renews its leases, so the other node never takes a recipient that is
 * still being delivered, and every message reaches the destination once.
 */
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { afterAll, describe, expect, it } from 'vitest';
import { TestDnsServer } from '../helpers/dns-server.ts';
import { routeToSink, verifyDomain } from '../helpers/identities.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/server.ts';
import { SinkMta } from '../helpers/sink.ts';

describe.skipIf(!process.env.SESAME_TEST_DATABASE_URL)('delivery leases on PostgreSQL', () => {
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
  });

  it('a batch that outlives its lease is renewed, not taken over by another node: each message is delivered once', async () => {
    const dns = await TestDnsServer.start();
    closers.push(() => dns.close());
    // Each DATA is answered after 2.5 s; the lease is 2 s.
    const sink = await SinkMta.start({ dataDelayMs: 2500 });
    closers.push(() => sink.close());
    const env = { SESAME_OUTBOUND_PORT: String(sink.port), SESAME_DELIVERY_LEASE: '2s' };
    const a: TestServer = await startTestServer({ backend: 'postgres', dns, env });
    closers.push(() => a.close());
    await verifyDomain(a, dns, 'sender.test');
    routeToSink(dns, 'dest.test');
    // The second node shares A's schema (it does not own it, so it does not drop it) and delivers too.
    const b = await startTestServer({ dns, env: { ...env, SESAME_DATABASE_URL: a.databaseUrl! } });
    closers.unshift(() => b.close());

    const client = a.sesv2();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const out = await client.send(
        new SendEmailCommand({
          FromEmailAddress: 'from@sender.test',
          Destination: { ToAddresses: [`r${i}@dest.test`] },
          Content: { Simple: { Subject: { Data: `slow ${i}` }, Body: { Text: { Data: 'x' } } } },
        }),
      );
      ids.push(out.MessageId!);
    }
    // Every recipient delivered (a node whose lease was taken over cannot record its outcome, so
    // "delivered" here comes after the last DATA that will ever be sent for it).
    await eventually(
      async () => {
        for (const id of ids) if (!(await a.instance.storage.queue.recipients(id)).every((r) => r.state === 'delivered')) return false;
        return true;
      },
      60_000,
      'every recipient delivered',
    );
    const perRecipient = new Map<string, number>();
    for (const m of sink.messages) for (const r of m.rcptTo) perRecipient.set(r, (perRecipient.get(r) ?? 0) + 1);
    expect(Object.fromEntries(perRecipient)).toEqual({ 'r0@dest.test': 1, 'r1@dest.test': 1, 'r2@dest.test': 1, 'r3@dest.test': 1 });
  }, 90_000);
});
