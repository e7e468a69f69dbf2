/**
 * Frames of PROTOCOL.md v1 and of plain mode: encoding, parsing with validation, and UTF-8
 * sizes. Runs on weapp: no TextEncoder, no Buffer, no Node built-ins.
 */

/** A frame the server may send, after validation. */
export type ServerFrame =
  | { type: 'welcome'; sid: string; resumed: boolean; hb: number }
  | { type: 'res'; id: string; ok: true; result?: unknown }
  | { type: 'res'; id: string; ok: false; error: { code: string; message: string } }
  | { type: 'push'; seq: number; topic: string; data?: unknown }
  | { type: 'pong'; ts?: number }
  | { type: 'error'; code: string; message: string }

/** The outcome of parsing one incoming text frame. */
export type ParsedFrame =
  | { ok: true; frame: ServerFrame }
  | { ok: false; code: 'bad_frame' | 'unknown_frame_type'; message: string }

type JsonObject = Record<string, unknown>

/** The UTF-8 byte length of `text`, counted by hand (a lone surrogate counts as U+FFFD, 3 bytes). */
export function utf8ByteLength(text: string): number {
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

/** The hello frame; `sid`/`ack` only when resuming, `token` only when there is one. */
export function encodeHello(fields: { sid: string | null; ack: number; token?: string }): string {
  const hello: JsonObject = { type: 'hello', v: 1 }
  if (fields.sid !== null) {
    hello.sid = fields.sid
    hello.ack = fields.ack
  }
  if (fields.token !== undefined) hello.token = fields.token
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

/**
 * A plain-mode message: `{ method, ...params }` for a plain object, else `{ method, data }`.
 * `method` always wins over a `method` key inside params, so routing stays right.
 */
export function encodePlain(method: string, params: unknown): string {
  if (isPlainObject(params)) {
    const message: JsonObject = { method, ...params }
    message.method = method
    return JSON.stringify(message)
  }
  return params === undefined ? JSON.stringify({ method }) : JSON.stringify({ method, data: params })
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
    case 'push':
      if (!isPositiveInteger(value.seq)) return bad('push without a positive integer seq')
      if (typeof value.topic !== 'string') return bad('push without a string topic')
      return ok({ type: 'push', seq: value.seq, topic: value.topic, data: value.data })
    case 'pong':
      return ok(typeof value.ts === 'number' ? { type: 'pong', ts: value.ts } : { type: 'pong' })
    case 'error':
      if (typeof value.code !== 'string') return bad('error frame without a string code')
      return ok({ type: 'error', code: value.code, message: typeof value.message === 'string' ? value.message : '' })
    default:
      if (typeof value.type !== 'string') return bad('frame without a string type')
      return { ok: false, code: 'unknown_frame_type', message: `unknown frame type "${value.type.slice(0, 40)}"` }
  }
}

/** Parses a plain-mode message: any JSON object. Never throws. */
export function parsePlainMessage(text: string): { ok: true; message: JsonObject } | { ok: false; message: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, message: `not JSON: ${preview(text)}` }
  }
  if (!isPlainObject(value)) return { ok: false, message: `not a JSON object: ${preview(text)}` }
  return { ok: true, message: value }
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
  return ok({ type: 'welcome', sid: value.sid, resumed: value.resumed, hb: value.hb })
}

function parseResponse(value: JsonObject): ParsedFrame {
  if (typeof value.id !== 'string' || value.id === '') return bad('res without an id')
  if (value.ok === true) return ok({ type: 'res', id: value.id, ok: true, result: value.result })
  if (value.ok !== false) return bad('res without a boolean ok')
  const error = value.error
  if (!isPlainObject(error) || typeof error.code !== 'string') return bad('failed res without error.code')
  const message = typeof error.message === 'string' ? error.message : ''
  return ok({ type: 'res', id: value.id, ok: false, error: { code: error.code, message } })
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
