/**
 * The setting most sending tests share: a loopback DNS server, a sink MTA, a Sesame server whose
 * outbound port is the sink's, verified sender domains, and destination domains whose MX is the
 * sink. Also the environment that makes the real `sesame` CLI act on that server's data.
 */
import { TestDnsServer } from './dns-server.ts';
import { routeToSink, verifyDomain } from './identities.ts';
import { startTestServer, type TestServer, type TestServerOptions } from './server.ts';
import { SinkMta } from './sink.ts';

/** A running fixture. */
export interface SendingFixture {
  dns: TestDnsServer;
  sink: SinkMta;
  server: TestServer;
  /** Environment for `runCli` so that the CLI opens this server's database. */
  cliEnv: Record<string, string>;
  close(): Promise<void>;
}

/** Options: which backend, extra environment, the sink's STARTTLS, sender and destination domains. */
export interface SendingFixtureOptions {
  backend?: TestServerOptions['backend'];
  env?: Record<string, string>;
  start?: TestServerOptions['start'];
  starttls?: boolean;
  /** Domains to create and verify (default `sender.test`). */
  senders?: string[];
  /** Domains whose MX is the sink (default `dest.test`). */
  destinations?: string[];
}

/** Starts DNS, sink and server, verifies the senders and routes the destinations to the sink. */
export async function startSendingFixture(o: SendingFixtureOptions = {}): Promise<SendingFixture> {
  const dns = await TestDnsServer.start();
  const sink = await SinkMta.start({ starttls: o.starttls });
  let server: TestServer | undefined;
  try {
    server = await startTestServer({ backend: o.backend, dns, start: o.start, env: { SESAME_OUTBOUND_PORT: String(sink.port), ...o.env } });
    for (const d of o.senders ?? ['sender.test']) await verifyDomain(server, dns, d);
    for (const d of o.destinations ?? ['dest.test']) routeToSink(dns, d);
  } catch (err) {
    await server?.close();
    await sink.close();
    await dns.close();
    throw err;
  }
  const s = server;
  return {
    dns,
    sink,
    server: s,
    cliEnv: {
      SESAME_DATA_DIR: s.dataDir,
      SESAME_HOSTNAME: s.instance.config.hostname,
      SESAME_ROOT_ACCESS_KEY_ID: s.accessKeyId,
      SESAME_ROOT_SECRET_ACCESS_KEY: s.secretAccessKey,
      ...(s.databaseUrl ? { SESAME_DATABASE_URL: s.databaseUrl } : {}),
    },
    async close() {
      await s.close();
      await sink.close();
      await dns.close();
    },
  };
}
