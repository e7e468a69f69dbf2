import WebSocket from 'ws'

/**
 * A WeChat-style SocketTask over a real `ws` client: `send`/`close` answer through
 * success/fail/complete callbacks, events arrive through `onOpen`/`onMessage`/`onClose`/
 * `onError` (each call adds a listener). Like WeChat's, it has no `readyState`.
 */

export interface CallbackOptions<T = Record<string, unknown>> {
  success?: (result: T & { errMsg: string }) => void
  fail?: (result: { errMsg: string }) => void
  complete?: (result: { errMsg: string }) => void
}

export interface SendOptions extends CallbackOptions {
  data: string | ArrayBuffer
}

export interface CloseOptions extends CallbackOptions {
  code?: number
  reason?: string
}

/** How a socket is cut from outside the app. */
export type CutMode =
  /** onError then onClose(1006), as when a phone loses signal. */
  | 'error-close'
  /** onClose(1006) only, as when the server side drops the connection. */
  | 'close'
  /** Nothing at all: the task still looks open, sends vanish (iOS after suspension). */
  | 'silent'

export type SocketPhase = 'connecting' | 'open' | 'closing' | 'closed' | 'dead'

/** What the task needs from the harness. */
export interface SocketTaskHost {
  /** Runs an event callback when the app is awake (queued while it is frozen). */
  deliver(work: () => void): void
  /** Told once when the task stops counting against the socket limit. */
  released(task: WeappSocketTask): void
  /** Told when the task's socket is open. */
  opened(task: WeappSocketTask): void
}

export interface SocketEventLog {
  event: 'open' | 'message' | 'close' | 'error' | 'send' | 'cut'
  atMs: number
  detail?: unknown
}

interface SocketEvents {
  open: { header: Record<string, string>; profile: Record<string, unknown> }
  message: { data: string | ArrayBuffer }
  close: { code: number; reason: string }
  error: { errMsg: string }
}

type Listeners = { [K in keyof SocketEvents]: Array<(result: SocketEvents[K]) => void> }

let nextTaskId = 1

export class WeappSocketTask {
  readonly id = nextTaskId++
  private readonly listeners: Listeners = { open: [], message: [], close: [], error: [] }
  private phaseValue: SocketPhase = 'connecting'
  private releasedFlag = false
  /** Events held until the app has had the connect call's answer (null once released). */
  private held: Array<() => void> | null = []
  private ws: WebSocket | null
  /** Frames the app sent on this task (strings as sent; binary as byte counts). */
  readonly sent: Array<string | number> = []
  /** Sends swallowed because the task was silently dead. */
  droppedSends = 0
  readonly log: SocketEventLog[] = []

  /**
   * Opens a socket to `url`, or, when `refusal` is given (the connect call failed), makes an
   * inert task whose every method fails, as WeChat returns a task even for a refused call.
   */
  constructor(readonly url: string, protocols: string[] | undefined, private readonly host: SocketTaskHost, readonly refusal: string | null = null) {
    if (refusal !== null) {
      this.phaseValue = 'closed'
      this.releasedFlag = true
      this.ws = null
      return
    }
    this.ws = new WebSocket(url, protocols)
    this.ws.binaryType = 'arraybuffer'
    this.ws.on('open', () => {
      if (this.phaseValue !== 'connecting') return
      this.phaseValue = 'open'
      this.host.opened(this)
      this.record('open')
      this.emit('open', { header: {}, profile: {} })
    })
    this.ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      const payload = isBinary ? toArrayBuffer(data) : data.toString()
      this.record('message', typeof payload === 'string' ? payload : payload.byteLength)
      this.emit('message', { data: payload })
    })
    this.ws.on('error', (error: Error) => {
      this.record('error', error.message)
      this.emit('error', { errMsg: error.message })
    })
    this.ws.on('close', (code: number, reason: Buffer) => this.finish(code, reason.toString()))
  }

  /** Where the task is: `dead` means cut silently and not yet closed by the app. */
  get phase(): SocketPhase {
    return this.phaseValue
  }

  /** True while the underlying socket is open and the task was not cut. */
  get isOpen(): boolean {
    return this.phaseValue === 'open'
  }

  send(options: SendOptions): void {
    const data = options.data
    if (this.phaseValue === 'dead') {
      this.droppedSends++
      this.answer(options, 'sendSocketMessage', null)
      return
    }
    if (this.phaseValue !== 'open' || !this.ws) {
      this.answer(options, 'sendSocketMessage', 'sendSocketMessage:fail WebSocket is not connected')
      return
    }
    const frame = typeof data === 'string' ? data : Buffer.from(data)
    this.sent.push(typeof data === 'string' ? data : data.byteLength)
    this.record('send', typeof data === 'string' ? data : data.byteLength)
    this.ws.send(frame, (error) => {
      this.answer(options, 'sendSocketMessage', error ? `sendSocketMessage:fail ${error.message}` : null)
    })
  }

  close(options: CloseOptions = {}): void {
    const code = options.code ?? 1000
    const reason = options.reason ?? ''
    if (this.phaseValue === 'closed') {
      this.answer(options, 'closeSocket', 'closeSocket:fail WebSocket is not connected')
      return
    }
    if (this.phaseValue === 'dead') {
      // The app closes a task whose link is already gone: it completes locally.
      this.answer(options, 'closeSocket', null)
      setImmediate(() => this.finish(code, reason))
      return
    }
    if (code !== 1000 && (code < 3000 || code > 4999)) {
      this.answer(options, 'closeSocket', `closeSocket:fail The code must be either 1000, or between 3000 and 4999. ${code} is neither.`)
      return
    }
    this.phaseValue = 'closing'
    this.ws?.close(code, reason)
    this.answer(options, 'closeSocket', null)
  }

  onOpen(listener: (result: SocketEvents['open']) => void): void {
    this.listeners.open.push(listener)
  }

  onMessage(listener: (result: SocketEvents['message']) => void): void {
    this.listeners.message.push(listener)
  }

  onClose(listener: (result: SocketEvents['close']) => void): void {
    this.listeners.close.push(listener)
  }

  onError(listener: (result: SocketEvents['error']) => void): void {
    this.listeners.error.push(listener)
  }

  /**
   * Cuts the link from outside the app (network loss, suspension, kill). The server sees the
   * TCP connection drop. What the app hears depends on `mode`; `quiet` (for kill) tells it nothing
   * and frees the task at once.
   */
  cut(mode: CutMode, quiet = false): void {
    if (this.phaseValue === 'closed' || this.phaseValue === 'dead') {
      if (quiet) this.release()
      return
    }
    this.record('cut', mode)
    const ws = this.ws
    this.ws = null
    if (ws) {
      ws.removeAllListeners()
      // A socket still connecting cannot be terminated without an error: keep a listener.
      ws.on('error', () => undefined)
      ws.terminate()
    }
    if (quiet) {
      this.phaseValue = 'closed'
      this.release()
      return
    }
    if (mode === 'silent') {
      this.phaseValue = 'dead'
      return
    }
    this.phaseValue = 'closing'
    if (mode === 'error-close') this.emit('error', { errMsg: 'network is down' })
    this.finish(1006, 'abnormal closure')
  }

  private finish(code: number, reason: string): void {
    if (this.phaseValue === 'closed') return
    this.phaseValue = 'closed'
    this.ws = null
    this.release()
    this.record('close', { code, reason })
    this.emit('close', { code, reason })
  }

  private release(): void {
    if (this.releasedFlag) return
    this.releasedFlag = true
    this.host.released(this)
  }

  /**
   * Lets events through. WeChat answers `connectSocket` before any event of its task, so
   * the pool calls this once the app has had `success` (and Taro's promise has settled).
   */
  startEvents(): void {
    const held = this.held
    if (held === null) return
    this.held = null
    for (const work of held) this.host.deliver(work)
  }

  private emit<K extends keyof SocketEvents>(event: K, result: SocketEvents[K]): void {
    // Listeners are read at delivery time: the app attaches them after connectSocket answers.
    const work = () => {
      for (const listener of [...this.listeners[event]]) listener(result)
    }
    if (this.held) this.held.push(work)
    else this.host.deliver(work)
  }

  private answer(options: CallbackOptions, api: string, failure: string | null): void {
    // WeChat answers API calls asynchronously, never inside the call.
    setImmediate(() => this.host.deliver(() => {
      if (failure === null) {
        options.success?.({ errMsg: `${api}:ok` })
        options.complete?.({ errMsg: `${api}:ok` })
      } else {
        options.fail?.({ errMsg: failure })
        options.complete?.({ errMsg: failure })
      }
    }))
  }

  private record(event: SocketEventLog['event'], detail?: unknown): void {
    this.log.push({ event, atMs: Date.now(), detail })
  }
}

function toArrayBuffer(data: WebSocket.RawData): ArrayBuffer {
  const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer
}
