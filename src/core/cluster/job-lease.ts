/**
 * An installation-wide job lease: periodic work that must run once per installation, not once per
 * node (identity verification's DNS checks), runs on the node that holds the job's lease. Every node
 * asks for it on each tick; the holder's ask renews it, the others' asks fail until it expires (its
 * holder died) or is released (its holder shut down). The lease lasts three heartbeat intervals, the
 * same time after which `sesame nodes` calls its holder down. Queue and webhook delivery need no such
 * lease: they share their work row by row through their own leases.
 */
import type { Logger } from '../../observability/logger.ts';
import type { JobLeaseRepository } from '../../storage/ports.ts';
import type { Clock } from '../clock.ts';

/** Job name of the identity verification pass (DKIM, v1 token and MAIL FROM DNS checks). */
export const VERIFICATION_JOB = 'identity-verification';

/** One job's lease as seen from this node. */
export class JobLease {
  private holding = false;
  private heldUntil = 0;
  private renewedAt = 0;

  /**
   * @param job the job's name (one row per job)
   * @param owner this node's id
   * @param ttlMs how long one take or renewal holds the lease
   */
  constructor(
    private readonly leases: JobLeaseRepository,
    private readonly clock: Clock,
    private readonly logger: Logger,
    readonly job: string,
    readonly owner: string,
    readonly ttlMs: number,
  ) {}

  /** Whether this node held the lease at its last take or renewal, and that has not run out. */
  get held(): boolean {
    return this.holding && this.clock.now() < this.heldUntil;
  }

  /** Takes the lease, or renews it when this node holds it; true when this node holds it now. */
  async acquire(): Promise<boolean> {
    const now = this.clock.now();
    let ok: boolean;
    try {
      ok = await this.leases.acquire(this.job, this.owner, now, this.ttlMs);
    } catch (err) {
      // Without an answer this node cannot know it still holds the lease: it stops the job's work.
      this.holding = false;
      throw err;
    }
    if (ok && !this.holding) {
      this.logger.info({ code: 'JOB_LEASE_ACQUIRED', job: this.job, node: this.owner }, `this node now runs ${this.job} for the installation`);
    } else if (!ok && this.holding) {
      this.logger.warn({ code: 'JOB_LEASE_LOST', job: this.job, node: this.owner }, `another node took over ${this.job}: this node did not renew its lease in time`);
    }
    this.holding = ok;
    this.heldUntil = ok ? now + this.ttlMs : 0;
    this.renewedAt = now;
    return ok;
  }

  /**
   * For long passes: renews the lease once a third of its time has passed since the last renewal, so
   * that it never runs out while the holder works. False when the lease is not (or no longer) held.
   */
  async keep(): Promise<boolean> {
    if (!this.holding) return false;
    if (this.clock.now() - this.renewedAt < this.ttlMs / 3) return this.held;
    return this.acquire();
  }

  /** Gives the lease up (clean shutdown), so another node takes the job at its next tick. */
  async release(): Promise<void> {
    if (!this.holding) return;
    this.holding = false;
    this.heldUntil = 0;
    await this.leases.release(this.job, this.owner);
  }
}
