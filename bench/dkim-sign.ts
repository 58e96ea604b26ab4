/**
 * Rate of one DKIM signing thread (RSA-2048, 2 KB messages): `node --import tsx bench/dkim-sign.ts`.
 * Two workloads, 3,000 messages each after a warm-up: `sign` of a raw message, and `composeAndSign`
 * of SendEmail's Simple content (a text body with LF line breaks, as API clients send it), which is
 * what the thread does for every SendEmail. To compare two commits, run it in each checkout
 * (a `git worktree` of the other one) one after the other, twice.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createDkimSigner, type DkimSignatureSpec } from '../src/lib/dkim-sign.ts';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const signer = createDkimSigner(1);
const spec: DkimSignatureSpec[] = [{ signingDomain: 'b.test', selector: 's1', privateKey: pem, algorithm: 'rsa-sha256', canonicalization: 'relaxed/relaxed' }];
const raw = Buffer.from('From: a@b.test\r\nTo: c@d.test\r\nSubject: hi\r\n\r\n' + 'x'.repeat(2000) + '\r\n');
const text = `${'x'.repeat(60)}\n`.repeat(33);
const simple = () => ({ from: 'a@b.test', to: ['c@d.test'], subject: 'hi', text });

async function rate(what: string, one: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 300; i++) await one();
  const n = 3000;
  const t = performance.now();
  await Promise.all(Array.from({ length: n }, one));
  const ms = performance.now() - t;
  console.log(`${what}: ${((n / ms) * 1000).toFixed(0)} messages/s, ${((ms / n) * 1000).toFixed(0)} µs each (wall, one thread)`);
}

await rate('sign (raw, CRLF)', () => signer.sign(Buffer.from(raw), spec, new Date()));
await rate('composeAndSign (Simple text, LF)', () => signer.composeAndSign(simple(), spec, new Date()));
await signer.close();
