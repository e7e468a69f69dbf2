/**
 * Plain mode (PROTOCOL.md "Plain mode"): the same link and outbox against a backend that speaks
 * no protocol, such as the original one. No hello, no acks, no resume: each request is its JSON
 * message; an incoming message answers the oldest waiting request of its method, or else reaches
 * pages and subscribers as a push (topic = its method, data = its result), so the same page code
 * runs in both modes. Promises nothing beyond at-least-once delivery of queued requests.
 */
import { BaseEngine } from '../core/base-engine'
import { ENGINE_DEFAULTS } from '../core/constants'
import { SocketError } from '../core/errors'
import type { Liveness } from '../core/link'
import type { SocketPlatform } from '../core/platform'
import type { EndCause } from '../core/phases'
import { exceedsBytes, parseJsonObject, utf8ByteLength } from '../core/protocol'
import type { SocketApi, UntypedApi } from '../core/api'
import type { SocketEngine } from '../core/socket-engine'
import type { EngineOptions, OutboxEntry, PushMessage } from '../core/types'
import { encodePlain, resolveMapping, valueAt, type PlainMapping, type ResolvedMapping } from './mapping'

/**
 * A message sent every `intervalMs` while open, against servers that drop idle connections (the
 * original's "Idle Timeout"). With `answer` (the method of the server's reply), silence for
 * intervalMs + heartbeatGraceMs is taken as a dead link and the connection is replaced; without
 * it, silence is never taken as death. Replies are not delivered to pages.
 */
export interface PlainKeepalive {
  message: Record<string, unknown> | string
  intervalMs: number
  answer?: string
}

export interface PlainEngineOptions extends EngineOptions {
  /** Where the method, result and error are in the backend's messages; default the original's shape. */
  mapping?: PlainMapping
  /** Default: none sent, and silence is not taken as death. */
  keepalive?: PlainKeepalive
}

/** Creates a plain-mode engine; options are checked at once (SocketError 'invalid_argument'). */
export function createPlainEngine<A extends SocketApi = UntypedApi>(platform: SocketPlatform, options: PlainEngineOptions): SocketEngine<A> {
  // The declaration is the app's word about its server; the engine itself is untyped.
  return new PlainEngine(platform, options) as unknown as SocketEngine<A>
}

/** The shortest keepalive interval accepted: faster is a flood, not a keepalive. */
const MIN_KEEPALIVE_MS = 100

class PlainEngine extends BaseEngine {
  private readonly mapping: ResolvedMapping
  private readonly keepalive: { text: string; intervalMs: number; answer: string | null } | null

  constructor(platform: SocketPlatform, options: PlainEngineOptions) {
    super(platform, options)
    this.mapping = resolveMapping(options.mapping)
    this.keepalive = options.keepalive ? resolveKeepalive(options.keepalive) : null
    this.start()
  }

  protected encode(_id: string, method: string, params: unknown): string {
    return encodePlain(this.mapping, method, params)
  }

  protected frameLimit(): number {
    return this.cfg.maxFrameBytes
  }

  protected sessionId(): string | null {
    return null
  }

  protected lastSeq(): number {
    return 0
  }

  protected opened(conn: number): void {
    this.link.ready(conn, this.liveness())
    this.stats.opens++
    this.writeQueued(conn)
  }

  protected ended(_conn: number, _end: EndCause | null): void {
    // Nothing is kept per connection: awaited requests stay queued and go again on the next one.
  }

  protected override write(conn: number, entry: OutboxEntry): void {
    super.write(conn, entry, () => this.taken(entry.id))
  }

  protected frame(_conn: number, data: unknown): void {
    if (typeof data !== 'string') {
      this.badFrame('bad_frame', 'a binary message (plain mode reads JSON text)')
      return
    }
    if (exceedsBytes(data, this.cfg.maxFrameBytes)) {
      this.badFrame('frame_too_large', `a ${utf8ByteLength(data)}-byte message, over our ${this.cfg.maxFrameBytes}-byte limit, was dropped`)
      return
    }
    const parsed = parseJsonObject(data)
    if (!parsed.ok) {
      this.badFrame('bad_frame', parsed.message)
      return
    }
    const message = parsed.value
    this.events.emit('message', message)
    const method = valueAt(message, this.mapping.method)
    if (typeof method !== 'string') return
    if (this.keepalive && method === this.keepalive.answer) return
    const result = valueAt(message, this.mapping.result)
    const id = this.oldestAwaited(method)
    if (id !== undefined) {
      this.answered(id, method, result, valueAt(message, this.mapping.error))
      return
    }
    const push: PushMessage = result === undefined ? { seq: 0, topic: method } : { seq: 0, topic: method, data: result }
    this.stats.pushesDelivered++
    this.events.emit('push', push)
    this.events.deliverToTopic(push)
  }

  /** The oldest request of `method` already on the wire that a caller awaits (first come, first served). */
  private oldestAwaited(method: string): string | undefined {
    for (const entry of this.requests.outbox.entries()) {
      if (entry.method === method && entry.sends > 0 && this.requests.awaited(entry.id)) return entry.id
    }
    return undefined
  }

  /** The socket took a request: one nobody awaits is done (plain mode can know no more). */
  private taken(id: string): void {
    if (this.requests.awaited(id)) return
    if (this.requests.remove(id)) this.publish()
  }

  private answered(id: string, method: string, result: unknown, error: unknown): void {
    if (error === undefined || error === null || error === false) {
      this.requests.answer(id, { ok: true, result })
    } else {
      const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'server_error'
      const text = typeof error === 'string' ? error : typeof (error as { message?: unknown }).message === 'string' ? (error as { message: string }).message : `${method} failed`
      this.requests.answer(id, { ok: false, error: new SocketError(code, text, { requestId: id }) })
    }
    this.publish()
  }

  private liveness(): Liveness | null {
    const keepalive = this.keepalive
    if (!keepalive) return null
    return {
      intervalMs: keepalive.intervalMs,
      timeoutMs: keepalive.answer === null ? null : keepalive.intervalMs + this.cfg.heartbeatGraceMs,
      ping: () => keepalive.text,
    }
  }
}

function resolveKeepalive(keepalive: PlainKeepalive): { text: string; intervalMs: number; answer: string | null } {
  const { message, intervalMs, answer } = keepalive
  if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs < MIN_KEEPALIVE_MS) {
    throw new SocketError('invalid_argument', `keepalive.intervalMs must be a number ≥ ${MIN_KEEPALIVE_MS}, got ${String(intervalMs)}`)
  }
  if (answer !== undefined && (typeof answer !== 'string' || answer === '')) {
    throw new SocketError('invalid_argument', 'keepalive.answer must be the method name of the server\'s reply')
  }
  let text: string
  try {
    text = typeof message === 'string' ? message : JSON.stringify(message)
  } catch (error) {
    throw new SocketError('invalid_argument', `keepalive.message cannot be JSON: ${String(error)}`)
  }
  if (typeof text !== 'string' || text === '' || utf8ByteLength(text) > ENGINE_DEFAULTS.maxFrameBytes) {
    throw new SocketError('invalid_argument', 'keepalive.message must be a non-empty string or a JSON object under the frame limit')
  }
  return { text, intervalMs, answer: answer ?? null }
}
