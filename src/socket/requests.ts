import { SocketError } from './errors'

/** A request's outcome as the server (or plain mode's routing) gave it. */
export type RequestOutcome = { ok: true; result: unknown } | { ok: false; error: SocketError }

interface Waiter {
  method: string
  resolve: (value: unknown) => void
  reject: (error: SocketError) => void
  timer: ReturnType<typeof setTimeout>
}

/**
 * The callers waiting on request(): one promise per id, each with its own deadline. Replies
 * always go to the promise of their id. Also remembers the ids whose caller gave up after the
 * request was sent, so their late answer is recognised and dropped quietly.
 */
export class PendingRequests {
  private readonly waiters = new Map<string, Waiter>()
  private readonly orphans = new Set<string>()
  /** Plain mode answers by method, first come first served: the waiting ids per method, in order. */
  private readonly byMethod = new Map<string, string[]>()

  /** How many callers are waiting. */
  get size(): number {
    return this.waiters.size
  }

  /**
   * Waits for the outcome of `id`; rejects with SocketError 'timeout' after `timeoutMs`, after
   * which `onTimeout(id)` lets the owner decide what happens to the request itself.
   */
  wait<T>(id: string, method: string, timeoutMs: number, onTimeout: (id: string) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.forget(id)) return
        reject(new SocketError('timeout', `no answer to ${method} (${id}) within ${timeoutMs} ms`, { requestId: id }))
        onTimeout(id)
      }, timeoutMs)
      this.waiters.set(id, { method, resolve: resolve as (value: unknown) => void, reject, timer })
      const queue = this.byMethod.get(method)
      if (queue) queue.push(id)
      else this.byMethod.set(method, [id])
    })
  }

  /** True when a caller waits for `id`. */
  has(id: string): boolean {
    return this.waiters.has(id)
  }

  /** Gives `outcome` to the caller of `id`; false when nobody waits for it. */
  settle(id: string, outcome: RequestOutcome): boolean {
    const waiter = this.waiters.get(id)
    if (!waiter) return false
    this.forget(id)
    if (outcome.ok) waiter.resolve(outcome.result)
    else waiter.reject(outcome.error)
    return true
  }

  /** The oldest waiting id for `method` that `eligible` accepts (plain mode), or undefined. */
  firstWaiting(method: string, eligible: (id: string) => boolean): string | undefined {
    return this.byMethod.get(method)?.find(eligible)
  }

  /** Notes that the caller of `id` gave up after it was sent. */
  markOrphan(id: string): void {
    this.orphans.add(id)
  }

  /** True (once) when `id` was marked an orphan. */
  takeOrphan(id: string): boolean {
    return this.orphans.delete(id)
  }

  /** Rejects every waiting caller with `error` (destroy). */
  rejectAll(error: SocketError): void {
    for (const [id, waiter] of [...this.waiters]) {
      this.forget(id)
      waiter.reject(error)
    }
    this.orphans.clear()
  }

  private forget(id: string): boolean {
    const waiter = this.waiters.get(id)
    if (!waiter) return false
    clearTimeout(waiter.timer)
    this.waiters.delete(id)
    const queue = this.byMethod.get(waiter.method)
    if (queue) {
      const index = queue.indexOf(id)
      if (index >= 0) queue.splice(index, 1)
      if (queue.length === 0) this.byMethod.delete(waiter.method)
    }
    return true
  }
}
