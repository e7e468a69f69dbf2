/**
 * The H5 build with TARO_APP_WS_PROTOCOL=plain against a backend of the original kind
 * (server/legacy): the dashboard, a live notify, a confirm queued while the backend is down,
 * and the keepalive against the backend's idle timeout.
 */
import { startLegacyBackend, type LegacyBackend } from '../../server/legacy/backend'
import type { Order } from '../../server/demo/orders'
import { listedOrderIds, readText, waitForCount, waitForText } from './helpers/app-page'
import { openApp } from './helpers/browser'
import { deferredCleanup } from './helpers/cleanup'
import { makeOrder } from './helpers/demo-backend'
import { PLAIN_KEEPALIVE_MS } from './helpers/build-h5'
import { readRun } from './helpers/run-info'
import { socketStats } from './helpers/socket-probe'
import { reportTime } from './helpers/timings'

const run = readRun()
const defer = deferredCleanup()

async function startBackend(options: { orders?: Order[]; idleTimeoutMs?: number } = {}): Promise<LegacyBackend> {
  const backend = await startLegacyBackend({ port: run.plain.wsPort, ...options })
  defer(() => backend.close())
  return backend
}

describe('plain mode against the original kind of backend, in Chromium', () => {
  it('shows the backend\'s list, then a live notify, and stays open past the idle timeout on its keepalive', async () => {
    const seeded = [makeOrder('12.50', 'jdc'), makeOrder('7.25', 'jsz')]
    const backend = await startBackend({ orders: seeded, idleTimeoutMs: PLAIN_KEEPALIVE_MS * 3 })
    const startedAt = Date.now()
    const app = await openApp(undefined, { build: 'plain' })
    defer(() => app.close())
    await waitForText(app.page, 'conn-status', 'open')
    await waitForText(app.page, 'order-count', '2')
    reportTime('plain: browser launch to totals shown', Date.now() - startedAt)
    expect(await readText(app.page, 'total')).toBe('19.75')
    expect(await listedOrderIds(app.page)).toEqual([...seeded].sort((a, b) => b.createdAt - a.createdAt).map((order) => order.id))

    const live = makeOrder('30.00', 'jdc', '机动车年检代办')
    backend.notify(live)
    await waitForCount(app.page, `[id="order-${live.id}"]`, 1)
    await waitForText(app.page, 'total', '49.75')
    expect((await listedOrderIds(app.page))[0]).toBe(live.id)

    // Idle for several of the backend's idle timeouts: the keepalive keeps the one socket.
    await app.page.waitForTimeout(PLAIN_KEEPALIVE_MS * 5)
    expect(await readText(app.page, 'conn-status')).toBe('open')
    expect((await socketStats(app.page)).sockets).toHaveLength(1)
    expect(app.uncaughtErrors).toEqual([])
  })

  it('keeps a confirm made while the backend is down, and sends it once the backend is back', async () => {
    const order = makeOrder('88.00', 'jsz', '驾驶证期满换证')
    const first = await startBackend({ orders: [order] })
    const app = await openApp(undefined, { build: 'plain' })
    defer(() => app.close())
    await waitForText(app.page, 'conn-status', 'open')
    await waitForCount(app.page, `[id="confirm-${order.id}"]`, 1)

    const kept = first.orders
    await first.close()
    await waitForText(app.page, 'conn-status', 'reconnecting')
    await app.page.click(`#confirm-${order.id}`)
    await waitForText(app.page, 'pending', '1')

    const backend = await startBackend({ orders: kept })
    const upAt = Date.now()
    await waitForText(app.page, 'conn-status', 'open', 20_000)
    await waitForText(app.page, `order-${order.id}`, 'confirmed', 15_000, 'contains')
    reportTime('plain: backend back to queued confirm answered', Date.now() - upAt)
    await waitForText(app.page, 'pending', '0')
    expect(backend.orders.find((listed) => listed.id === order.id)?.status).toBe('confirmed')
    expect(app.uncaughtErrors).toEqual([])
  })
})
