/**
 * `npm run server`: the reference server configured from the environment (see config.ts).
 * SIGTERM/SIGINT close every socket with 1001, flush the database and exit 0.
 */
import { startReferenceServer } from './app'
import { loadConfig } from './config'

const SHUTDOWN_DEADLINE_MS = 10_000

function log(line: string): void {
  console.log(`${new Date().toISOString()} ${line}`)
}

async function main(): Promise<void> {
  const { options, warnings } = loadConfig(process.env)
  for (const warning of warnings) log(`warning: ${warning}`)
  const server = await startReferenceServer({ ...options, log })
  log(`admin: POST ${server.httpUrl}/admin/push, health: ${server.httpUrl}/healthz, metrics: ${server.httpUrl}/metrics`)
  let shuttingDown = false
  const shutdown = (signal: NodeJS.Signals): void => {
    // A second signal (e.g. relayed by a wrapper) must not cut the flush short.
    if (shuttingDown) return
    shuttingDown = true
    log(`${signal}: shutting down`)
    setTimeout(() => {
      log(`shutdown took over ${SHUTDOWN_DEADLINE_MS} ms, exiting`)
      process.exit(1)
    }, SHUTDOWN_DEADLINE_MS).unref()
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('shutdown failed:', error)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
}

main().catch((error: unknown) => {
  console.error(`${new Date().toISOString()} failed to start:`, error instanceof Error ? error.message : error)
  process.exit(1)
})
