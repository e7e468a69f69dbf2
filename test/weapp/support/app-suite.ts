/**
 * The real app, compiled by `taro build --type <host>`, run in the harness on that host's API
 * against the reference server: launch, the shown page's pushes, background and show, network
 * down and up, kill and relaunch with a queued confirm, a big order book. One build and one
 * server per run (beforeAll); every test launches its own app on fresh storage of the host's
 * kind. `WEAPP_REUSE_BUILD=<dir>` reuses a build kept with `WEAPP_KEEP_BUILD=1` (its port is
 * baked in); figures go to test/weapp/out/<host>-summary.json.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startReferenceServer, type ReferenceServer, type ReferenceServerOptions } from '../../../server/app'
import { getFreePort } from '../../helpers/reference-server'
import { launchWeapp, storageOptionsFor, SUSPEND_AFTER_HIDDEN_MS, WeappStorage, type LaunchWeappOptions, type MiniHost, type WeappHarness } from '../harness'
import {
  DASHBOARD_ROUTE, NOTICES_ROUTE, firstFrameAfter, newOrder, renderedCount, renderedOrderIds, storageMentions, thrownErrors,
} from './app-helpers'
import { BUILD_TIMEOUT_MS, buildWeapp, readWeappBuild, type WeappBuild } from './build-weapp'
import { rawList, readMetric } from './raw-client'
import { RunSummary } from './summary'

const TOKEN = 'weapp-token'
/** Launch to `open` on a cold vm, with the machine shared. */
const OPEN_TIMEOUT_MS = 5000
/** PROTOCOL.md: a show or network signal makes the client connect at once, skipping any wait. */
const SIGNAL_RECONNECT_MAX_MS = 500
/** Longer than the engine's 3 s wake probe, so a slow reconnect is measured rather than timed out. */
const SLOW_RECONNECT_TIMEOUT_MS = 6000
/** Every backoff wait (cap 10 s) falls inside this much skipped time. */
const SKIP_PAST_BACKOFF_MS = 30_000

/** Registers the whole app suite for the build of `host`. */
export function appSuite(host: MiniHost): void {
  const summary = new RunSummary(host)
  let workDir = ''
  let build: WeappBuild
  let server: ReferenceServer
  let serverOptions: ReferenceServerOptions
  let app: WeappHarness | null = null

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(os.tmpdir(), `${host}-run-`))
    const reuseDir = process.env.WEAPP_REUSE_BUILD
    build = reuseDir ? readWeappBuild(reuseDir) : await buildWeapp({ workDir, wsPort: await getFreePort(), token: TOKEN, host })
    if ((build.host ?? 'weapp') !== host) throw new Error(`WEAPP_REUSE_BUILD holds a ${build.host} build, not ${host}`)
    summary.record('buildMs', reuseDir ? `reused ${reuseDir}` : build.builtMs)
    summary.record('distSizeBytes', build.sizeBytes)
    // Durable state in a folder of this run: the restart test needs sessions and orders to survive.
    serverOptions = { port: build.wsPort, token: build.token, dataDir: path.join(workDir, 'server-data'), heartbeatMs: 20_000 }
    server = await startReferenceServer(serverOptions)
  }, BUILD_TIMEOUT_MS + 15_000)

  afterAll(async () => {
    await server?.close()
    summary.write()
    if (!workDir) return
    // The folder holds this run's server data, and the build unless one was reused.
    if (process.env.WEAPP_KEEP_BUILD === '1' && !process.env.WEAPP_REUSE_BUILD) {
      rmSync(path.join(workDir, 'server-data'), { recursive: true, force: true })
      console.log(`[${host}] build kept: WEAPP_REUSE_BUILD=${workDir}`)
    } else {
      rmSync(workDir, { recursive: true, force: true })
    }
  })

  afterEach(() => {
    const launched = app
    app = null
    if (!launched) return
    launched.kill()
    // Whatever scenario ran, the app must not have thrown.
    expect(thrownErrors(launched)).toEqual([])
  })

  async function launch(options: Partial<LaunchWeappOptions> = {}): Promise<WeappHarness> {
    app?.kill()
    app = await launchWeapp({ distDir: build.distDir, host, storage: new WeappStorage(storageOptionsFor(host)), ...options })
    return app
  }

  /** Launched, connected, and the dashboard's `list` answered. */
  async function launchConnected(options: Partial<LaunchWeappOptions> = {}): Promise<WeappHarness> {
    const launched = await launch(options)
    await launched.waitForText('conn-status', 'open', OPEN_TIMEOUT_MS)
    await launched.waitForText('pending', '0')
    return launched
  }

  test('launch: conn-status reads open and the dashboard renders the server list', async () => {
    const startedAt = Date.now()
    const h = await launch()
    await h.waitForText('conn-status', 'open', OPEN_TIMEOUT_MS)
    summary.record('launchToOpenMs', Date.now() - startedAt)
    const list = await rawList(build.wsUrl, build.token)
    await h.waitForText('order-count', String(list.orderNum))
    const page = h.page()
    expect(page.route).toBe(DASHBOARD_ROUTE)
    expect(page.textOf('total')).toBe(list.allAmount)
    expect([...renderedOrderIds(page)].sort()).toEqual(list.list.map((order) => order.id).sort())
    for (const order of list.list) {
      const text = page.textOf(`order-${order.id}`)
      expect(text).toContain(order.title)
      expect(text).toContain(order.amount)
      expect(text).toContain(order.status)
    }
    expect(h.sockets.connectCount).toBe(1)
  })

  describe.each([
    { suspendCut: 'silent', why: 'no onClose, as on iOS' },
    { suspendCut: 'close', why: 'onClose delivered on resume' },
  ] as const)('hidden past suspension, sockets cut $suspendCut ($why)', ({ suspendCut }) => {
    test('show reconnects and renders the pushes missed while hidden exactly once', async () => {
      const h = await launchConnected({ suspendCut })
      h.hideApp()
      await h.advanceHidden(SUSPEND_AFTER_HIDDEN_MS)
      expect(h.state).toBe('suspended')
      expect(h.sockets.openTasks).toHaveLength(0)

      const missed = newOrder(`hidden-${suspendCut}`)
      expect(await server.push('notify', { order: missed })).toBeGreaterThan(0)
      const shownAt = Date.now()
      h.showApp()
      const reconnectMs = await h.waitFor('a new socket to get its first frame', () => firstFrameAfter(h, shownAt) ?? undefined, SLOW_RECONNECT_TIMEOUT_MS)
      summary.record(`reconnectAfterShowMs.${suspendCut}`, reconnectMs)
      await h.waitForText('conn-status', 'open')
      await h.waitFor(`order ${missed.id} on the dashboard`, () => h.page().has(`order-${missed.id}`))
      // Both the replayed push and the list fetched on show carry the order: it must show once.
      await h.waitForText('pending', '0')
      expect(renderedCount(h.page(), missed.id)).toBe(1)
      const list = await rawList(build.wsUrl, build.token)
      expect(h.page().textOf('order-count')).toBe(String(list.orderNum))
      expect(h.sockets.liveTasks).toHaveLength(1)
      // PROTOCOL.md: hidden 5 s or more, the client drops the old socket on show and connects at
      // once; a client that first pings the old (silently dead) socket waits out its probe here.
      expect(reconnectMs).toBeLessThan(SIGNAL_RECONNECT_MAX_MS)
    })
  })

  test('the shown page gets the pushes: notices while on it, the dashboard after going back, over one socket', async () => {
    const h = await launchConnected()
    h.page().tap('go-notices')
    await h.waitFor('the notices page, connected', () => h.page().route === NOTICES_ROUTE && h.page().maybeTextOf('conn-status') === 'open')
    const notices = h.page()

    const whileOnNotices = newOrder('on-notices')
    server.push('notify', { order: whileOnNotices })
    await h.waitFor('the push in the notices feed', () => notices.childTexts('notices').some((text) => text.includes(whileOnNotices.title)))
    expect(notices.childTexts('notices').filter((text) => text.includes(whileOnNotices.title))).toHaveLength(1)
    expect(notices.childTexts('notices')[0]).toContain('notify')
    const dashboard = h.pages()[0]!
    expect(dashboard.route).toBe(DASHBOARD_ROUTE)
    expect(dashboard.has(`order-${whileOnNotices.id}`)).toBe(false)

    notices.tap('go-back')
    await h.waitFor('the dashboard again', () => h.page().route === DASHBOARD_ROUTE)
    // The dashboard re-fetches `list` on show: the order pushed meanwhile comes with it.
    await h.waitFor('the order from the re-fetched list', () => h.page().has(`order-${whileOnNotices.id}`))
    await h.waitForText('pending', '0')

    const afterBack = newOrder('after-back')
    const pushedAt = Date.now()
    server.push('notify', { order: afterBack })
    await h.waitFor('the push on the dashboard', () => h.page().has(`order-${afterBack.id}`))
    expect(renderedCount(h.page(), afterBack.id)).toBe(1)
    expect(notices.childTexts('notices').some((text) => text.includes(afterBack.title))).toBe(false)
    expect(h.staleSetData.filter((entry) => entry.atMs >= pushedAt)).toEqual([])
    expect(h.sockets.connectCount).toBe(1)
    expect(h.sockets.peakOpen).toBe(1)
  })

  test('network off: no connection attempts; network on: reconnects at once', async () => {
    const h = await launchConnected()
    h.network.set(false)
    await h.waitForText('conn-status', 'offline')
    const callsWhenOff = h.sockets.connectCount
    await h.advanceTime(SKIP_PAST_BACKOFF_MS)
    expect(h.sockets.connectCount).toBe(callsWhenOff)
    expect(h.page().textOf('conn-status')).toBe('offline')

    const onAt = Date.now()
    h.network.set(true)
    const reconnectMs = await h.waitFor('a new socket to get its first frame', () => firstFrameAfter(h, onAt) ?? undefined, SLOW_RECONNECT_TIMEOUT_MS)
    summary.record('reconnectAfterNetworkOnMs', reconnectMs)
    await h.waitForText('conn-status', 'open')
    expect(h.sockets.calls.filter((call) => call.failure !== null)).toEqual([])
    expect(reconnectMs).toBeLessThan(SIGNAL_RECONNECT_MAX_MS)
  })

  test('a confirm left unanswered by a killed app is delivered once after relaunch', async () => {
    const order = newOrder('confirm')
    server.push('notify', { order })
    const storage = new WeappStorage(storageOptionsFor(host))
    const first = await launchConnected({ storage })
    await first.waitFor('the new order with its confirm button', () => first.page().has(`confirm-${order.id}`))

    await server.close()
    await first.waitForText('conn-status', 'reconnecting')
    first.page().tap(`confirm-${order.id}`)
    await first.waitFor('the confirm kept in storage', () => storageMentions(storage, 'order.confirm'))
    await first.waitForText('pending', '1')
    first.kill()

    server = await startReferenceServer(serverOptions)
    const relaunched = await launch({ storage })
    await relaunched.waitForText('conn-status', 'open', OPEN_TIMEOUT_MS)
    await relaunched.waitFor('the order shown confirmed', () => relaunched.page().maybeTextOf(`order-${order.id}`)?.includes('confirmed'))
    await relaunched.waitForText('pending', '0')
    expect(relaunched.page().has(`confirm-${order.id}`)).toBe(false)
    // Answered requests leave storage with the next batched write, within a second.
    await relaunched.waitFor('the confirm gone from storage', () => !storageMentions(storage, 'order.confirm'), 2000)
    const list = await rawList(build.wsUrl, build.token)
    expect(list.list.find((listed) => listed.id === order.id)?.status).toBe('confirmed')
    expect(await readMetric(server.httpUrl, 'ws_requests_total', { method: 'order.confirm' })).toBe(1)
    expect(await readMetric(server.httpUrl, 'ws_requests_total', { method: 'order.confirm', outcome: 'ok' })).toBe(1)
  })

  test('a server holding 3,000 orders: open within seconds, totals of all, the newest 50, paging, one socket', async () => {
    // The shared server steps aside for one of 3,000 orders on the same port (the build's).
    await server.close()
    const big = await startReferenceServer({ port: build.wsPort, token: build.token, dataDir: null, seedOrders: false })
    try {
      let fen = 0
      for (let i = 0; i < 3000; i++) {
        const order = { ...newOrder(`bulk${i}`), createdAt: 1_700_000_000_000 + i }
        fen += Math.round(Number(order.amount) * 100)
        big.push('notify', { order })
      }
      const startedAt = Date.now()
      const h = await launch()
      await h.waitForText('conn-status', 'open', OPEN_TIMEOUT_MS)
      await h.waitForText('order-count', '3000')
      summary.record('launchToOpenWith3000OrdersMs', Date.now() - startedAt)
      expect(h.page().textOf('total')).toBe(`${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`)
      expect(renderedOrderIds(h.page())).toHaveLength(50)
      h.page().tap('load-more')
      await h.waitFor('the second page', () => renderedOrderIds(h.page()).length === 100)
      expect(new Set(renderedOrderIds(h.page())).size).toBe(100)
      // Ten quiet seconds: no reconnect loop, one socket throughout.
      await h.advanceTime(10_000)
      expect(h.page().textOf('conn-status')).toBe('open')
      expect(h.sockets.connectCount).toBe(1)
    } finally {
      await big.close()
      server = await startReferenceServer(serverOptions)
    }
  })

  test('a token the server refuses: its 4401 reaches the app, which says unauthorized and stops', async () => {
    await server.close()
    const strict = await startReferenceServer({ port: build.wsPort, token: 'not-the-build-token', dataDir: null })
    try {
      const h = await launch()
      await h.waitForText('conn-status', 'unauthorized', OPEN_TIMEOUT_MS)
      // PROTOCOL.md: one immediate retry after a 4401, then none; a close code read as 1006 would retry for ever.
      await h.advanceTime(SKIP_PAST_BACKOFF_MS)
      expect(h.sockets.connectCount).toBeLessThanOrEqual(2)
      expect(h.page().textOf('conn-status')).toBe('unauthorized')
    } finally {
      await strict.close()
      server = await startReferenceServer(serverOptions)
    }
  })

  test('storage that refuses every write: the app says so, and a confirm is still delivered once', async () => {
    const order = newOrder('full-storage')
    server.push('notify', { order })
    const storage = new WeappStorage(storageOptionsFor(host))
    storage.failWrites = 'quota'
    const confirmedBefore = await readMetric(server.httpUrl, 'ws_requests_total', { method: 'order.confirm', outcome: 'ok' })
    const h = await launchConnected({ storage })
    await h.waitFor('the new order with its confirm button', () => h.page().has(`confirm-${order.id}`))
    h.page().tap(`confirm-${order.id}`)
    await h.waitFor('the order shown confirmed', () => h.page().maybeTextOf(`order-${order.id}`)?.includes('confirmed'))
    await h.waitFor('the storage warning', () => h.page().has('storage-error'))
    expect(storage.writes.some((write) => !write.ok)).toBe(true)
    expect(storageMentions(storage, 'order.confirm')).toBe(false)
    await h.waitForText('pending', '0')
    expect(await readMetric(server.httpUrl, 'ws_requests_total', { method: 'order.confirm', outcome: 'ok' })).toBe(confirmedBefore + 1)
  })
}
