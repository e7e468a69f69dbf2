/**
 * Deadlines of many keys on one timer: requests end far more often by an answer than by their
 * deadline, and a timer per request costs more than the request. Deadlines are kept in time
 * order (requests mostly share one timeout, so an insert is at the end); a key that is
 * cancelled is dropped lazily, and the list is rebuilt when those outnumber the live ones.
 */
export class Deadlines {
  private readonly due = new Map<string, number>()
  private order: Array<[number, string]> = []
  private head = 0
  private timer: ReturnType<typeof setTimeout> | null = null
  private armedAt: number | null = null

  constructor(private readonly now: () => number, private readonly fire: (key: string) => void) {}

  /** Calls `fire(key)` at `atMs` unless deleted first; replaces an earlier deadline of the key. */
  set(key: string, atMs: number): void {
    this.due.set(key, atMs)
    let index = this.order.length
    while (index > this.head && this.order[index - 1][0] > atMs) index--
    this.order.splice(index, 0, [atMs, key])
    if (this.armedAt === null || atMs < this.armedAt) this.arm(atMs)
  }

  delete(key: string): void {
    if (!this.due.delete(key)) return
    const stale = this.order.length - this.head - this.due.size
    if (stale > 1024 && stale > 2 * this.due.size) this.compact()
  }

  /** Cancels everything. */
  clear(): void {
    this.due.clear()
    this.order = []
    this.head = 0
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.armedAt = null
  }

  private arm(atMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.armedAt = atMs
    this.timer = setTimeout(() => this.run(), Math.max(0, atMs - this.now()))
  }

  private run(): void {
    this.timer = null
    this.armedAt = null
    const now = this.now()
    while (this.head < this.order.length && this.order[this.head][0] <= now) {
      const [atMs, key] = this.order[this.head++]
      if (this.due.get(key) !== atMs) continue
      this.due.delete(key)
      this.fire(key)
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head)
      this.head = 0
    }
    // A fire() may have set an earlier deadline meanwhile (and armed for it).
    if (this.head < this.order.length && this.armedAt === null) this.arm(this.order[this.head][0])
  }

  private compact(): void {
    this.order = [...this.due].map(([key, atMs]): [number, string] => [atMs, key]).sort((a, b) => a[0] - b[0])
    this.head = 0
  }
}
