/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, e.g. from `npm run bench -- --profile`): self time
 * by function and by source (Sesame's own files vs each package vs Node internals), and the inclusive
 * time of Sesame's own functions.
 * Usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [top=25]
 */
import { isCode, label, readProfile, source } from './profile-read.ts';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: profile-summary.ts <file.cpuprofile> [top]\n');
  process.exit(2);
}
const top = Number(process.argv[3] ?? 25);
const { p, byId, parent } = readProfile(file);

const self = new Map<number, number>();
for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const bySelf = new Map<string, number>();
const bySource = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  bySelf.set(label(n), (bySelf.get(label(n)) ?? 0) + t);
  const s = source(n.callFrame.url);
  const key = s.startsWith('src/') ? 'src (Sesame)' : s;
  bySource.set(key, (bySource.get(key) ?? 0) + t);
}

// Self time of natives and Node internals charged to the nearest caller in a package or in Sesame
// (so RSA signing shows under mailauth, SQLite's fsync under better-sqlite3/kysely).
const charged = new Map<string, number>();
for (const [id, t] of self) {
  let key = source(byId.get(id)!.callFrame.url);
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur)!;
    if (isCode(n)) {
      key = label(n);
      break;
    }
  }
  charged.set(key, (charged.get(key) ?? 0) + t);
}

// Inclusive time of Sesame's own functions: a sample counts once for each distinct own frame on its stack.
const incl = new Map<string, number>();
for (const [id, t] of self) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur)!;
    if (!/\/src\//.test(n.callFrame.url)) continue;
    const l = label(n);
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + t);
  }
}

const pct = (t: number) => `${((t / total) * 100).toFixed(1).padStart(5)} %`;
const print = (title: string, m: Map<string, number>, n: number) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, t] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)) process.stdout.write(`${pct(t)}  ${(t / 1000).toFixed(0).padStart(7)} ms  ${k}\n`);
};
process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled over ${((p.endTime - p.startTime) / 1e6).toFixed(2)} s\n`);
print('self time by source', bySource, top);
print('self time by function', bySelf, top);
print('self time charged to the nearest package or Sesame frame', charged, top);
print("inclusive time of Sesame's own functions (synchronous stacks only: time after an await is not under its caller)", incl, top);
