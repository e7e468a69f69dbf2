/** Reconnect delays: exponential backoff with full jitter (PROTOCOL.md, "Reconnecting"). */

export interface BackoffOptions {
  backoffBaseMs: number
  backoffCapMs: number
}

/** The largest delay for `attempt` (0-based): min(cap, base · 2^attempt). */
export function backoffCeilingMs(attempt: number, options: BackoffOptions): number {
  const exponent = Math.max(0, Math.floor(attempt))
  // 2^31 · base overflows nothing in doubles, but the cap is reached long before.
  if (exponent >= 31) return options.backoffCapMs
  return Math.min(options.backoffCapMs, options.backoffBaseMs * 2 ** exponent)
}

/** A delay in [0, backoffCeilingMs(attempt)], uniformly drawn with `random` (values in [0, 1)). */
export function fullJitterDelayMs(attempt: number, options: BackoffOptions, random: () => number): number {
  const ceiling = backoffCeilingMs(attempt, options)
  const draw = random()
  const unit = Number.isFinite(draw) ? Math.min(1, Math.max(0, draw)) : 0
  return Math.min(ceiling, Math.floor(unit * (ceiling + 1)))
}
