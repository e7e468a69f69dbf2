/**
 * A list of listeners that survives its own listeners: one that throws is reported through
 * `onThrow` and the others still run; adding or removing during an emit affects the next
 * emit only. The same function may be added twice and is then called twice.
 */
export class ListenerSet<Args extends unknown[]> {
  private listeners: ReadonlyArray<{ call: (...args: Args) => void }> = []

  get size(): number {
    return this.listeners.length
  }

  /** Adds `listener`; returns the function that removes this registration (idempotent). */
  add(listener: (...args: Args) => void): () => void {
    const registration = { call: listener }
    this.listeners = [...this.listeners, registration]
    return () => {
      this.listeners = this.listeners.filter((item) => item !== registration)
    }
  }

  /** Calls every listener in the order added; a throw goes to `onThrow`, not to the caller. */
  emit(onThrow: (error: unknown) => void, ...args: Args): void {
    for (const registration of this.listeners) {
      try {
        registration.call(...args)
      } catch (error) {
        onThrow(error)
      }
    }
  }

  clear(): void {
    this.listeners = []
  }
}
