/** A wait that ran out; `code` is stable for tests. */
export class WaitTimeoutError extends Error {
  readonly code = 'wait_timeout'
  constructor(readonly what: string, readonly timeoutMs: number, readonly lastSeen: unknown) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${describe(lastSeen)}`)
    this.name = 'WaitTimeoutError'
  }
}

export const WAIT_POLL_MS = 5
export const WAIT_TIMEOUT_MS = 3000

/**
 * Polls `probe` until it returns something other than undefined/false; resolves with that
 * value, or rejects with WaitTimeoutError after `timeoutMs` (real time). `probe` may throw:
 * the error counts as "not yet" and is reported if time runs out.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = WAIT_TIMEOUT_MS, seen: () => unknown = () => undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = probe()
      if (value !== undefined && value !== false) return value
      lastError = undefined
    } catch (error) {
      lastError = error
    }
    if (Date.now() >= deadline) throw new WaitTimeoutError(what, timeoutMs, lastError ?? seen())
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS))
  }
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`
  if (typeof value === 'string') return JSON.stringify(value.length > 400 ? `${value.slice(0, 400)}…` : value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
