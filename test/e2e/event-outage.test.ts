/**
 * [events] Done-when 3: with the subscriber's endpoint down for 60 s, every event arrives after it
 * returns, and a `kill -9` of the server during the outage loses none. The server runs as a child
 * process (`sesame serve`), the subscriber is a real HTTP endpoint on loopback that verifies every
 * signature; the test prints
 *   event-outage(<backend>): events=N received=N lost=0 duplicated=D
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateConfigurationSetCommand, CreateConfigurationSetEventDestinationCommand, CreateEmailIdentityCommand, GetEmailIdentityCommand, SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterEach, describe, expect, it } from 'vitest';
import { startChild, freePort, type Child } from '../helpers/child.ts';
import { runCli } from '../helpers/cli.ts';
import { TestDnsServer } from '../helpers/dns-server.ts';
import { publishRecords } from '../helpers/identities.ts';
import { eventually, freshPostgresSchema, testBackends } from '../helpers/server.ts';
import { SinkMta } from '../helpers/sink.ts';
import { startSnsReceiver, type SnsReceiver } from '../helpers/sns-receiver.ts';

const SENDER = 'sender.outage.test';
const DEST = 'dest.test';
const ACCESS_KEY_ID = 'AKIAEVENTOUTAGE00000';
const SECRET_ACCESS_KEY = 'event-outage-secret-0123456789abcdef';
const OUTAGE_MS = 60_000;

describe.each(testBackends())('event delivery through an endpoint outage and a kill -9 (%s)', (backend) => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  it(
    'delivers every event once the endpoint is back; none lost across the kill',
    async () => {
      const dns = await TestDnsServer.start();
      cleanups.push(() => dns.close());
      const sink = await SinkMta.start();
      cleanups.push(() => sink.close());
      const dataDir = await mkdtemp(join(tmpdir(), 'sesame-outage-'));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      let databaseUrl: string | undefined;
      if (backend === 'postgres') {
        const schema = await freshPostgresSchema();
        databaseUrl = schema.url;
        cleanups.push(() => schema.drop());
      }
      const httpPort = await freePort();
      const env: Record<string, string> = {
        SESAME_DATA_DIR: dataDir,
        SESAME_LISTEN_HOST: '127.0.0.1',
        SESAME_HTTP_PORT: String(httpPort),
        SESAME_SMTP_PORT: '0',
        SESAME_SMTPS_PORT: '0',
        SESAME_MX_PORT: '0',
        SESAME_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID,
        SESAME_ROOT_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
        SESAME_DNS_SERVERS: dns.address,
        SESAME_OUTBOUND_PORT: String(sink.port),
        SESAME_HOSTNAME: 'mta.sesame.test',
        SESAME_VERIFY_INTERVAL: '200ms',
        SESAME_RETRY_SCHEDULE: '1s',
        SESAME_WEBHOOK_RETRY_SCHEDULE: '1s',
        SESAME_LOG_LEVEL: 'warn',
        ...(databaseUrl ? { SESAME_DATABASE_URL: databaseUrl } : {}),
      };
      const children: Child[] = [];
      cleanups.push(async () => {
        for (const c of children) {
          if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
          await c.exited;
        }
      });
      let receiver: SnsReceiver = await startSnsReceiver();
      const receiverPort = receiver.port;
      cleanups.push(() => receiver.close());
      const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };

      const first = await startChild(env);
      children.push(first);
      const v2 = new SESv2Client({ endpoint: first.url, region: 'us-east-1', credentials, maxAttempts: 1 });
      const sns = new SNSClient({ endpoint: first.url, region: 'us-east-1', credentials, maxAttempts: 1 });
      cleanups.push(async () => {
        v2.destroy();
        sns.destroy();
      });

      // Set-up as a user: a verified sender, a topic with the endpoint subscribed, a set publishing to it.
      await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: SENDER, DkimSigningAttributes: { NextSigningKeyLength: 'RSA_1024_BIT' } }));
      const dnsOut = await runCli(['dns', SENDER, '--json'], env);
      expect(dnsOut.code, dnsOut.stderr).toBe(0);
      publishRecords(dns, JSON.parse(dnsOut.stdout) as Array<{ type: string; name: string; value: string }>);
      await eventually(async () => (await v2.send(new GetEmailIdentityCommand({ EmailIdentity: SENDER }))).VerifiedForSendingStatus, 20_000, `${SENDER} to verify`);
      dns.set(DEST, 'MX', [{ priority: 10, exchange: `mx.${DEST}` }]);
      dns.set(`mx.${DEST}`, 'A', ['127.0.0.1']);
      const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'outage' }));
      await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: receiver.url }));
      await receiver.waitFor(() => receiver.confirmations.length === 1, 10_000);
      await v2.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'outage' }));
      await v2.send(
        new CreateConfigurationSetEventDestinationCommand({
          ConfigurationSetName: 'outage',
          EventDestinationName: 'sns',
          EventDestination: { Enabled: true, MatchingEventTypes: ['SEND', 'DELIVERY'], SnsDestination: { TopicArn } },
        }),
      );

      const sent: string[] = [];
      const sendMany = async (client: SESv2Client, n: number) => {
        for (let i = 0; i < n; i++) {
          const r = await client.send(
            new SendEmailCommand({
              FromEmailAddress: `news@${SENDER}`,
              Destination: { ToAddresses: [`r${sent.length}@${DEST}`] },
              ConfigurationSetName: 'outage',
              Content: { Simple: { Subject: { Data: `outage ${sent.length}` }, Body: { Text: { Data: 'hello' } } } },
            }),
          );
          sent.push(r.MessageId!);
        }
      };
      const keys = () => receiver.notifications().map((n) => `${String(n.eventType)}/${(n.mail as { messageId: string }).messageId}`);

      // Before the outage: events flow.
      await sendMany(v2, 10);
      await receiver.waitFor(() => new Set(keys()).size >= 20, 20_000);

      // The endpoint goes down; mail keeps flowing; the server is killed and restarted meanwhile.
      const seenBefore = receiver.messages.length;
      await receiver.close();
      const outageStart = Date.now();
      await sendMany(v2, 30);
      await eventually(async () => sink.messages.length >= 40, 20_000, 'mail delivered during the outage');
      first.proc.kill('SIGKILL');
      await first.exited;
      const second = await startChild(env);
      children.push(second);
      const v2b = new SESv2Client({ endpoint: second.url, region: 'us-east-1', credentials, maxAttempts: 1 });
      cleanups.push(async () => v2b.destroy());
      await sendMany(v2b, 10);
      await eventually(async () => sink.messages.length >= 50, 20_000, 'mail delivered after the restart');
      const wait = OUTAGE_MS - (Date.now() - outageStart);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));

      // The endpoint comes back on the same port: everything arrives, signed.
      receiver = await startSnsReceiver({ port: receiverPort });
      await receiver.waitFor(() => sent.slice(10).every((id) => keys().includes(`Send/${id}`) && keys().includes(`Delivery/${id}`)), 60_000);
      const got = keys();
      const received = new Set(got);
      // Events of the mail sent during the outage (before and after the kill); the first ten were delivered before it.
      const expected = sent.slice(10).flatMap((id) => [`Send/${id}`, `Delivery/${id}`]);
      const lost = expected.filter((k) => !received.has(k));
      const duplicated = got.length - received.size;
      console.log(`event-outage(${backend}): events=${expected.length} received=${received.size} lost=${lost.length} duplicated=${duplicated} before-outage-posts=${seenBefore}`);
      expect(receiver.messages.filter((m) => !m.verified).map((m) => m.error)).toEqual([]);
      expect(lost).toEqual([]);
    },
    240_000,
  );
});
