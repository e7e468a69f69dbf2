/**
 * Frames of PROTOCOL.md v1: encoding, parsing with validation, and UTF-8 sizes. Runs on weapp:
 * no TextEncoder, no Buffer, no Node built-ins.
 */

/** A server's error: a failed `res`, a push it could not send, an `error` frame. */
export interface WireError {
  code: string
  message: string
}

/** A frame the server may send, after validation. */
export type ServerFrame =
  | { type: 'welcome'; sid: string; resumed: boolean; hb: number; max?: number }
  | { type: 'res'; id: string; ok: true; result?: unknown }
  | { type: 'res'; id: string; ok: false; error: WireError }
  /** `error`: the server could not send this push (e.g. over hello.max); its data is lost. */
  | { type: 'push'; seq: number; topic: string; data?: unknown; error?: WireError }
  | { type: 'pong'; ts?: number }
  | { type: 'error'; code: string; message: string; retryMs?: number }

/** The outcome of parsing one incoming text frame. */
export type ParsedFrame =
  | { ok: true; frame: ServerFrame }
  | { ok: false; code: 'bad_frame' | 'unknown_frame_type'; message: string }

type JsonObject = Record<string, unknown>

// Any UTF-16 unit above 0x7f (the ASCII range itself includes control characters).
const NON_ASCII = /[\u0080-\uffff]/

/** The UTF-8 byte length of `text`, counted by hand (a lone surrogate counts as U+FFFD, 3 bytes). */
export function utf8ByteLength(text: string): number {
  // Most frames are ASCII: the engine's regular expression scan is far quicker than a loop.
  if (!NON_ASCII.test(text)) return text.length
  let bytes = 0
  const length = text.length
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i)
    if (unit < 0x80) bytes += 1
    else if (unit < 0x800) bytes += 2
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4
        i++
      } else bytes += 3
    } else bytes += 3
  }
  return bytes
}

/** True when `text` is over `limitBytes` in UTF-8; counts only when the length cannot decide. */
export function exceedsBytes(text: string, limitBytes: number): boolean {
  // A UTF-16 unit encodes to 1..3 bytes (a surrogate pair, 2 units, to 4).
  if (text.length > limitBytes) return true
  if (text.length * 3 <= limitBytes) return false
  return utf8ByteLength(text) > limitBytes
}

/** The hello frame; `sid`/`ack` only when resuming, `token` only when there is one; `max` our frame limit. */
export function encodeHello(fields: { sid: string | null; ack: number; token?: string; max: number }): string {
  const hello: JsonObject = { type: 'hello', v: 1 }
  if (fields.sid !== null) {
    hello.sid = fields.sid
    hello.ack = fields.ack
  }
  if (fields.token !== undefined) hello.token = fields.token
  hello.max = fields.max
  return JSON.stringify(hello)
}

/** A v1 request frame. Throws when params cannot be serialized (cycles, BigInt). */
export function encodeRequest(id: string, method: string, params: unknown): string {
  return params === undefined
    ? JSON.stringify({ type: 'req', id, method })
    : JSON.stringify({ type: 'req', id, method, params })
}

/** A cumulative ack. */
export function encodeAck(seq: number): string {
  return JSON.stringify({ type: 'ack', seq })
}

/** A ping carrying the send time. */
export function encodePing(ts: number): string {
  return JSON.stringify({ type: 'ping', ts })
}

/** Parses and validates one server frame of v1. Never throws. */
export function parseServerFrame(text: string): ParsedFrame {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return bad(`not JSON: ${preview(text)}`)
  }
  if (!isPlainObject(value)) return bad(`not a JSON object: ${preview(text)}`)
  switch (value.type) {
    case 'welcome':
      return parseWelcome(value)
    case 'res':
      return parseResponse(value)
    case 'push': {
      if (!isPositiveInteger(value.seq)) return bad('push without a positive integer seq')
      if (typeof value.topic !== 'string') return bad('push without a string topic')
      const push: Extract<ServerFrame, { type: 'push' }> = { type: 'push', seq: value.seq, topic: value.topic, data: value.data }
      const error = wireError(value.error)
      if (error) push.error = error
      return ok(push)
    }
    case 'pong':
      return ok(typeof value.ts === 'number' ? { type: 'pong', ts: value.ts } : { type: 'pong' })
    case 'error': {
      if (typeof value.code !== 'string') return bad('error frame without a string code')
      const frame: Extract<ServerFrame, { type: 'error' }> = { type: 'error', code: value.code, message: typeof value.message === 'string' ? value.message : '' }
      if (typeof value.retryMs === 'number' && Number.isFinite(value.retryMs) && value.retryMs >= 0) frame.retryMs = value.retryMs
      return ok(frame)
    }
    default:
      if (typeof value.type !== 'string') return bad('frame without a string type')
      return { ok: false, code: 'unknown_frame_type', message: `unknown frame type "${value.type.slice(0, 40)}"` }
  }
}

/** Parses any JSON object (plain mode's messages). Never throws. */
export function parseJsonObject(text: string): { ok: true; value: JsonObject } | { ok: false; message: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, message: `not JSON: ${preview(text)}` }
  }
  if (!isPlainObject(value)) return { ok: false, message: `not a JSON object: ${preview(text)}` }
  return { ok: true, value }
}

/** What an over-limit frame was, as far as can be told without trusting it. */
export type OversizedFrame = { type: 'res'; id: string } | { type: 'push'; seq: number; topic: string } | { type: 'unknown' }

/** How much of an over-limit frame is looked at: its type, id and seq come first in any sane server. */
const OVERSIZED_PEEK_CHARS = 512
/** Up to this many times the limit, the whole frame is parsed instead (any field order). */
const OVERSIZED_PARSE_FACTOR = 4

/**
 * Tells which request or push an over-limit frame carried, so that one bad frame costs its own
 * request (failed, never re-sent) or its own push (skipped, reported), not a reconnect loop.
 */
export function identifyOversized(text: string, limitBytes: number): OversizedFrame {
  if (text.length <= limitBytes * OVERSIZED_PARSE_FACTOR) {
    const parsed = parseServerFrame(text)
    if (parsed.ok && parsed.frame.type === 'res') return { type: 'res', id: parsed.frame.id }
    if (parsed.ok && parsed.frame.type === 'push') return { type: 'push', seq: parsed.frame.seq, topic: parsed.frame.topic }
    return { type: 'unknown' }
  }
  const head = text.slice(0, OVERSIZED_PEEK_CHARS)
  const type = /"type"\s*:\s*"(res|push)"/.exec(head)?.[1]
  if (type === 'res') {
    const id = /"id"\s*:\s*"([^"\\]{1,64})"/.exec(head)?.[1]
    return id === undefined ? { type: 'unknown' } : { type: 'res', id }
  }
  if (type === 'push') {
    const seq = Number(/"seq"\s*:\s*(\d{1,15})[,}]/.exec(head)?.[1])
    const topic = /"topic"\s*:\s*"([^"\\]{0,128})"/.exec(head)?.[1] ?? ''
    return Number.isSafeInteger(seq) && seq > 0 ? { type: 'push', seq, topic } : { type: 'unknown' }
  }
  return { type: 'unknown' }
}

/** True for `{}`-style objects (not arrays, not null, not class instances such as Date). */
export function isPlainObject(value: unknown): value is JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

function parseWelcome(value: JsonObject): ParsedFrame {
  if (value.v !== 1) return bad(`welcome for protocol version ${JSON.stringify(value.v)}, expected 1`)
  if (typeof value.sid !== 'string' || value.sid === '') return bad('welcome without a sid')
  if (typeof value.resumed !== 'boolean') return bad('welcome without a boolean resumed')
  if (!isPositiveInteger(value.hb)) return bad('welcome without a positive integer hb')
  const welcome: Extract<ServerFrame, { type: 'welcome' }> = { type: 'welcome', sid: value.sid, resumed: value.resumed, hb: value.hb }
  if (isPositiveInteger(value.max)) welcome.max = value.max
  return ok(welcome)
}

function parseResponse(value: JsonObject): ParsedFrame {
  if (typeof value.id !== 'string' || value.id === '') return bad('res without an id')
  if (value.ok === true) return ok({ type: 'res', id: value.id, ok: true, result: value.result })
  if (value.ok !== false) return bad('res without a boolean ok')
  const error = wireError(value.error)
  if (!error) return bad('failed res without error.code')
  return ok({ type: 'res', id: value.id, ok: false, error })
}

function wireError(value: unknown): WireError | undefined {
  if (!isPlainObject(value) || typeof value.code !== 'string') return undefined
  return { code: value.code, message: typeof value.message === 'string' ? value.message : '' }
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0
}

function ok(frame: ServerFrame): ParsedFrame {
  return { ok: true, frame }
}

function bad(message: string): ParsedFrame {
  return { ok: false, code: 'bad_frame', message }
}

function preview(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)
}
