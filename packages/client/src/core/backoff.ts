/**
 * Reconnect waits (PROTOCOL.md "Reconnecting" allows a schedule other than full jitter that
 * keeps jitter and at most 14 attempts in any 20 s of failures, and measures better).
 *
 * Ours: slots at one random phase per failure streak. Time after the first failure is cut into
 * slots of width min(cap, base · 2^n) — 0.5, 1, 2, 4, 5, 5, … s by default — and attempt n
 * happens at the same fraction `phase` (drawn once per streak, uniform in [0, 1)) of slot n.
 * - Clients spread as widely as full jitter spreads them: across clients, attempt n is
 *   uniform over its slot.
 * - No attempt is wasted on jitter: at the cap one client's attempts are exactly `cap` apart.
 *   A server coming back at a random moment waits on average half a gap for the next attempt,
 *   where full jitter (random gaps of the same mean) makes it wait two thirds of one.
 * - Fewest gaps in any 20 s: 0, 0.5, 1, 2, 4, 5, 5 s, so at most 8 attempts (7 plus the one
 *   reconnect-at-once of a 4000/4409) where PROTOCOL.md allows 14.
 * bench/RESULTS.md "Recovery" has the measurement against full jitter and the peers.
 */

export interface BackoffOptions {
  /** Width of the first slot: the first retry after a failure waits random(0, backoffBaseMs). */
  backoffBaseMs: number
  /** Widest slot: attempts of a long outage are this far apart. */
  backoffCapMs: number
}

/** Width of slot `slot` (0-based): min(cap, base · 2^slot). */
export function backoffSlotMs(slot: number, options: BackoffOptions): number {
  const exponent = Math.max(0, Math.floor(slot))
  // 2^31 · base overflows nothing in doubles, but the cap is reached long before.
  if (exponent >= 31) return options.backoffCapMs
  return Math.min(options.backoffCapMs, options.backoffBaseMs * 2 ** exponent)
}

/**
 * The wait after failure number `failures` (0 for the first failure of a streak) at `phase`:
 * from the phase point of the slot before to the phase point of this one, so attempts land at
 * `phase` of every slot. Between 0 and backoffBaseMs for the first, between the two slots'
 * widths afterwards. A phase outside [0, 1) (a misbehaving random source) is clamped.
 */
export function slotDelayMs(failures: number, phase: number, options: BackoffOptions): number {
  const at = unitInterval(phase)
  const n = Math.max(0, Math.floor(failures))
  const delay = n === 0 ? at * backoffSlotMs(0, options) : (1 - at) * backoffSlotMs(n - 1, options) + at * backoffSlotMs(n, options)
  return Math.floor(delay)
}

/** A draw of `random` as a phase in [0, 1); anything that is not a finite number is 0. */
export function unitInterval(draw: number): number {
  if (!Number.isFinite(draw) || draw <= 0) return 0
  return Math.min(draw, 1 - Number.EPSILON)
}
