/** A token bucket for MaxSendRate: `rate` tokens per second, bursting to one second's worth. */
export class RateLimiter {
  private tokens: number;
  private last = 0;

  constructor(readonly rate: number) {
    this.tokens = rate;
  }

  /** Takes `n` tokens at time `now` (ms) if available. */
  take(n: number, now: number): boolean {
    if (this.last > 0) this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    // A single message larger than the burst still goes once the bucket is full.
    if (this.tokens >= Math.min(n, this.rate)) {
      this.tokens -= n;
      return true;
    }
    return false;
  }
}
