import net from 'node:net'

/** How a dropped connection ends: an orderly FIN or an abortive RST. */
export type DropMode = 'fin' | 'rst'

/** Extra latency per chunk, drawn uniformly from [minMs, maxMs]; order is always kept. */
export interface DelayRange {
  minMs: number
  maxMs: number
}

export interface TcpProxyOptions {
  targetPort: number
  targetHost?: string
  /** Listening port; 0 (default) picks a free one, kept for every later listen(). */
  port?: number
  /** Random source for delays and dropOne (tests and the soak inject a seeded one). */
  random?: () => number
}

interface Direction {
  from: net.Socket
  to: net.Socket
  queue: Array<{ dueAt: number; chunk: Buffer }>
  timer: NodeJS.Timeout | null
  ended: boolean
}

interface Pipe {
  client: net.Socket
  upstream: net.Socket
  /** Blackholed: nothing is forwarded any more and neither side's close reaches the other. */
  dead: boolean
  toServer: Direction
  toClient: Direction
}

/**
 * A TCP proxy on 127.0.0.1 that can fail the way networks fail: stop listening (refused
 * connections), drop connections with FIN or RST, blackhole them (no FIN, no RST, bytes
 * silently discarded from then on), and delay every chunk while keeping byte order.
 */
export class TcpProxy {
  private server: net.Server | null = null
  private readonly pipes = new Set<Pipe>()
  private blackholing = false
  private delayRange: DelayRange | null = null
  private listenPort: number
  private readonly random: () => number
  /** Connections accepted since the proxy was created. */
  accepted = 0

  private constructor(private readonly options: TcpProxyOptions) {
    this.listenPort = options.port ?? 0
    this.random = options.random ?? Math.random
  }

  /** Starts a proxy to `options.targetPort`; resolves once it listens. */
  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    const proxy = new TcpProxy(options)
    await proxy.listen()
    return proxy
  }

  /** The port the proxy listens on (the same across stopListening/listen). */
  get port(): number {
    return this.listenPort
  }

  /** Whether the proxy currently accepts connections. */
  get listening(): boolean {
    return this.server !== null
  }

  /** Open connection pairs (blackholed ones included). */
  get connections(): number {
    return this.pipes.size
  }

  /** `ws://127.0.0.1:<port><path>` (or another scheme) through the proxy. */
  url(path: string, scheme = 'ws'): string {
    return `${scheme}://127.0.0.1:${this.listenPort}${path}`
  }

  /** Accepts connections again on the same port; a no-op when listening. */
  async listen(): Promise<void> {
    if (this.server) return
    const server = net.createServer((client) => this.accept(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.listenPort, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', (error) => console.error(`tcp-proxy :${this.listenPort}: ${error.message}`))
    this.listenPort = (server.address() as net.AddressInfo).port
    this.server = server
  }

  /** Stops listening (new connections are refused) and ends every connection, blackholed ones too. */
  async stopListening(mode: DropMode = 'fin'): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = null
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    // server.close() waits for every accepted socket, so none may be left open.
    for (const pipe of [...this.pipes]) this.destroyPipe(pipe, mode)
    await closed
  }

  /**
   * Blackholes every open connection and, while `on`, every new one: bytes are discarded and
   * no close is passed on. A blackholed connection stays dead; turning it off only spares new ones.
   */
  blackhole(on: boolean): void {
    this.blackholing = on
    if (on) for (const pipe of this.pipes) pipe.dead = true
  }

  /** Whether new connections are being blackholed. */
  get blackholed(): boolean {
    return this.blackholing
  }

  /** Delays every chunk from now on (null: forward at once). */
  setDelay(range: DelayRange | null): void {
    this.delayRange = range
  }

  /** Drops all connections or one random connection; returns how many were dropped. */
  drop(mode: DropMode, which: 'all' | 'one'): number {
    const live = [...this.pipes].filter((pipe) => !pipe.dead)
    const victims = which === 'all' ? live : live.length > 0 ? [live[Math.floor(this.random() * live.length)]] : []
    for (const pipe of victims) this.destroyPipe(pipe, mode)
    return victims.length
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    await this.stopListening('fin')
  }

  private accept(client: net.Socket): void {
    this.accepted += 1
    client.setNoDelay(true)
    const upstream = net.connect({ port: this.options.targetPort, host: this.options.targetHost ?? '127.0.0.1' })
    upstream.setNoDelay(true)
    const pipe: Pipe = {
      client,
      upstream,
      dead: this.blackholing,
      toServer: { from: client, to: upstream, queue: [], timer: null, ended: false },
      toClient: { from: upstream, to: client, queue: [], timer: null, ended: false },
    }
    this.pipes.add(pipe)
    this.wire(pipe, pipe.toServer)
    this.wire(pipe, pipe.toClient)
    // Socket errors (ECONNRESET, ECONNREFUSED upstream) end the pair like a close does.
    client.on('error', () => undefined)
    upstream.on('error', () => undefined)
    client.on('close', () => this.onSideClosed(pipe, 'client'))
    upstream.on('close', () => this.onSideClosed(pipe, 'upstream'))
  }

  private wire(pipe: Pipe, direction: Direction): void {
    direction.from.on('data', (chunk: Buffer) => {
      if (pipe.dead) return
      const range = this.delayRange
      if (!range && direction.queue.length === 0) {
        this.write(pipe, direction, chunk)
        return
      }
      const latencyMs = range ? range.minMs + this.random() * (range.maxMs - range.minMs) : 0
      const last = direction.queue[direction.queue.length - 1]
      direction.queue.push({ dueAt: Math.max(Date.now() + latencyMs, last ? last.dueAt : 0), chunk })
      this.pump(pipe, direction)
    })
  }

  private write(pipe: Pipe, direction: Direction, chunk: Buffer): void {
    if (pipe.dead || direction.to.destroyed) return
    if (!direction.to.write(chunk)) {
      direction.from.pause()
      direction.to.once('drain', () => direction.from.resume())
    }
  }

  /** Writes due chunks in order; one timer per direction so order never depends on timer lists. */
  private pump(pipe: Pipe, direction: Direction): void {
    if (direction.timer) return
    const head = direction.queue[0]
    if (!head) {
      if (direction.ended) this.destroyPipe(pipe, 'fin')
      return
    }
    direction.timer = setTimeout(() => {
      direction.timer = null
      const now = Date.now()
      while (direction.queue.length > 0 && direction.queue[0].dueAt <= now) {
        this.write(pipe, direction, direction.queue.shift()!.chunk)
      }
      this.pump(pipe, direction)
    }, Math.max(0, head.dueAt - Date.now()))
  }

  private onSideClosed(pipe: Pipe, side: 'client' | 'upstream'): void {
    if (!this.pipes.has(pipe)) return
    if (pipe.dead) {
      // Silence towards the client; when the client gives up, the server side goes too.
      if (side === 'client') this.destroyPipe(pipe, 'fin')
      return
    }
    // Deliver what is still queued before passing the close on, as a real link would.
    const direction = side === 'client' ? pipe.toServer : pipe.toClient
    direction.ended = true
    if (direction.queue.length === 0) this.destroyPipe(pipe, 'fin')
  }

  private destroyPipe(pipe: Pipe, mode: DropMode): void {
    this.pipes.delete(pipe)
    for (const direction of [pipe.toServer, pipe.toClient]) {
      if (direction.timer) clearTimeout(direction.timer)
      direction.timer = null
      direction.queue.length = 0
    }
    for (const socket of [pipe.client, pipe.upstream]) {
      if (socket.destroyed) continue
      if (mode === 'rst' && typeof socket.resetAndDestroy === 'function' && socket.readyState === 'open') socket.resetAndDestroy()
      else socket.destroy()
    }
  }
}
