import type { Page } from 'playwright-core'

/** One WebSocket the page constructed, as the probe saw it. */
export interface ProbedSocket {
  url: string
  createdAt: number
  openedAt: number | null
  closedAt: number | null
  closeCode: number | null
  /** 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED, read when the stats were taken. */
  readyState: number
}

/** What the page did with WebSockets since it loaded. */
export interface SocketStats {
  constructed: number
  open: number
  sockets: ProbedSocket[]
}

/**
 * An init script (runs before the app's own scripts on every load) that wraps `window.WebSocket`
 * so tests can count constructions and open sockets. Plain JS in a string: the page must get
 * it exactly as written, not as the test's transpiled code.
 */
export const SOCKET_PROBE_SCRIPT = `(() => {
  const Native = window.WebSocket
  const records = []
  window.__socketProbe = records
  window.WebSocket = class ProbedWebSocket extends Native {
    constructor(...args) {
      super(...args)
      const record = { socket: this, url: String(args[0]), createdAt: Date.now(), openedAt: null, closedAt: null, closeCode: null }
      records.push(record)
      this.addEventListener('open', () => { record.openedAt = Date.now() })
      this.addEventListener('close', (event) => { record.closedAt = Date.now(); record.closeCode = event.code })
    }
  }
})()`

/** Reads the probe's records from the page. */
export async function socketStats(page: Page): Promise<SocketStats> {
  const sockets = await page.evaluate(() => {
    type Record = Omit<ProbedSocket, 'readyState'> & { socket: WebSocket }
    const records = (window as unknown as { __socketProbe?: Record[] }).__socketProbe
    if (!records) throw new Error('the socket probe is not installed in this page')
    return records.map(({ socket, ...rest }) => ({ ...rest, readyState: socket.readyState }))
  })
  return {
    constructed: sockets.length,
    open: sockets.filter((socket) => socket.readyState === 1).length,
    sockets,
  }
}

/**
 * Waits until every socket the page constructed has closed (at least one must exist); resolves
 * with the ms it took. Rejects with code `E2E_TIMEOUT`.
 */
export async function waitForSocketsClosed(page: Page, timeoutMs: number): Promise<number> {
  const startedAt = Date.now()
  try {
    await page.waitForFunction(() => {
      const records = (window as unknown as { __socketProbe?: Array<{ closedAt: number | null }> }).__socketProbe ?? []
      return records.length > 0 && records.every((record) => record.closedAt !== null)
    }, undefined, { timeout: timeoutMs, polling: 'raf' })
  } catch (error) {
    throw Object.assign(new Error(`the page's sockets did not all close within ${timeoutMs} ms`), { code: 'E2E_TIMEOUT', cause: error })
  }
  return Date.now() - startedAt
}
