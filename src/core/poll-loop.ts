/**
 * A background worker's loop: run a pass; when it found a full batch run the next at once, otherwise
 * sleep until woken or `idleMs` passes. A wake that arrives during a pass is kept, so work committed
 * while a pass runs is never left for the idle timer. With `minIntervalMs`, passes that were asked
 * for by wakes start at least that long apart, so a stream of wakes (one per commit under load)
 * becomes fewer, fuller passes; a full batch still runs the next pass at once.
 */
export class PollLoop {
  private stopped = true;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;

  /**
   * @param pass one pass; returns true when more work is waiting (a full batch)
   * @param idleMs sleep between passes when nothing is waiting
   * @param onError a pass that threw (logged by the owner); the loop goes on
   * @param minIntervalMs least time from one pass's start to the next one's, when the next was asked for by a wake
   */
  constructor(
    private readonly pass: () => Promise<boolean>,
    private readonly idleMs: number,
    private readonly onError: (err: unknown) => void,
    private readonly minIntervalMs = 0,
  ) {}

  /** Starts the loop (no-op when running). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Asks for a pass now. */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }

  /** Stops after the current pass. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    let lastStart = -Infinity;
    let full = false;
    while (!this.stopped) {
      const wait = full ? 0 : lastStart + this.minIntervalMs - performance.now();
      if (wait > 0) await this.sleep(wait, false);
      if (this.stopped) break;
      lastStart = performance.now();
      this.woken = false;
      let more = false;
      try {
        more = await this.pass();
      } catch (err) {
        this.onError(err);
      }
      if (this.stopped) break;
      full = more;
      if (more || this.woken) continue;
      await this.sleep(this.idleMs, true);
    }
  }

  /** Sleeps `ms`; a wake ends the sleep early when `wakeable` (a stop always does). */
  private async sleep(ms: number, wakeable: boolean): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wakeUp = () => {
        if (wakeable || this.stopped) {
          clearTimeout(t);
          resolve();
        } else this.woken = true;
      };
    });
    this.wakeUp = undefined;
  }
}
