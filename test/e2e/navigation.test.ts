import { listedOrderIds, noticeTexts, readText, waitForCount, waitForText } from './helpers/app-page'
import { deferredCleanup } from './helpers/cleanup'
import { adminPush, makeOrder } from './helpers/demo-backend'
import { expectDashboardShows, openLoadedDashboard, serverDashboard, startAppServer } from './helpers/fixtures'
import { socketStats } from './helpers/socket-probe'
import { reportTime } from './helpers/timings'

const defer = deferredCleanup()

describe('navigating between pages in Chromium', () => {
  it('keeps one socket from dashboard to notices and back, and pushes reach the page shown', async () => {
    const server = await startAppServer(defer)
    const before = await serverDashboard(server.wsUrl)
    const { app } = await openLoadedDashboard(defer, before)
    const { page } = app

    await page.click('#go-notices')
    await waitForCount(page, '#notices', 1)
    await waitForText(page, 'conn-status', 'open')

    const whileOnNotices = makeOrder('8.80', 'jsz')
    const pushedAt = Date.now()
    await adminPush(server.httpUrl, 'notify', { order: whileOnNotices })
    await waitForCount(page, '#notices > *', 1)
    reportTime('notices: admin push to feed entry shown', Date.now() - pushedAt)
    const entries = await noticeTexts(page)
    expect(entries).toHaveLength(1)
    const [entry] = entries
    expect(entry).toContain('notify')
    expect(entry).toContain(whileOnNotices.title)
    // Taro keeps the dashboard in the DOM below the notices page. Hidden, it is not bound: it
    // gets the order from `list` when shown again, not from the push.
    const hiddenDashboard = await listedOrderIds(page)
    expect(hiddenDashboard).toHaveLength(before.list.length)
    expect(hiddenDashboard).not.toContain(whileOnNotices.id)
    expect(await socketStats(page)).toMatchObject({ constructed: 1, open: 1 })

    await page.click('#go-back')
    await waitForCount(page, '#notices', 0)
    await waitForCount(page, `[id="order-${whileOnNotices.id}"]`, 1)
    await expectDashboardShows(app, await serverDashboard(server.wsUrl))

    const whileOnDashboard = makeOrder('1.20')
    await adminPush(server.httpUrl, 'notify', { order: whileOnDashboard })
    await waitForCount(page, `[id="order-${whileOnDashboard.id}"]`, 1)
    await expectDashboardShows(app, await serverDashboard(server.wsUrl))
    expect(await listedOrderIds(page)).toEqual(expect.arrayContaining([whileOnNotices.id, whileOnDashboard.id]))

    expect(await socketStats(page)).toMatchObject({ constructed: 1, open: 1 })
    expect(await readText(page, 'conn-status')).toBe('open')
    expect(app.uncaughtErrors).toEqual([])
  })
})
