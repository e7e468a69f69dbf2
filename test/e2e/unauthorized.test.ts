import { setTimeout as delay } from 'node:timers/promises'
import { readText, waitForText } from './helpers/app-page'
import { DASHBOARD_ROUTE, openApp } from './helpers/browser'
import { deferredCleanup } from './helpers/cleanup'
import { startAppServer } from './helpers/fixtures'
import { socketStats } from './helpers/socket-probe'
import { reportFigure, reportTime } from './helpers/timings'

// PROTOCOL.md: one immediate retry after a 4401, then stop; watched over this window.
const STORM_WINDOW_MS = 5000
const MAX_ATTEMPTS = 2

const defer = deferredCleanup()

describe('a refused token in Chromium', () => {
  it('ends in unauthorized without a reconnect storm', async () => {
    // The build sends its own token; this server wants another one.
    await startAppServer(defer, { token: 'not-the-build-token' })
    const startedAt = Date.now()
    const app = await openApp(DASHBOARD_ROUTE)
    defer(() => app.close())
    const { page } = app

    await waitForText(page, 'conn-status', 'unauthorized')
    reportTime('unauthorized: browser launch to unauthorized shown', Date.now() - startedAt)
    const [first] = (await socketStats(page)).sockets
    expect(first).toBeDefined()
    reportTime('unauthorized: first attempt to unauthorized shown', Date.now() - first.createdAt)

    await delay(Math.max(0, first.createdAt + STORM_WINDOW_MS - Date.now()))
    const stats = await socketStats(page)
    reportFigure(`unauthorized: sockets constructed in ${STORM_WINDOW_MS} ms`, stats.constructed, 'sockets')
    expect(stats.constructed).toBeGreaterThanOrEqual(1)
    expect(stats.constructed).toBeLessThanOrEqual(MAX_ATTEMPTS)
    expect(stats.open).toBe(0)
    expect(await readText(page, 'conn-status')).toBe('unauthorized')
    expect(app.uncaughtErrors).toEqual([])
  })
})
