import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig, renderConfigMarkdown } from '../../src/config/load.ts';
import { ConfigError, parseDuration, schema } from '../../src/config/schema.ts';

describe('configuration', () => {
  it('has a default for every SPEC variable', () => {
    const c = loadConfig({});
    expect(c.dataDir.endsWith('/data')).toBe(true);
    expect(c.httpPort).toBe(8080);
    expect(c.smtpPort).toBe(2587);
    expect(c.smtpsPort).toBe(2465);
    expect(c.mxPort).toBe(2525);
    expect(c.region).toBe('us-east-1');
    expect(c.accountId).toBe('000000000000');
    expect(c.publicUrl).toBe('http://127.0.0.1:8080');
    expect(c.outboundPort).toBe(25);
    expect(c.retrySchedule).toEqual([60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000]);
    expect(c.maxDeliverySeconds).toBe(50_400);
    expect(c.verifyIntervalMs).toBe(300_000);
    expect(c.roles).toEqual(['api', 'smtp', 'mx', 'worker']);
    expect(c.logLevel).toBe('info');
    expect(c.dnsServers).toEqual([]);
  });

  it('parses every variable of the SPEC table', () => {
    const c = loadConfig({
      SESAME_DATA_DIR: '/tmp/x',
      SESAME_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      SESAME_LISTEN_HOST: '0.0.0.0',
      SESAME_HTTP_PORT: '9000',
      SESAME_SMTP_PORT: '587',
      SESAME_SMTPS_PORT: '465',
      SESAME_MX_PORT: '25',
      SESAME_HOSTNAME: 'mta.example.com',
      SESAME_REGION: 'eu-west-1',
      SESAME_ACCOUNT_ID: '123456789012',
      SESAME_ROOT_ACCESS_KEY_ID: 'AKIAABCDEFGHIJKLMNOP',
      SESAME_ROOT_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      SESAME_PUBLIC_URL: 'https://mail.example.com',
      SESAME_DNS_SERVERS: '127.0.0.1:5353,[::1]:53,8.8.8.8',
      SESAME_OUTBOUND_PORT: '2526',
      SESAME_SMART_HOST: 'smtp://user:pass@relay.example.com:587',
      SESAME_TLS_CERT: '/etc/cert.pem',
      SESAME_TLS_KEY: '/etc/key.pem',
      SESAME_RETRY_SCHEDULE: '10s,1m',
      SESAME_MAX_DELIVERY_SECONDS: '300',
      SESAME_VERIFY_INTERVAL: '30s',
      SESAME_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      SESAME_RSPAMD_URL: 'http://127.0.0.1:11333',
      SESAME_CLAMD_URL: 'tcp://127.0.0.1:3310',
      SESAME_ROLES: 'api,worker',
      SESAME_LOG_LEVEL: 'debug',
    });
    expect(c).toMatchObject({ dataDir: '/tmp/x', httpPort: 9000, hostname: 'mta.example.com', region: 'eu-west-1', dnsServers: ['127.0.0.1:5353', '[::1]:53', '8.8.8.8'], retrySchedule: [10_000, 60_000], verifyIntervalMs: 30_000, roles: ['api', 'worker'], unknownVariables: [] });
  });

  it('refuses bad values with the variable name in the message', () => {
    expect(() => loadConfig({ SESAME_HTTP_PORT: 'eighty' })).toThrow(/SESAME_HTTP_PORT/);
    expect(() => loadConfig({ SESAME_HTTP_PORT: '70000' })).toThrow(ConfigError);
    expect(() => loadConfig({ SESAME_ROLES: 'api,bogus' })).toThrow(/unknown role "bogus"/);
    expect(() => loadConfig({ SESAME_VERIFY_INTERVAL: 'soon' })).toThrow(/not a duration/);
    expect(() => loadConfig({ SESAME_DATABASE_URL: 'mysql://x' })).toThrow(/scheme "mysql"/);
    expect(loadConfig({ SESAME_TRUSTED_PROXIES: ' 127.0.0.1, 10.0.0.0/8,fd00::/8 ' }).trustedProxies).toEqual(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
    for (const bad of ['proxy.local', '10.0.0.0/33', '::1/129', '10.0.0.1/8/2', '10.0.0.0/x']) {
      expect(() => loadConfig({ SESAME_TRUSTED_PROXIES: bad }), bad).toThrow(`SESAME_TRUSTED_PROXIES: "${bad}" is not an IP address or a CIDR block`);
    }
    expect(() => loadConfig({ SESAME_ACCOUNT_ID: '12' })).toThrow(/12 digits/);
    expect(() => loadConfig({ SESAME_MASTER_KEY: 'short' })).toThrow(/32 bytes/);
    expect(() => loadConfig({ SESAME_ROOT_ACCESS_KEY_ID: 'AKIAABCDEFGHIJKLMNOP' })).toThrow(/set together/);
  });

  it('reports unknown SESAME_ variables', () => {
    expect(loadConfig({ SESAME_HTTP_PRT: '1', SESAME_TEST_DATABASE_URL: 'x', OTHER: 'y' }).unknownVariables).toEqual(['SESAME_HTTP_PRT']);
  });

  it('prints durations back in a form that parses again', async () => {
    const { describeConfig } = await import('../../src/config/load.ts');
    const text = describeConfig(loadConfig({ SESAME_VERIFY_INTERVAL: '30s', SESAME_MASTER_KEY: Buffer.alloc(32, 1).toString('base64') }));
    expect(text).toContain('SESAME_VERIFY_INTERVAL=30000ms');
    expect(text).toContain('SESAME_RETRY_SCHEDULE=60000ms,300000ms,');
    expect(text).toContain('SESAME_MASTER_KEY=(set, hidden)');
    expect(parseDuration('30000ms')).toBe(30_000);
  });

  it('parses durations', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('60')).toBe(60_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('2h')).toBe(7_200_000);
  });

  it('keeps docs/config.md in step with the schema (run npm run docs:config)', () => {
    const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
    expect(doc.trimEnd()).toBe(renderConfigMarkdown().trimEnd());
    for (const key of Object.values(schema)) expect(doc).toContain(`\`${key.env}\``);
  });
});
