/**
 * `sesame migrate --to postgres://…` (issue 13, Done-when 4): an embedded SQLite installation with a
 * DKIM-verified domain, an access key made by `sesame keys create`, a template, suppression entries,
 * a configuration set and queued messages that could not be delivered yet (one of them over 1 MiB,
 * so its body is a blob file; one of them leased by a node that is gone) is stopped and moved with
 * the real CLI onto a fresh PostgreSQL schema. A server on PostgreSQL (same data dir: same master
 * key) then shows the same resources through the API, accepts the old key, delivers the queued
 * messages byte for byte, and appends Delivery events after the migrated Send events. The command
 * also refuses a source that a running server holds open, and a target that already has data.
 * Needs SESAME_TEST_DATABASE_URL.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateConfigurationSetCommand,
  CreateEmailTemplateCommand,
  GetConfigurationSetCommand,
  GetEmailIdentityCommand,
  GetEmailTemplateCommand,
  GetSuppressedDestinationCommand,
  ListEmailIdentitiesCommand,
  PutSuppressedDestinationCommand,
  SendEmailCommand,
} from '@aws-sdk/client-sesv2';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/child.ts';
import { runCli } from '../helpers/cli.ts';
import { messageIdOf as messageIdAt } from '../helpers/crash.ts';
import { dkimVerify, HAVE_DKIMPY } from '../helpers/dkim.ts';
import { TestDnsServer } from '../helpers/dns-server.ts';
import { routeToSink, verifyDomain } from '../helpers/identities.ts';
import { eventually, freshPostgresSchema, schemaClient, startTestServer, type TestServer } from '../helpers/server.ts';
import { SinkMta } from '../helpers/sink.ts';

const SENDER = 'sender.migrate.test';
const DEST = 'dest.test';
const MB = 1024 * 1024;

/** A raw message of about `size` bytes whose lines differ from each other. */
function rawMessage(subject: string, size: number): Buffer {
  const head = `From: app@${SENDER}\r\nTo: big@${DEST}\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n`;
  const lines: string[] = [];
  let bytes = head.length;
  for (let i = 0; bytes < size; i++) {
    const line = `${String(i).padStart(8, '0')} ${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2)}\r\n`;
    lines.push(line);
    bytes += line.length;
  }
  return Buffer.from(head + lines.join(''));
}

/** The MessageId in a delivered message's `Message-ID: <id@host>`. */
const messageIdOf = (raw: Buffer) => messageIdAt({ raw }, 'mta.sesame.test');

describe.skipIf(!process.env.SESAME_TEST_DATABASE_URL)('sesame migrate --to postgres (needs SESAME_TEST_DATABASE_URL)', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  it(
    'moves identities, keys, templates, suppression, configuration sets and the queue onto PostgreSQL, and the queue is then delivered',
    async () => {
      const dns = await TestDnsServer.start();
      cleanups.push(() => dns.close());
      const sink = await SinkMta.start();
      cleanups.push(() => sink.close());
      const dataDir = await mkdtemp(join(tmpdir(), 'sesame-migrate-'));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      const target = await freshPostgresSchema();
      cleanups.push(() => target.drop());

      // 1. The SQLite installation. Nothing listens on its outbound port: every attempt defers.
      const closedPort = await freePort();
      const sqliteServer = await startTestServer({ dataDir, dns, env: { SESAME_OUTBOUND_PORT: String(closedPort), SESAME_RETRY_SCHEDULE: '1s' } });
      let sqliteRunning = true;
      cleanups.push(async () => sqliteRunning && sqliteServer.close());
      const cliEnv = {
        SESAME_DATA_DIR: dataDir,
        SESAME_HOSTNAME: sqliteServer.instance.config.hostname,
        SESAME_ROOT_ACCESS_KEY_ID: sqliteServer.accessKeyId,
        SESAME_ROOT_SECRET_ACCESS_KEY: sqliteServer.secretAccessKey,
      };
      const v2 = sqliteServer.sesv2();
      await verifyDomain(sqliteServer, dns, SENDER);
      routeToSink(dns, DEST);
      const identityBefore = await v2.send(new GetEmailIdentityCommand({ EmailIdentity: SENDER }));
      expect(identityBefore.DkimAttributes?.Tokens).toHaveLength(3);

      const created = await runCli(['keys', 'create', '--description', 'migrated key', '--json'], cliEnv);
      expect(created.code, created.stderr).toBe(0);
      const key = JSON.parse(created.stdout) as { AccessKeyId: string; SecretAccessKey: string };

      await v2.send(new CreateEmailTemplateCommand({ TemplateName: 'welcome', TemplateContent: { Subject: 'Welcome {{name}}', Text: 'Hello {{name}}', Html: '<p>Hello {{name}}</p>' } }));
      await v2.send(new PutSuppressedDestinationCommand({ EmailAddress: 'bounced@elsewhere.test', Reason: 'BOUNCE' }));
      await v2.send(new PutSuppressedDestinationCommand({ EmailAddress: 'complained@elsewhere.test', Reason: 'COMPLAINT' }));
      await v2.send(
        new CreateConfigurationSetCommand({
          ConfigurationSetName: 'transactional',
          DeliveryOptions: { TlsPolicy: 'OPTIONAL' },
          SendingOptions: { SendingEnabled: true },
          SuppressionOptions: { SuppressedReasons: ['BOUNCE'] },
          Tags: [{ Key: 'team', Value: 'mail' }],
        }),
      );
      const templateBefore = await v2.send(new GetEmailTemplateCommand({ TemplateName: 'welcome' }));
      const setBefore = await v2.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'transactional' }));
      const suppressedBefore = await v2.send(new GetSuppressedDestinationCommand({ EmailAddress: 'bounced@elsewhere.test' }));

      // Queued messages: three small ones (one through the configuration set) and one over 1 MiB.
      const sent: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await v2.send(
          new SendEmailCommand({
            FromEmailAddress: `app@${SENDER}`,
            Destination: { ToAddresses: [`user${i}@${DEST}`] },
            Content: { Simple: { Subject: { Data: `queued ${i}` }, Body: { Text: { Data: `body ${i}` } } } },
            ...(i === 0 ? { ConfigurationSetName: 'transactional' } : {}),
          }),
        );
        sent.push(r.MessageId!);
      }
      const big = rawMessage('large queued', 1.5 * MB);
      const bigId = (await v2.send(new SendEmailCommand({ Content: { Raw: { Data: big } } }))).MessageId!;
      sent.push(bigId);
      // Every message has been tried at least once against the closed port, and is still queued.
      await eventually(async () => {
        const queued = await sqliteServer.instance.core.queueAdmin.listQueued(10);
        return queued.length === 4 && queued.every((r) => r.attempts >= 1);
      }, 20_000, 'a deferred attempt of every queued recipient');

      // A running node holds the database: migrate refuses and touches nothing.
      const busy = await runCli(['migrate', '--to', target.url], cliEnv);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain('in use by another process');

      await sqliteServer.close();
      sqliteRunning = false;
      expect(sink.messages).toHaveLength(0);

      // What the source holds: the large body as head + blob range; a lease of a node that is gone.
      const src = new BetterSqlite3(join(dataDir, 'sesame.db'));
      const bigRow = src.prepare('SELECT body, body_blob, body_blob_offset FROM messages WHERE message_id = ?').get(bigId) as { body: Buffer; body_blob: string | null; body_blob_offset: number };
      expect(bigRow.body_blob).toMatch(/^[0-9a-f]{32}$/);
      const blobFile = await readFile(join(dataDir, 'blobs', bigRow.body_blob!.slice(0, 2), bigRow.body_blob!));
      const bigExpected = Buffer.concat([bigRow.body, blobFile.subarray(bigRow.body_blob_offset)]);
      src.prepare(`UPDATE recipients SET lease_owner = 'node-00000000-0000-0000-0000-00000000dead', lease_expires_at = ? WHERE message_id = ?`).run(Date.now() + 24 * 3600_000, sent[1]);
      const srcEvents = src.prepare('SELECT id, message_id, type FROM events ORDER BY id').all() as Array<{ id: number; message_id: string; type: string }>;
      const srcCounts = Object.fromEntries(
        ['accounts', 'access_keys', 'identities', 'templates', 'configuration_sets', 'suppressed_destinations', 'messages', 'recipients', 'events', 'tags'].map((t) => [t, (src.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]),
      );
      src.close();
      for (const id of sent) expect(srcEvents.some((e) => e.message_id === id && e.type === 'Send')).toBe(true);
      const lastSourceEventId = srcEvents.at(-1)!.id;

      // 2. The real CLI moves it.
      const migrated = await runCli(['migrate', '--to', target.url], cliEnv, 120_000);
      expect(migrated.code, migrated.stderr).toBe(0);
      expect(migrated.stderr).toMatch(/messages\s+4 rows/);
      expect(migrated.stderr).toMatch(/events\s+\d+ rows/);
      expect(migrated.stdout).toMatch(/Migrated \d+ rows in \d+ tables and 1 blob \(1\.5 MiB\)/);
      expect(migrated.stdout).toContain('Leases cleared: 1');
      expect(migrated.stdout).toContain(`Sequence of events.id continues at ${lastSourceEventId + 1}`);
      expect(migrated.stderr).toContain('Do NOT start Sesame on the SQLite database again');

      // The copy, as rows: same counts, leases cleared, the large body's blob as 1 MiB chunks.
      const pgc = await schemaClient(target.url);
      cleanups.push(() => pgc.end());
      for (const [t, n] of Object.entries(srcCounts)) expect({ t, n: Number((await pgc.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n) }).toEqual({ t, n });
      expect(Number((await pgc.query('SELECT count(*) AS n FROM recipients WHERE lease_owner IS NOT NULL')).rows[0].n)).toBe(0);
      const chunks = (await pgc.query('SELECT seq, length(data) AS len FROM blob_chunks WHERE id = $1 ORDER BY seq', [bigRow.body_blob])).rows as Array<{ seq: number; len: number }>;
      expect(chunks.map((c) => c.seq)).toEqual([0, 1]);
      expect(chunks[0]!.len).toBe(MB);

      // A second run finds the target occupied and refuses.
      const again = await runCli(['migrate', '--to', target.url], cliEnv, 60_000);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('already holds Sesame data');

      // 3. A node on PostgreSQL, same data dir (same master key), the sink reachable now.
      const pgServer = await startTestServer({ dataDir, dns, env: { SESAME_DATABASE_URL: target.url, SESAME_OUTBOUND_PORT: String(sink.port), SESAME_RETRY_SCHEDULE: '1s' } });
      cleanups.push(() => pgServer.close());
      const after = pgServer.sesv2();

      // The queued messages arrive, the large one byte for byte.
      await sink.waitFor((msgs) => sent.every((id) => msgs.some((m) => messageIdOf(m.raw) === id)), 30_000, 'the migrated queue at the sink');
      const bigDelivered = sink.messages.find((m) => messageIdOf(m.raw) === bigId)!;
      expect(bigDelivered.raw.length).toBe(bigExpected.length);
      expect(bigDelivered.raw.equals(bigExpected)).toBe(true);
      expect(sink.messages.find((m) => messageIdOf(m.raw) === sent[1])!.rcptTo).toEqual([`user1@${DEST}`]);

      // Same resources through the API.
      const identityAfter = await after.send(new GetEmailIdentityCommand({ EmailIdentity: SENDER }));
      expect(identityAfter.VerifiedForSendingStatus).toBe(true);
      expect(identityAfter.DkimAttributes?.Tokens).toEqual(identityBefore.DkimAttributes?.Tokens);
      expect(identityAfter.DkimAttributes?.Status).toBe('SUCCESS');
      const templateAfter = await after.send(new GetEmailTemplateCommand({ TemplateName: 'welcome' }));
      expect(templateAfter.TemplateContent).toEqual(templateBefore.TemplateContent);
      const setAfter = await after.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'transactional' }));
      expect({ ...setAfter, $metadata: undefined }).toEqual({ ...setBefore, $metadata: undefined });
      const suppressedAfter = await after.send(new GetSuppressedDestinationCommand({ EmailAddress: 'bounced@elsewhere.test' }));
      expect(suppressedAfter.SuppressedDestination).toEqual(suppressedBefore.SuppressedDestination);
      expect((await after.send(new GetSuppressedDestinationCommand({ EmailAddress: 'complained@elsewhere.test' }))).SuppressedDestination?.Reason).toBe('COMPLAINT');

      // The key made on SQLite authenticates with its old secret.
      const oldKey = pgServer.sesv2({ accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey });
      expect((await oldKey.send(new ListEmailIdentitiesCommand({}))).EmailIdentities?.map((i) => i.IdentityName)).toContain(SENDER);

      // The migrated DKIM key still signs: a new message, verified against the published records.
      const fresh = await oldKey.send(
        new SendEmailCommand({ FromEmailAddress: `app@${SENDER}`, Destination: { ToAddresses: [`after@${DEST}`] }, Content: { Simple: { Subject: { Data: 'after' }, Body: { Text: { Data: 'after the move' } } } } }),
      );
      await sink.waitFor((msgs) => msgs.some((m) => messageIdOf(m.raw) === fresh.MessageId), 15_000, 'a message sent after the move');
      const freshRaw = sink.messages.find((m) => messageIdOf(m.raw) === fresh.MessageId)!.raw;
      expect(freshRaw.toString('latin1')).toMatch(new RegExp(`^DKIM-Signature:[^]*d=${SENDER.replace(/\./g, '\\.')}`, 'm'));
      if (HAVE_DKIMPY) expect(await dkimVerify(pgServer, SENDER, freshRaw)).toContain('pass');

      // Events continue: Delivery events come after the migrated Send events, ids increasing.
      await eventually(async () => {
        const r = await pgc.query(`SELECT count(*) AS n FROM events WHERE type = 'Delivery' AND message_id = ANY($1)`, [sent]);
        return Number(r.rows[0].n) === sent.length;
      }, 15_000, 'Delivery events');
      for (const id of sent) {
        const rows = (await pgc.query('SELECT id, type FROM events WHERE message_id = $1 ORDER BY id', [id])).rows as Array<{ id: string; type: string }>;
        const send = rows.find((r) => r.type === 'Send')!;
        const delivery = rows.find((r) => r.type === 'Delivery')!;
        expect(Number(send.id)).toBe(srcEvents.find((e) => e.message_id === id && e.type === 'Send')!.id);
        expect(Number(delivery.id)).toBeGreaterThan(lastSourceEventId);
      }
    },
    180_000,
  );
});
