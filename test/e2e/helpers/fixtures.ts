import type { Dashboard } from '../../../src/services/orders'
import { startTestServer } from '../../helpers/reference-server'
import type { ReferenceServer, ReferenceServerOptions } from '../../../server/app'
import { listedOrderIds, readText, waitForText } from './app-page'
import { DASHBOARD_ROUTE, openApp, type AppBrowser } from './browser'
import { ADMIN_TOKEN } from './demo-backend'
import { connectRawClient } from './raw-client'
import { readRun } from './run-info'

type Defer = (close: () => Promise<unknown> | unknown) => void

/**
 * Starts the in-process reference server (in memory) on the port the build points at, with the
 * build's token and the e2e admin token unless `overrides` says otherwise; `defer` closes it.
 */
export async function startAppServer(defer: Defer, overrides: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const run = readRun()
  const server = await startTestServer({ port: run.wsPort, token: run.token, adminToken: ADMIN_TOKEN, ...overrides })
  defer(() => stopAppServer(server))
  return server
}

const stopped = new WeakSet<ReferenceServer>()

/** Closes a server from `startAppServer` (gracefully: 1001 to every socket); later calls do nothing. */
export async function stopAppServer(server: ReferenceServer): Promise<void> {
  if (stopped.has(server)) return
  stopped.add(server)
  await server.close()
}

/** The server's current `list`, asked by a raw protocol client with the build's token. */
export async function serverDashboard(wsUrl: string): Promise<Dashboard> {
  const client = await connectRawClient(wsUrl, readRun().token)
  try {
    const response = await client.request('list')
    if (!response.ok) throw Object.assign(new Error(`list failed: ${JSON.stringify(response.error)}`), { code: 'E2E_LIST' })
    return response.result as Dashboard
  } finally {
    await client.close()
  }
}

/** Browser timings of `openLoadedDashboard`, in ms from the start of the browser launch. */
export interface LoadTimes {
  toOpenMs: number
  toTotalsMs: number
}

/**
 * Opens the dashboard in a fresh browser (`defer` closes it) and waits until the socket is
 * `open` and the page shows `expected`'s order count.
 */
export async function openLoadedDashboard(defer: Defer, expected: Dashboard): Promise<{ app: AppBrowser; times: LoadTimes }> {
  const startedAt = Date.now()
  const app = await openApp(DASHBOARD_ROUTE)
  defer(() => app.close())
  await waitForText(app.page, 'conn-status', 'open')
  const toOpenMs = Date.now() - startedAt
  await waitForText(app.page, 'order-count', String(expected.orderNum))
  return { app, times: { toOpenMs, toTotalsMs: Date.now() - startedAt } }
}

/** Asserts that the dashboard shows exactly `expected`: totals, count and the listed ids in order. */
export async function expectDashboardShows(app: AppBrowser, expected: Dashboard): Promise<void> {
  await waitForText(app.page, 'order-count', String(expected.orderNum))
  expect(await readText(app.page, 'total')).toBe(expected.allAmount)
  expect(await listedOrderIds(app.page)).toEqual(expected.list.map((order) => order.id))
}
