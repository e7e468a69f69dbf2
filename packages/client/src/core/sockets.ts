/**
 * The sockets of one link: asking the platform for one, adopting the one that is current and
 * listening to it, handing it frames, closing it. One live socket: no second connectSocket
 * starts while an earlier one has not settled, unless that one hung past connectTimeoutMs (a
 * platform that never answers cannot wedge the link); a socket that comes for an attempt no
 * longer wanted is closed at once.
 */
import { closeCodeOf } from './close-codes'
import { CLOSE_CODES } from './constants'
import { SocketError, describeError } from './errors'
import type { SocketPlatform, SocketTaskLike } from './platform'

/** What the sockets tell the link, each about attempt `conn`. */
export interface SocketListener {
  /** A connectSocket call starts. */
  attempting(conn: number): void
  /** True while `conn` is the attempt the link wants a socket for. */
  wanted(conn: number): boolean
  opened(conn: number): void
  closed(conn: number, code: number): void
  /** connectSocket failed, the socket reported an error, or a send failed. */
  failed(conn: number, error: unknown, during: 'connect' | 'send'): void
  message(conn: number, data: unknown): void
  report(error: SocketError): void
  changed(): void
}

type Timer = ReturnType<typeof setTimeout>

export class Sockets {
  /** The adopted socket (connecting or open), and the attempt it is for. */
  task: SocketTaskLike | null = null
  conn = 0
  private sendFailed: (error: unknown) => void = () => undefined
  /** The connectSocket call not settled yet. */
  private inFlight: { conn: number; startedAt: number } | null = null
  /** The attempt waiting for it, and the timer that gives up on it. */
  private deferred: { conn: number; timer: Timer } | null = null

  constructor(
    private readonly platform: SocketPlatform,
    private readonly url: string,
    private readonly connectTimeoutMs: number,
    private readonly now: () => number,
    private readonly listener: SocketListener,
  ) {}

  /** Asks the platform for a socket for attempt `conn` (or waits for the one in flight, see above). */
  open(conn: number): void {
    const now = this.now()
    const inFlight = this.inFlight
    if (inFlight && now - inFlight.startedAt < this.connectTimeoutMs) {
      if (this.deferred) clearTimeout(this.deferred.timer)
      const timer = setTimeout(() => {
        this.inFlight = null
        this.startDeferred()
      }, inFlight.startedAt + this.connectTimeoutMs - now)
      this.deferred = { conn, timer }
      return
    }
    this.listener.attempting(conn)
    this.inFlight = { conn, startedAt: now }
    let pending: Promise<SocketTaskLike>
    try {
      pending = this.platform.connectSocket({ url: this.url })
    } catch (error) {
      this.inFlight = null
      this.listener.failed(conn, error, 'connect')
      return
    }
    pending.then(
      (task) => this.settled(conn, task, null),
      (error: unknown) => this.settled(conn, null, error),
    )
  }

  /** Hands a frame to the socket of attempt `conn`; a failure is told to the link. */
  send(conn: number, data: string, onSent?: () => void): void {
    const task = this.task
    if (!task || this.conn !== conn) return
    try {
      task.send({ data, success: onSent, fail: this.sendFailed })
    } catch (error) {
      this.sendFailed(error)
    }
  }

  /** Closes the adopted socket (unless `code` is null: it is gone already) and forgets it. */
  drop(code: number | null, reason: string): void {
    const task = this.task
    this.task = null
    if (task && code !== null) this.close(task, code, reason)
  }

  dispose(): void {
    if (this.deferred) clearTimeout(this.deferred.timer)
    this.deferred = null
  }

  private settled(conn: number, task: SocketTaskLike | null, error: unknown): void {
    if (this.inFlight?.conn === conn) this.inFlight = null
    const current = this.listener.wanted(conn) && !this.task
    if (task && current) this.adopt(conn, task)
    else if (task) this.close(task, CLOSE_CODES.normal, 'superseded')
    else if (current) this.listener.failed(conn, error, 'connect')
    if (!this.inFlight) this.startDeferred()
    this.listener.changed()
  }

  private startDeferred(): void {
    const deferred = this.deferred
    if (!deferred) return
    clearTimeout(deferred.timer)
    this.deferred = null
    if (this.listener.wanted(deferred.conn) && !this.task) this.open(deferred.conn)
  }

  private adopt(conn: number, task: SocketTaskLike): void {
    this.task = task
    this.conn = conn
    const listener = this.listener
    // Taro's H5 task cannot remove a handler: each one checks that its socket is current.
    const current = (): boolean => this.task === task
    // One per socket, not one per frame.
    this.sendFailed = (failure: unknown): void => {
      if (current()) listener.failed(conn, failure, 'send')
    }
    task.onOpen(() => {
      if (current()) listener.opened(conn)
    })
    task.onClose((res) => {
      if (current()) listener.closed(conn, closeCodeOf(res))
    })
    task.onError((err) => {
      if (current()) listener.failed(conn, err, 'connect')
    })
    task.onMessage((res) => {
      if (current()) listener.message(conn, res?.data)
    })
    // A task may have opened, or died, before its promise resolved.
    if (task.readyState === 1) listener.opened(conn)
    else if (task.readyState === 2 || task.readyState === 3) listener.failed(conn, new Error(`the socket was already closed (readyState ${task.readyState})`), 'connect')
  }

  private close(task: SocketTaskLike, code: number, reason: string): void {
    const failed = (error: unknown): void => this.listener.report(new SocketError('send_failed', `closing a socket failed: ${describeError(error)}`, { cause: error }))
    try {
      task.close({ code, reason, fail: failed })
    } catch (error) {
      failed(error)
    }
  }
}
