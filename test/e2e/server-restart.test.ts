import { spawnServerProcess } from '../helpers/reference-server'
import { listedOrderIds, noticeTexts, readText, waitForCount, waitForNewestNotice, waitForText } from './helpers/app-page'
import { deferredCleanup } from './helpers/cleanup'
import { ADMIN_TOKEN, adminPush, makeOrder, metricSum, readMetrics } from './helpers/demo-backend'
import { expectDashboardShows, openLoadedDashboard, serverDashboard } from './helpers/fixtures'
import { connectRawClient } from './helpers/raw-client'
import { readRun } from './helpers/run-info'
import { socketStats } from './helpers/socket-probe'
import { reportFigure, reportTime } from './helpers/timings'

// The client's backoff may be a few seconds deep after failed attempts against a dead server.
const RECONNECT_AFTER_RESTART_LIMIT_MS = 12_000

const run = readRun()
const defer = deferredCleanup()

/** The reference server as its own process (durable state in a temp dir) on the build's port. */
async function startServerProcess() {
  const server = await spawnServerProcess({
    port: run.wsPort,
    env: { SOCKET_TOKEN: run.token, ADMIN_TOKEN },
  })
  defer(() => server.stop())
  return server
}

describe('the app across a server crash in Chromium', () => {
  it('shows reconnecting, then open, and pushes sent meanwhile arrive once and in order', async () => {
    const server = await startServerProcess()
    const { app } = await openLoadedDashboard(defer, await serverDashboard(server.wsUrl))
    const { page } = app
    // The feed shows every delivered push, so a duplicate would show as an extra entry.
    await page.click('#go-notices')
    await waitForCount(page, '#notices', 1)

    const killedAt = Date.now()
    await server.kill('SIGKILL')
    await waitForText(page, 'conn-status', 'reconnecting')
    reportTime('restart: SIGKILL to reconnecting shown', Date.now() - killedAt)

    await server.restart()
    const upAt = Date.now()
    const orders = [makeOrder('3.10'), makeOrder('4.20', 'jsz'), makeOrder('5.30')]
    for (const order of orders) {
      // Appended to the browser's session too, connected or not.
      expect(await adminPush(server.httpUrl, 'notify', { order })).toBeGreaterThanOrEqual(1)
    }
    const pushedAt = Date.now()
    const reconnectedEarly = (await socketStats(page)).sockets.some((socket) => socket.openedAt !== null && socket.openedAt >= upAt && socket.openedAt <= pushedAt)
    console.log(`[e2e] restart: the pushes were ${reconnectedEarly ? 'live (client back before they were sent)' : 'replayed on resume'}`)

    await waitForText(page, 'conn-status', 'open', RECONNECT_AFTER_RESTART_LIMIT_MS)
    reportTime('restart: server ready to socket open', Date.now() - upAt)
    reportTime('restart: SIGKILL to socket open (incl. process restart)', Date.now() - killedAt)
    const metrics = await readMetrics(server.httpUrl)
    expect(metricSum(metrics, 'ws_hellos_total', { resumed: 'true' })).toBeGreaterThanOrEqual(1)
    reportFigure('restart: pushes replayed on resume', metricSum(metrics, 'ws_replayed_pushes_total'), 'pushes')

    // Pushes of one session arrive in order: once this marker is shown, nothing older is on its way.
    await adminPush(server.httpUrl, 'e2e.marker', { after: orders.map((order) => order.id) })
    await waitForNewestNotice(page, 'e2e.marker')
    const feed = await noticeTexts(page)
    // Newest first: the marker, then the orders in reverse push order, each once.
    expect(feed).toHaveLength(orders.length + 1)
    orders.slice().reverse().forEach((order, index) => {
      expect(feed[index + 1]).toContain(order.title)
    })

    await page.click('#go-back')
    await waitForCount(page, '#notices', 0)
    const after = await serverDashboard(server.wsUrl)
    await expectDashboardShows(app, after)
    const listed = await listedOrderIds(page)
    for (const order of orders) expect(listed.filter((id) => id === order.id)).toHaveLength(1)
    expect(app.uncaughtErrors).toEqual([])
  })

  it('queues a confirm made while the server is down and runs it once after the restart', async () => {
    const server = await startServerProcess()
    const before = await serverDashboard(server.wsUrl)
    const target = before.list.find((order) => order.status === 'new')
    if (!target) throw new Error('the seed has no order with status new to confirm')
    const { app } = await openLoadedDashboard(defer, before)
    const { page } = app

    await server.kill('SIGKILL')
    await waitForText(page, 'conn-status', 'reconnecting')
    await page.click(`#confirm-${target.id}`)
    await waitForText(page, 'pending', '1')
    expect(await readText(page, `order-${target.id}`)).toContain('new')

    await server.restart()
    const upAt = Date.now()
    await waitForText(page, 'pending', '0', RECONNECT_AFTER_RESTART_LIMIT_MS)
    reportTime('confirm: server ready to queued confirm answered', Date.now() - upAt)
    await waitForText(page, `order-${target.id}`, 'confirmed', 5000, 'contains')
    expect(await readText(page, 'conn-status')).toBe('open')

    // The server ran it exactly once: one confirm executed since the restart (the first process
    // never saw it), and the order is confirmed for everyone.
    const metrics = await readMetrics(server.httpUrl)
    expect(metricSum(metrics, 'ws_requests_total', { method: 'order.confirm' })).toBe(1)
    reportFigure('confirm: dedupe hits after the restart', metricSum(metrics, 'ws_dedupe_hits_total'), 'hits')
    const after = await serverDashboard(server.wsUrl)
    expect(after.list.find((order) => order.id === target.id)?.status).toBe('confirmed')
    const probe = await connectRawClient(server.wsUrl, run.token)
    defer(() => probe.close())
    const again = await probe.request('order.confirm', { id: target.id })
    expect(again).toMatchObject({ ok: false, error: { code: 'already_confirmed' } })
    expect(app.uncaughtErrors).toEqual([])
  })
})
