import { setTimeout as delay } from 'node:timers/promises'
import { readText, setPageVisibility, waitForText } from './helpers/app-page'
import { deferredCleanup } from './helpers/cleanup'
import { openLoadedDashboard, serverDashboard, startAppServer, stopAppServer } from './helpers/fixtures'
import { socketStats, waitForSocketsClosed } from './helpers/socket-probe'
import { reportTime } from './helpers/timings'

// Long enough that a client ignoring "hidden" would have retried (its first backoff wait is
// at most 500 ms), short of the 5 s after which a shown app distrusts its old socket.
const HIDDEN_HOLD_MS = 1500
// PROTOCOL.md: on show, a client whose socket is not open connects at once.
const RECONNECT_AFTER_SHOW_LIMIT_MS = 1000

const defer = deferredCleanup()

describe('the app hidden and shown in Chromium', () => {
  it('makes no attempts while hidden and is open again within 1 s of showing', async () => {
    const first = await startAppServer(defer)
    const { app } = await openLoadedDashboard(defer, await serverDashboard(first.wsUrl))
    const { page } = app

    await setPageVisibility(page, 'hidden')
    // The server drops every socket (1001, shutting down) and comes straight back.
    await stopAppServer(first)
    await waitForSocketsClosed(page, 5000)
    await startAppServer(defer)
    const attemptsBefore = (await socketStats(page)).constructed

    await delay(HIDDEN_HOLD_MS)
    expect((await socketStats(page)).constructed).toBe(attemptsBefore)
    expect(await readText(page, 'conn-status')).toBe('reconnecting')

    const shownAt = Date.now()
    await setPageVisibility(page, 'visible')
    await waitForText(page, 'conn-status', 'open', 5000)
    const reconnectMs = reportTime('visibility: shown to socket open', Date.now() - shownAt)
    expect(reconnectMs).toBeLessThanOrEqual(RECONNECT_AFTER_SHOW_LIMIT_MS)

    const after = await socketStats(page)
    expect(after.constructed).toBe(attemptsBefore + 1)
    expect(after.open).toBe(1)
    expect(app.uncaughtErrors).toEqual([])
  })
})
