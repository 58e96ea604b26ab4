/** Says, once per run, which suites the environment skips (PostgreSQL without SESAME_TEST_DATABASE_URL). */
export default function setup(): void {
  if (!process.env.SESAME_TEST_DATABASE_URL) {
    process.stdout.write(
      '\n[sesame] SESAME_TEST_DATABASE_URL is not set: the PostgreSQL variants of the storage, identity and auth suites are SKIPPED.\n' +
        '[sesame] To run them: SESAME_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm test\n\n',
    );
  }
}
