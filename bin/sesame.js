#!/usr/bin/env node
// The `sesame` command. Sesame runs its TypeScript sources through tsx's loader (docs/adr/0002),
// so what `npm install` fetched is what runs: there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
await import('../src/main/cli.ts');
