/**
 * Child process of the planned-restart figure: the next reference server, loaded before the
 * running one is told to stop, that takes the port the moment it is free. It is configured
 * like `server/main.ts` (loadConfig of its environment: PORT, DATA_DIR, SHUTDOWN_RETRY_MS …,
 * plus the loopback limits) and, like it, closes gracefully on SIGTERM.
 * IPC: it sends `loaded`; on `take-port` it waits for the port, listens and sends
 * `listening` with the epoch ms it started listening at.
 */
import net from 'node:net'
import { startReferenceServer, type ReferenceServer } from '../../server/app'
import { loadConfig } from '../../server/config'
import { LOOPBACK_LIMITS } from '../../test/helpers/reference-server'

export type HandoverMessage =
  | { type: 'loaded' }
  | { type: 'take-port' }
  | { type: 'listening'; atMs: number; waitedMs: number }
  | { type: 'failed'; message: string }

const PORT_WAIT_MS = 15_000
const PORT_POLL_MS = 2

let server: ReferenceServer | null = null

function send(message: HandoverMessage): void {
  process.send?.(message)
}

/** Resolves once `port` can be bound on `host` (the probe is released at once). */
async function portFree(port: number, host: string): Promise<void> {
  const deadline = Date.now() + PORT_WAIT_MS
  for (;;) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer()
      probe.once('error', () => resolve(false))
      probe.listen(port, host, () => probe.close(() => resolve(true)))
    })
    if (free) return
    if (Date.now() > deadline) throw new Error(`port ${port} still taken after ${PORT_WAIT_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, PORT_POLL_MS))
  }
}

async function takePort(): Promise<void> {
  const { options } = loadConfig(process.env)
  const host = options.host ?? '127.0.0.1'
  const askedAt = Date.now()
  await portFree(options.port ?? 0, host)
  server = await startReferenceServer({ ...options, host, limits: { ...options.limits, ...LOOPBACK_LIMITS }, log: () => undefined })
  const atMs = Date.now()
  send({ type: 'listening', atMs, waitedMs: atMs - askedAt })
}

process.on('message', (message: HandoverMessage) => {
  if (message.type !== 'take-port') return
  takePort().catch((error: unknown) => {
    send({ type: 'failed', message: error instanceof Error ? error.stack ?? error.message : String(error) })
    process.exit(1)
  })
})
process.on('SIGTERM', () => {
  if (!server) process.exit(0)
  void server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
})
process.on('disconnect', () => process.exit(0))
send({ type: 'loaded' })
