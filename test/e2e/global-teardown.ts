/** Stops the static server and removes the build the global setup made. */
export default async function globalTeardown(): Promise<void> {
  const teardown = globalThis.__e2eTeardown
  globalThis.__e2eTeardown = undefined
  await teardown?.()
}
