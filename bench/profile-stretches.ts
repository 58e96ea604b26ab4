/**
 * Finds the longest stretches during which a thread never went idle, in a V8 CPU profile (`node
 * --cpu-prof`, e.g. from `npm run bench -- --only=5 --profile`), and says what filled them. A request
 * that arrives during such a stretch waits for its end, so these are what a latency p99 is made of
 * when the CPU on average has room to spare.
 *
 * Prints how many stretches reached each length, then the functions with the most self time inside
 * stretches of at least `min` ms (natives and Node internals charged to their nearest caller in a
 * package or in Sesame, as profile-summary.ts does), then the `top` longest stretches one by one.
 *
 * Usage: node --import tsx bench/profile-stretches.ts <file.cpuprofile> [min=10] [top=8]
 */
import { isCode, label, readProfile, type ProfileNode } from './profile-read.ts';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: profile-stretches.ts <file.cpuprofile> [min-ms=10] [top=8]\n');
  process.exit(2);
}
const minMs = Number(process.argv[3] ?? 10);
const top = Number(process.argv[4] ?? 8);
const { p, byId, parent } = readProfile(file);
const isIdle = (id: number) => byId.get(id)!.callFrame.functionName === '(idle)';

/** The sample's frame, or for natives and Node internals the nearest caller in a package or in Sesame. */
const chargedCache = new Map<number, string>();
function charged(id: number): string {
  const hit = chargedCache.get(id);
  if (hit !== undefined) return hit;
  const n = byId.get(id)!;
  let out = label(n);
  if (!isCode(n)) {
    for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
      const u: ProfileNode = byId.get(up)!;
      if (isCode(u)) {
        out = `${label(n)} ← ${label(u)}`;
        break;
      }
    }
  }
  chargedCache.set(id, out);
  return out;
}

/** The outermost frame below (root) of a sample: which callback the event loop was running. */
function entry(id: number): string {
  let cur = id;
  for (let up = parent.get(cur); up !== undefined && byId.get(up)!.callFrame.functionName !== '(root)'; up = parent.get(up)) cur = up;
  return label(byId.get(cur)!);
}

interface Stretch {
  startUs: number;
  us: number;
  samples: number[];
}
const stretches: Stretch[] = [];
let t = 0;
let cur: Stretch | undefined;
for (let i = 0; i < p.samples.length; i++) {
  t += p.timeDeltas[i] ?? 0;
  const id = p.samples[i]!;
  if (isIdle(id)) {
    if (cur) stretches.push(cur);
    cur = undefined;
    continue;
  }
  const d = p.timeDeltas[i + 1] ?? 0;
  cur ??= { startUs: t, us: 0, samples: [] };
  cur.us += d;
  cur.samples.push(i);
}
if (cur) stretches.push(cur);

const totalUs = t;
const busyUs = stretches.reduce((a, s) => a + s.us, 0);
process.stdout.write(`profile: ${(totalUs / 1e6).toFixed(1)} s, busy ${(busyUs / 1e6).toFixed(1)} s (${((busyUs / totalUs) * 100).toFixed(0)} %), ${stretches.length} busy stretches\n`);
for (const edge of [5, 10, 15, 20, 30, 50]) {
  const n = stretches.filter((s) => s.us >= edge * 1000);
  process.stdout.write(`  >= ${String(edge).padStart(2)} ms: ${String(n.length).padStart(6)} stretches, ${(n.reduce((a, s) => a + s.us, 0) / 1000).toFixed(0)} ms in them\n`);
}

const long = stretches.filter((s) => s.us >= minMs * 1000).sort((a, b) => b.us - a.us);
const selfIn = (ss: Stretch[], key: (id: number) => string) => {
  const m = new Map<string, number>();
  for (const s of ss) for (const i of s.samples) m.set(key(p.samples[i]!), (m.get(key(p.samples[i]!)) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
  return [...m.entries()].sort((a, b) => b[1] - a[1]);
};
const longUs = long.reduce((a, s) => a + s.us, 0);
process.stdout.write(`\nself time inside the ${long.length} stretches of >= ${minMs} ms (${(longUs / 1000).toFixed(0)} ms):\n`);
for (const [k, us] of selfIn(long, charged).slice(0, 30)) process.stdout.write(`  ${(us / 1000).toFixed(1).padStart(8)} ms ${((us / longUs) * 100).toFixed(1).padStart(5)} %  ${k}\n`);
process.stdout.write(`\nby entry callback inside them:\n`);
for (const [k, us] of selfIn(long, entry).slice(0, 15)) process.stdout.write(`  ${(us / 1000).toFixed(1).padStart(8)} ms ${((us / longUs) * 100).toFixed(1).padStart(5)} %  ${k}\n`);

for (const s of long.slice(0, top)) {
  process.stdout.write(`\nstretch at ${(s.startUs / 1e6).toFixed(3)} s: ${(s.us / 1000).toFixed(1)} ms\n`);
  for (const [k, us] of selfIn([s], charged).slice(0, 8)) process.stdout.write(`  ${(us / 1000).toFixed(1).padStart(6)} ms  ${k}\n`);
}
