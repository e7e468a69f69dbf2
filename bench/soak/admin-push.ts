/**
 * The soak's admin pushes (POST /admin/push), made so that none is ever left half-known: each
 * goes on a fresh TCP connection, so a refused connection means the instance never saw it
 * (down, restarting, or no longer listening) and the push can go to the next instance without
 * being booked twice. Any failure once the connection was made (reset, timeout, a 500) may or
 * may not have appended the push: the ledger cannot book that exactly, so it is thrown.
 */
import http from 'node:http'
import { delay } from '../lib/wait'

/** How long one push may take to be answered (an instance waiting for Redis to come back included). */
const PUSH_TIMEOUT_MS = 30_000
/** How long a push keeps looking for an instance that takes it. */
const RETRY_FOR_MS = 30_000
/** The pause after every instance refused once (all restarting at once): they need a moment. */
const ROUND_PAUSE_MS = 100

/** What one attempt came to: taken (with `delivered`, sessions reached), or refused before the instance saw it. */
export type PushAttempt = { kind: 'taken'; delivered: number } | { kind: 'refused' }

/** One POST /admin/push to `baseUrl` (http://host:port) on its own connection. */
export function postAdminPush(baseUrl: string, adminToken: string, topic: string, data: unknown): Promise<PushAttempt> {
  const body = JSON.stringify({ topic, data })
  return new Promise((resolve, reject) => {
    let connected = false
    const req = http.request(`${baseUrl}/admin/push`, {
      method: 'POST',
      agent: false,
      timeout: PUSH_TIMEOUT_MS,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' },
    })
    req.on('socket', (socket) => socket.once('connect', () => (connected = true)))
    req.on('timeout', () => req.destroy(new Error(`no answer within ${PUSH_TIMEOUT_MS} ms`)))
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected && error.code === 'ECONNREFUSED') resolve({ kind: 'refused' })
      else reject(new Error(`POST ${baseUrl}/admin/push failed after the connection was made, the push may or may not be appended: ${error.message}`))
    })
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('error', (error) => reject(new Error(`POST ${baseUrl}/admin/push: the answer was cut (${error.message}), the push may or may not be appended`)))
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`POST ${baseUrl}/admin/push answered ${res.statusCode}: ${text}`))
        else resolve({ kind: 'taken', delivered: (JSON.parse(text) as { delivered: number }).delivered })
      })
    })
    req.end(body)
  })
}

/**
 * Admin pushes rotating over the instances: each push goes to the next one in turn, and an
 * instance that refuses passes it on to the one after (as a client library over several
 * endpoints would).
 */
export class AdminPushRouter {
  /** Attempts an instance refused (each was then made on another). */
  refused = 0
  /** Pushes taken, per instance. */
  readonly taken: number[]
  private next = 0

  constructor(
    private readonly baseUrls: readonly string[],
    private readonly adminToken: string,
  ) {
    this.taken = baseUrls.map(() => 0)
  }

  /** Pushes once; resolves with the sessions reached, rejects when the push may be half-known or nobody took it in time. */
  async push(topic: string, data: unknown): Promise<number> {
    const deadline = Date.now() + RETRY_FOR_MS
    for (let attempt = 1; ; attempt += 1) {
      const index = this.next % this.baseUrls.length
      this.next += 1
      const outcome = await postAdminPush(this.baseUrls[index], this.adminToken, topic, data)
      if (outcome.kind === 'taken') {
        this.taken[index] += 1
        return outcome.delivered
      }
      this.refused += 1
      if (Date.now() > deadline) throw new Error(`no instance took the push within ${RETRY_FOR_MS} ms (${attempt} attempts refused)`)
      if (attempt % this.baseUrls.length === 0) await delay(ROUND_PAUSE_MS)
    }
  }
}
