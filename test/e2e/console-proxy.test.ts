/**
 * Behind a reverse proxy: with SESAME_TRUSTED_PROXIES naming it, the console's sign-in brake counts
 * failures per client address that the proxy's X-Forwarded-For names, so one client's failures do
 * not lock out everyone else behind the same proxy; without it (or from an address that is not a
 * trusted proxy) X-Forwarded-For is ignored, so a client cannot dodge the brake by inventing one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const env = { SESAME_CONSOLE_SIGN_IN_MAX_FAILURES: '1000', SESAME_CONSOLE_SIGN_IN_MAX_FAILURES_PER_CLIENT: '3' };

async function signIn(server: TestServer, secret: string, forwardedFor: string): Promise<number> {
  const r = await fetch(`${server.url}/console/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    body: JSON.stringify({ accessKeyId: server.accessKeyId, secretAccessKey: secret }),
  });
  await r.body?.cancel();
  return r.status;
}

describe('console sign-in behind a trusted proxy', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { ...env, SESAME_TRUSTED_PROXIES: '127.0.0.1, ::1' } });
  }, 60_000);
  afterAll(() => server?.close());

  it('locks out the client the proxy names, not every client behind the proxy', async () => {
    for (let i = 0; i < 3; i++) expect(await signIn(server, 'wrong', '203.0.113.7')).toBe(401);
    expect(await signIn(server, server.secretAccessKey, '203.0.113.7')).toBe(429);
    expect(server.logs.some((l) => l.code === 'CONSOLE_SIGN_IN_THROTTLED')).toBe(true);
    // Another client behind the same proxy signs in.
    expect(await signIn(server, server.secretAccessKey, '198.51.100.9')).toBe(200);
    // A chain: the client is the address the trusted proxy received the request from (the last untrusted one).
    expect(await signIn(server, server.secretAccessKey, '192.0.2.1, 203.0.113.7')).toBe(429);
  });
});

describe('console sign-in with no trusted proxy', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env });
  }, 60_000);
  afterAll(() => server?.close());

  it('ignores X-Forwarded-For: failures under invented addresses all count against the real one', async () => {
    for (const fake of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) expect(await signIn(server, 'wrong', fake)).toBe(401);
    expect(await signIn(server, server.secretAccessKey, '198.51.100.9')).toBe(429);
  });
});
