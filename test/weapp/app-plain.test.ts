/**
 * The app compiled with TARO_APP_WS_PROTOCOL=plain, run in the weapp harness against a backend
 * of the original kind (server/legacy): the dashboard, a live notify, and a confirm made while
 * the backend is down, sent once it is back, also across a kill and relaunch (at least once).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startLegacyBackend, type LegacyBackend } from '../../server/legacy/backend'
import type { Order } from '../../server/demo/orders'
import { getFreePort } from '../helpers/reference-server'
import { launchWeapp, WeappStorage, type LaunchWeappOptions, type WeappHarness } from './harness'
import { newOrder, renderedOrderIds, storageMentions, thrownErrors } from './support/app-helpers'
import { BUILD_TIMEOUT_MS, buildWeapp, type WeappBuild } from './support/build-weapp'

const OPEN_TIMEOUT_MS = 5000
const KEEPALIVE_MS = 1000

let workDir = ''
let build: WeappBuild
let backend: LegacyBackend | null = null
let app: WeappHarness | null = null

beforeAll(async () => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'weapp-plain-'))
  build = await buildWeapp({ workDir, wsPort: await getFreePort(), token: 'unused', protocol: 'plain', keepaliveMs: KEEPALIVE_MS })
}, BUILD_TIMEOUT_MS + 15_000)

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true })
})

afterEach(async () => {
  const launched = app
  app = null
  launched?.kill()
  await backend?.close()
  backend = null
  if (launched) expect(thrownErrors(launched)).toEqual([])
})

async function serve(orders: Order[], idleTimeoutMs = 60_000): Promise<LegacyBackend> {
  backend = await startLegacyBackend({ port: build.wsPort, orders, idleTimeoutMs })
  return backend
}

async function launch(options: Partial<LaunchWeappOptions> = {}): Promise<WeappHarness> {
  app?.kill()
  app = await launchWeapp({ distDir: build.distDir, ...options })
  return app
}

test('the dashboard shows the backend\'s list, and a notify shows live at the top', async () => {
  const seeded = [{ ...newOrder('a'), createdAt: 1 }, { ...newOrder('b'), createdAt: 2 }]
  const server = await serve(seeded)
  const h = await launch()
  await h.waitForText('conn-status', 'open', OPEN_TIMEOUT_MS)
  await h.waitForText('order-count', '2')
  expect(renderedOrderIds(h.page())).toEqual([seeded[1].id, seeded[0].id])
  const live = newOrder('live')
  server.notify(live)
  await h.waitFor('the notify on the dashboard', () => renderedOrderIds(h.page())[0] === live.id)
  await h.waitForText('order-count', '3')
  expect(h.sockets.connectCount).toBe(1)
})

test('the keepalive keeps the one socket past the backend\'s idle timeout', async () => {
  await serve([], KEEPALIVE_MS * 3)
  const h = await launch()
  await h.waitForText('conn-status', 'open', OPEN_TIMEOUT_MS)
  await new Promise((resolve) => setTimeout(resolve, KEEPALIVE_MS * 5))
  expect(h.page().textOf('conn-status')).toBe('open')
  expect(h.sockets.connectCount).toBe(1)
})

test('a confirm made while the backend is down goes out once it is back, also after a kill and relaunch', async () => {
  const order = newOrder('confirm')
  const first = await serve([order])
  const storage = new WeappStorage()
  const h = await launch({ storage })
  await h.waitFor('the confirm button', () => h.page().has(`confirm-${order.id}`), OPEN_TIMEOUT_MS)
  const kept = first.orders
  await first.close()
  backend = null
  await h.waitForText('conn-status', 'reconnecting')
  h.page().tap(`confirm-${order.id}`)
  await h.waitForText('pending', '1')
  await h.waitFor('the confirm kept in storage', () => storageMentions(storage, 'order.confirm'))
  h.kill()

  const second = await serve(kept)
  const relaunched = await launch({ storage })
  await relaunched.waitForText('conn-status', 'open', OPEN_TIMEOUT_MS)
  await relaunched.waitFor('the order confirmed on the backend', () => second.orders.find((listed) => listed.id === order.id)?.status === 'confirmed')
  await relaunched.waitForText('pending', '0')
  await relaunched.waitFor('the confirm gone from storage', () => !storageMentions(storage, 'order.confirm'), 2000)
})
