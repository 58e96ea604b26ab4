/**
 * A burst with the default configuration (issue #12, done-when 1): 200 SMTP sessions at once, each
 * sending 10 messages through AUTH over STARTTLS, and 200 API clients at once, each sending 10
 * SendEmail, against a production-access account. Nothing is tuned for the test beyond what every
 * test needs (loopback ports, the sink as outbound port, a test DNS server): every message must get
 * 250 / 200 with a MessageId, and every MessageId must arrive at the sink exactly once. A 4xx here
 * would mean the defaults turn away a burst that the machine can absorb.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import nodemailer from 'nodemailer';
import { runCli } from '../helpers/cli.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { testBackends, type TestServer } from '../helpers/server.ts';
import { sunkMessageId, type SinkMta } from '../helpers/sink.ts';

const CLIENTS = 200;
const PER_CLIENT = 10;
const SMTP_ACCEPTED = /^250 Ok (0100[0-9a-f]{12}-[0-9a-f-]{36}-000000)$/;
const SES_MESSAGE_ID = /^0100[0-9a-f]{12}-[0-9a-f-]{36}-000000$/;

describe.each(testBackends())('a 200 × 10 burst with the default configuration (%s)', (backend) => {
  let fixture: SendingFixture;
  let server: TestServer;
  let sink: SinkMta;

  beforeAll(async () => {
    // The default configuration: on SQLite that includes the worker thread (ADR 0019), which the test helper leaves off unless asked.
    fixture = await startSendingFixture({ backend, env: { SESAME_WORKER_THREAD: 'true' } });
    ({ server, sink } = fixture);
    expect(server.instance.workerThread !== undefined).toBe(backend === 'sqlite');
    // Production access, explicitly: no sandbox quota or recipient check stands in the way.
    await server.instance.core.accountSettings.operatorSet(server.instance.config.accountId, { productionAccessEnabled: true });
  }, 60_000);
  afterAll(() => fixture?.close());

  /** Server log lines at info or above that say why something was refused, counted by code. */
  const refusalCodes = () => {
    const counts: Record<string, number> = {};
    for (const l of server.logs) {
      const code = String(l.code ?? '');
      if (/REFUSED|LIMIT|LOCK|ERROR|BUSY|OVERLOAD|THROTTL|TIMEOUT/.test(code) && Number(l.level ?? 30) >= 30) counts[code] = (counts[code] ?? 0) + 1;
    }
    return counts;
  };

  /** Waits until every id in `ids` is at the sink, then checks each arrived exactly once. */
  async function expectAllAtSinkOnce(ids: string[]) {
    const wanted = new Set(ids);
    const count = () => sink.messages.filter((m) => wanted.has(sunkMessageId(m.raw) ?? '')).length;
    await sink.waitFor(() => count() >= ids.length, 180_000, `${ids.length} burst messages at the sink`);
    const seen = new Map<string, number>();
    for (const m of sink.messages) {
      const id = sunkMessageId(m.raw);
      if (id && wanted.has(id)) seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    expect(seen.size).toBe(ids.length);
    expect([...seen.values()].filter((n) => n !== 1)).toEqual([]);
  }

  it('takes 200 SMTP sessions × 10 messages (AUTH over STARTTLS): every message gets 250 and arrives once', async () => {
    const r = await runCli(['keys', 'smtp-password', server.accessKeyId], fixture.cliEnv);
    expect(r.code, r.stderr).toBe(0);
    const password = r.stdout.trim();
    const ids: string[] = [];
    const failures: string[] = [];
    const started = Date.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        // One session per client: a pool of one connection that sends its 10 messages one after another.
        const t = nodemailer.createTransport({
          host: '127.0.0.1',
          port: server.smtpPort,
          requireTLS: true,
          tls: { rejectUnauthorized: false },
          auth: { user: server.accessKeyId, pass: password },
          pool: true,
          maxConnections: 1,
          maxMessages: Infinity,
        });
        try {
          for (let m = 0; m < PER_CLIENT; m++) {
            try {
              const info = await t.sendMail({ from: 'orders@sender.test', to: `smtp-${c}-${m}@dest.test`, subject: `burst ${c}/${m}`, text: `SMTP message ${m} of session ${c}` });
              const id = SMTP_ACCEPTED.exec(info.response)?.[1];
              if (id) ids.push(id);
              else failures.push(info.response);
            } catch (err) {
              const e = err as { response?: string; message: string };
              failures.push(e.response ?? e.message);
            }
          }
        } finally {
          t.close();
        }
      }),
    );
    const acceptedMs = Date.now() - started;
    const summary = { accepted: ids.length, failed: failures.length, distinctFailures: [...new Set(failures)].slice(0, 10), logCodes: refusalCodes() };
    console.log(`SMTP burst (${backend}): ${ids.length} × 250, ${failures.length} other in ${acceptedMs} ms`, JSON.stringify(summary));
    expect(failures.length, JSON.stringify(summary)).toBe(0);
    expect(ids).toHaveLength(CLIENTS * PER_CLIENT);
    expect(new Set(ids).size).toBe(ids.length);
    await expectAllAtSinkOnce(ids);
    console.log(`SMTP burst (${backend}): all ${ids.length} at the sink once after ${Date.now() - started} ms`);
  }, 300_000);

  it('takes 200 API clients × 10 SendEmail: every message gets 200 with a MessageId and arrives once', async () => {
    const ids: string[] = [];
    const failures: string[] = [];
    const started = Date.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        // One client per application instance, as 200 separate senders would have.
        const v2 = server.sesv2();
        for (let m = 0; m < PER_CLIENT; m++) {
          try {
            const out = await v2.send(
              new SendEmailCommand({
                FromEmailAddress: 'orders@sender.test',
                Destination: { ToAddresses: [`api-${c}-${m}@dest.test`] },
                Content: { Simple: { Subject: { Data: `burst ${c}/${m}` }, Body: { Text: { Data: `API message ${m} of client ${c}` } } } },
              }),
            );
            if (out.$metadata.httpStatusCode === 200 && out.MessageId && SES_MESSAGE_ID.test(out.MessageId)) ids.push(out.MessageId);
            else failures.push(`${out.$metadata.httpStatusCode} ${out.MessageId}`);
          } catch (err) {
            const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
            failures.push(`${e.$metadata?.httpStatusCode ?? '-'} ${e.name}: ${e.message}`);
          }
        }
      }),
    );
    const acceptedMs = Date.now() - started;
    const summary = { accepted: ids.length, failed: failures.length, distinctFailures: [...new Set(failures)].slice(0, 10), logCodes: refusalCodes() };
    console.log(`API burst (${backend}): ${ids.length} × 200, ${failures.length} other in ${acceptedMs} ms`, JSON.stringify(summary));
    expect(failures.length, JSON.stringify(summary)).toBe(0);
    expect(ids).toHaveLength(CLIENTS * PER_CLIENT);
    expect(new Set(ids).size).toBe(ids.length);
    await expectAllAtSinkOnce(ids);
    console.log(`API burst (${backend}): all ${ids.length} at the sink once after ${Date.now() - started} ms`);
  }, 300_000);
});
