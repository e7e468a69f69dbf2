import { timersOf, type LinkPhase, type TimerName } from './phases'

/** setTimeout fires at once for delays over 2^31 - 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647

/** The timers of the current phase: exactly those `timersOf` names, each armed once for its due time. */
export class PhaseTimers {
  private readonly armed = new Map<TimerName, { at: number; handle: ReturnType<typeof setTimeout> }>()

  constructor(private readonly now: () => number, private readonly fire: (timer: TimerName) => void) {}

  /** Arms what `phase` names, clears what it no longer names, and leaves what did not change. */
  follow(phase: LinkPhase): void {
    const wanted = new Map(timersOf(phase))
    for (const [name, timer] of this.armed) {
      if (wanted.get(name) === timer.at) {
        wanted.delete(name)
        continue
      }
      clearTimeout(timer.handle)
      this.armed.delete(name)
    }
    const now = this.now()
    for (const [name, at] of wanted) {
      const handle = setTimeout(() => {
        this.armed.delete(name)
        this.fire(name)
      }, Math.min(MAX_TIMER_MS, Math.max(0, at - now)))
      this.armed.set(name, { at, handle })
    }
  }
}
