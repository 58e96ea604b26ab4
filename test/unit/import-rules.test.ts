/**
 * The layering of ARCHITECTURE.md, enforced: front ends import core's index, lib, config and
 * observability, never storage or another front end; core never imports a backend, a front end or
 * main; only main wires concrete things; no SQL outside storage.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) {
    const spec = m[1] ?? m[2]!;
    if (spec.startsWith('.')) out.push(relative(root, resolve(dirname(file), spec)));
  }
  return out;
}

const all = files(root).map((f) => ({ file: relative(root, f), imports: imports(f), text: readFileSync(f, 'utf8') }));

describe('import rules', () => {
  it('front ends reach core only through core/index.ts and never storage or another front end', () => {
    const bad: string[] = [];
    for (const f of all.filter((x) => x.file.startsWith('frontends/'))) {
      const own = f.file.split('/').slice(0, 2).join('/');
      for (const i of f.imports) {
        if (i.startsWith('storage/') || (i.startsWith('core/') && i !== 'core/index.ts') || i.startsWith('main/')) bad.push(`${f.file} -> ${i}`);
        if (i.startsWith('frontends/') && !i.startsWith(`${own}/`)) bad.push(`${f.file} -> ${i}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('core imports only storage/ports.ts, lib, observability and itself', () => {
    const bad: string[] = [];
    for (const f of all.filter((x) => x.file.startsWith('core/'))) {
      for (const i of f.imports) {
        const ok = i.startsWith('core/') || i.startsWith('lib/') || i.startsWith('observability/') || i === 'storage/ports.ts';
        if (!ok) bad.push(`${f.file} -> ${i}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('lib has no domain knowledge (imports nothing of ours but lib)', () => {
    const bad = all.filter((x) => x.file.startsWith('lib/')).flatMap((f) => f.imports.filter((i) => !i.startsWith('lib/')).map((i) => `${f.file} -> ${i}`));
    expect(bad).toEqual([]);
  });

  it('only main and storage pick concrete backends', () => {
    const bad = all
      .filter((x) => !x.file.startsWith('main/') && !x.file.startsWith('storage/'))
      .flatMap((f) => f.imports.filter((i) => /^storage\/(sqlite|postgres|sql|open)/.test(i)).map((i) => `${f.file} -> ${i}`));
    expect(bad).toEqual([]);
  });

  it('keeps SQL inside storage', () => {
    const bad = all
      .filter((x) => !x.file.startsWith('storage/'))
      .filter((f) => /from\s+'(kysely|pg|better-sqlite3)'/.test(f.text))
      .map((f) => f.file);
    expect(bad).toEqual([]);
  });
});
