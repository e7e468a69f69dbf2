import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { readRun } from './run-info'
import { SOCKET_PROBE_SCRIPT } from './socket-probe'

/** The Debian package's Chromium; Playwright's own browser downloads are not used. */
export const CHROMIUM_PATH = '/usr/bin/chromium'

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
]

/** A phone-sized viewport: the app is a mini-program's H5 twin. */
export const PHONE_VIEWPORT = { width: 390, height: 844 }

export const DASHBOARD_ROUTE = '/pages/index/index'
export const NOTICES_ROUTE = '/pages/notices/index'

/** A fresh browser profile showing the built app. */
export interface AppBrowser {
  context: BrowserContext
  page: Page
  /** Uncaught exceptions in the page: each is an app bug. */
  uncaughtErrors: string[]
  /** Console errors (Chromium logs every refused WebSocket here too): for diagnosis only. */
  consoleErrors: string[]
  /** Closes the browser and deletes its profile. */
  close(): Promise<void>
}

/**
 * Starts headless Chromium with an empty profile (so no outbox or session id from another
 * test), installs the socket probe, and opens `route` of the served build (the plain-mode one
 * with `build: 'plain'`). Resolves once the page has loaded; the app connects by itself from there.
 */
export async function openApp(route: string = DASHBOARD_ROUTE, options: { build?: 'v1' | 'plain' } = {}): Promise<AppBrowser> {
  const run = readRun()
  const appUrl = options.build === 'plain' ? run.plain.appUrl : run.appUrl
  const profileDir = await mkdtemp(path.join(os.tmpdir(), 'e2e-chromium-'))
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: PHONE_VIEWPORT,
      deviceScaleFactor: 2,
    })
  } catch (error) {
    await rm(profileDir, { recursive: true, force: true })
    throw error
  }
  const close = async () => {
    await context.close()
    await rm(profileDir, { recursive: true, force: true })
  }
  try {
    await context.addInitScript({ content: SOCKET_PROBE_SCRIPT })
    const page = context.pages()[0] ?? await context.newPage()
    const uncaughtErrors: string[] = []
    const consoleErrors: string[] = []
    page.on('pageerror', (error) => uncaughtErrors.push(error.stack ?? error.message))
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text())
    })
    await page.goto(`${appUrl}#${route}`)
    return { context, page, uncaughtErrors, consoleErrors, close }
  } catch (error) {
    await close()
    throw error
  }
}

/**
 * Whether fontconfig knows a Chinese font. Without one Chromium draws the app's Chinese as
 * boxes (fine for the assertions, not for a screenshot): `apt-get install -y fonts-noto-cjk`.
 * Returns null when `fc-list` cannot be run.
 */
export function hasChineseFont(): boolean | null {
  try {
    return execFileSync('fc-list', [':lang=zh', 'family'], { encoding: 'utf8' }).trim() !== ''
  } catch (error) {
    console.warn('[e2e] could not run fc-list to look for a Chinese font', error)
    return null
  }
}
