/**
 * The HTTP ceiling reference of BENCHMARKS §1: a minimal Fastify route on the same Node that verifies
 * SigV4 with Sesame's own verifier (src/lib/sigv4.ts) and answers a constant SendEmail reply. It
 * reads bodies as raw buffers exactly as Sesame does (the signature hashes the bytes). Run as a child
 * process: `node --import tsx bench/http-ceiling.ts`; it prints `{"port":N}` once listening.
 * Environment: BENCH_ACCESS_KEY_ID, BENCH_SECRET_ACCESS_KEY, BENCH_REGION.
 */
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { parseAuthorization, verifySignature } from '../src/lib/sigv4.ts';

const accessKeyId = process.env.BENCH_ACCESS_KEY_ID ?? '';
const secret = process.env.BENCH_SECRET_ACCESS_KEY ?? '';
const region = process.env.BENCH_REGION ?? 'us-east-1';
const REPLY = JSON.stringify({ MessageId: '0100000000000000-00000000-0000-0000-0000-000000000000-000000' });

const app = Fastify({ logger: false, bodyLimit: 56 * 1024 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.post('/v2/email/outbound-emails', async (req, reply) => {
  const q = req.url.indexOf('?');
  const sreq = {
    method: req.method,
    path: q < 0 ? req.url : req.url.slice(0, q),
    query: q < 0 ? '' : req.url.slice(q + 1),
    headers: req.headers,
    body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
  };
  try {
    const auth = parseAuthorization(sreq);
    if (auth.accessKeyId !== accessKeyId) throw new Error('unknown key');
    verifySignature(sreq, auth, secret, { now: new Date(), expectedRegion: region });
  } catch (err) {
    return reply.status(403).header('content-type', 'application/json').send(JSON.stringify({ message: (err as Error).message }));
  }
  return reply.status(200).header('content-type', 'application/json').send(REPLY);
});
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ port: (app.server.address() as AddressInfo).port })}\n`);
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
