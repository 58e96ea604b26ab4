/**
 * Group commit: every caller waits for the transaction that holds its items, and all items that
 * arrive while a commit is in flight share the next one — one disk flush for many requests, and
 * never a reply before the commit (ARCHITECTURE "Durability by group commit"). Enqueues (accepted
 * messages) and delivery completions (outcomes with their events) each go through one.
 */
import type { EnqueueItem, QueueRepository, Storage } from '../../storage/ports.ts';

/**
 * How many group commits may be in flight at once on a backend. SQLite: 2, one batch is written
 * while the one before is flushed (its one connection serialises the writes, so two commits never
 * interleave). PostgreSQL: 1, since two concurrent transactions upserting the same counter rows in
 * different orders could deadlock.
 */
export function commitDepth(storage: Pick<Storage, 'kind'>): number {
  return storage.kind === 'sqlite' ? 2 : 1;
}

interface Pending<T> {
  items: T[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Collects items from many callers and commits them together with `commit`. Up to `depth` commits
 * run at once: the next batch is written while the one before waits for its disk flush (a
 * storage's commit resolves only once its transaction is durable), so a flush does not hold up
 * the writes queued behind it.
 */
export class GroupCommit<T> {
  private pending: Array<Pending<T>> = [];
  /** The drains running now, at most `depth`. */
  private readonly running = new Set<Promise<void>>();
  private readonly listeners: Array<() => void> = [];
  /** Batches committed and items in them, for metrics. */
  readonly stats = { batches: 0, items: 0 };

  /**
   * @param commit writes the items in one transaction; all or nothing
   * @param maxBatch items per transaction at most (one caller's items are never split)
   * @param depth commits in flight at most
   * @param lingerMs how long a batch waits for more items before its commit starts (0: only the
   *   callers of the same tick join it); for callers that are not waiting on a user's reply
   */
  constructor(
    private readonly commit: (items: T[]) => Promise<unknown>,
    private readonly maxBatch = 500,
    private readonly depth = 1,
    private readonly lingerMs = 0,
  ) {}

  /** Resolves once all of `items` are durably committed (together); rejects if they were not (nothing of them is stored). */
  submit(items: T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      // A new drain starts only when none is running, or when every running one is committing (none is left to pick these items up).
      if (this.running.size === 0 || (this.running.size < this.depth && this.idleDrains === 0)) {
        const d: Promise<void> = this.drain().finally(() => this.running.delete(d));
        this.running.add(d);
      }
    });
  }

  /** Called after each successful commit. */
  onCommit(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Waits until everything handed in so far is committed or failed. */
  async flush(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  /** Drains that are waiting to take a batch (not committing). */
  private idleDrains = 0;

  private take(): Array<Pending<T>> {
    let n = 0;
    let k = 0;
    while (k < this.pending.length && (k === 0 || n + this.pending[k]!.items.length <= this.maxBatch)) n += this.pending[k++]!.items.length;
    return this.pending.splice(0, k);
  }

  private async drain(): Promise<void> {
    // Let callers arriving in this tick (or within lingerMs) join the first batch.
    this.idleDrains++;
    await new Promise((r) => (this.lingerMs > 0 ? setTimeout(r, this.lingerMs) : setImmediate(r)));
    this.idleDrains--;
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
  }
}

/** The group commit of accepted messages into the queue. */
export class CommitBatcher extends GroupCommit<EnqueueItem> {
  constructor(queue: QueueRepository, maxBatch = 500, depth = 1) {
    super((items) => queue.enqueue(items), maxBatch, depth);
  }

  /** Resolves once `item` is durably committed; rejects if its batch failed (nothing of it is stored). */
  enqueue(item: EnqueueItem): Promise<void> {
    return this.submit([item]);
  }
}
