/**
 * Wire protocol v1 (shared/PROTOCOL.md): the client frames the server accepts, their validation,
 * and the server frames it writes. Pure functions, no I/O.
 */
import { MAX_SID_LENGTH, MAX_TOKEN_LENGTH } from './constants'

export const PROTOCOL_VERSION = 1

/** Codes carried by `error` frames and by `res` errors. */
export type ErrorCode =
  | 'bad_request'
  | 'unknown_method'
  | 'unauthorized'
  | 'rate_limited'
  | 'too_large'
  | 'internal'
  | 'idle'
  | 'hello_timeout'
  | 'sequence'
  | 'replaced'
  | 'limit'
  | 'shutting_down'

/** The error codes that end a connection, each with the close code that follows its `error` frame. */
export const CLOSE_CODE_BY_ERROR = {
  idle: 4002,
  bad_request: 4400,
  unauthorized: 4401,
  hello_timeout: 4408,
  sequence: 4409,
  replaced: 4410,
  rate_limited: 4429,
} as const

export type FatalErrorCode = keyof typeof CLOSE_CODE_BY_ERROR

export const CLOSE_GOING_AWAY = 1001
export const CLOSE_TOO_LARGE = 1009

export const REQUEST_ID_MAX_LENGTH = 64
export const METHOD_MAX_LENGTH = 64
/** The frame limit a client gets when its hello names none (PROTOCOL.md: 64 KiB). */
export const DEFAULT_CLIENT_MAX_BYTES = 64 * 1024
/**
 * The smallest hello.max accepted: every frame the server makes of what a client sent fits in
 * it — a `too_large` answer quoting any 64-unit id (up to 386 bytes of JSON when every unit is
 * escaped) and a push stub quoting any 128-unit topic (up to 770 bytes).
 */
export const MIN_CLIENT_MAX_BYTES = 1024
/** A UTF-16 unit without its pair: UTF-8 cannot carry it, so SQLite and Redis keep something else. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** True when `text` is well-formed UTF-16, so a store gives back exactly what it was given. */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text)
}

/** A name the server keeps (topic, identity): a well-formed string of 1..maxLength units. */
export function isStorableName(value: unknown, maxLength: number): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= maxLength && isWellFormed(value)
}

/**
 * The key a request id is remembered under. Any 1..64-unit string is a usable id (PROTOCOL.md),
 * lone surrogates included, but a store would turn those into U+FFFD and make two ids one, so
 * they (and ids starting with NUL, to keep the mapping one-to-one) are kept as NUL + JSON.
 */
export function answerKey(id: string): string {
  return id.charCodeAt(0) === 0 || !isWellFormed(id) ? `\u0000${JSON.stringify(id)}` : id
}

/** Names a method may have; anything else cannot be registered and answers `unknown_method`. */
const METHOD_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.:-]*$/

export interface HelloFrame {
  type: 'hello'
  v: 1
  sid?: string
  ack: number
  token?: string
  /** The largest frame the client accepts, in bytes (DEFAULT_CLIENT_MAX_BYTES when absent). */
  max: number
}
export interface ReqFrame {
  type: 'req'
  id: string
  /** The method name; '' when the frame had none usable (see `problem`). */
  method: string
  params?: unknown
  /**
   * Why the method field cannot name a method (missing, not a string, over METHOD_MAX_LENGTH).
   * Such a req still has a usable id, so it is answered with `res` bad_request, not a 4400.
   */
  problem?: string
}
export interface AckFrame {
  type: 'ack'
  seq: number
}
export interface PingFrame {
  type: 'ping'
  ts?: number
}
export type ClientFrame = HelloFrame | ReqFrame | AckFrame | PingFrame

export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; message: string }

type Fields = Record<string, unknown>

/**
 * Parses and validates one text frame from a client. Returns the typed frame, or the reason it
 * is malformed (the caller answers `bad_request` and closes with 4400). Only own properties are
 * read, so `__proto__` or `constructor` keys in the JSON are plain, ignored data.
 */
export function parseClientFrame(text: string): ParseResult {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return invalid('frame is not valid JSON')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return invalid('frame must be a JSON object')
  }
  const fields = value as Fields
  const type = own(fields, 'type')
  switch (type) {
    case 'hello':
      return parseHello(fields)
    case 'req':
      return parseReq(fields)
    case 'ack':
      return parseAck(fields)
    case 'ping':
      return parsePing(fields)
    default:
      return invalid(typeof type === 'string' ? `unknown frame type "${truncate(type)}"` : 'frame has no string "type"')
  }
}

function parseHello(fields: Fields): ParseResult {
  const v = own(fields, 'v')
  if (v !== PROTOCOL_VERSION) return invalid(`hello.v must be ${PROTOCOL_VERSION}`)
  const sid = own(fields, 'sid')
  if (sid !== undefined && !isStringOfLength(sid, 1, MAX_SID_LENGTH)) {
    return invalid(`hello.sid must be a string of 1..${MAX_SID_LENGTH} characters`)
  }
  const ack = own(fields, 'ack')
  if (ack !== undefined && !isSeq(ack)) return invalid('hello.ack must be an integer >= 0')
  const token = own(fields, 'token')
  if (token !== undefined && !isStringOfLength(token, 0, MAX_TOKEN_LENGTH)) {
    return invalid(`hello.token must be a string of at most ${MAX_TOKEN_LENGTH} characters`)
  }
  const max = own(fields, 'max')
  if (max !== undefined && !(isSeq(max) && max >= MIN_CLIENT_MAX_BYTES)) {
    return invalid(`hello.max must be an integer >= ${MIN_CLIENT_MAX_BYTES} (bytes)`)
  }
  const frame: HelloFrame = {
    type: 'hello',
    v: PROTOCOL_VERSION,
    ack: (ack as number | undefined) ?? 0,
    max: (max as number | undefined) ?? DEFAULT_CLIENT_MAX_BYTES,
  }
  if (sid !== undefined) frame.sid = sid as string
  if (token !== undefined) frame.token = token as string
  return { ok: true, frame }
}

function parseReq(fields: Fields): ParseResult {
  const id = own(fields, 'id')
  if (!isStringOfLength(id, 1, REQUEST_ID_MAX_LENGTH)) {
    return invalid(`req.id must be a string of 1..${REQUEST_ID_MAX_LENGTH} characters`)
  }
  const method = own(fields, 'method')
  const usable = isStringOfLength(method, 1, METHOD_MAX_LENGTH)
  const frame: ReqFrame = { type: 'req', id: id as string, method: usable ? method : '' }
  if (!usable) frame.problem = `req.method must be a string of 1..${METHOD_MAX_LENGTH} characters`
  if (Object.prototype.hasOwnProperty.call(fields, 'params')) frame.params = fields.params
  return { ok: true, frame }
}

function parseAck(fields: Fields): ParseResult {
  const seq = own(fields, 'seq')
  if (!isSeq(seq)) return invalid('ack.seq must be an integer >= 0')
  return { ok: true, frame: { type: 'ack', seq } }
}

function parsePing(fields: Fields): ParseResult {
  const ts = own(fields, 'ts')
  if (ts !== undefined && (typeof ts !== 'number' || !Number.isFinite(ts))) return invalid('ping.ts must be a number')
  return { ok: true, frame: ts === undefined ? { type: 'ping' } : { type: 'ping', ts } }
}

/** True when `method` could name a registered method (see METHOD_NAME_PATTERN). */
export function isMethodName(method: string): boolean {
  return method.length <= METHOD_MAX_LENGTH && METHOD_NAME_PATTERN.test(method)
}

/** The `welcome` frame text; `maxBytes` is the largest frame this server accepts. */
export function welcomeFrame(sid: string, resumed: boolean, heartbeatMs: number, maxBytes: number): string {
  return JSON.stringify({ type: 'welcome', v: PROTOCOL_VERSION, sid, resumed, hb: heartbeatMs, max: maxBytes })
}

/** A successful `res`; throws when `result` cannot be serialized (BigInt, cycles). */
export function resultFrame(id: string, result: unknown): string {
  return result === undefined
    ? JSON.stringify({ type: 'res', id, ok: true })
    : JSON.stringify({ type: 'res', id, ok: true, result })
}

/** A failed `res`. */
export function failureFrame(id: string, code: string, message: string): string {
  return JSON.stringify({ type: 'res', id, ok: false, error: { code, message } })
}

/** `resText`, or a `too_large` failure of request `id` when it is over the client's limit. */
export function fittedAnswer(id: string, resText: string, maxFrameBytes: number): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: most answers are decided without counting.
  if (resText.length * 3 <= maxFrameBytes) return resText
  const bytes = Buffer.byteLength(resText)
  if (bytes <= maxFrameBytes) return resText
  const tooLarge = failureFrame(id, 'too_large', `the answer is ${bytes} bytes, over this connection's ${maxFrameBytes}-byte limit`)
  // Fits in MIN_CLIENT_MAX_BYTES whatever the id.
  return Buffer.byteLength(tooLarge) <= maxFrameBytes ? tooLarge : failureFrame(id, 'too_large', 'the answer is over this connection\'s limit')
}

/**
 * A `push` frame from pre-serialized parts, so a fan-out serializes its payload once.
 * `topicJson` is `JSON.stringify(topic)`; `dataJson` is null when the push has no data.
 */
export function pushFrame(seq: number, topicJson: string, dataJson: string | null): string {
  return dataJson === null
    ? `{"type":"push","seq":${seq},"topic":${topicJson}}`
    : `{"type":"push","seq":${seq},"topic":${topicJson},"data":${dataJson}}`
}

/**
 * The UTF-8 bytes every session's copy of one push shares (everything after its seq), for
 * pushFrameFromTail. Same arguments as pushFrame.
 */
export function pushFrameTail(topicJson: string, dataJson: string | null): Buffer {
  return Buffer.from(dataJson === null ? `,"topic":${topicJson}}` : `,"topic":${topicJson},"data":${dataJson}}`)
}

/** A `push` frame as UTF-8 bytes: the seq, then a tail from pushFrameTail (copied, not encoded). */
export function pushFrameFromTail(seq: number, tail: Buffer): Buffer {
  const head = `{"type":"push","seq":${seq}`
  const frame = Buffer.allocUnsafe(head.length + tail.length)
  frame.write(head, 0, 'latin1')
  tail.copy(frame, head.length)
  return frame
}

/**
 * What replaces a push whose frame is over the client's hello.max: the same seq and topic, no
 * data, and the reason, so the client's sequence has no hole and it can report what it lost.
 */
export function oversizedPushFrame(seq: number, topicJson: string, frameBytes: number, maxBytes: number): string {
  const message = `a ${frameBytes}-byte push is over this connection's ${maxBytes}-byte limit`
  return `{"type":"push","seq":${seq},"topic":${topicJson},"error":${JSON.stringify({ code: 'too_large', message })}}`
}

/** The `pong` answering a ping, with its `ts` when it had one. */
export function pongFrame(ts: number | undefined): string {
  return ts === undefined ? '{"type":"pong"}' : JSON.stringify({ type: 'pong', ts })
}

/** An `error` frame. */
export function errorFrame(code: ErrorCode, message: string): string {
  return JSON.stringify({ type: 'error', code, message })
}

function own(fields: Fields, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(fields, key) ? fields[key] : undefined
}

function isStringOfLength(value: unknown, min: number, max: number): value is string {
  return typeof value === 'string' && value.length >= min && value.length <= max
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function truncate(text: string): string {
  return text.length > 32 ? `${text.slice(0, 32)}…` : text
}

function invalid(message: string): ParseResult {
  return { ok: false, message }
}
