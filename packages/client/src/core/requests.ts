/**
 * Requests from send() to their answer, for both engines: validation at send, the outbox and
 * its persistence, the callers of request() with their deadlines, and where an answer goes
 * (its caller, else the 'response' event). The engines decide what goes on the wire and when.
 */
import { METHOD_MAX_LENGTH, type EngineTunables } from './constants'
import { SocketError, describeError, type SocketErrorCode } from './errors'
import { Deadlines } from './deadlines'
import { Outbox, type StoredRequest } from './outbox'
import type { Persistence } from './persistence'
import { utf8ByteLength } from './protocol'
import type { OutboxEntry, ResponseMessage, SocketCounters } from './types'

/** An answer as it came: a result, or the server's (or our own) error. */
export type Answer = { ok: true; result: unknown } | { ok: false; error: SocketError }

interface Caller {
  resolve: (value: unknown) => void
  reject: (error: SocketError) => void
  timeoutMs: number
}

export interface RequestQueueDeps {
  cfg: EngineTunables
  now: () => number
  persistence: Persistence
  nextId: () => string
  /** The frame of a request in the engine's mode. Throws when params cannot be JSON. */
  encode(id: string, method: string, params: unknown): string
  counters: SocketCounters
  response(response: ResponseMessage): void
  report(error: SocketError): void
  /** A deadline passed: the outbox may have changed. */
  changed(): void
}

export class RequestQueue {
  readonly outbox: Outbox
  private readonly callers = new Map<string, Caller>()
  /** Ids whose request() timed out after they were sent: their answer is late. */
  private readonly late = new Set<string>()
  private readonly deadlines: Deadlines

  constructor(private readonly deps: RequestQueueDeps) {
    this.deadlines = new Deadlines(deps.now, (id) => this.timedOut(id))
    this.outbox = new Outbox({ count: deps.cfg.outboxLimit, bytes: deps.cfg.outboxBytes, entryBytes: deps.cfg.storageSegmentBytes })
  }

  /** Puts back the requests a previous launch left in storage, frames re-encoded in this mode. */
  restore(stored: readonly StoredRequest[]): void {
    for (const request of stored) {
      let frame: string
      try {
        frame = this.deps.encode(request.id, request.method, request.params)
      } catch {
        continue
      }
      const entry: OutboxEntry = { id: request.id, method: request.method, frame, createdAt: request.createdAt, sends: 0 }
      if (request.params !== undefined) entry.params = request.params
      this.outbox.restore(entry, utf8ByteLength(frame))
    }
  }

  /**
   * Queues a request and returns it. Throws at once, queuing nothing: 'invalid_argument' (method
   * not a string of 1..64 characters, params not JSON), 'too_large' (frame over `frameLimitBytes`),
   * 'outbox_full'.
   */
  add(method: string, params: unknown, frameLimitBytes: number): OutboxEntry {
    if (typeof method !== 'string' || method.length < 1 || method.length > METHOD_MAX_LENGTH) {
      throw new SocketError('invalid_argument', `a method name is a string of 1..${METHOD_MAX_LENGTH} characters, got ${preview(method)}`)
    }
    const id = this.deps.nextId()
    let frame: string
    try {
      frame = this.deps.encode(id, method, params)
    } catch (error) {
      throw new SocketError('invalid_argument', `params of ${method} cannot be sent as JSON: ${describeError(error)}`, { cause: error })
    }
    const frameBytes = utf8ByteLength(frame)
    if (frameBytes > frameLimitBytes) {
      throw new SocketError('too_large', `${method} would be a ${frameBytes}-byte frame; the limit is ${frameLimitBytes}`, { requestId: id })
    }
    const entry: OutboxEntry = { id, method, frame, createdAt: this.deps.now(), sends: 0 }
    if (params !== undefined) entry.params = params
    this.outbox.add(entry, frameBytes)
    this.deps.persistence.requestAdded(id, this.outbox.bytesOf(id))
    return entry
  }

  /**
   * Waits for the answer of `id`. After `timeoutMs` it rejects with 'not_sent' (the request
   * never left the device: it is dropped and will not take effect) or 'timeout' (it was sent:
   * it may still take effect, so it stays queued, and its answer comes as a 'response' event).
   */
  wait<T>(id: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.callers.set(id, { resolve: resolve as (value: unknown) => void, reject, timeoutMs })
      this.deadlines.set(id, this.deps.now() + timeoutMs)
    })
  }

  /** Notes that `id` was written to connection `conn`. */
  sent(id: string, conn: number): void {
    this.outbox.markSent(id, conn)
  }

  /** Delivers the answer of `id` and forgets the request (`urgent`: written promptly, see Persistence.requestRemoved). */
  answer(id: string, answer: Answer, urgent = false): void {
    const entry = this.outbox.remove(id)
    if (entry) this.deps.persistence.requestRemoved(id, urgent)
    const caller = this.callers.get(id)
    if (caller) {
      this.forgetCaller(id, caller)
      if (answer.ok) caller.resolve(answer.result)
      else caller.reject(answer.error)
      return
    }
    if (this.late.delete(id) || !entry) this.deps.counters.lateResponses++
    if (!entry) return
    const response: ResponseMessage = answer.ok
      ? { id, method: entry.method, ok: true, result: answer.result }
      : { id, method: entry.method, ok: false, error: { code: answer.error.code, message: answer.error.message } }
    this.deps.response(response)
  }

  /**
   * Fails `id` with our own error (e.g. too_large): its caller is rejected, or, for a send(),
   * the error is reported with its requestId. It is never sent again.
   */
  fail(id: string, error: SocketError): void {
    const awaited = this.callers.has(id)
    if (!awaited && !this.outbox.has(id)) return
    this.answer(id, { ok: false, error }, true)
    if (!awaited) this.deps.report(error)
  }

  /** Forgets `id` without an answer (plain mode: the socket took it; `urgent`: it must not come back). */
  remove(id: string, urgent = false): OutboxEntry | undefined {
    const entry = this.outbox.remove(id)
    if (entry) this.deps.persistence.requestRemoved(id, urgent)
    return entry
  }

  /** True when a request() waits for `id`. */
  awaited(id: string): boolean {
    return this.callers.has(id)
  }

  /** Rejects every waiting caller with `error` (destroy); the outbox is kept for the next launch. */
  rejectAll(error: SocketError): void {
    for (const [id, caller] of [...this.callers]) {
      this.forgetCaller(id, caller)
      caller.reject(error)
    }
    this.deadlines.clear()
    this.late.clear()
  }

  private timedOut(id: string): void {
    const caller = this.callers.get(id)
    if (!caller) return
    const { timeoutMs } = caller
    this.forgetCaller(id, caller)
    const entry = this.outbox.get(id)
    let code: SocketErrorCode = 'timeout'
    let message = `no answer to ${entry?.method ?? 'the request'} (${id}) within ${timeoutMs} ms; it was sent and may still take effect: its answer will come as a 'response' event`
    if (entry && entry.sends === 0) {
      this.remove(id, true)
      code = 'not_sent'
      message = `${entry.method} (${id}) could not be sent within ${timeoutMs} ms; it was dropped and will not take effect`
    } else {
      this.late.add(id)
    }
    caller.reject(new SocketError(code, message, { requestId: id }))
    this.deps.changed()
  }

  private forgetCaller(id: string, _caller: Caller): void {
    this.deadlines.delete(id)
    this.callers.delete(id)
  }
}

function preview(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `a ${value.length}-character string` : JSON.stringify(value)
  return typeof value
}
