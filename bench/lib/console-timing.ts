/**
 * Times console API reads through HTTP with a session, as the console benches report them: each
 * case once to warm up, then 20 times; p50, p90 and max in a Markdown table, under 300 ms at p90
 * being the console's target (issue [console] Done-when 4).
 */

/** One row per case: `| name | results | p50 | p90 | max | under 300 ms |`, after the header rows. */
export async function timeConsoleReads(
  url: string,
  cookie: string,
  path: string,
  cases: Array<[string, Record<string, string>]>,
  firstColumn: string,
  log: (line: string) => void,
): Promise<string[]> {
  const rows = [`| ${firstColumn} | results | p50 ms | p90 ms | max ms | under 300 ms (p90) |`, '| --- | ---: | ---: | ---: | ---: | --- |'];
  for (const [name, query] of cases) {
    const ms: number[] = [];
    let results = 0;
    for (let k = 0; k < 21; k++) {
      const t = performance.now();
      const r = await fetch(`${url}${path}?${new URLSearchParams(query)}`, { headers: { cookie } });
      const body = (await r.json()) as { items?: unknown[]; message?: string };
      if (!r.ok) throw new Error(`${name}: ${r.status} ${body.message}`);
      if (k > 0) ms.push(performance.now() - t);
      results = body.items!.length;
    }
    ms.sort((a, b) => a - b);
    const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!;
    rows.push(`| ${name} | ${results} | ${q(0.5).toFixed(1)} | ${q(0.9).toFixed(1)} | ${ms.at(-1)!.toFixed(1)} | ${q(0.9) < 300 ? 'yes' : 'no'} |`);
    log(rows.at(-1)!);
  }
  return rows;
}

/** A results file name's time stamp: `2026-12-06-201203`. */
export function resultStamp(): string {
  return new Date().toISOString().replace(/:/g, '').replace('T', '-').slice(0, 17);
}
