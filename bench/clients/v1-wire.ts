import { withTimeout } from '../lib/wait'

/** What the hand-written v1 clients (raw ws, partysocket) keep: hello, request ids, answers. */
interface PendingRequest {
  frame: string
  resolve: (result: unknown) => void
  reject: (error: Error) => void
}

/**
 * The few lines of PROTOCOL.md v1 an application writes by hand over a plain WebSocket:
 * `hello` first on every connection, then `req` frames; a request made while closed waits in
 * a queue and goes out after the next hello. No resume, no re-send of requests already
 * written to a socket that then died (the usual hand-written client does not do that).
 */
export class V1Wire {
  private counter = 0
  private readonly unsent: string[] = []
  private readonly inFlight = new Map<string, PendingRequest>()
  private welcomed = false
  private readonly welcomeListeners = new Set<() => void>()

  constructor(private readonly token: string, private readonly idPrefix: string) {}

  /** Whether the current connection has received its welcome. */
  get isWelcomed(): boolean {
    return this.welcomed
  }

  /** Frames to write when a socket opens: hello, then every request queued while closed. */
  onOpen(): string[] {
    const frames = [JSON.stringify({ type: 'hello', v: 1, token: this.token }), ...this.unsent]
    this.unsent.length = 0
    return frames
  }

  /** Forgets the connection; requests written to it stay unanswered, as in any plain client. */
  onClose(): void {
    this.welcomed = false
  }

  /** Resolves once the current connection is welcomed; rejects after `timeoutMs`. */
  whenWelcomed(timeoutMs: number, label: string): Promise<void> {
    return withTimeout(
      new Promise<void>((resolve) => {
        if (this.welcomed) return resolve()
        const off = this.onWelcome(() => {
          off()
          resolve()
        })
      }),
      timeoutMs,
      label,
    )
  }

  /** Calls `listener` on every welcome; returns the unsubscribe. */
  onWelcome(listener: () => void): () => void {
    this.welcomeListeners.add(listener)
    return () => this.welcomeListeners.delete(listener)
  }

  /**
   * Makes a `req` for `method`; `write` is given the frame when the socket is open (it returns
   * false when it is not, and the frame is queued for the next open).
   */
  request(method: string, params: unknown, write: (frame: string) => boolean): Promise<unknown> {
    this.counter += 1
    const id = `${this.idPrefix}-${this.counter}`
    const frame = JSON.stringify({ type: 'req', id, method, params })
    return new Promise((resolve, reject) => {
      this.inFlight.set(id, { frame, resolve, reject })
      if (!write(frame)) this.unsent.push(frame)
    })
  }

  /** Handles one incoming text frame. */
  onMessage(text: string): void {
    const frame = JSON.parse(text) as { type?: string; id?: string; ok?: boolean; result?: unknown; error?: { code: string; message: string } }
    if (frame.type === 'welcome') {
      this.welcomed = true
      for (const listener of [...this.welcomeListeners]) listener()
      return
    }
    if (frame.type !== 'res' || typeof frame.id !== 'string') return
    const pending = this.inFlight.get(frame.id)
    if (!pending) return
    this.inFlight.delete(frame.id)
    if (frame.ok) pending.resolve(frame.result)
    else pending.reject(new Error(`${frame.error?.code ?? 'unknown'}: ${frame.error?.message ?? ''}`))
  }

  /** Rejects every request still waiting (the client is closing). */
  failAll(reason: string): void {
    for (const pending of this.inFlight.values()) pending.reject(new Error(reason))
    this.inFlight.clear()
    this.unsent.length = 0
  }
}
