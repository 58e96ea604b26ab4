/**
 * The independent DKIM verifier of the tests: dkimpy (Debian's python3-dkim, installed by .ci/run)
 * checks a message against the TXT records Sesame told the user to publish. Outside CI a machine
 * without dkimpy skips the check; in CI its absence is an error, so the check can never silently vanish.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestServer } from './server.ts';

const SCRIPT = fileURLToPath(new URL('./dkim_verify.py', import.meta.url));

/** Whether dkimpy can run here. */
export const HAVE_DKIMPY =
  existsSync('/usr/bin/python3') &&
  (() => {
    try {
      execFileSync('/usr/bin/python3', ['-c', 'import dkim'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

if (!HAVE_DKIMPY && process.env.CI) throw new Error('CI needs dkimpy (apt-get install python3-dkim): DKIM checks must not be skipped');

/**
 * Verifies every DKIM-Signature of `raw` with the TXT records of `domain` (or of each domain) as `sesame dns` lists them.
 * Returns dkimpy's report (`d=… s=… pass`, `signatures=N`); throws when a signature fails.
 */
export async function dkimVerify(server: TestServer, domain: string | string[], raw: Buffer): Promise<string> {
  const records: Record<string, string> = {};
  for (const d of typeof domain === 'string' ? [domain] : domain) {
    for (const r of await server.instance.core.identities.dnsRecords(server.instance.config.accountId, d)) if (r.type === 'TXT') records[r.name] = r.value;
  }
  return execFileSync('/usr/bin/python3', [SCRIPT, JSON.stringify(records)], { input: raw, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}
