/**
 * No message can wedge the app (PROTOCOL.md "Nothing a message carries can wedge a
 * connection"), in Chromium: a server holding thousands of orders, an answer of the wrong
 * shape, and close codes that reach the server from the H5 build.
 */
import { listedOrderIds, readText, setPageVisibility, waitForCount, waitForText } from './helpers/app-page'
import { openApp } from './helpers/browser'
import { deferredCleanup } from './helpers/cleanup'
import { makeOrder, metricSum, readMetrics } from './helpers/demo-backend'
import { startAppServer } from './helpers/fixtures'
import { socketStats } from './helpers/socket-probe'
import { reportFigure, reportTime } from './helpers/timings'

const defer = deferredCleanup()
const ORDER_COUNT = 3000
/** PROTOCOL.md: after a hide of 5 s or more the socket is not trusted on show. */
const SUSPEND_THRESHOLD_MS = 5000

describe('liveness in Chromium', () => {
  it(`opens at once against a server holding ${ORDER_COUNT} orders, shows the totals of all and the newest 50, and pages`, async () => {
    const server = await startAppServer(defer, { seedOrders: false })
    let fen = 0
    for (let i = 0; i < ORDER_COUNT; i++) {
      const order = { ...makeOrder(`${1 + (i % 97)}.${String(i % 100).padStart(2, '0')}`, i % 2 ? 'jsz' : 'jdc'), createdAt: 1_700_000_000_000 + i }
      fen += Math.round(Number(order.amount) * 100)
      server.push('notify', { order })
    }
    const total = `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`
    const startedAt = Date.now()
    const app = await openApp()
    defer(() => app.close())
    await waitForText(app.page, 'conn-status', 'open')
    reportTime(`${ORDER_COUNT} orders: browser launch to open`, Date.now() - startedAt)
    await waitForText(app.page, 'order-count', String(ORDER_COUNT))
    reportTime(`${ORDER_COUNT} orders: browser launch to totals shown`, Date.now() - startedAt)
    expect(await readText(app.page, 'total')).toBe(total)
    await waitForCount(app.page, '#orders [id^="order-"]', 50)

    await app.page.click('#load-more')
    await waitForCount(app.page, '#orders [id^="order-"]', 100)
    const ids = await listedOrderIds(app.page)
    expect(new Set(ids).size).toBe(100)
    await app.page.click('#load-more')
    await waitForCount(app.page, '#orders [id^="order-"]', 150)
    expect(await readText(app.page, 'order-count')).toBe(String(ORDER_COUNT))

    // One socket, one hello: no reconnect loop.
    expect((await socketStats(app.page)).sockets).toHaveLength(1)
    expect(metricSum(await readMetrics(server.httpUrl), 'ws_hellos_total')).toBe(1)
    expect(app.uncaughtErrors).toEqual([])
  })

  it('shows #load-error instead of a blank page when list answers with the wrong shape', async () => {
    await startAppServer(defer, { methods: new Map([['list', { safe: true, run: () => ({ totals: 'not the shape' }) }]]) })
    const app = await openApp()
    defer(() => app.close())
    await waitForText(app.page, 'conn-status', 'open')
    await waitForText(app.page, 'load-error', '加载失败', undefined, 'contains')
    expect(await readText(app.page, 'total')).toBe('0.00')
    expect(app.uncaughtErrors).toEqual([])
  })

  it('closes with 4000 that the server sees (not 1005) when it replaces a socket after a long hide', async () => {
    const server = await startAppServer(defer)
    const app = await openApp()
    defer(() => app.close())
    await waitForText(app.page, 'conn-status', 'open')
    await setPageVisibility(app.page, 'hidden')
    await app.page.waitForTimeout(SUSPEND_THRESHOLD_MS + 200)
    await setPageVisibility(app.page, 'visible')
    await waitForText(app.page, 'conn-status', 'open')
    await expectEventually(async () => metricSum(await readMetrics(server.httpUrl), 'ws_closes_total', { code: '4000' }) === 1)
    const metrics = await readMetrics(server.httpUrl)
    reportFigure('hide/show: closes the server saw with code 4000', metricSum(metrics, 'ws_closes_total', { code: '4000' }), 'closes')
    expect(metricSum(metrics, 'ws_closes_total', { code: '1005' })).toBe(0)
    expect(app.uncaughtErrors).toEqual([])
  })
})

async function expectEventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
