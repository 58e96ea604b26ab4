/** Reading Linux's /proc stat files, for the tests and the benchmarks. */
import { readFileSync } from 'node:fs';

/**
 * Fields of a stat file (`/proc/<pid>/stat`, `/proc/<pid>/task/<tid>/stat`) after the command name,
 * whatever that name holds (index 0 = field 3, "state"); undefined once the process or thread is gone.
 */
export function procStatFields(file: string): string[] | undefined {
  try {
    const s = readFileSync(file, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
