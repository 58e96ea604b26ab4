// Verifies src/lib/sigv4.ts against requests signed by real client-side signers
// (@smithy/signature-v4, aws4, and the AWS SDK v3 SES clients over a loopback socket),
// plus the AWS documentation's signing-key and "get-vanilla" vectors.
import { describe, it, expect } from 'vitest';
import { createRequire } from 'node:module';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { SESv2Client, GetEmailIdentityCommand } from '@aws-sdk/client-sesv2';
import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import {
  deriveSigningKey,
  parseAuthorization,
  SigV4Error,
  verifySignature,
  type SigV4ErrorCode,
  type SigV4Request,
} from '../../src/lib/sigv4.ts';
import { Sha256 } from '../helpers/aws-wire.ts';

/** Minimal typing for aws4, which ships no declarations. */
interface Aws4Request {
  host: string;
  path: string;
  method: string;
  service: string;
  region: string;
  body?: string;
  headers: Record<string, string | number>;
}
const aws4 = createRequire(import.meta.url)('aws4') as {
  sign(req: Aws4Request, creds: { accessKeyId: string; secretAccessKey: string }): Aws4Request;
};

const AKID = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const SIGNED_AT = new Date('2026-11-28T10:00:00Z');
const AMZ_DATE = '20261128T100000Z';
const HOST = 'email.us-east-1.amazonaws.com';
const MIN = 60_000;

/** Lowercase-name, string-valued header map, as node's IncomingHttpHeaders presents it. */
function lowerHeaders(h: Record<string, string | number | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = String(v);
  return out;
}

interface SmithyInput {
  method: string;
  path: string;
  query?: Record<string, string | string[]>;
  /** Query string as it goes on the wire; defaults to a form-style encoding of `query`. */
  wireQuery?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  service?: string;
  region?: string;
  uriEscapePath?: boolean;
  applyChecksum?: boolean;
}

/**
 * Sign with @smithy/signature-v4 (what the AWS SDK v3 uses). The wire query is serialised
 * with URLSearchParams (space as '+', '*' left bare) so that it differs textually from the
 * canonical form, as real-world encoders do.
 */
async function signSmithy(input: SmithyInput): Promise<SigV4Request> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
    region: input.region ?? 'us-east-1',
    service: input.service ?? 'ses',
    sha256: Sha256,
    uriEscapePath: input.uriEscapePath ?? true,
    applyChecksum: input.applyChecksum ?? true,
  });
  const signed = await signer.sign(
    {
      method: input.method,
      protocol: 'https:',
      hostname: HOST,
      path: input.path,
      query: input.query ?? {},
      headers: { host: HOST, ...input.headers },
      body: input.body,
    },
    { signingDate: SIGNED_AT },
  );
  let wireQuery = input.wireQuery;
  if (wireQuery === undefined) {
    const usp = new URLSearchParams();
    for (const [k, v] of Object.entries(input.query ?? {})) {
      for (const one of Array.isArray(v) ? v : [v]) usp.append(k, one);
    }
    wireQuery = usp.toString();
  }
  return {
    method: input.method,
    path: input.path,
    query: wireQuery,
    headers: lowerHeaders(signed.headers),
    body: Buffer.from(input.body ?? ''),
  };
}

/** Sign with aws4; the path it returns (path + query) is exactly what it would put on the wire. */
function signAws4(input: {
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
  service?: string;
}): SigV4Request {
  const signed = aws4.sign(
    {
      host: HOST,
      path: input.path,
      method: input.method,
      service: input.service ?? 'ses',
      region: 'us-east-1',
      ...(input.body !== undefined ? { body: input.body } : {}),
      headers: { 'X-Amz-Date': AMZ_DATE, ...input.headers },
    },
    { accessKeyId: AKID, secretAccessKey: SECRET },
  );
  const q = signed.path.indexOf('?');
  return {
    method: input.method,
    path: q < 0 ? signed.path : signed.path.slice(0, q),
    query: q < 0 ? '' : signed.path.slice(q + 1),
    headers: lowerHeaders(signed.headers),
    body: Buffer.from(input.body ?? ''),
  };
}

/** Parse + verify, as a frontend would. */
function verify(
  req: SigV4Request,
  opts: { now?: Date; secret?: string; expectedRegion?: string; maxSkewMs?: number } = {},
): void {
  const auth = parseAuthorization(req);
  expect(auth.accessKeyId).toBe(AKID);
  verifySignature(req, auth, opts.secret ?? SECRET, {
    now: opts.now ?? SIGNED_AT,
    ...(opts.expectedRegion !== undefined ? { expectedRegion: opts.expectedRegion } : {}),
    ...(opts.maxSkewMs !== undefined ? { maxSkewMs: opts.maxSkewMs } : {}),
  });
}

/** Run `fn` and return the SigV4Error it throws; fails the test if it does not throw one. */
function caught(fn: () => void): SigV4Error {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SigV4Error);
    return err as SigV4Error;
  }
  throw new Error('expected a SigV4Error, but nothing was thrown');
}

function expectCode(fn: () => void, code: SigV4ErrorCode): SigV4Error {
  const err = caught(fn);
  expect(err.code).toBe(code);
  return err;
}

function withHeaders(req: SigV4Request, headers: Record<string, string | undefined>): SigV4Request {
  return { ...req, headers: { ...req.headers, ...headers } };
}

const JSON_BODY = JSON.stringify({
  FromEmailAddress: 'sender@example.com',
  Destination: { ToAddresses: ['to@example.com'] },
  Content: { Simple: { Subject: { Data: 'héllo' }, Body: { Text: { Data: 'hi' } } } },
});

const postJsonSmithy = () =>
  signSmithy({
    method: 'POST',
    path: '/v2/email/outbound-emails',
    headers: { 'content-type': 'application/json' },
    body: JSON_BODY,
  });

const postJsonAws4 = () =>
  signAws4({
    method: 'POST',
    path: '/v2/email/outbound-emails',
    body: JSON_BODY,
    headers: { 'Content-Type': 'application/json' },
  });

describe('deriveSigningKey', () => {
  it('matches the AWS documentation example (iam, us-east-1, 20120215)', () => {
    expect(deriveSigningKey(SECRET, '20120215', 'us-east-1', 'iam').toString('hex')).toBe(
      'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d',
    );
  });
});

describe('verifySignature accepts correctly signed requests', () => {
  it('AWS SigV4 test suite "get-vanilla"', () => {
    const req: SigV4Request = {
      method: 'GET',
      path: '/',
      query: '',
      headers: {
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
          'SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
      },
      body: Buffer.alloc(0),
    };
    verify(req, { now: new Date('2015-08-30T12:36:00Z') });
  });

  it('POST with a JSON body (smithy, which also sends x-amz-content-sha256)', async () => {
    const req = await postJsonSmithy();
    expect(req.headers['x-amz-content-sha256']).toBeDefined();
    verify(req);
  });

  it('POST with a JSON body (aws4, no x-amz-content-sha256)', () => {
    const req = postJsonAws4();
    expect(req.headers['x-amz-content-sha256']).toBeUndefined();
    verify(req);
  });

  it('parses the Authorization header fields', async () => {
    const auth = parseAuthorization(await postJsonSmithy());
    expect(auth).toMatchObject({ accessKeyId: AKID, date: '20261128', region: 'us-east-1', service: 'ses' });
    expect(auth.signedHeaders).toContain('host');
    expect(auth.signature).toMatch(/^[0-9a-f]{64}$/);
  });

  it('GET with %40 and a space in the path (smithy)', async () => {
    const req = await signSmithy({ method: 'GET', path: '/v2/email/identities/first%20last%40example.com' });
    verify(req);
  });

  it('GET with %40 and a space in the path (aws4)', () => {
    // aws4 would re-encode the '%' of '%40' if handed a raw space alongside it, so give it the wire form.
    const req = signAws4({ method: 'GET', path: '/v2/email/identities/first%20last%40example.com' });
    expect(req.path).toBe('/v2/email/identities/first%20last%40example.com');
    verify(req);
  });

  it('GET with repeated query keys and characters needing encoding (smithy)', async () => {
    const req = await signSmithy({
      method: 'GET',
      path: '/v2/email/identities',
      query: { PageSize: '10', NextToken: 'a b/c+d=e&f~g', Tag: ['z', 'a&b', "it's*(x)!"], Empty: '' },
    });
    expect(req.query).toContain('+'); // the wire form uses '+' for spaces, unlike the canonical form
    verify(req);
  });

  it('GET with repeated query keys and characters needing encoding (aws4)', () => {
    const req = signAws4({
      method: 'GET',
      path: "/v2/email/identities?Tag=z&Tag=a%26b&NextToken=a%20b%2Fc%2Bd%3De&PageSize=10&Star=it's*",
    });
    verify(req);
  });

  it('form-encoded POST to / as SES v1 (Query API) sends it (aws4)', () => {
    const body =
      'Action=SendEmail&Version=2010-12-01&Source=sender%40example.com' +
      '&Destination.ToAddresses.member.1=to%40example.com&Message.Subject.Data=Hello%20there' +
      '&Message.Body.Text.Data=Hi%21';
    const req = signAws4({ method: 'POST', path: '/', body });
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded; charset=utf-8');
    verify(req);
  });

  it('form-encoded POST to / as SES v1 (Query API) sends it (smithy)', async () => {
    const req = await signSmithy({
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=ListIdentities&Version=2010-12-01&IdentityType=EmailAddress',
    });
    verify(req);
  });

  it('s3 with UNSIGNED-PAYLOAD uses the raw path (smithy)', async () => {
    const req = await signSmithy({
      method: 'PUT',
      path: '/bucket/some%20key%40x',
      service: 's3',
      uriEscapePath: false,
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      body: 'any bytes at all',
    });
    verify(req);
  });

  it('s3 with UNSIGNED-PAYLOAD uses the raw path (aws4)', () => {
    const req = signAws4({
      method: 'PUT',
      path: '/bucket/some%20key%40x',
      service: 's3',
      body: 'any bytes at all',
      headers: { 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' },
    });
    verify(req);
  });

  it('ignores changes to headers that are not signed', async () => {
    const req = await postJsonSmithy();
    expect(parseAuthorization(req).signedHeaders).not.toContain('user-agent');
    verify(withHeaders(req, { 'user-agent': 'something else' }));
  });

  it('accepts a request exactly at the 15-minute skew limit, and honours maxSkewMs', async () => {
    const req = await postJsonSmithy();
    verify(req, { now: new Date(SIGNED_AT.getTime() + 15 * MIN) });
    verify(req, { now: new Date(SIGNED_AT.getTime() - 15 * MIN) });
    verify(req, { now: new Date(SIGNED_AT.getTime() + 30 * MIN), maxSkewMs: 31 * MIN });
  });

  it('accepts the right region when expectedRegion is set', async () => {
    verify(await postJsonSmithy(), { expectedRegion: 'us-east-1' });
  });
});

/** Capture one request from an AWS SDK v3 client pointed at a loopback server. */
async function captureSdkRequest(send: (endpoint: string) => Promise<unknown>): Promise<SigV4Request> {
  let captured: SigV4Request | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      captured = {
        method: req.method ?? 'GET',
        path: q < 0 ? url : url.slice(0, q),
        query: q < 0 ? '' : url.slice(q + 1),
        headers: req.headers as IncomingHttpHeaders,
        body: Buffer.concat(chunks),
      };
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    await send(`http://127.0.0.1:${port}`).catch(() => undefined); // the reply is irrelevant
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  if (!captured) throw new Error('the SDK sent no request');
  return captured;
}

describe('verifySignature accepts what the AWS SDK v3 puts on the wire', () => {
  const clientConfig = (endpoint: string) => ({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
    maxAttempts: 1,
  });

  it('SESv2 GetEmailIdentity for an address containing @', async () => {
    const req = await captureSdkRequest((endpoint) =>
      new SESv2Client(clientConfig(endpoint)).send(new GetEmailIdentityCommand({ EmailIdentity: 'user@example.com' })),
    );
    expect(req.path).toBe('/v2/email/identities/user%40example.com');
    verify(req, { now: new Date(), expectedRegion: 'us-east-1' });
  });

  it('SES v1 SendEmail (form-encoded POST to /)', async () => {
    const req = await captureSdkRequest((endpoint) =>
      new SESClient(clientConfig(endpoint)).send(
        new SendEmailCommand({
          Source: 'sender@example.com',
          Destination: { ToAddresses: ['to@example.com'] },
          Message: { Subject: { Data: 'Hi & bye' }, Body: { Text: { Data: 'x+y = z' } } },
        }),
      ),
    );
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/');
    expect(req.body.toString()).toContain('Action=SendEmail');
    verify(req, { now: new Date(), expectedRegion: 'us-east-1' });
  });
});

describe('verifySignature rejects', () => {
  it('a wrong secret', async () => {
    const err = expectCode(() => verify(postJsonAws4(), { secret: `${SECRET}x` }), 'SignatureDoesNotMatch');
    expect(err.message).toBe(
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
    expectCode(() => verify(postJsonAws4(), { secret: 'x' }), 'SignatureDoesNotMatch');
  });

  it('a tampered body, same headers (signature path: no x-amz-content-sha256)', () => {
    const req = postJsonAws4();
    expectCode(() => verify({ ...req, body: Buffer.from(JSON_BODY.replace('hi', 'ho')) }), 'SignatureDoesNotMatch');
  });

  it('a tampered body, same headers (x-amz-content-sha256 no longer matches)', async () => {
    const req = await postJsonSmithy();
    const err = expectCode(
      () => verify({ ...req, body: Buffer.from(JSON_BODY.replace('hi', 'ho')) }),
      'SignatureDoesNotMatch',
    );
    expect(err.message).toMatch(/x-amz-content-sha256/);
  });

  it('UNSIGNED-PAYLOAD outside s3', async () => {
    const req = await signSmithy({
      method: 'POST',
      path: '/v2/email/outbound-emails',
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      body: JSON_BODY,
    });
    expectCode(() => verify(req), 'SignatureDoesNotMatch');
  });

  it('a tampered path', async () => {
    const req = await signSmithy({ method: 'GET', path: '/v2/email/identities/user%40example.com' });
    verify(req);
    expectCode(() => verify({ ...req, path: '/v2/email/identities/evil%40example.com' }), 'SignatureDoesNotMatch');
    // Decoded vs encoded is a different canonical URI, so it must not verify either.
    expectCode(() => verify({ ...req, path: '/v2/email/identities/user@example.com' }), 'SignatureDoesNotMatch');
  });

  it('a tampered query string', async () => {
    const req = await signSmithy({ method: 'GET', path: '/v2/email/identities', query: { PageSize: '10' } });
    verify(req);
    expectCode(() => verify({ ...req, query: 'PageSize=1000' }), 'SignatureDoesNotMatch');
    expectCode(() => verify({ ...req, query: 'PageSize=10&NextToken=x' }), 'SignatureDoesNotMatch');
  });

  it('a tampered signed header', async () => {
    const req = await postJsonSmithy();
    expect(parseAuthorization(req).signedHeaders).toContain('content-type');
    expectCode(() => verify(withHeaders(req, { 'content-type': 'text/plain' })), 'SignatureDoesNotMatch');
    expectCode(() => verify(withHeaders(req, { host: 'evil.example.com' })), 'SignatureDoesNotMatch');
  });

  it('a truncated signature (length differs)', async () => {
    const req = await postJsonSmithy();
    const auth = req.headers['authorization'] as string;
    expectCode(() => verify(withHeaders(req, { authorization: auth.slice(0, -2) })), 'SignatureDoesNotMatch');
  });

  it('an x-amz-date 16 minutes old', () => {
    const err = expectCode(
      () => verify(postJsonAws4(), { now: new Date(SIGNED_AT.getTime() + 16 * MIN) }),
      'SignatureDoesNotMatch',
    );
    expect(err.message).toBe(
      'Signature expired: 20261128T100000Z is now earlier than 20261128T100100Z (20261128T101600Z - 15 min.)',
    );
  });

  it('an x-amz-date 16 minutes in the future', async () => {
    const req = await postJsonSmithy();
    const err = expectCode(
      () => verify(req, { now: new Date(SIGNED_AT.getTime() - 16 * MIN) }),
      'SignatureDoesNotMatch',
    );
    expect(err.message).toBe(
      'Signature not yet current: 20261128T100000Z is still later than 20261128T095900Z (20261128T094400Z + 15 min.)',
    );
  });

  it('a credential scope date that differs from x-amz-date', () => {
    const req = withHeaders(postJsonAws4(), { 'x-amz-date': '20261129T000100Z' });
    const err = expectCode(() => verify(req, { now: new Date('2026-11-29T00:01:00Z') }), 'SignatureDoesNotMatch');
    expect(err.message).toMatch(/'20261128' != '20261129'/);
  });

  it('a wrong region when expectedRegion is set', async () => {
    const err = expectCode(() => verify(postJsonAws4(), { expectedRegion: 'eu-west-1' }), 'SignatureDoesNotMatch');
    expect(err.message).toBe('Credential should be scoped to a valid region. ');
  });
});

describe('parseAuthorization rejects', () => {
  const base = () => postJsonAws4();
  const auth = (req: SigV4Request) => req.headers['authorization'] as string;

  it('a request with no Authorization header', () => {
    const err = expectCode(
      () => parseAuthorization(withHeaders(base(), { authorization: undefined })),
      'MissingAuthenticationToken',
    );
    expect(err.message).toBe('Request is missing Authentication Token');
  });

  it('a garbage Authorization header', () => {
    expectCode(() => parseAuthorization(withHeaders(base(), { authorization: 'garbage' })), 'IncompleteSignature');
    expectCode(
      () => parseAuthorization(withHeaders(base(), { authorization: 'AWS4-HMAC-SHA256 garbage' })),
      'IncompleteSignature',
    );
  });

  it('a different algorithm', () => {
    const req = base();
    const swapped = auth(req).replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512');
    expectCode(() => parseAuthorization(withHeaders(req, { authorization: swapped })), 'IncompleteSignature');
    expectCode(
      () => parseAuthorization(withHeaders(req, { authorization: 'AWS AKIDEXAMPLE:c2lnbmF0dXJl' })),
      'IncompleteSignature',
    );
  });

  it('missing Credential, SignedHeaders or Signature, naming each one', () => {
    const req = base();
    const params = auth(req).slice('AWS4-HMAC-SHA256 '.length).split(', ');
    expect(params).toHaveLength(3);
    for (const name of ['Credential', 'SignedHeaders', 'Signature']) {
      const stripped = `AWS4-HMAC-SHA256 ${params.filter((p) => !p.startsWith(`${name}=`)).join(', ')}`;
      const err = expectCode(
        () => parseAuthorization(withHeaders(req, { authorization: stripped })),
        'IncompleteSignature',
      );
      expect(err.message).toContain(`Authorization header requires '${name}' parameter.`);
    }
  });

  it('a credential scope of the wrong shape', () => {
    const req = base();
    for (const scope of [
      `${AKID}/20261128/us-east-1/ses`,
      `${AKID}/20261128/us-east-1/ses/aws4_request/extra`,
      `${AKID}/20261128/us-east-1/ses/aws5_request`,
      `${AKID}/2026-11-28/us-east-1/ses/aws4_request`,
      `/20261128/us-east-1/ses/aws4_request`,
    ]) {
      const bad = auth(req).replace(/Credential=[^,]*/, `Credential=${scope}`);
      expectCode(() => parseAuthorization(withHeaders(req, { authorization: bad })), 'IncompleteSignature');
    }
  });

  it("SignedHeaders without 'host'", () => {
    const req = base();
    const bad = auth(req).replace(/SignedHeaders=[^,]*/, 'SignedHeaders=content-type;x-amz-date');
    const err = expectCode(() => parseAuthorization(withHeaders(req, { authorization: bad })), 'IncompleteSignature');
    expect(err.message).toMatch(/Host/);
  });

  it('no x-amz-date and no date header', () => {
    const err = expectCode(
      () => parseAuthorization(withHeaders(base(), { 'x-amz-date': undefined })),
      'IncompleteSignature',
    );
    expect(err.message).toMatch(/X-Amz-Date/);
  });

  it('a malformed x-amz-date', () => {
    for (const d of ['2026-11-28T10:00:00Z', '20261328T100000Z', '20261128T100000']) {
      expectCode(() => parseAuthorization(withHeaders(base(), { 'x-amz-date': d })), 'IncompleteSignature');
    }
  });
});
