/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A code-carrying error for bench failures that tests and callers can match. */
export class BenchError extends Error {
  constructor(readonly code: 'timeout' | 'child_failed' | 'bad_state' | 'missing_dependency', message: string) {
    super(message)
    this.name = 'BenchError'
  }
}

/**
 * Resolves with `promise`'s value, or rejects with BenchError('timeout') naming `what` once
 * `ms` have passed. The timer never keeps the process alive.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BenchError('timeout', `${what}: no result within ${ms} ms`)), ms)
    timer.unref()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Polls `predicate` every `intervalMs` until it returns true; rejects with BenchError('timeout')
 * after `timeoutMs`. Resolves at once when it is already true.
 */
export async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new BenchError('timeout', `${what}: not reached within ${timeoutMs} ms`)
    await delay(intervalMs)
  }
}
