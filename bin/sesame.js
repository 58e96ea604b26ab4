#!/usr/bin/env -S node --max-semi-space-size=4
// The `sesame` command. Sesame runs its TypeScript sources through tsx's loader (docs/adr/0002),
// so what `npm install` fetched is what runs: there is no build step to forget.
// --max-semi-space-size=4 (MB; V8's default is 16): a server's young generation need not grow to
// 3 × 16 MB under load. Measured on the §2 relay: peak RSS 352 -> 279 MB, throughput unchanged
// (docs/operations.md, "Memory"). `node bin/sesame.js` without the flag runs too, with V8's default.
import { register } from 'tsx/esm/api';

register();
await import('../src/main/cli.ts');
