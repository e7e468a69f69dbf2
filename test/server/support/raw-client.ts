/**
 * A protocol-v1 client at the frame level, for conformance tests: it sends exactly what a test
 * says (valid or not) and lets the test wait for the frames and the close the server answers.
 */
import WebSocket from 'ws'

/** A frame as the server sent it. */
export type ServerFrame = { type: string } & Record<string, unknown>

export interface CloseInfo {
  code: number
  reason: string
}

export interface HelloFields {
  sid?: string
  ack?: number
  token?: string
  /** The largest frame this client accepts (hello.max). */
  max?: number
}

export const DEFAULT_WAIT_MS = 3_000

let clientCount = 0

export class RawClient {
  /** Every frame received, in order (consumed or not). */
  readonly received: ServerFrame[] = []
  /** The UTF-8 size of each received frame, in order. */
  readonly receivedBytes: number[] = []
  readonly socket: WebSocket
  private readonly queue: ServerFrame[] = []
  private waiters: Array<() => void> = []
  private closeInfo: CloseInfo | null = null
  private readonly closedPromise: Promise<CloseInfo>
  private requestCount = 0
  private readonly idPrefix: string

  private constructor(socket: WebSocket) {
    clientCount += 1
    this.idPrefix = `c${clientCount}-`
    this.socket = socket
    socket.on('message', (data, isBinary) => {
      const frame = JSON.parse(isBinary ? '{"type":"<binary>"}' : String(data)) as ServerFrame
      this.received.push(frame)
      this.receivedBytes.push(Buffer.isBuffer(data) ? data.length : Buffer.byteLength(String(data)))
      this.queue.push(frame)
      this.wake()
    })
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() }
        resolve(this.closeInfo)
        this.wake()
      })
    })
    // A failed connect or a protocol error on this side shows up as the close code.
    socket.on('error', () => undefined)
  }

  /** Opens a socket to `url` and resolves once it is open. */
  static connect(url: string, options: WebSocket.ClientOptions = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, options)
      const client = new RawClient(socket)
      socket.once('open', () => resolve(client))
      socket.once('error', reject)
    })
  }

  /** Opens a socket and completes hello; resolves with the client and its welcome frame. */
  static async open(url: string, hello: HelloFields = {}): Promise<{ client: RawClient; welcome: ServerFrame }> {
    const client = await RawClient.connect(url)
    const welcome = await client.hello(hello)
    return { client, welcome }
  }

  /** Sends a frame as JSON. */
  send(frame: unknown): void {
    this.socket.send(JSON.stringify(frame))
  }

  /** Sends raw text (malformed frames). */
  sendText(text: string): void {
    this.socket.send(text)
  }

  /** Sends hello (token 'dev-token' unless given) and resolves with the welcome frame. */
  async hello(fields: HelloFields = {}): Promise<ServerFrame> {
    this.send({ type: 'hello', v: 1, token: 'dev-token', ...fields })
    return this.next((frame) => frame.type === 'welcome' || frame.type === 'error')
  }

  /** A fresh request id, unique across the test process. */
  nextId(): string {
    this.requestCount += 1
    return `${this.idPrefix}${this.requestCount}`
  }

  /** Sends a req and resolves with its res (matched by id). */
  async request(method: string, params?: unknown, id = this.nextId()): Promise<ServerFrame> {
    this.send(params === undefined ? { type: 'req', id, method } : { type: 'req', id, method, params })
    return this.next((frame) => frame.type === 'res' && frame.id === id)
  }

  /**
   * Resolves with (and consumes) the first received frame matching `predicate` (any frame when
   * omitted); rejects when none arrives within `timeoutMs` or the socket closes first.
   */
  next(predicate: (frame: ServerFrame) => boolean = () => true, timeoutMs = DEFAULT_WAIT_MS): Promise<ServerFrame> {
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => {
        done()
        reject(new Error(`no matching frame within ${timeoutMs} ms; received: ${JSON.stringify(this.received)}`))
      }, timeoutMs)
      const check = (): boolean => {
        const index = this.queue.findIndex(predicate)
        if (index !== -1) {
          const [frame] = this.queue.splice(index, 1)
          done()
          resolve(frame)
          return true
        }
        if (this.closeInfo) {
          done()
          reject(new Error(`closed (${this.closeInfo.code}) before a matching frame; received: ${JSON.stringify(this.received)}`))
          return true
        }
        return false
      }
      const waiter = (): void => {
        check()
      }
      const done = (): void => {
        clearTimeout(deadline)
        this.waiters = this.waiters.filter((other) => other !== waiter)
      }
      if (!check()) this.waiters.push(waiter)
    })
  }

  /** Collects `count` push frames (consuming them) in arrival order. */
  async pushes(count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<ServerFrame[]> {
    const frames: ServerFrame[] = []
    for (let i = 0; i < count; i += 1) frames.push(await this.next((frame) => frame.type === 'push', timeoutMs))
    return frames
  }

  /** Resolves with the close code and reason once the socket closes; rejects after `timeoutMs`. */
  closed(timeoutMs = DEFAULT_WAIT_MS): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms; received: ${JSON.stringify(this.received)}`)), timeoutMs)
    })
    return Promise.race([this.closedPromise, timeout]).finally(() => clearTimeout(timer))
  }

  /** True once the socket closed. */
  get isClosed(): boolean {
    return this.closeInfo !== null
  }

  /** Closes with 1000 (when still open) and waits for the close. */
  async close(): Promise<void> {
    if (this.closeInfo) return
    if (this.socket.readyState === WebSocket.CONNECTING || this.socket.readyState === WebSocket.OPEN) this.socket.close(1000)
    await this.closed()
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter()
  }
}

/**
 * Expects the server to send `error` with `code` and then close with `closeCode`, in that order
 * (the error frame must be the last frame before the close).
 */
export async function expectErrorThenClose(client: RawClient, code: string, closeCode: number): Promise<ServerFrame> {
  const info = await client.closed()
  const last = client.received[client.received.length - 1]
  if (!last || last.type !== 'error' || last.code !== code || info.code !== closeCode) {
    throw new Error(`expected error ${code} then close ${closeCode}; got close ${info.code} after ${JSON.stringify(client.received)}`)
  }
  return last
}

/** Closes every client, ignoring ones already closed. */
export async function closeAll(clients: RawClient[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close()))
}
