/**
 * Delivery keeps a connection open for SESAME_DELIVERY_CONNECTION_CACHE after its messages (as
 * Postfix's connection cache): the next messages to the destination go over it, it is closed when
 * that time passes unused and when the node stops, and a kept connection that the server closed
 * just as it was reused costs the message neither an attempt nor a DeliveryDelay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { startFaultMx, type FaultMx } from '../helpers/fault-mx.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually } from '../helpers/server.ts';

describe('delivery connection cache', () => {
  let f: SendingFixture;
  let fault: FaultMx;

  beforeAll(async () => {
    f = await startSendingFixture({ destinations: ['dest.test'], env: { SESAME_DELIVERY_CONNECTION_CACHE: '1500ms' } });
    f.dns.set('drop.test', 'MX', [{ priority: 10, exchange: 'mx.drop.test' }]);
    f.dns.set('mx.drop.test', 'A', ['127.0.0.5']);
    fault = await startFaultMx('127.0.0.5', f.sink.port, 'one-per-connection');
  });
  afterAll(async () => {
    await f?.close();
    await fault?.close();
  });

  const send = async (to: string) =>
    (await f.server.sesv2().send(new SendEmailCommand({ FromEmailAddress: 'a@sender.test', Destination: { ToAddresses: [to] }, Content: { Simple: { Subject: { Data: to }, Body: { Text: { Data: 'b' } } } } }))).MessageId!;

  const settled = (id: string) =>
    eventually(async () => {
      const r = await f.server.instance.storage.queue.recipients(id);
      return r.length > 0 && r.every((x) => x.state !== 'queued') ? r : undefined;
    });

  it('sends the next messages to a destination over the connection kept open, and closes it when it stays unused', async () => {
    const before = f.sink.connections;
    await send('one@dest.test');
    await f.sink.waitFor(() => f.sink.to('one@dest.test').length === 1);
    // Delivered one at a time, each after the one before reached the sink: each pass finds the kept connection.
    for (const to of ['two@dest.test', 'three@dest.test']) {
      await send(to);
      await f.sink.waitFor(() => f.sink.to(to).length === 1);
    }
    expect(f.sink.connections - before).toBe(1);
    expect(f.sink.open).toBe(1);
    // Unused for 1.5 s: QUIT, and the sink sees no open connection.
    await eventually(async () => (f.sink.open === 0 ? true : undefined), 5_000);
    await send('four@dest.test');
    await f.sink.waitFor(() => f.sink.to('four@dest.test').length === 1);
    expect(f.sink.connections - before).toBe(2);
  });

  it('delivers over a new connection when the server closed the kept one as it was reused: no attempt lost, no DeliveryDelay', async () => {
    const first = await send('a@drop.test');
    await settled(first);
    const second = await send('b@drop.test');
    const rcpts = await settled(second);
    expect(rcpts.map((r) => [r.state, r.attempts])).toEqual([['delivered', 1]]);
    expect((await f.server.instance.storage.queue.events(second)).map((e) => e.type)).toEqual(['Send', 'Delivery']);
    expect(fault.messages).toHaveLength(2);
    expect(fault.connections).toBe(2);
    expect(f.server.logs.some((l) => l.code === 'DELIVERY_KEPT_CONNECTION_LOST' && l.domain === 'drop.test')).toBe(true);
  });

  it('closes kept connections when the node stops', async () => {
    await send('five@dest.test');
    await f.sink.waitFor(() => f.sink.to('five@dest.test').length === 1);
    expect(f.sink.open).toBe(1);
    await f.server.close();
    expect(f.sink.open).toBe(0);
  });
});

describe.skipIf(!process.env.SESAME_TEST_DATABASE_URL)('delivery connection cache on a node that shares PostgreSQL', () => {
  let f: SendingFixture;
  beforeAll(async () => {
    f = await startSendingFixture({ backend: 'postgres', env: { SESAME_DELIVERY_CONNECTION_CACHE: '10s' } });
  });
  afterAll(() => f?.close());

  it('keeps no connection open: its slot is the installation’s, and other nodes may be waiting for it', async () => {
    const before = f.sink.connections;
    for (const to of ['one@dest.test', 'two@dest.test']) {
      await f.server.sesv2().send(new SendEmailCommand({ FromEmailAddress: 'a@sender.test', Destination: { ToAddresses: [to] }, Content: { Simple: { Subject: { Data: to }, Body: { Text: { Data: 'b' } } } } }));
      await f.sink.waitFor(() => f.sink.to(to).length === 1);
    }
    expect(f.sink.connections - before).toBe(2);
    // Closed after its message, long before the 10 s the cache would keep it.
    await eventually(async () => (f.sink.open === 0 ? true : undefined), 5_000);
  });
});
