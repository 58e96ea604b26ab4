/** Message rates as operators write them (`50/s`, `300/m`, `1000/h`), per destination domain. */

/**
 * Parses `SESAME_DOMAIN_RATE`: `50/s`, or `gmail.com=20/s,yahoo.com=300/m,*=100/s` (units s, m, h).
 * Throws with a message naming what is wrong.
 */
export function parseDomainRates(raw: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const domain = eq < 0 ? '*' : part.slice(0, eq).trim().toLowerCase();
    const value = eq < 0 ? part : part.slice(eq + 1).trim();
    const m = /^(\d+(?:\.\d+)?)\s*\/\s*(s|m|h)$/.exec(value);
    if (!m || Number(m[1]) <= 0) throw new Error(`"${value}" is not a rate: write it as N/s, N/m or N/h with N > 0`);
    if (domain !== '*' && !/^[a-z0-9.-]+$/.test(domain)) throw new Error(`"${domain}" is not a domain name`);
    if (domain in out) throw new Error(`${domain} is given twice`);
    out[domain] = Number(m[1]) / { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
  }
  if (Object.keys(out).length === 0) throw new Error('give at least one rate');
  return out;
}
