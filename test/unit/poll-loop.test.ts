/**
 * The background workers' loop: passes on wake, on the idle timer, at once after a full batch, and
 * spaced by minIntervalMs. On a fake clock (timers and performance.now), so that a loaded machine
 * cannot make a pass late: `sleep` moves the clock and runs what falls due.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PollLoop } from '../../src/core/poll-loop.ts';

const sleep = (ms: number) => vi.advanceTimersByTimeAsync(ms);

describe('PollLoop', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs a pass at start, on each wake and on the idle timer', async () => {
    let passes = 0;
    const loop = new PollLoop(async () => (passes++, false), 200, () => {});
    loop.start();
    await sleep(20);
    expect(passes).toBe(1);
    loop.wake();
    await sleep(20);
    expect(passes).toBe(2);
    await sleep(250);
    expect(passes).toBe(3);
    await loop.stop();
  });

  it('keeps a wake that came during a pass', async () => {
    let passes = 0;
    let loop!: PollLoop;
    loop = new PollLoop(
      async () => {
        if (++passes === 1) loop.wake();
        return false;
      },
      10_000,
      () => {},
    );
    loop.start();
    await sleep(30);
    expect(passes).toBe(2);
    await loop.stop();
  });

  it('with minIntervalMs, turns many wakes into one pass per interval, but runs at once after a full batch', async () => {
    const starts: number[] = [];
    let full = 0;
    const loop = new PollLoop(async () => (starts.push(performance.now()), full-- > 0), 10_000, () => {}, 100);
    loop.start();
    await sleep(10);
    expect(starts).toHaveLength(1);
    for (let i = 0; i < 20; i++) {
      loop.wake();
      await sleep(2);
    }
    // 20 wakes over ~40 ms, within 100 ms of the first pass: none has run yet; then one pass for all.
    expect(starts).toHaveLength(1);
    await sleep(120);
    expect(starts).toHaveLength(2);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(99);
    // Full batches: the passes follow each other without the interval.
    full = 3;
    await sleep(100);
    loop.wake();
    await sleep(50);
    expect(starts).toHaveLength(6);
    expect(starts[5]! - starts[2]!).toBeLessThan(50);
    await loop.stop();
  });

  it('stops while it waits out the interval', async () => {
    let passes = 0;
    const loop = new PollLoop(async () => (passes++, false), 10_000, () => {}, 5_000);
    loop.start();
    await sleep(10);
    loop.wake();
    // The wake is taken: the loop now waits out the rest of the 5 s interval before its next pass.
    await sleep(1);
    expect(passes).toBe(1);
    // The stop ends that wait: it resolves without the clock moving.
    let stopped = false;
    void loop.stop().then(() => (stopped = true));
    await sleep(0);
    expect(stopped).toBe(true);
    expect(passes).toBe(1);
  });
});
