/**
 * Per-destination shaping end to end: SESAME_DOMAIN_CONNECTIONS caps the simultaneous connections
 * to one domain (the sink counts them), and SESAME_DOMAIN_RATE holds mail over a domain's rate back
 * without counting an attempt or writing a DeliveryDelay; everything is still delivered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, type TestServer } from '../helpers/server.ts';
import type { SinkMta } from '../helpers/sink.ts';

describe('delivery shaping per destination domain', () => {
  let sink: SinkMta;
  let server: TestServer;

  let fixture: SendingFixture;

  beforeAll(async () => {
    fixture = await startSendingFixture({ destinations: ['many.test', 'slow.test'], env: { SESAME_DOMAIN_CONNECTIONS: '2', SESAME_DOMAIN_RATE: 'slow.test=2/s,*=1000/s' } });
    ({ sink, server } = fixture);
  });
  afterAll(() => fixture?.close());

  const send = (to: string) =>
    server.sesv2().send(new SendEmailCommand({ FromEmailAddress: 'a@sender.test', Destination: { ToAddresses: [to] }, Content: { Simple: { Subject: { Data: to }, Body: { Text: { Data: 'b' } } } } }));

  it('never opens more connections to a domain than SESAME_DOMAIN_CONNECTIONS', async () => {
    await Promise.all(Array.from({ length: 80 }, (_, i) => send(`r${i}@many.test`)));
    await sink.waitFor(() => Array.from({ length: 80 }, (_, i) => sink.to(`r${i}@many.test`).length).every((n) => n === 1), 20_000);
    expect(sink.maxOpen).toBeGreaterThanOrEqual(1);
    expect(sink.maxOpen).toBeLessThanOrEqual(2);
  });

  it('holds mail over the domain rate back, then delivers it with one attempt each and no DeliveryDelay', async () => {
    const ids = (await Promise.all(Array.from({ length: 6 }, (_, i) => send(`s${i}@slow.test`)))).map((r) => r.MessageId!);
    await sink.waitFor(() => Array.from({ length: 6 }, (_, i) => sink.to(`s${i}@slow.test`).length).every((n) => n === 1), 20_000);
    for (const id of ids) {
      const rcpts = await eventually(async () => {
        const r = await server.instance.storage.queue.recipients(id);
        return r.every((x) => x.state === 'delivered') ? r : undefined;
      });
      expect(rcpts.map((r) => r.attempts)).toEqual([1]);
      expect((await server.instance.storage.queue.events(id)).map((e) => e.type)).toEqual(['Send', 'Delivery']);
    }
    expect(server.logs.some((l) => l.code === 'DELIVERY_RATE_LIMITED' && l.domain === 'slow.test')).toBe(true);
  });
});
