/**
 * A TCP load balancer on loopback for cluster tests: each new connection goes to the next
 * backend in turn; one that refuses (stopped, restarting) is skipped, as nginx's upstream does.
 */
import net from 'node:net'

export class RoundRobinProxy {
  private next = 0
  private readonly sockets = new Set<net.Socket>()
  /** Connections forwarded, per backend port. */
  readonly forwarded = new Map<number, number>()

  private constructor(
    private readonly server: net.Server,
    private readonly backends: number[],
  ) {}

  /** Listens on a free port of 127.0.0.1 in front of `backends` (ports). */
  static async start(backends: number[]): Promise<RoundRobinProxy> {
    const server = net.createServer()
    const proxy = new RoundRobinProxy(server, [...backends])
    server.on('connection', (client) => proxy.accept(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    return proxy
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port
  }

  /** ws://127.0.0.1:<port>/ws */
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(client: net.Socket): void {
    this.sockets.add(client)
    client.once('close', () => this.sockets.delete(client))
    client.on('error', () => client.destroy())
    client.pause()
    this.connect(client, 0)
  }

  /** Tries the next backend; after a refusal, the one after it, until each was tried once. */
  private connect(client: net.Socket, tried: number): void {
    if (tried >= this.backends.length || client.destroyed) {
      client.destroy()
      return
    }
    const port = this.backends[this.next % this.backends.length]
    this.next += 1
    const upstream = net.connect(port, '127.0.0.1')
    let connected = false
    upstream.once('connect', () => {
      connected = true
      this.sockets.add(upstream)
      this.forwarded.set(port, (this.forwarded.get(port) ?? 0) + 1)
      client.pipe(upstream)
      upstream.pipe(client)
      client.resume()
    })
    upstream.once('close', () => {
      this.sockets.delete(upstream)
      if (connected) client.destroy()
    })
    upstream.on('error', () => {
      if (!connected) this.connect(client, tried + 1)
      upstream.destroy()
    })
    client.once('close', () => upstream.destroy())
  }
}
