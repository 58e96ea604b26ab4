/**
 * Signing rate of one DKIM signing thread (RSA-2048, 2 KB messages): `node --import tsx bench/dkim-sign.ts`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createDkimSigner } from '../src/lib/dkim-sign.ts';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const signer = createDkimSigner(1);
const msg = Buffer.from('From: a@b.test\r\nTo: c@d.test\r\nSubject: hi\r\n\r\n' + 'x'.repeat(2000) + '\r\n');
const spec = [{ signingDomain: 'b.test', selector: 's1', privateKey: pem, algorithm: 'rsa-sha256', canonicalization: 'relaxed/relaxed' }];
for (let i = 0; i < 300; i++) await signer.sign(Buffer.from(msg), spec as never, new Date());
const n = 3000; const t = performance.now(); const cpu0 = process.cpuUsage();
await Promise.all(Array.from({ length: n }, () => signer.sign(Buffer.from(msg), spec as never, new Date())));
const ms = performance.now() - t;
console.log(`${(n / ms * 1000).toFixed(0)} signatures/s, ${(ms / n * 1000).toFixed(0)} µs each (wall, one thread)`);
await signer.close();
