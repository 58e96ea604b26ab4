/**
 * Group commit: every caller waits for the transaction that holds its items, and all items that
 * arrive while a commit is in flight share the next one — one disk flush for many requests, and
 * never a reply before the commit (ARCHITECTURE "Durability by group commit"). Enqueues (accepted
 * messages) and delivery completions (outcomes with their events) each go through one.
 */
import type { EnqueueItem, QueueRepository } from '../../storage/ports.ts';

interface Pending<T> {
  items: T[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Collects items from many callers and commits them together with `commit`. */
export class GroupCommit<T> {
  private pending: Array<Pending<T>> = [];
  private running: Promise<void> | undefined;
  private readonly listeners: Array<() => void> = [];
  /** Batches committed and items in them, for metrics. */
  readonly stats = { batches: 0, items: 0 };

  /**
   * @param commit writes the items in one transaction; all or nothing
   * @param maxBatch items per transaction at most (one caller's items are never split)
   */
  constructor(
    private readonly commit: (items: T[]) => Promise<unknown>,
    private readonly maxBatch = 500,
  ) {}

  /** Resolves once all of `items` are durably committed (together); rejects if they were not (nothing of them is stored). */
  submit(items: T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      if (!this.running) this.running = this.drain();
    });
  }

  /** Called after each successful commit. */
  onCommit(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Waits until everything handed in so far is committed or failed. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private take(): Array<Pending<T>> {
    let n = 0;
    let k = 0;
    while (k < this.pending.length && (k === 0 || n + this.pending[k]!.items.length <= this.maxBatch)) n += this.pending[k++]!.items.length;
    return this.pending.splice(0, k);
  }

  private async drain(): Promise<void> {
    // Let callers arriving in this tick join the first batch.
    await new Promise((r) => setImmediate(r));
    while (this.pending.length > 0) {
      const batch = this.take();
      const items = batch.flatMap((p) => p.items);
      try {
        await this.commit(items);
        this.stats.batches++;
        this.stats.items += items.length;
        for (const p of batch) p.resolve();
      } catch (err) {
        if (batch.length === 1) {
          batch[0]!.reject(err);
          continue;
        }
        // One caller's bad items must not fail its neighbours: retry the callers one by one.
        for (const p of batch) {
          try {
            await this.commit(p.items);
            p.resolve();
          } catch (e) {
            p.reject(e);
          }
        }
      }
      for (const l of this.listeners) l();
    }
    this.running = undefined;
  }
}

/** The group commit of accepted messages into the queue. */
export class CommitBatcher extends GroupCommit<EnqueueItem> {
  constructor(queue: QueueRepository, maxBatch = 500) {
    super((items) => queue.enqueue(items), maxBatch);
  }

  /** Resolves once `item` is durably committed; rejects if its batch failed (nothing of it is stored). */
  enqueue(item: EnqueueItem): Promise<void> {
    return this.submit([item]);
  }
}
