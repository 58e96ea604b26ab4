import { existsSync } from 'node:fs';

/** Says, once per run, which suites the environment skips (PostgreSQL without SESAME_TEST_DATABASE_URL, the browser tests without Chromium). */
export default function setup(): void {
  if (!existsSync(process.env.SESAME_TEST_CHROMIUM ?? '/usr/bin/chromium')) {
    process.stdout.write(
      '\n[sesame] Chromium is not installed (/usr/bin/chromium, or SESAME_TEST_CHROMIUM): the web console browser tests are SKIPPED.\n' +
        '[sesame] To run them: apt-get install chromium (.ci/run does)\n\n',
    );
  }
  if (!process.env.SESAME_TEST_DATABASE_URL) {
    process.stdout.write(
      '\n[sesame] SESAME_TEST_DATABASE_URL is not set: the PostgreSQL variants of the storage, identity and auth suites are SKIPPED.\n' +
        '[sesame] To run them: SESAME_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm test\n\n',
    );
  }
}
