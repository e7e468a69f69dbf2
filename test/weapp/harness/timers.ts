/**
 * The timer functions handed to the mini-program's `vm` context, owned by the harness so it
 * can do what WeChat does to a backgrounded app: freeze it. While suspended no app timer
 * fires; on resume each timer gets back exactly the time it had left.
 *
 * The app's clock is real time plus an offset: `advance(ms)` moves the app's `Date` forward
 * without waiting, which is how tests skip the 5 s a hidden app needs before WeChat suspends it.
 */

type TimerCallback = (...args: unknown[]) => void

interface TimerEntry {
  id: number
  callback: TimerCallback
  args: unknown[]
  /** Time on the app's clock at which the timer is due. */
  dueAtMs: number
  /** Set for `setInterval`. */
  intervalMs: number | null
  /** Time left when the timers were suspended. */
  remainingMs: number
  handle: ReturnType<typeof setTimeout> | null
}

/** The functions a `vm` context receives as its globals. */
export interface ContextTimers {
  setTimeout: (callback: TimerCallback, delayMs?: number, ...args: unknown[]) => number
  clearTimeout: (id?: number) => void
  setInterval: (callback: TimerCallback, delayMs?: number, ...args: unknown[]) => number
  clearInterval: (id?: number) => void
}

export interface SuspendableTimersOptions {
  /** Called with whatever an app timer callback throws; the harness records it. */
  onError: (error: unknown) => void
}

export class SuspendableTimers {
  private readonly entries = new Map<number, TimerEntry>()
  private nextId = 1
  private offsetMs = 0
  private suspendedFlag = false
  private disposed = false
  /** Functions to run once timers resume (events that arrived while the app was frozen). */
  private readonly resumeQueue: Array<() => void> = []

  constructor(private readonly options: SuspendableTimersOptions) {}

  /** The app's current time in ms since the epoch (real time plus what `advance` added). */
  now(): number {
    return Date.now() + this.offsetMs
  }

  /** True between `suspend()` and `resume()`. */
  get suspended(): boolean {
    return this.suspendedFlag
  }

  /** Number of timers waiting to fire (suspended ones included). */
  get pendingCount(): number {
    return this.entries.size
  }

  /** The timer functions for the `vm` context. */
  readonly contextTimers: ContextTimers = {
    setTimeout: (callback, delayMs, ...args) => this.add(callback, delayMs, args, false),
    setInterval: (callback, delayMs, ...args) => this.add(callback, delayMs, args, true),
    clearTimeout: (id) => this.remove(id),
    clearInterval: (id) => this.remove(id),
  }

  /** Freezes every timer; returns false if they were already frozen. */
  suspend(): boolean {
    if (this.suspendedFlag || this.disposed) return false
    this.suspendedFlag = true
    const nowMs = this.now()
    for (const entry of this.entries.values()) {
      entry.remainingMs = Math.max(0, entry.dueAtMs - nowMs)
      this.disarm(entry)
    }
    return true
  }

  /**
   * Thaws the timers: each is due again after the time it had left. Work queued with
   * `runWhenAwake` while frozen runs first, in order. Returns false if they were not frozen.
   */
  resume(): boolean {
    if (!this.suspendedFlag || this.disposed) return false
    this.suspendedFlag = false
    const nowMs = this.now()
    for (const entry of this.entries.values()) {
      entry.dueAtMs = nowMs + entry.remainingMs
    }
    const queued = this.resumeQueue.splice(0)
    for (const work of queued) this.guard(work)
    for (const entry of this.entries.values()) this.arm(entry)
    return true
  }

  /**
   * Moves the app's clock forward by `ms` without waiting. Running timers that fall due
   * in the skipped span fire at once, in due order (an interval fires once, then keeps its
   * period from now). Frozen timers keep the time they had left, as a frozen app does.
   */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError(`advance(ms) needs ms >= 0, got ${ms}`)
    this.offsetMs += ms
    if (this.suspendedFlag || this.disposed) return
    const due = [...this.entries.values()].sort((a, b) => a.dueAtMs - b.dueAtMs)
    for (const entry of due) {
      this.disarm(entry)
      this.arm(entry)
    }
  }

  /** Runs `work` now, or when the timers resume if they are frozen. */
  runWhenAwake(work: () => void): void {
    if (this.disposed) return
    if (this.suspendedFlag) this.resumeQueue.push(work)
    else this.guard(work)
  }

  /** Clears every timer and refuses new ones: the app was killed. */
  dispose(): void {
    this.disposed = true
    for (const entry of this.entries.values()) this.disarm(entry)
    this.entries.clear()
    this.resumeQueue.length = 0
  }

  private add(callback: TimerCallback, delayMs: number | undefined, args: unknown[], repeat: boolean): number {
    const id = this.nextId++
    if (this.disposed) return id
    if (typeof callback !== 'function') {
      throw new TypeError(`setTimeout/setInterval needs a function, got ${typeof callback}`)
    }
    const delay = Math.max(0, Number(delayMs) || 0)
    const entry: TimerEntry = {
      id,
      callback,
      args,
      dueAtMs: this.now() + delay,
      intervalMs: repeat ? Math.max(1, delay) : null,
      remainingMs: delay,
      handle: null,
    }
    this.entries.set(id, entry)
    if (!this.suspendedFlag) this.arm(entry)
    return id
  }

  private remove(id: number | undefined): void {
    if (id == null) return
    const entry = this.entries.get(id)
    if (!entry) return
    this.disarm(entry)
    this.entries.delete(id)
  }

  private arm(entry: TimerEntry): void {
    const delay = Math.max(0, entry.dueAtMs - this.now())
    entry.handle = setTimeout(() => this.fire(entry), delay)
  }

  private disarm(entry: TimerEntry): void {
    if (entry.handle !== null) clearTimeout(entry.handle)
    entry.handle = null
  }

  private fire(entry: TimerEntry): void {
    entry.handle = null
    if (this.suspendedFlag || this.disposed || this.entries.get(entry.id) !== entry) return
    if (entry.intervalMs === null) {
      this.entries.delete(entry.id)
    } else {
      entry.dueAtMs = this.now() + entry.intervalMs
      this.arm(entry)
    }
    this.guard(() => entry.callback(...entry.args))
  }

  private guard(work: () => void): void {
    try {
      work()
    } catch (error) {
      this.options.onError(error)
    }
  }
}
