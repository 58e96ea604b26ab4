/**
 * Group commit: every accepted message waits for the transaction that holds it, and all messages
 * that arrive while a commit is in flight share the next one — one disk flush for many requests,
 * and never a reply before the commit (ARCHITECTURE "Durability by group commit").
 */
import type { EnqueueItem, QueueRepository } from '../../storage/ports.ts';

interface Pending {
  item: EnqueueItem;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Collects enqueue requests and commits them in batches. */
export class CommitBatcher {
  private pending: Pending[] = [];
  private running: Promise<void> | undefined;
  private readonly listeners: Array<() => void> = [];
  /** Batches committed and items in them, for metrics. */
  readonly stats = { batches: 0, items: 0 };

  constructor(
    private readonly queue: QueueRepository,
    private readonly maxBatch = 500,
  ) {}

  /** Resolves once `item` is durably committed; rejects if its batch failed (nothing of it is stored). */
  enqueue(item: EnqueueItem): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.running) this.running = this.drain();
    });
  }

  /** Called after each successful commit (the delivery worker wakes up). */
  onCommit(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Waits until everything handed in so far is committed or failed. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    // Let requests arriving in this tick join the first batch.
    await new Promise((r) => setImmediate(r));
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      try {
        await this.queue.enqueue(batch.map((p) => p.item));
        this.stats.batches++;
        this.stats.items += batch.length;
        for (const p of batch) p.resolve();
        for (const l of this.listeners) l();
      } catch (err) {
        if (batch.length === 1) {
          batch[0]!.reject(err);
          continue;
        }
        // One bad item must not fail its neighbours: retry them one by one.
        for (const p of batch) {
          try {
            await this.queue.enqueue([p.item]);
            p.resolve();
          } catch (e) {
            p.reject(e);
          }
        }
        for (const l of this.listeners) l();
      }
    }
    this.running = undefined;
  }
}
