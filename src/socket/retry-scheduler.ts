import { fullJitterDelayMs, type BackoffOptions } from './backoff'

/** How the next attempt is timed after a connection ends (see close-policy.ts). */
export type RetryKind = 'backoff' | 'now' | 'rate-limited'

export interface RetrySchedulerOptions extends BackoffOptions {
  rateLimitedDelayMs: number
  random: () => number
  now: () => number
}

/**
 * The reconnect clock: the count of consecutive failures, the delay each one earns, the
 * 4429 floor, and the one timer of the next attempt.
 */
export class RetryScheduler {
  private failures = 0
  private immediateUsed = false
  private notBefore = 0
  private timer: ReturnType<typeof setTimeout> | null = null
  private at: number | null = null

  constructor(private readonly options: RetrySchedulerOptions) {}

  /** Consecutive failed connections since the last one that stayed up minUptimeMs. */
  get attempt(): number {
    return this.failures
  }

  /** Epoch ms of the armed attempt, or null. */
  get nextRetryAt(): number | null {
    return this.at
  }

  /**
   * Counts a failure and returns the wait before the next attempt: failure n (1-based) waits
   * random(0, min(cap, base·2^(n−1))). `now` waits 0 once; if the connection after it also
   * fails before becoming stable, the backoff applies (a server cannot make the client spin).
   * `rate-limited` adds rateLimitedDelayMs and sets a floor that signals cannot jump.
   */
  failed(kind: RetryKind): number {
    const previous = this.failures
    this.failures = previous + 1
    let delayMs: number
    if (kind === 'now' && !this.immediateUsed) {
      this.immediateUsed = true
      delayMs = 0
    } else {
      delayMs = fullJitterDelayMs(previous, this.options, this.options.random)
    }
    if (kind === 'rate-limited') {
      delayMs += this.options.rateLimitedDelayMs
      this.notBefore = this.options.now() + this.options.rateLimitedDelayMs
    }
    return delayMs
  }

  /** Counts a failure that is retried by other rules (a distrusted socket, a 4401). */
  countFailure(): void {
    this.failures++
  }

  /** The connection stayed up minUptimeMs: backoff starts over. */
  stable(): void {
    this.failures = 0
    this.immediateUsed = false
  }

  /** Milliseconds until the 4429 floor allows an attempt; 0 when it does now. */
  floorRemainingMs(): number {
    return Math.max(0, this.notBefore - this.options.now())
  }

  /** Runs `attempt` after `delayMs`, replacing any armed timer. */
  arm(delayMs: number, attempt: () => void): void {
    this.cancel()
    this.at = this.options.now() + delayMs
    this.timer = setTimeout(() => {
      this.timer = null
      this.at = null
      attempt()
    }, delayMs)
  }

  /** Disarms the timer, if any. */
  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.at = null
  }
}
