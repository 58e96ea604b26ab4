/**
 * A background worker's loop: run a pass; when it found a full batch run the next at once, otherwise
 * sleep until woken or `idleMs` passes. A wake that arrives during a pass is kept, so work committed
 * while a pass runs is never left for the idle timer.
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
   */
  constructor(
    private readonly pass: () => Promise<boolean>,
    private readonly idleMs: number,
    private readonly onError: (err: unknown) => void,
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
    while (!this.stopped) {
      this.woken = false;
      let more = false;
      try {
        more = await this.pass();
      } catch (err) {
        this.onError(err);
      }
      if (this.stopped) break;
      if (more || this.woken) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.idleMs);
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }
}
