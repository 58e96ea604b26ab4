/**
 * The short fuzz run of CI (BENCHMARKS R3): every in-process target replays its corpus and runs a
 * few hundred generated cases with a fixed seed (SESAME_FUZZ_SEED changes it, SESAME_FUZZ_CASES
 * the count). The long run is `npm run fuzz` (scripts/fuzz.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { fuzz } from './runner.ts';
import { apiSendTarget, smtpSessionTarget } from './server-targets.ts';
import { TARGETS, type FuzzTarget } from './targets.ts';

const CASES = Number(process.env.SESAME_FUZZ_CASES ?? 400);
const SEED = Number(process.env.SESAME_FUZZ_SEED ?? 20261201);

describe('fuzzing (short run)', () => {
  it.each(TARGETS.map((t) => [t.name, t] as const))('%s holds its property for the corpus and generated cases', async (_name, target) => {
    // Expensive targets (weight below 1) run a share of the cases, at least 20.
    const cases = Math.max(20, Math.round(CASES * Math.min(1, target.weight)));
    const r = await fuzz(target, { cases, seed: SEED });
    expect(r.failure, `seed ${r.seed}: ${JSON.stringify(r.failure)}`).toBeUndefined();
    expect(r.cases).toBe(cases);
  }, 120_000);
});

describe('fuzzing the whole server (short run)', () => {
  let fixture: SendingFixture;
  beforeAll(async () => {
    fixture = await startSendingFixture({ env: { SESAME_SMTP_MAX_CONNECTIONS_PER_IP: '100' } });
  });
  afterAll(() => fixture?.close());

  it.each(['api-send', 'smtp-session'])('%s holds its property, and the server stays healthy', async (name) => {
    const target = (name === 'api-send' ? apiSendTarget : smtpSessionTarget)(fixture.server) as FuzzTarget;
    const cases = Math.max(20, Math.round(CASES / 8));
    const r = await fuzz(target, { cases, seed: SEED });
    expect(r.failure, `seed ${r.seed}: ${JSON.stringify(r.failure)}`).toBeUndefined();
    expect(r.cases).toBe(cases);
    expect((await fetch(`${fixture.server.url}/health`)).status).toBe(200);
  }, 180_000);
});
