/**
 * The node's memory over one §2-like relay: a fresh Sesame child, N SendEmail requests (64 at a
 * time, as §2) to one destination domain on the bench sink, and every second the child's RSS and
 * peak RSS (/proc) beside main's V8 heap (its /metrics). Not a benchmark with a reference: a probe
 * for changes to memory settings, quicker than `npm run bench -- --only=2`.
 *
 *   node --import tsx bench/relay-memory.ts [messages=20000]
 *   SESAME_BENCH_CHILD_ENV='{"SESAME_WORKER_THREAD":"false"}' node --import tsx bench/relay-memory.ts
 */
import { TestDnsServer } from '../test/helpers/dns-server.ts';
import { fire, presignSendEmail, sendEmailJson, textBody } from './lib/load.ts';
import { memoryOf } from './lib/proc.ts';
import { BENCH_KEY, startSesameChild, verifySenderDomain } from './lib/sesame.ts';
import { startSink } from './lib/sink.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const N = Number(process.argv[2] ?? 20_000);
const MB = 2 ** 20;
const dns = await TestDnsServer.start();
dns.set('dest.bench.test', 'MX', [{ priority: 10, exchange: 'mx.dest.bench.test' }]);
dns.set('mx.dest.bench.test', 'A', ['127.0.0.1']);
const sink = await startSink();
const s = await startSesameChild({ dns, sinkPort: sink.port, extraEnv: JSON.parse(process.env.SESAME_BENCH_CHILD_ENV ?? '{}') as Record<string, string> });
try {
  await verifySenderDomain(s, dns, 'sender.bench.test', 'RSA_2048_BIT');
  const reqs = await presignSendEmail(BENCH_KEY, s.port, N, (i) => sendEmailJson('bench@sender.bench.test', `r${i}@dest.bench.test`, `m ${i}`, textBody(2_000, `m${i}`)));
  const heap = async () => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const g = (n: string) => (Number(new RegExp(`^sesame_${n}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / MB).toFixed(0);
    return `main heap used ${g('nodejs_heap_size_used_bytes')} of ${g('nodejs_heap_size_total_bytes')} MB, external ${g('nodejs_external_memory_bytes')} MB`;
  };
  const line = async () => {
    const m = memoryOf(s.pid)!;
    return `RSS ${(m.rss / MB).toFixed(0)} MB (peak ${(m.peak / MB).toFixed(0)}), ${await heap().catch(() => 'heap: /metrics did not answer')}`;
  };
  console.log(`before: ${await line()}`);
  const base = sink.count();
  const timer = setInterval(() => void line().then((l) => console.log(`at the sink ${sink.count() - base}: ${l}`)), 1_000);
  const t0 = performance.now();
  const load = await fire(s.port, reqs, 64);
  await sink.waitForCount(base + load.ok, 60_000 + N * 25);
  clearInterval(timer);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${load.ok} of ${N} accepted (${load.rate.toFixed(0)}/s, p99 ${load.p99ms.toFixed(1)} ms), all at the sink: ${(load.ok / seconds).toFixed(0)} msg/s end to end; peak RSS ${(memoryOf(s.pid)!.peak / MB).toFixed(0)} MB`);
} finally {
  await s.stop();
  await sink.close();
  await dns.close();
}
