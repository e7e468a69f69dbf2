/**
 * A server of wire protocol v1, wired together: HTTP routes, the WebSocket endpoint at /ws,
 * sessions with durable push logs and answered ids, the app's methods and its data.
 */
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { jwtAuth, signToken, staticTokenAuth, type Authenticate } from './auth'
import { ClientAddresses } from './client-address'
import { Connection } from './connection'
import { FLUSH_INTERVAL_MS, SHUTDOWN_GRACE_MS, WS_PATH } from './constants'
import { ConnectionPool } from './connection-pool'
import { describeError } from './errors'
import { Dispatcher, methodTable, targetOf } from './dispatcher'
import type { MethodEntry, PushAddress } from './dispatcher'
import { Counts, RateTable, type ServerLimits } from './limits'
import { createHttpHandler, pathOf } from './http-routes'
import { createMetrics } from './metrics'
import { DEFAULT_OUTBOUND_LIMITS } from './outbound'
import { SessionHub } from './session-hub'
import { deadlineSweepMs, expirySweepMs, resolveSettings } from './settings'
import type { Settings } from './settings'
import { openStore } from './store/open'
import type { DataWrite, Store } from './store/types'

export interface SocketServerOptions {
  /**
   * An HTTP server of your own to serve the WebSocket endpoint (/ws) on; its other requests stay
   * yours (`requestHandler` serves this server's /healthz, /metrics and /admin/push if you route
   * to it). `host` and `port` are then not used, and close() leaves your server running.
   */
  server?: http.Server
  /** Interface to listen on; default '127.0.0.1'. */
  host?: string
  /** Default 8787; 0 picks a free port. */
  port?: number
  /** hello.token must equal it (identity `dev`); default 'dev-token'. Not accepted once `authSecret` is set. */
  token?: string
  /** HS256 secret: hello.token is then a JWT whose `sub` is the identity (and `exp` is honoured). */
  authSecret?: string
  /** Turns hello.token into an identity (overrides `token` and `authSecret`): plug a WeChat login in here. */
  authenticate?: Authenticate
  /** Serve POST /dev/login (a signed token for a name); refused unless `authSecret` is set and not in production. */
  devLogin?: boolean
  /** Guards POST /admin/push; default 'dev-admin'. */
  adminToken?: string
  /** welcome.hb; a connection silent for 2 × hb is closed with 4002. Default 20000. */
  heartbeatMs?: number
  /** Directory for the sqlite file (default './data'); null = in-memory. Not used with `redisUrl`. */
  dataDir?: string | null
  /** Cluster mode: everything lives in this Redis (redis://…), shared by every instance pointed at it. */
  redisUrl?: string
  /** Prefix of the cluster's Redis keys; default 'rs:'. */
  redisPrefix?: string
  /**
   * Addresses of load balancers in front of the server: their connections are counted under
   * the client address in X-Forwarded-For, and not held to maxPendingPerAddress. Default none.
   */
  trustedProxies?: string[]
  /** Default 5000. */
  helloTimeoutMs?: number
  /** How long a session outlives its last connection; default 5 min. */
  sessionTtlMs?: number
  /** Largest frame in bytes, both ways; default 64 KiB (larger client frames close with 1009). */
  maxFrameBytes?: number
  /** Pushes kept per session; default 1000. */
  pushLogLimit?: number
  /** Bytes of push data kept in one session's log; default 4 MiB (older pushes go first). */
  pushLogBytes?: number
  /** Answers of effectful requests remembered per identity; default 1000. */
  answeredLimit?: number
  /** Bytes of remembered answers per identity; default 1 MiB (older answers go first). */
  answeredBytes?: number
  /** How long an answer is remembered (beyond its session); default 24 h. */
  answerTtlMs?: number
  /** Connections, hellos, sessions and requests per address, identity and server (see limits.ts). */
  limits?: Partial<ServerLimits>
  /** Per connection; over it the connection is closed with 4429. Bytes default to 8 MiB per second. */
  rateLimit?: { frames: number; perMs: number; bytes?: number }
  /** On close(), clients are told to come back within this many ms (`shutting_down`); default 3000. */
  shutdownRetryMs?: number
  /**
   * What a push stores besides itself, committed with it (the demo's `notify` stores the order
   * it announces): returns the data to push and the writes. Throw CodedError('bad_request') to
   * refuse the push. Default: the data as it is, no writes.
   */
  beforePush?: (topic: string, data: unknown, nowMs: number) => { data: unknown; writes: DataWrite[] }
  /** Records to store the first time a store starts (a flag named `flag` remembers it), if `collection` is empty. */
  seed?: { flag: string; collection: string; writes: (nowMs: number) => DataWrite[] }
  /** Where log lines go; default nowhere. */
  log?: (line: string) => void
  /**
   * The methods, by name. A bare handler is effectful (run once per request id, its answer
   * remembered); `{ run, safe: true }` is read-only (run again for a repeated id).
   */
  methods?: ReadonlyMap<string, MethodEntry> | Readonly<Record<string, MethodEntry>>
}

export interface SocketServer {
  /** The port listened on (with `server`: that server's, 0 until it listens). */
  readonly port: number
  /** ws://<host>:<port>/ws (127.0.0.1 when listening on every interface). */
  readonly wsUrl: string
  /** http://<host>:<port> */
  readonly httpUrl: string
  /**
   * Like POST /admin/push: appends a push to every session, or those of one identity or topic
   * (`to`); returns sessions reached. Throws CodedError on bad input.
   */
  push(topic: string, data?: unknown, to?: PushAddress): Promise<number>
  /** Serves /healthz, /metrics, /admin/push and /dev/login (what the server made by this one serves). */
  readonly requestHandler: http.RequestListener
  /** Graceful: `shutting_down` and 1001 to every socket, flush, close the store. Safe to call twice. */
  close(): Promise<void>
}

/** Starts a server and resolves once it listens. */
export async function createSocketServer(options: SocketServerOptions = {}): Promise<SocketServer> {
  const settings = resolveSettings(options)
  const store = await openStore(settings)
  try {
    return await assemble(settings, store)
  } catch (error) {
    await store.close()
    throw error
  }
}

async function assemble(settings: Settings, store: Store): Promise<SocketServer> {
  const { log } = settings
  const limits = settings.limits
  if (settings.seed) {
    const nowMs = Date.now()
    const { flag, collection, writes } = settings.seed
    const seeded = await store.seedOnce(flag, collection, writes(nowMs), nowMs)
    if (seeded > 0) log(`stored ${seeded} records in ${collection}`)
  }
  const beforePush = settings.beforePush
  const connections = new ConnectionPool()
  let closing = false
  const metrics = createMetrics({ connections: () => connections.size, sessions: () => store.sessionCount() })
  const hub = new SessionHub({ store, metrics, heartbeatMs: settings.heartbeatMs, maxFrameBytes: settings.maxFrameBytes, log })
  store.listen(hub)
  const publish = async (topic: string, data: unknown, to?: PushAddress): Promise<number> => {
    const nowMs = Date.now()
    const announced = beforePush(topic, data, nowMs)
    const push = hub.pushSpec(targetOf(to), topic, announced.data)
    const outcome = await store.commit({ nowMs, writes: announced.writes, pushes: [push] })
    if (!outcome.ok) throw new Error(`the push could not be committed (${outcome.reason})`)
    metrics.pushes.inc(outcome.reached[0])
    return outcome.reached[0]
  }
  const methods = methodTable(settings.methods)
  const dispatcher = new Dispatcher({
    store,
    methods,
    metrics,
    pushSpec: (target, topic, data) => hub.pushSpec(target, topic, data),
    announce: beforePush,
    requestRate: new RateTable(limits.requestsPerSecondPerIdentity),
    log,
  })
  const authenticate = settings.authenticate ?? (settings.authSecret ? jwtAuth(settings.authSecret) : staticTokenAuth(settings.token))
  const perAddress = new Counts()
  const connectionDeps = {
    hub,
    dispatcher,
    metrics,
    heartbeatMs: settings.heartbeatMs,
    helloTimeoutMs: settings.helloTimeoutMs,
    rateLimit: settings.rateLimit,
    outbound: DEFAULT_OUTBOUND_LIMITS,
    authenticate,
    helloRate: new RateTable(limits.hellosPerSecondPerAddress),
    onClosed: (connection: Connection) => {
      connections.remove(connection)
      perAddress.remove(connection.address)
    },
    log,
  }

  const requestHandler = createHttpHandler({
    adminToken: settings.adminToken,
    metrics,
    publish,
    devLogin: settings.devLogin && settings.authSecret ? (name) => signToken(settings.authSecret as string, name) : undefined,
    log,
  })
  const own = settings.server === null
  // Node checks headersTimeout only this often (30 s by default).
  const httpServer = settings.server ?? http.createServer({ connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.upgradeTimeoutMs / 2))) }, requestHandler)
  const pending = new Counts()
  const addresses = new ClientAddresses(settings.trustedProxies)
  // On a server of its own it also guards the HTTP layer; a user's server keeps its own settings.
  if (own) guardHttp(httpServer, limits, pending, addresses, () => metrics.limited.inc({ limit: 'pending_per_address' }), log)
  const wss = new WebSocketServer({ noServer: true, maxPayload: settings.maxFrameBytes, clientTracking: false })
  wss.on('error', (error) => log(`websocket server error: ${error.message}`))
  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const atOurPath = pathOf(req.url) === WS_PATH
    // On a user's server, other paths may be another handler's upgrades.
    if (!own && !atOurPath) return
    socket.on('error', (error) => log(`upgrade socket error: ${error.message}`))
    ;(socket as Duplex & { [RELEASE_PENDING]?: () => void })[RELEASE_PENDING]?.()
    if (!atOurPath || closing) {
      socket.end(`HTTP/1.1 ${closing ? '503 Service Unavailable' : '404 Not Found'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      return
    }
    const address = addresses.of(req)
    wss.handleUpgrade(req, socket, head, (ws) => {
      const over = perAddress.of(address) >= limits.maxConnectionsPerAddress ? 'connections_per_address' : connections.size >= limits.maxConnections ? 'connections' : null
      const connection = new Connection(ws, connectionDeps, Date.now(), address)
      connections.add(connection)
      perAddress.add(address)
      if (over) {
        metrics.limited.inc({ limit: over })
        connection.refuse(over === 'connections' ? `the server holds ${limits.maxConnections} connections` : `${limits.maxConnectionsPerAddress} connections from this address already`)
      }
    })
  }
  httpServer.on('upgrade', onUpgrade)

  if (own) await listen(httpServer, settings.port, settings.host)
  const address = (): AddressInfo | null => {
    const bound = httpServer.address()
    return bound !== null && typeof bound === 'object' ? bound : null
  }
  const urlHost = (): string => urlHostOf(own ? settings.host : address()?.address ?? '127.0.0.1')
  const portNow = (): number => address()?.port ?? 0
  log(`${own ? 'listening on' : 'serving'} ws://${urlHost()}:${portNow()}${WS_PATH} (${store.describe()})`)

  const timers: NodeJS.Timeout[] = [
    setInterval(() => connections.checkDeadlines(Date.now()), deadlineSweepMs(settings)),
    setInterval(() => guard(log, 'flush', () => store.flush()), FLUSH_INTERVAL_MS),
    setInterval(() => guard(log, 'sweep', () => hub.sweep(Date.now())), expirySweepMs(settings)),
  ]
  for (const timer of timers) timer.unref()
  let closed: Promise<void> | null = null
  const close = async (): Promise<void> => {
    closing = true
    for (const timer of timers) clearInterval(timer)
    if (own) {
      const serverClosed = new Promise<void>((resolve) => httpServer.close(() => resolve()))
      httpServer.closeIdleConnections()
      await connections.closeAll(SHUTDOWN_GRACE_MS, settings.shutdownRetryMs)
      httpServer.closeAllConnections()
      await serverClosed
    } else {
      httpServer.off('upgrade', onUpgrade)
      await connections.closeAll(SHUTDOWN_GRACE_MS, settings.shutdownRetryMs)
    }
    await store.close()
    log('closed')
  }

  return {
    get port() {
      return portNow()
    },
    get wsUrl() {
      return `ws://${urlHost()}:${portNow()}${WS_PATH}`
    },
    get httpUrl() {
      return `http://${urlHost()}:${portNow()}`
    },
    requestHandler,
    push: (topic, data, to) => publish(topic, data, to),
    close: () => (closed ??= close()),
  }
}

/** The HTTP layer of a server this one made: bad requests cut, slow ones timed out, unupgraded connections counted. */
function guardHttp(httpServer: http.Server, limits: ServerLimits, pending: Counts, addresses: ClientAddresses, onRefused: () => void, log: (line: string) => void): void {
  httpServer.on('clientError', (error: Error, socket: Duplex) => {
    log(`http client error: ${error.message}`)
    socket.destroy()
  })
  // A connection that never sends its request (or never finishes it) is cut, not kept.
  httpServer.headersTimeout = limits.upgradeTimeoutMs
  httpServer.requestTimeout = limits.upgradeTimeoutMs
  httpServer.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown'
    // A balancer's connections are many clients'; it holds back the ones that never upgrade.
    if (addresses.isProxy(address)) return
    if (pending.of(address) >= limits.maxPendingPerAddress) {
      onRefused()
      socket.destroy()
      return
    }
    pending.add(address)
    let counted = true
    const release = (): void => {
      if (!counted) return
      counted = false
      pending.remove(address)
    }
    socket.once('close', release)
    ;(socket as Socket & { [RELEASE_PENDING]?: () => void })[RELEASE_PENDING] = release
  })
}

/** Where a socket keeps the function that stops counting it as pending (once it upgrades). */
const RELEASE_PENDING = Symbol('releasePending')

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

function guard(log: (line: string) => void, what: string, fn: () => unknown): void {
  const report = (error: unknown): void => log(`${what} failed: ${describeError(error)}`)
  try {
    const result = fn()
    if (result instanceof Promise) result.catch(report)
  } catch (error) {
    report(error)
  }
}

function urlHostOf(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}
