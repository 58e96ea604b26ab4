/**
 * A delivery pass whose commit of an outcome fails (the database refuses the write) defers only the
 * recipients whose outcome it had not recorded yet: a message already recorded as delivered on the
 * same connection stays delivered, with one Delivery event, and is not sent again. (The pass's
 * failure handler defers every recipient of the domain; what keeps a recorded outcome is that a
 * completion changes only rows this node still leases, and a recorded outcome has no lease.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually } from '../helpers/server.ts';

describe('a failed commit in the middle of a delivery pass', () => {
  let f: SendingFixture;
  beforeAll(async () => {
    // The delivery worker on the main thread, where the test can make the database refuse one commit.
    f = await startSendingFixture({ env: { SESAME_WORKER_THREAD: 'false', SESAME_RETRY_SCHEDULE: '1s' } });
  });
  afterAll(() => f?.close());

  it('leaves the outcomes committed before it as they are', async () => {
    const admin = f.server.instance.core.queueAdmin;
    const queue = f.server.instance.storage.queue;
    // Both messages wait, then go in one pass over one connection.
    await admin.pauseDestination('dest.test', 'test');
    const send = async (to: string) =>
      (await f.server.sesv2().send(new SendEmailCommand({ FromEmailAddress: 'a@sender.test', Destination: { ToAddresses: [to] }, Content: { Simple: { Subject: { Data: to }, Body: { Text: { Data: 'b' } } } } }))).MessageId!;
    const ids = { first: await send('first@dest.test'), second: await send('second@dest.test') };
    const complete = queue.complete.bind(queue);
    let failedRcpt: string | undefined;
    let refusing = true;
    queue.complete = async (owner, items, now) => {
      // The database refuses every commit that holds the delivered outcome of the message the pass
      // sent second (whichever it was: the second to reach the sink), until the pass has given up on
      // it. Outcomes share transactions, so the first such commit may hold the other message's
      // outcome too; that one is committed again on its own (GroupCommit), and kept.
      const second = f.sink.messages[1]?.rcptTo[0]?.toLowerCase();
      if (failedRcpt !== undefined && items.some((i) => i.update.rcpt === failedRcpt && i.update.state !== 'delivered')) refusing = false;
      if (refusing && second !== undefined && items.some((i) => i.update.state === 'delivered' && i.update.rcpt === second)) {
        failedRcpt = second;
        throw new Error('disk I/O error (the test refused this commit)');
      }
      return complete(owner, items, now);
    };
    await admin.resumeDestination('dest.test', 'test');

    await eventually(async () => (failedRcpt !== undefined ? true : undefined));
    const [lost, kept] = failedRcpt === 'second@dest.test' ? [ids.second, ids.first] : [ids.first, ids.second];
    const keptRcpt = failedRcpt === 'second@dest.test' ? 'first@dest.test' : 'second@dest.test';
    // The one whose commit failed is deferred and delivered again (it had reached the sink once).
    const rcpts = await eventually(async () => {
      const r = await queue.recipients(lost);
      return r[0]?.state === 'delivered' ? r : undefined;
    }, 20_000);
    expect(rcpts.map((r) => r.attempts)).toEqual([2]);
    expect((await queue.events(lost)).map((e) => e.type)).toEqual(['Send', 'DeliveryDelay', 'Delivery']);
    await f.sink.waitFor(() => f.sink.to(failedRcpt!).length === 2);
    // The one committed before the failure: delivered once, one attempt, no DeliveryDelay.
    expect((await queue.recipients(kept)).map((r) => [r.state, r.attempts])).toEqual([['delivered', 1]]);
    expect((await queue.events(kept)).map((e) => e.type)).toEqual(['Send', 'Delivery']);
    expect(f.sink.to(keptRcpt)).toHaveLength(1);
    expect(f.server.logs.some((l) => l.code === 'DELIVERY_DOMAIN_FAILED')).toBe(true);
  });
});
