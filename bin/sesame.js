#!/usr/bin/env -S node --max-semi-space-size=4 --single-threaded-gc
// The `sesame` command. Sesame runs its TypeScript sources through tsx's loader (docs/adr/0002),
// so what `npm install` fetched is what runs: there is no build step to forget.
// --max-semi-space-size=4 (MB; V8's default is 16): a server's young generation need not grow to
// 3 × 16 MB under load. Measured on the §2 relay: peak RSS 352 -> 279 MB, throughput unchanged
// (docs/operations.md, "Memory"). --single-threaded-gc: each isolate collects its own garbage on
// its own thread, instead of calling V8's helper threads onto cores that main, the DKIM thread and
// the worker thread already share (ADR 0026: §5 p99 about halved, CPU per message 5 % lower).
// `node bin/sesame.js` without the flags runs too, with V8's defaults.
import { setFlagsFromString } from 'node:v8';
import { register } from 'tsx/esm/api';

// V8 lets the old generation grow to about 2.5 × what survived the last full collection before it
// collects again; under a steady load most of that is garbage promoted from the small young
// generation. 1.5 × keeps each isolate's heap (main, the worker thread, the DKIM threads) near its
// live size. It is a growth heuristic, not a limit: a heap that needs more still gets it. Set here,
// not on the first line, so that every way of starting this file gets it. Measured on a §2-like
// relay (bench/relay-memory.ts, 20,000 messages): peak RSS 330 -> 244 MB, msg/s unchanged.
setFlagsFromString('--heap-growing-percent=50');
register();
await import('../src/main/cli.ts');
