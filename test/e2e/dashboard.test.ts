import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { listedOrderIds, readText, waitForCount, waitForText } from './helpers/app-page'
import { hasChineseFont } from './helpers/browser'
import { deferredCleanup } from './helpers/cleanup'
import { adminPush, makeOrder } from './helpers/demo-backend'
import { expectDashboardShows, openLoadedDashboard, serverDashboard, startAppServer } from './helpers/fixtures'
import { reportTime } from './helpers/timings'

// The dashboard with live data, as a phone shows it. `E2E_SCREENSHOT=docs/screenshot-h5.png`
// refreshes the README's picture; a plain run leaves tracked files alone.
const SCREENSHOT_PATH = path.resolve(__dirname, '../..', process.env.E2E_SCREENSHOT || 'test/e2e/out/screenshot-h5.png')

const defer = deferredCleanup()

describe('the orders dashboard in Chromium', () => {
  it("loads and shows the server's totals and orders", async () => {
    const server = await startAppServer(defer)
    const expected = await serverDashboard(server.wsUrl)
    // A seeded server, or the totals check below would prove nothing.
    expect(expected.orderNum).toBeGreaterThan(0)

    const { app, times } = await openLoadedDashboard(defer, expected)
    reportTime('dashboard: browser launch to socket open', times.toOpenMs)
    reportTime('dashboard: browser launch to totals shown', times.toTotalsMs)

    await expectDashboardShows(app, expected)
    expect(await readText(app.page, 'conn-status')).toBe('open')
    expect(await readText(app.page, 'pending')).toBe('0')
    expect(app.uncaughtErrors).toEqual([])
  })

  it('shows an admin push live in the orders', async () => {
    const server = await startAppServer(defer)
    const before = await serverDashboard(server.wsUrl)
    const { app } = await openLoadedDashboard(defer, before)

    const order = makeOrder('128.50', 'jsz', '有机蔬菜礼盒 ×2')
    const pushedAt = Date.now()
    expect(await adminPush(server.httpUrl, 'notify', { order })).toBeGreaterThanOrEqual(1)
    await waitForCount(app.page, `[id="order-${order.id}"]`, 1)
    reportTime('dashboard: admin push to order shown', Date.now() - pushedAt)

    const after = await serverDashboard(server.wsUrl)
    expect(after.orderNum).toBe(before.orderNum + 1)
    // The page added the order to its totals itself; they must match the server's own sums.
    await expectDashboardShows(app, after)
    expect((await listedOrderIds(app.page))[0]).toBe(order.id)
    const shown = await readText(app.page, `order-${order.id}`)
    expect(shown).toContain(order.title)
    expect(shown).toContain(order.amount)
    expect(shown).toContain('new')

    // One more live order makes the screenshot show both kinds arriving.
    const second = makeOrder('36.90', 'jdc', '鲜牛奶 1L ×6')
    await adminPush(server.httpUrl, 'notify', { order: second })
    await waitForText(app.page, 'order-count', String(before.orderNum + 2))
    if (hasChineseFont() === false) {
      console.warn(`[e2e] no Chinese font installed: ${SCREENSHOT_PATH} shows boxes (apt-get install -y fonts-noto-cjk)`)
    }
    await mkdir(path.dirname(SCREENSHOT_PATH), { recursive: true })
    await app.page.screenshot({ path: SCREENSHOT_PATH })
    expect(app.uncaughtErrors).toEqual([])
  })
})
