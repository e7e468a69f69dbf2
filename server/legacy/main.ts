/**
 * `npm run server:legacy`: the original kind of backend on ws://127.0.0.1:8788 (PORT, HOST,
 * IDLE_TIMEOUT_MS), with a new order every SIMULATE_ORDERS_MS (default 8000; 0 = off).
 * Build the app against it with `TARO_APP_WS_PROTOCOL=plain TARO_APP_WS_URL=ws://127.0.0.1:8788`.
 */
import { randomNewOrder } from '../demo/simulator'
import { formatFen } from '../demo/money'
import { startLegacyBackend } from './backend'

async function main(): Promise<void> {
  const number = (name: string, fallback: number): number => (process.env[name] ? Number(process.env[name]) : fallback)
  const backend = await startLegacyBackend({
    port: number('PORT', 8788),
    host: process.env.HOST || '127.0.0.1',
    idleTimeoutMs: number('IDLE_TIMEOUT_MS', 60_000),
  })
  console.log(`legacy backend on ${backend.url} (plain JSON: list, order.confirm, ping; notify pushes)`)
  const everyMs = number('SIMULATE_ORDERS_MS', 8000)
  let count = 0
  const timer = everyMs > 0
    ? setInterval(() => {
        const draft = randomNewOrder()
        count += 1
        backend.notify({ id: `L${Date.now().toString(36)}${count}`, title: draft.title, amount: formatFen(draft.amountFen), kind: draft.kind, status: 'new', createdAt: Date.now() })
      }, everyMs)
    : undefined
  const stop = (): void => {
    if (timer) clearInterval(timer)
    void backend.close().then(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((error: unknown) => {
  console.error('legacy backend failed to start:', error)
  process.exit(1)
})
