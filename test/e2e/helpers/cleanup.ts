type Closer = () => Promise<unknown> | unknown

/**
 * Registers an `afterEach` that runs, last first, every closer the test handed to the
 * returned `defer` function, and reports each failure (the first one fails the test).
 */
export function deferredCleanup(): (close: Closer) => void {
  const closers: Closer[] = []
  afterEach(async () => {
    const failures: unknown[] = []
    for (const close of closers.splice(0).reverse()) {
      try {
        await close()
      } catch (error) {
        console.error('[e2e] cleanup failed', error)
        failures.push(error)
      }
    }
    if (failures.length > 0) throw failures[0]
  })
  return (close) => {
    closers.push(close)
  }
}
