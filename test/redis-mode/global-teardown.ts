/** Stops the shared redis-server. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.redisForTests?.stop()
}
