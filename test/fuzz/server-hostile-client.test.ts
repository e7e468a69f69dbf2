/**
 * Hostile clients against the real reference server: in this process (startTestServer, in memory,
 * 127.0.0.1 port 0), over real sockets, with a small maxFrameBytes (4096) so that frames at and
 * over every limit stay cheap. Each fast-check run opens a few concurrent hostile connections
 * and plays a generated sequence of client actions on them, interleaved with admin pushes:
 * hello variants (missing, bad v, bad or huge sid, resuming another connection's session, ack
 * beyond, bad token, hello.max below, at and above the limits), req frames with usable ids and
 * hostile content (missing, long or non-string methods, unknown methods, hostile params for
 * list / order.confirm / echo with __proto__ keys, deep nesting, strings sized to land one byte
 * under, at and over the frame limit and the client's hello.max), repeated ids, acks beyond the
 * last push, pings with odd ts, text that is not JSON, arrays, unknown types, binary frames,
 * invalid UTF-8, frames over maxFrameBytes, fragmented frames, bursts, a flood over the rate
 * limit, connections that stop reading (socket.pause()) under a pile of answers and resume,
 * abrupt terminations, reconnects that take a session over, and pushes the server must refuse.
 *
 * What the client sends is judged by an independent model of PROTOCOL.md (plus the limits the
 * server declares in server/constants.ts and server/protocol.ts), from the exact text on the
 * wire, so the checks do not depend on how the frame was generated:
 * - nothing escapes the server: no uncaught exception or unhandled rejection (listeners on the
 *   real process object), and no internal failure in its log;
 * - on each connection the answers (res and pong) arrive in the order their frames were sent,
 *   one per req with a usable id (repeated ids included) and per valid ping, and all of them
 *   unless the client ended the connection itself, its session was taken over (4410), or it
 *   stopped reading and the server cut it for the pile of unread answers; a repeated id gets the
 *   same answer (the method does not run twice); fresh ids get the answer the demo backend
 *   documents (echo exact, too_large exactly when the frame would pass hello.max);
 * - no frame the server sends is larger than the client's hello.max (byteLength of every frame);
 * - a frame that is not JSON, not an object, has no usable id or an unknown type (or is binary,
 *   a second hello, a first frame that is not hello) gets `error` bad_request as the last frame,
 *   then close 4400; a bad token 4401, an ack beyond the last push 4409, a flood 4429, no hello
 *   4408, a frame over maxFrameBytes 1009, invalid UTF-8 1007; no other close happens;
 * - pushes arrive with seqs 1, 2, 3 … (ack + 1 … after a resume) without gaps; an admin push
 *   over the frame limit is refused (too_large, HTTP 413), one that fits is accepted;
 * - a well-behaved bystander, connected for the whole test and sending an echo every 20 ms, gets
 *   every answer (none later than 5 s) and every admin push in order; its echo latency is
 *   measured and written to test/fuzz/out/server-hostile-client.json;
 * - after every run the server holds no connection but the bystander's, and at the end its heap
 *   has not grown by more than 200 MB.
 *
 * FUZZ_RUNS (default 20) sets the number of runs, FUZZ_SEED replays one.
 *
 * What it found, fixed in the server: remembered answers of ids with lone surrogates (SQLite
 * gives back U+FFFD) made the answer trim loop spin forever and stop the server; failure and
 * $subscribe answers and push stubs over a small hello.max; answers queued behind a replay
 * dropped by a 4xxx close; a binary frame during the hello check closing ahead of held frames.
 *
 * Checked that it fails: with server/dispatcher.ts temporarily answering nothing for every 50th
 * `echo` (an early `return` in dispatch before the method runs), the run failed within a few
 * runs, the shrunk counterexample being a single hostile connection sending a few echoes
 * ("no res … connection still open"); with fitted() accepting one byte more than hello.max, the
 * reply-sized echoes failed at once ("… over this client's hello.max"). Both edits were reverted.
 */
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import vm from 'node:vm'
import { Worker } from 'node:worker_threads'
import fc from 'fast-check'
import WebSocket from 'ws'
import type { RawData } from 'ws'
import { staticTokenAuth } from '../../server/app'
import type { Authenticate, ReferenceServer } from '../../server/app'
import { MAX_SID_LENGTH, MAX_TOKEN_LENGTH, MAX_TOPIC_LENGTH } from '../../packages/server/src/constants'
import { METHOD_MAX_LENGTH, MIN_CLIENT_MAX_BYTES, REQUEST_ID_MAX_LENGTH } from '../../packages/server/src/protocol'
import { startTestServer } from '../helpers/reference-server'

const RUNS = envInt('FUZZ_RUNS', 20)
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED)
const OUT_FILE = path.join(__dirname, 'out', 'server-hostile-client.json')
/** The scenario being played, rewritten at the start of each run: what a wedge report points to. */
const CURRENT_RUN_FILE = path.join(__dirname, 'out', 'server-hostile-client.current-run.json')
/** The server shares this thread: if it stops for this long, nothing here can fail the test but the watchdog. */
const WEDGE_MS = 15_000

const MAX_FRAME_BYTES = 4096
const HELLO_TIMEOUT_MS = 400
/** Far above what a run sends in a second on one connection, except the flood. */
const RATE_LIMIT = { frames: 6000, perMs: 1000, bytes: 256 * 1024 * 1024 }
/** Over the frame budget even if a window boundary splits it in two. */
const FLOOD_FRAMES = 14_000
const FLOOD_TS = 271_828.182_845
const PRESSURE_PREFIX = 'pressure'
const DEFAULT_CLIENT_MAX = 64 * 1024
const TOKEN = 'dev-token'
/** The bystander is another user: what the hostile identity does to itself (notices, its limits) is not its business. */
const BYSTANDER_TOKEN = 'bystander-token'
const BYSTANDER_IDENTITY = 'bystander'
/** connection.ts holds at most this many frames while a hello is authenticated; more is 4429. */
const HELD_FRAMES_LIMIT = 200
const SUBSCRIBE_TOPICS = ['room-1', 'room-2']
const MAX_TOPICS_PER_SESSION = 100
const ADMIN_TOKEN = 'dev-admin'
/** No run pushes this many times: an ack at or above it is always beyond the last push. */
const BEYOND_SEQ = 1e12
const KNOWN_METHODS = new Set(['echo', 'list', 'order.confirm', '$subscribe', '$unsubscribe'])
const SEEDED_ORDERS = ['A1001', 'A1002', 'A1003', 'A1004', 'A1005', 'A1006']
const ORDER_POOL = 20
const OPEN_TIMEOUT_MS = 3000
const SETTLE_MS = 8000
const BYSTANDER_INTERVAL_MS = 20
const BYSTANDER_WEDGE_MS = 5000
const HEAP_GROWTH_LIMIT_BYTES = 200 * 1024 * 1024
const SERVER_FRAME_TYPES = new Set(['welcome', 'res', 'push', 'pong', 'error'])

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

type Fields = Record<string, unknown>

// ---------------------------------------------------------------------------------------------
// What the generators produce. Frames are assembled as text at execution time, because some of
// them are sized against the connection's own limit (hello.max) or carry keys that object
// literals cannot (own __proto__, duplicates).

type IdSpec = { usable: true; len: number; body: string; unique: boolean } | { usable: false; text: string | null; hidden: boolean }
type ParamsSpec =
  | { p: 'absent' }
  | { p: 'json'; text: string }
  | { p: 'deep'; depth: number; objects: boolean }
  | { p: 'sized'; rel: 'frame' | 'reply'; delta: number; pad: string }
interface ReqSpec {
  id: IdSpec
  method: string | null
  params: ParamsSpec
  extra: 'none' | 'unknownField' | 'typeLast' | 'dupMethod' | 'protoType'
}
type SidSpec = 'absent' | 'own' | 'pool' | 'unknown' | 'max' | 'long' | 'empty' | 'number' | 'null'
type AckSpec = 'absent' | 'zero' | 'received' | 'beyond' | 'negative' | 'fraction' | 'string' | 'unsafe' | 'null'
interface HelloSpec {
  v: string | null
  sid: SidSpec
  pick: number
  ack: AckSpec
  token: string | null
  max: string | null
  extra: boolean
}
type FrameSpec =
  | { f: 'req'; req: ReqSpec }
  | { f: 'ping'; ts: string | null }
  | { f: 'ack'; seq: AckSpec }
  | { f: 'hello'; hello: HelloSpec }
  | { f: 'garbage'; text: string }
  | { f: 'binary'; bytes: Uint8Array }
  | { f: 'badUtf8' }
  | { f: 'oversize'; over: number; binary: boolean }
  | { f: 'repeat'; pick: number }
type Action =
  | { a: 'frame'; frame: FrameSpec }
  | { a: 'burst'; frames: FrameSpec[] }
  | { a: 'fragmented'; req: ReqSpec; parts: number }
  | { a: 'flood' }
  | { a: 'pressure'; count: number }
  | { a: 'pause' }
  | { a: 'resume' }
  | { a: 'terminate' }
  | { a: 'close' }
  | { a: 'reopen'; old: 'terminate' | 'close' | 'keep'; hello: HelloSpec }
  | { a: 'wsPing' }
  | { a: 'wait'; ms: number }
type TopicSpec = { t: 'plain' | 'weird' | 'notify' | 'empty' | 'long'; text: string } | { t: 'nonString' }
type DataSpec =
  | { d: 'absent' }
  | { d: 'json'; text: string }
  | { d: 'sized'; delta: number; pad: string }
  | { d: 'order'; n: number; valid: boolean; title: string }
  | { d: 'bigint' }
  | { d: 'cycle' }
type PushTo = 'all' | 'dev' | 'bystander' | 'nobody' | 'room' | 'malformed'
interface PushSpec {
  via: 'api' | 'http'
  topic: TopicSpec
  data: DataSpec
  to: PushTo
}
type Step = { who: number; action: Action; gap: number } | { who: 'admin'; push: PushSpec; gap: number }
type Opening = { kind: 'hello'; hello: HelloSpec } | { kind: 'first'; frame: FrameSpec } | { kind: 'silent' }
interface Scenario {
  actors: Opening[]
  steps: Step[]
}

// ---------------------------------------------------------------------------------------------
// The model of one connection, and the client that plays it.

/** What the client expects back for one of its frames, in order. */
interface Expected {
  kind: 'res' | 'pong'
  id?: string
  ts?: number
  what: string
  /** Method-specific answer check, only for ids never used before (no remembered answer can interfere). */
  check?: (frame: Fields) => string | null
  /** A repeated id: its answer must be the one the first request got. */
  sameAs?: Expected
  /** Lists are answered fresh on a repeated id, so they may differ. */
  safeToDiffer?: boolean
  answer?: string
}

interface Fatal {
  /** Close codes that end the connection for this frame (the first one is the documented one). */
  codes: number[]
  /** The `error` code that must be the last frame before a 4xxx close. */
  error?: string
  why: string
}

type Verdict =
  | { kind: 'fatal'; fatal: Fatal }
  | { kind: 'hello'; max: number; sid: string | undefined; ack: number }
  | { kind: 'req'; id: string; frame: Fields }
  | { kind: 'ping'; ts: number | undefined }
  | { kind: 'ack' }

interface ReceivedFrame {
  bytes: number
  binary: boolean
  text: string
  frame: Fields | null
}

interface Actor {
  index: number
  conns: Conn[]
  /** The sid of the latest welcome on any of its connections, and the highest seq seen there. */
  lastSid: string | null
  lastSeq: number
  /** hello.max of its last accepted hello, as sent. */
  helloMax: string | null
}

let connCount = 0

class Conn {
  readonly label: string
  readonly socket: WebSocket
  readonly received: ReceivedFrame[] = []
  readonly trace: string[] = []
  readonly replies: Expected[] = []
  readonly sentReqs: Array<{ text: string; expected: Expected }> = []
  readonly opened: Promise<void>
  close: { code: number; reason: string; byServer: boolean } | null = null
  endedByClient: 'terminate' | 'close' | null = null
  /** 'new' until a valid hello was sent. */
  phase: 'new' | 'open' = 'new'
  fatal: Fatal | null = null
  /** ws-level cuts (1009, 1007) that a frame sent after the fatal one may cause first. */
  readonly laterCuts = new Set<number>()
  max = DEFAULT_CLIENT_MAX
  hello: { ack: number; mustBeFresh: boolean; text: string } | null = null
  sid: string | null = null
  maxSeq = 0
  maybeReplaced = false
  /** Frames sent after the hello before its welcome came: the server holds them while it authenticates. */
  sentBeforeWelcome = 0
  pressured = false
  paused = false
  everPaused = false
  silent = false
  openAtSettle = false
  readonly clientErrors: string[] = []

  constructor(readonly actor: Actor, url: string) {
    connCount += 1
    this.label = `conn#${connCount} (actor ${actor.index})`
    this.socket = new WebSocket(url, { perMessageDeflate: false })
    this.opened = new Promise<void>((resolve, reject) => {
      this.socket.once('open', () => resolve())
      this.socket.once('error', (error) => reject(error))
    })
    // Rejections of `opened` are awaited by the runner; this keeps a late one from escaping.
    this.opened.catch(() => undefined)
    this.socket.on('error', (error) => this.clientErrors.push(error.message))
    this.socket.on('message', (data: RawData, isBinary: boolean) => this.onFrame(toBuffer(data), isBinary))
    this.socket.on('close', (code: number, reason: Buffer) => {
      this.close = { code, reason: reason.toString(), byServer: this.endedByClient === null }
      this.note(`-- closed ${code} ${reason.toString()}${this.endedByClient ? ` (after the client's ${this.endedByClient})` : ''}`)
    })
  }

  get usable(): boolean {
    return this.socket.readyState === WebSocket.OPEN && this.endedByClient === null
  }

  note(line: string): void {
    if (this.trace.length < 400) this.trace.push(line.length > 200 ? `${line.slice(0, 200)}…` : line)
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    const text = isBinary ? '' : data.toString('utf8')
    let frame: Fields | null = null
    if (!isBinary) {
      try {
        const value: unknown = JSON.parse(text)
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) frame = value as Fields
      } catch {
        frame = null
      }
    }
    // Bulk answers (flood pongs, pressure echoes) are kept as shells: their order and size are
    // what is checked, and megabytes of text per run would only blur the heap measurement.
    const bulk = (frame?.type === 'pong' && frame.ts === FLOOD_TS) || (frame?.type === 'res' && typeof frame.id === 'string' && frame.id.startsWith(PRESSURE_PREFIX))
    if (bulk && frame) {
      const shell: Fields = { type: frame.type, id: frame.id, ok: frame.ok, ts: frame.ts }
      if (isFields(frame.error)) shell.error = { code: frame.error.code, message: String(frame.error.message) }
      this.received.push({ bytes: data.length, binary: false, text: '', frame: shell })
      return
    }
    this.received.push({ bytes: data.length, binary: isBinary, text, frame })
    this.note(`S< ${isBinary ? `<binary ${data.length} bytes>` : text} [${data.length} B]`)
    if (frame?.type === 'welcome' && typeof frame.sid === 'string') {
      this.sid = frame.sid
      this.actor.lastSid = frame.sid
      this.actor.lastSeq = 0
      const holders = world.sidPool.get(frame.sid) ?? []
      holders.push(this)
      world.sidPool.set(frame.sid, holders)
    } else if (frame?.type === 'push' && typeof frame.seq === 'number') {
      this.maxSeq = Math.max(this.maxSeq, frame.seq)
      if (this.sid !== null && this.actor.lastSid === this.sid) this.actor.lastSeq = Math.max(this.actor.lastSeq, frame.seq)
    }
  }

  /** Sends a frame and updates the model with what the server must make of it. */
  send(payload: { text: string } | { binary: Uint8Array } | { badUtf8: Buffer }, options: { flood?: boolean; bulk?: boolean; parts?: number } = {}): Expected | null {
    if (!this.usable) return null
    if (this.phase === 'open' && this.sid === null) {
      if (!this.fatal) this.sentBeforeWelcome += 1
    }
    const expected = this.judge(payload, options.flood === true, options.bulk === true)
    if ('text' in payload) {
      if (!options.flood && !options.bulk) this.note(`C> ${payload.text} [${Buffer.byteLength(payload.text)} B]`)
      const parts = options.parts ?? 1
      if (parts > 1) {
        // Cut by bytes, through UTF-8 sequences too: the server must judge the reassembled message.
        const bytes = Buffer.from(payload.text)
        const size = Math.max(1, Math.ceil(bytes.length / parts))
        for (let start = 0; start < bytes.length; start += size) {
          const end = Math.min(bytes.length, start + size)
          this.socket.send(bytes.subarray(start, end), { binary: false, fin: end === bytes.length })
        }
      } else {
        this.socket.send(payload.text)
      }
    } else if ('binary' in payload) {
      this.note(`C> <binary ${payload.binary.length} bytes>`)
      this.socket.send(payload.binary, { binary: true })
    } else {
      this.note(`C> <invalid UTF-8 text ${payload.badUtf8.length} bytes>`)
      this.socket.send(payload.badUtf8, { binary: false })
    }
    return expected
  }

  private judge(payload: { text: string } | { binary: Uint8Array } | { badUtf8: Buffer }, flood: boolean, bulk: boolean): Expected | null {
    const verdict = classify(this, payload)
    if (this.fatal) {
      if (verdict.kind === 'fatal' && (verdict.fatal.codes[0] === 1009 || verdict.fatal.codes[0] === 1007)) {
        this.laterCuts.add(verdict.fatal.codes[0])
      }
      return null
    }
    switch (verdict.kind) {
      case 'fatal':
        this.fatal = verdict.fatal
        return null
      case 'hello':
        this.phase = 'open'
        this.max = verdict.max
        return null
      case 'ack':
        return null
      case 'ping': {
        if (flood) return null
        const expected: Expected = { kind: 'pong', ts: verdict.ts, what: `ping ts=${String(verdict.ts)}` }
        this.replies.push(expected)
        return expected
      }
      case 'req': {
        const fresh = !world.usedIds.has(verdict.id)
        world.usedIds.add(verdict.id)
        const expected = expectationFor(this, verdict.id, verdict.frame, fresh)
        this.replies.push(expected)
        if ('text' in payload && !bulk) this.sentReqs.push({ text: payload.text, expected })
        return expected
      }
    }
  }
}

/** The server's verdict on one client frame, from PROTOCOL.md and the server's declared limits. */
function classify(conn: Conn, payload: { text: string } | { binary: Uint8Array } | { badUtf8: Buffer }): Verdict {
  const bytes = 'text' in payload ? Buffer.byteLength(payload.text) : 'binary' in payload ? payload.binary.length : payload.badUtf8.length
  if (bytes > MAX_FRAME_BYTES) return fatal([1009], undefined, `a ${bytes}-byte frame over maxFrameBytes`)
  if ('binary' in payload) return fatal([4400], 'bad_request', 'a binary frame')
  if ('badUtf8' in payload) return fatal([1007], undefined, 'a text frame that is not UTF-8')
  let value: unknown
  try {
    value = JSON.parse(payload.text)
  } catch {
    return fatal([4400], 'bad_request', 'a frame that is not JSON')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fatal([4400], 'bad_request', 'a frame that is not an object')
  const fields = value as Fields
  const type = own(fields, 'type')
  if (type !== 'hello' && type !== 'req' && type !== 'ack' && type !== 'ping') return fatal([4400], 'bad_request', 'an unknown type')
  if (conn.phase === 'new') {
    if (type !== 'hello') return fatal([4400], 'bad_request', `a first frame of type ${type}`)
    const v = own(fields, 'v')
    const sid = own(fields, 'sid')
    const ack = own(fields, 'ack')
    const token = own(fields, 'token')
    const max = own(fields, 'max')
    if (v !== 1) return fatal([4400], 'bad_request', 'hello.v is not 1')
    if (sid !== undefined && !isStringOfLength(sid, 1, MAX_SID_LENGTH)) return fatal([4400], 'bad_request', 'an unusable hello.sid')
    if (ack !== undefined && !isSeq(ack)) return fatal([4400], 'bad_request', 'an unusable hello.ack')
    if (token !== undefined && !isStringOfLength(token, 0, MAX_TOKEN_LENGTH)) return fatal([4400], 'bad_request', 'an unusable hello.token')
    if (max !== undefined && !(isSeq(max) && max >= MIN_CLIENT_MAX_BYTES)) return fatal([4400], 'bad_request', 'an unusable hello.max')
    if (token !== TOKEN) return fatal([4401], 'unauthorized', 'a wrong or missing token')
    return { kind: 'hello', max: (max as number | undefined) ?? DEFAULT_CLIENT_MAX, sid: sid as string | undefined, ack: (ack as number | undefined) ?? 0 }
  }
  switch (type) {
    case 'hello':
      return fatal([4400], 'bad_request', 'a second hello')
    case 'req': {
      const id = own(fields, 'id')
      if (!isStringOfLength(id, 1, REQUEST_ID_MAX_LENGTH)) return fatal([4400], 'bad_request', 'a req without a usable id')
      return { kind: 'req', id, frame: fields }
    }
    case 'ack': {
      const seq = own(fields, 'seq')
      if (!isSeq(seq)) return fatal([4400], 'bad_request', 'an unusable ack.seq')
      if (seq >= BEYOND_SEQ) return fatal([4409], 'sequence', 'an ack beyond the last push')
      if (seq > conn.maxSeq) throw new Error(`the generator made an ack (${seq}) the model cannot judge`)
      return { kind: 'ack' }
    }
    case 'ping': {
      const ts = own(fields, 'ts')
      if (ts !== undefined && (typeof ts !== 'number' || !Number.isFinite(ts))) return fatal([4400], 'bad_request', 'an unusable ping.ts')
      return { kind: 'ping', ts: ts as number | undefined }
    }
  }
}

function fatal(codes: number[], error: string | undefined, why: string): Verdict {
  return { kind: 'fatal', fatal: { codes, error, why } }
}

/** The answer a req must get. Codes are the documented ones; too_large where the frame may pass hello.max. */
function expectationFor(conn: Conn, id: string, frame: Fields, fresh: boolean): Expected {
  const method = own(frame, 'method')
  const hasParams = Object.prototype.hasOwnProperty.call(frame, 'params')
  const params = hasParams ? frame.params : undefined
  // Lists and topics are answered fresh on a repeated id.
  const safeToDiffer = method === 'list' || method === '$subscribe' || method === '$unsubscribe'
  const expected: Expected = { kind: 'res', id, what: `req ${JSON.stringify(id)} method ${short(JSON.stringify(method) ?? 'absent', 40)}`, safeToDiffer }
  if (!fresh) return expected
  const max = conn.max
  // A failure that names the id and method may be bigger than a small hello.max (6 bytes per escaped unit).
  const mayBeTooLarge = (bound: number): string[] => (max < bound ? ['too_large'] : [])
  if (!isStringOfLength(method, 1, METHOD_MAX_LENGTH)) {
    expected.check = failureWith(['bad_request', ...mayBeTooLarge(1024)])
  } else if (!KNOWN_METHODS.has(method)) {
    expected.check = failureWith(['unknown_method', ...mayBeTooLarge(2048)])
  } else if (method === '$subscribe' || method === '$unsubscribe') {
    const topics = topicsParam(params)
    const subscribe = method === '$subscribe'
    expected.check =
      topics === null
        ? failureWith(['bad_request', ...mayBeTooLarge(1024)], 'bad topics')
        : (res) => {
            // A session taken over meanwhile answers replaced.
            if (res.ok !== true) {
              // The session's topics after the change may list more than this hello.max holds.
              if (answerOverLimit(res, max)) return null
              return failureWith([...(subscribe ? ['limit'] : []), ...(conn.maybeReplaced ? ['replaced'] : [])], 'valid topics')(res)
            }
            const after = isFields(res.result) && Array.isArray(res.result.topics) ? (res.result.topics as unknown[]) : null
            if (!after) return 'a result without topics'
            const wrong = topics.filter((topic) => after.includes(topic) !== subscribe)
            return wrong.length === 0 ? null : `topics ${short(JSON.stringify(wrong), 60)} ${subscribe ? 'missing after' : 'still there after'} ${method}`
          }
  } else if (method === 'echo') {
    const full = JSON.stringify({ type: 'res', id, ok: true, result: params })
    const fullBytes = Buffer.byteLength(full)
    expected.check =
      fullBytes <= max
        ? (res) => (res.ok === true && JSON.stringify(res.result) === JSON.stringify(params) ? null : `expected the echo of ${short(JSON.stringify(params) ?? 'nothing')} (${fullBytes} B ≤ max ${max})`)
        : failureWith(['too_large'], `the echo is ${fullBytes} B, over max ${max}`)
  } else if (method === 'list') {
    const problem = listParamsProblem(params)
    if (problem === undefined) return expected
    expected.check =
      problem === null
        ? (res) => {
            if (res.ok === true) {
              const result = res.result as Fields | undefined
              return result && typeof result.orderNum === 'number' && Array.isArray(result.list) ? null : 'a list result without orderNum and list'
            }
            return failureWith(max < DEFAULT_CLIENT_MAX ? ['too_large'] : [], 'valid list params')(res)
          }
        : failureWith(['bad_request', ...mayBeTooLarge(1024)], problem)
  } else {
    const orderId = confirmParamsId(params)
    if (orderId === null) {
      expected.check = failureWith(['bad_request', ...mayBeTooLarge(1024)], 'bad order.confirm params')
    } else if (world.knownOrders.has(orderId)) {
      expected.check = (res) =>
        res.ok === true
          ? isFields(res.result) && res.result.id === orderId && res.result.status === 'confirmed'
            ? null
            : 'a confirm result without { id, status: "confirmed" }'
          : failureWith(['already_confirmed', ...mayBeTooLarge(1024)], `order ${orderId} exists`)(res)
    } else {
      expected.check = failureWith(['not_found', ...mayBeTooLarge(1024)], `order ${orderId} does not exist`)
    }
  }
  return expected
}

/**
 * True when `res` is the server's too_large for an answer that would not fit `max`, and says so
 * consistently: the answer's size over the connection's limit, that limit being hello.max.
 */
function answerOverLimit(res: Fields, max: number): boolean {
  const error = isFields(res.error) ? res.error : null
  if (res.ok !== false || error?.code !== 'too_large' || typeof error.message !== 'string') return false
  const sizes = /^the answer is (\d+) bytes, over this connection's (\d+)-byte limit$/.exec(error.message)
  return sizes !== null && Number(sizes[2]) === max && Number(sizes[1]) > max
}

function failureWith(codes: string[], why = ''): (res: Fields) => string | null {
  return (res) => {
    const code = isFields(res.error) ? res.error.code : undefined
    if (res.ok === false && typeof code === 'string' && codes.includes(code)) return null
    return `expected ok:false with ${codes.join(' or ') || '(no failure)'}${why ? ` (${why})` : ''}`
  }
}

/** Why list params are bad, null when they are good, undefined when either answer is acceptable. */
function listParamsProblem(params: unknown): string | null | undefined {
  if (params === undefined || params === null) return null
  if (typeof params !== 'object' || Array.isArray(params)) return 'list params that are not an object'
  const limit = own(params as Fields, 'limit')
  // The server reads a null limit as absent: lenient, and no harm, so either answer passes.
  if (limit === null) return undefined
  if (limit !== undefined && !(typeof limit === 'number' && Number.isInteger(limit) && limit >= 1 && limit <= 200)) return 'a list limit outside 1..200'
  const before = own(params as Fields, 'before')
  if (before === undefined) return null
  if (!isStringOfLength(before, 1, 64)) return 'an unusable list before'
  return world.knownOrders.has(before) ? null : `list before an unknown order ${before}`
}

/** The topics of $subscribe / $unsubscribe params, null when they are not { topics: string[] } within the limits. */
function topicsParam(params: unknown): string[] | null {
  if (!isFields(params)) return null
  const topics = own(params, 'topics')
  if (!Array.isArray(topics) || topics.length > MAX_TOPICS_PER_SESSION) return null
  return topics.every((topic) => isNameOfLength(topic, MAX_TOPIC_LENGTH)) ? (topics as string[]) : null
}

function confirmParamsId(params: unknown): string | null {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return null
  const id = own(params as Fields, 'id')
  return isStringOfLength(id, 1, 64) ? id : null
}

// ---------------------------------------------------------------------------------------------
// State shared by every run: the server, the bystander, and what the model knows of the server.

interface World {
  server: ReferenceServer
  bystander: Bystander
  /** Sessions hostile clients were welcomed to, with the connections of the current run that hold them. */
  sidPool: Map<string, Conn[]>
  usedIds: Set<string>
  knownOrders: Set<string>
  /** Admin pushes the server accepted, in order: what the bystander must receive. */
  adminLog: Array<{ topic: string; dataJson: string | null; orderId?: string }>
  logLines: string[]
  escaped: string[]
  stats: Record<string, number>
  idCounter: number
  /** What the runner is doing, for the bystander to blame its slowest answers on. */
  running: string
  slowest: Array<{ ms: number; during: string }>
  slowestRuns: Array<{ ms: number; steps: string }>
}

// Assigned in beforeAll.
let world: World

function count(name: string, by = 1): void {
  world.stats[name] = (world.stats[name] ?? 0) + by
}

// ---------------------------------------------------------------------------------------------
// The bystander: a well-behaved client for the whole test.

class Bystander {
  readonly socket: WebSocket
  readonly latencies: number[] = []
  readonly problems: string[] = []
  readonly pushes: Fields[] = []
  private readonly pending = new Map<string, { sentAt: number; params: string; during: string }>()
  private sent = 0
  private answered = 0
  private timer: NodeJS.Timeout | null = null
  private welcomed = false
  private closed: { code: number } | null = null

  constructor(url: string) {
    this.socket = new WebSocket(url, { perMessageDeflate: false })
    this.socket.on('error', (error) => this.problems.push(`bystander socket error: ${error.message}`))
    this.socket.on('close', (code) => {
      this.closed = { code }
    })
    this.socket.on('message', (data: RawData, isBinary: boolean) => this.onFrame(toBuffer(data), isBinary))
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('open', () => resolve())
      this.socket.once('error', reject)
    })
    this.socket.send(JSON.stringify({ type: 'hello', v: 1, token: BYSTANDER_TOKEN }))
    await waitFor(() => this.welcomed, OPEN_TIMEOUT_MS, 'the bystander got no welcome')
    this.timer = setInterval(() => this.tick(), BYSTANDER_INTERVAL_MS)
  }

  private tick(): void {
    if (this.socket.readyState !== WebSocket.OPEN) return
    this.sent += 1
    const id = `bystander-${this.sent}`
    const params = JSON.stringify({ n: this.sent, pad: 'b'.repeat(64) })
    this.pending.set(id, { sentAt: performance.now(), params, during: world.running })
    this.socket.send(`{"type":"req","id":"${id}","method":"echo","params":${params}}`)
    const last = this.pushes[this.pushes.length - 1]
    if (this.sent % 10 === 0 && last) this.socket.send(JSON.stringify({ type: 'ack', seq: last.seq }))
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (data.length > DEFAULT_CLIENT_MAX) this.problems.push(`bystander got a ${data.length}-byte frame`)
    if (isBinary) {
      this.problems.push('bystander got a binary frame')
      return
    }
    let frame: Fields
    try {
      frame = JSON.parse(data.toString('utf8')) as Fields
    } catch {
      this.problems.push(`bystander got a frame that is not JSON: ${short(data.toString('utf8'))}`)
      return
    }
    if (frame.type === 'welcome') {
      this.welcomed = true
    } else if (frame.type === 'res') {
      const entry = this.pending.get(String(frame.id))
      if (!entry) {
        this.problems.push(`bystander got an unexpected res ${short(JSON.stringify(frame))}`)
        return
      }
      this.pending.delete(String(frame.id))
      this.answered += 1
      const ms = performance.now() - entry.sentAt
      this.latencies.push(ms)
      if (ms > 100) {
        world.slowest.push({ ms: round(ms), during: entry.during })
        world.slowest.sort((a, b) => b.ms - a.ms)
        world.slowest.length = Math.min(world.slowest.length, 10)
      }
      if (frame.ok !== true || JSON.stringify(frame.result) !== entry.params) this.problems.push(`bystander echo ${String(frame.id)} answered ${short(JSON.stringify(frame))}`)
    } else if (frame.type === 'push') {
      const expectedSeq = this.pushes.length + 1
      if (frame.seq !== expectedSeq) this.problems.push(`bystander push seq ${String(frame.seq)}, expected ${expectedSeq}`)
      if ('error' in frame) this.problems.push(`bystander got a push stub ${short(JSON.stringify(frame))}`)
      this.pushes.push(frame)
    } else {
      this.problems.push(`bystander got ${short(JSON.stringify(frame))}`)
    }
  }

  /** Resolves once every echo sent so far is answered; problems otherwise. */
  async drain(problems: string[]): Promise<void> {
    const upTo = this.sent
    const ok = await waitUntil(() => ![...this.pending.keys()].some((id) => Number(id.slice('bystander-'.length)) <= upTo), BYSTANDER_WEDGE_MS)
    if (!ok) problems.push(`the bystander has ${this.pending.size} echoes unanswered after ${BYSTANDER_WEDGE_MS} ms`)
    const now = performance.now()
    for (const [id, entry] of this.pending) {
      if (now - entry.sentAt > BYSTANDER_WEDGE_MS) problems.push(`bystander ${id} unanswered for ${Math.round(now - entry.sentAt)} ms`)
    }
    const slow = this.latencies.filter((ms) => ms > BYSTANDER_WEDGE_MS)
    if (slow.length > 0) problems.push(`bystander echoes answered after more than ${BYSTANDER_WEDGE_MS} ms: ${slow.length}`)
    if (this.closed) problems.push(`the bystander was closed (${this.closed.code})`)
    problems.push(...this.problems.splice(0))
  }

  /** Every accepted admin push, in order, with the data that was pushed. */
  async checkPushes(problems: string[]): Promise<void> {
    const admin = (): Fields[] => this.pushes.filter((push) => push.topic !== 'order.updated')
    await waitUntil(() => admin().length >= world.adminLog.length, 3000)
    const got = admin()
    if (got.length !== world.adminLog.length) problems.push(`the bystander received ${got.length} admin pushes, ${world.adminLog.length} were accepted`)
    for (let i = 0; i < Math.min(got.length, world.adminLog.length); i += 1) {
      const want = world.adminLog[i]
      const push = got[i]
      const data = 'data' in push ? JSON.stringify(push.data) : null
      const order = isFields(push.data) && isFields(push.data.order) ? push.data.order.id : undefined
      const same = push.topic === want.topic && (want.orderId !== undefined ? order === want.orderId : data === want.dataJson)
      if (!same) {
        problems.push(`bystander admin push ${i}: got ${short(JSON.stringify(push))}, pushed ${short(JSON.stringify(want))}`)
        break
      }
    }
  }

  get stats(): { echoes: number; answered: number; maxMs: number; p50Ms: number; p95Ms: number; p99Ms: number } {
    const sorted = [...this.latencies].sort((a, b) => a - b)
    const at = (q: number): number => (sorted.length === 0 ? 0 : round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]))
    return { echoes: this.sent, answered: this.answered, maxMs: round(sorted[sorted.length - 1] ?? 0), p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99) }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    if (this.socket.readyState === WebSocket.OPEN) {
      this.socket.close(1000)
      await waitUntil(() => this.closed !== null, 2000)
    }
    this.socket.terminate()
  }
}

// ---------------------------------------------------------------------------------------------
// Running one scenario.

/** Where the current run's server log starts. */
let runLogMark = 0

async function runScenario(scenario: Scenario): Promise<void> {
  const logMark = world.logLines.length
  runLogMark = logMark
  const escapedMark = world.escaped.length
  const actors: Actor[] = scenario.actors.map((_opening, index) => ({ index, conns: [], lastSid: null, lastSeq: 0, helloMax: null }))
  const problems: string[] = []
  const runStarted = performance.now()
  count('runs')
  fs.writeFileSync(CURRENT_RUN_FILE, JSON.stringify(scenario))
  try {
    const phase = timer()
    await Promise.all(actors.map((actor, index) => openConn(actor, scenario.actors[index], problems)))
    for (const step of scenario.steps) {
      await (step.gap > 0 ? delay(step.gap) : nextTurn())
      world.running = step.who === 'admin' ? `admin push via ${step.push.via}` : `${step.action.a}${step.action.a === 'pressure' ? ` ×${step.action.count}` : ''}`
      if (step.who === 'admin') {
        await adminPush(step.push, problems)
        continue
      }
      const actor = actors[step.who % actors.length]
      await act(actor, step.action, problems)
    }
    phase('steps')
    const conns = actors.flatMap((actor) => actor.conns)
    world.running = 'settling (paused connections resume)'
    for (const conn of conns) resume(conn)
    await waitUntil(() => conns.every(settled), SETTLE_MS)
    phase('settle')
    for (const conn of conns) conn.openAtSettle = conn.close === null && conn.endedByClient === null
    // Frames still in flight (pushes) are checked too: the server closes only once the client asks.
    await nextTurn()
    await Promise.all(conns.map((conn) => endConn(conn, 'close')))
    phase('close')
    for (const conn of conns) problems.push(...verifyConn(conn))
    await world.bystander.drain(problems)
    await world.bystander.checkPushes(problems)
    phase('bystander')
    const onlyBystander = await waitUntil(async () => (await serverConnections()) === 1, 3000)
    if (!onlyBystander) problems.push(`the server still holds ${await serverConnections()} connections after every hostile one closed (expected 1, the bystander)`)
    phase('gauge')
  } finally {
    await Promise.all(actors.flatMap((actor) => actor.conns).map((conn) => endConn(conn, 'terminate')))
    // The sids stay for later runs to resume; their closed connections (and transcripts) go.
    for (const holders of world.sidPool.values()) holders.length = 0
    world.running = 'between runs'
    const ms = round(performance.now() - runStarted)
    if (process.env.FUZZ_TRACE) fs.appendFileSync(process.env.FUZZ_TRACE, `${world.stats.runs} ${ms} ${JSON.stringify(world.stats).length} ${scenario.steps.map((step) => (step.who === 'admin' ? 'push' : step.action.a)).join(' ')}\n`)
    if (world.slowestRuns.length < 5 || ms > world.slowestRuns[world.slowestRuns.length - 1].ms) {
      const kinds = scenario.steps.map((step) => (step.who === 'admin' ? 'push' : step.action.a))
      world.slowestRuns.push({ ms, steps: `${scenario.actors.length} actors: ${kinds.join(' ')}` })
      world.slowestRuns.sort((a, b) => b.ms - a.ms)
      world.slowestRuns.length = Math.min(world.slowestRuns.length, 5)
    }
  }
  for (const line of world.logLines.slice(logMark)) {
    if (INTERNAL_FAILURE.test(line)) problems.push(`server log: ${short(line, 400)}`)
  }
  problems.push(...world.escaped.slice(escapedMark).map((line) => `escaped the server: ${short(line, 400)}`))
  if (problems.length > 0) {
    const conns = actors.flatMap((actor) => actor.conns)
    const traces = conns
      .filter((conn) => problems.some((problem) => problem.startsWith(conn.label)))
      .map((conn) => `--- ${conn.label}\n${conn.trace.join('\n')}`)
    throw new Error(`${problems.slice(0, 20).join('\n')}\n${traces.slice(0, 4).join('\n')}`)
  }
}

/** Log lines of failures inside the server; socket errors (a peer cut, 1009, 1007) are the clients' doing. */
const INTERNAL_FAILURE = /^(?!socket error|upgrade socket error).*(failed|lost:|could not be read|asked for writes|websocket server error|http client error|^redis)/

async function openConn(actor: Actor, opening: Opening, problems: string[]): Promise<Conn | null> {
  const conn = new Conn(actor, world.server.wsUrl)
  actor.conns.push(conn)
  count('connections')
  try {
    await withTimeout(conn.opened, OPEN_TIMEOUT_MS)
  } catch (error) {
    problems.push(`${conn.label}: could not connect: ${(error as Error).message}`)
    return null
  }
  // The first frame leaves at once: a late one would race the hello timeout.
  if (opening.kind === 'silent') {
    conn.silent = true
    conn.fatal = { codes: [4408], error: 'hello_timeout', why: 'no hello' }
    count('opening:silent')
  } else if (opening.kind === 'hello') {
    sendHello(conn, opening.hello)
  } else {
    count('opening:first-not-hello')
    sendFrame(conn, opening.frame)
  }
  if (conn.phase === 'new' && conn.fatal === null) {
    // Nothing went out (a repeat with nothing to repeat): the hello timeout is what must follow.
    conn.silent = true
    conn.fatal = { codes: [4408], error: 'hello_timeout', why: 'no hello' }
  }
  return conn
}

/** Opens a new connection with a good hello: resuming the actor's session once the old socket is gone. */
async function revive(actor: Actor, previous: Conn | null, problems: string[]): Promise<Conn | null> {
  count('revivals')
  const resumeOwn = previous !== null && previous.close !== null
  const hello: HelloSpec = { v: '1', sid: resumeOwn ? 'own' : 'absent', pick: 0, ack: 'received', token: 'good', max: actor.helloMax, extra: false }
  const conn = await openConn(actor, { kind: 'hello', hello }, problems)
  if (conn) await waitUntil(() => conn.sid !== null || conn.close !== null, OPEN_TIMEOUT_MS)
  return conn && conn.usable && !conn.fatal ? conn : null
}

function current(actor: Actor): Conn | null {
  return actor.conns[actor.conns.length - 1] ?? null
}

async function act(actor: Actor, action: Action, problems: string[]): Promise<void> {
  const conn = current(actor)
  count(`action:${action.a}`)
  if (action.a === 'reopen') {
    if (conn && action.old !== 'keep') await endConn(conn, action.old)
    await openConn(actor, { kind: 'hello', hello: action.hello }, problems)
    return
  }
  if (action.a === 'wait') {
    await delay(action.ms)
    return
  }
  const sends = action.a === 'frame' || action.a === 'burst' || action.a === 'fragmented' || action.a === 'flood' || action.a === 'pressure'
  if (!conn || conn.silent || !conn.usable || (conn.fatal && sends)) {
    if (!sends) return
    // A real client reconnects; without it a run's first fatal frame would waste all its later steps.
    const target = await revive(actor, conn, problems)
    if (!target) return
    return act(actor, action, problems)
  }
  switch (action.a) {
    case 'frame':
      sendFrame(conn, action.frame)
      return
    case 'burst':
      for (const frame of action.frames) sendFrame(conn, frame)
      return
    case 'fragmented':
      conn.send({ text: reqText(conn, action.req) }, { parts: action.parts })
      return
    case 'flood': {
      for (let i = 0; i < FLOOD_FRAMES; i += 1) conn.send({ text: `{"type":"ping","ts":${FLOOD_TS}}` }, { flood: true })
      conn.note(`C> ${FLOOD_FRAMES} pings`)
      if (!conn.fatal) conn.fatal = { codes: [4429], error: 'rate_limited', why: `${FLOOD_FRAMES} frames at once` }
      return
    }
    case 'pressure': {
      // Stop reading, then ask for megabytes of answers: the server must queue, then cut, not wedge.
      if (!conn.paused) pause(conn)
      conn.pressured = true
      const text = (n: number): string => `{"type":"req","id":"${uniqueId(PRESSURE_PREFIX)}-${n}","method":"echo","params":"${'x'.repeat(MAX_FRAME_BYTES - 120)}"}`
      conn.note(`C> ${action.count} echoes of ${MAX_FRAME_BYTES - 60} bytes, not reading`)
      for (let i = 0; i < action.count; i += 1) {
        const expected = conn.send({ text: text(i) }, { bulk: true })
        if (expected) expected.check = undefined
      }
      return
    }
    case 'pause':
      pause(conn)
      return
    case 'resume':
      resume(conn)
      return
    case 'terminate':
    case 'close':
      await endConn(conn, action.a)
      return
    case 'wsPing':
      conn.socket.ping()
      return
  }
}

function pause(conn: Conn): void {
  if (conn.paused || conn.socket.readyState !== WebSocket.OPEN) return
  conn.paused = true
  conn.everPaused = true
  conn.note('-- paused')
  conn.socket.pause()
}

function resume(conn: Conn): void {
  if (!conn.paused) return
  conn.paused = false
  conn.note('-- resumed')
  conn.socket.resume()
}

async function endConn(conn: Conn, how: 'terminate' | 'close'): Promise<void> {
  if (conn.close) return
  if (conn.endedByClient === null) conn.endedByClient = how
  resume(conn)
  const closed = waitUntil(() => conn.close !== null, 3000)
  if (how === 'terminate' || conn.socket.readyState === WebSocket.CONNECTING) conn.socket.terminate()
  else if (conn.socket.readyState === WebSocket.OPEN) conn.socket.close(1000)
  if (!(await closed)) conn.socket.terminate()
  await waitUntil(() => conn.close !== null, 1000)
}

function settled(conn: Conn): boolean {
  if (conn.close) return true
  if (conn.endedByClient || conn.fatal) return false
  return replyFrames(conn).length >= conn.replies.length
}

function sendFrame(conn: Conn, frame: FrameSpec): void {
  count(`frame:${frame.f}`)
  switch (frame.f) {
    case 'req':
      conn.send({ text: reqText(conn, frame.req) })
      return
    case 'ping':
      conn.send({ text: frame.ts === null ? '{"type":"ping"}' : `{"type":"ping","ts":${frame.ts}}` })
      return
    case 'ack': {
      const seq = ackValue(frame.seq, conn.maxSeq)
      conn.send({ text: seq === null ? '{"type":"ack"}' : `{"type":"ack","seq":${seq}}` })
      return
    }
    case 'hello':
      sendHello(conn, frame.hello)
      return
    case 'garbage':
      conn.send({ text: frame.text })
      return
    case 'binary':
      conn.send({ binary: frame.bytes })
      return
    case 'badUtf8':
      conn.send({ badUtf8: Buffer.from([0x7b, 0x22, 0x74, 0xff, 0xfe, 0x22, 0x7d]) })
      return
    case 'oversize': {
      const id = uniqueId('o')
      const base = Buffer.byteLength(`{"type":"req","id":"${id}","method":"echo","params":""}`)
      const text = `{"type":"req","id":"${id}","method":"echo","params":"${'o'.repeat(MAX_FRAME_BYTES + frame.over - base)}"}`
      if (frame.binary) conn.send({ binary: Buffer.from(text) })
      else conn.send({ text })
      return
    }
    case 'repeat': {
      if (conn.sentReqs.length === 0) return
      const original = conn.sentReqs[frame.pick % conn.sentReqs.length]
      const expected = conn.send({ text: original.text })
      if (expected) expected.sameAs = original.expected
      return
    }
  }
}

function sendHello(conn: Conn, spec: HelloSpec): void {
  const actor = conn.actor
  const pairs: Array<[string, string]> = [['type', '"hello"']]
  if (spec.v !== null) pairs.push(['v', spec.v])
  let sid: string | null = null
  let mustBeFresh = false
  switch (spec.sid) {
    case 'own':
      sid = actor.lastSid
      break
    case 'pool': {
      const sids = [...world.sidPool.keys()]
      sid = sids.length > 0 ? sids[spec.pick % sids.length] : null
      break
    }
    case 'unknown':
      sid = randomUUID()
      mustBeFresh = true
      break
    case 'max':
      sid = `${randomUUID()}${'u'.repeat(MAX_SID_LENGTH - 36)}`
      mustBeFresh = true
      break
    case 'long':
      pairs.push(['sid', JSON.stringify('u'.repeat(MAX_SID_LENGTH + 1))])
      break
    case 'empty':
      pairs.push(['sid', '""'])
      break
    case 'number':
      pairs.push(['sid', '42'])
      break
    case 'null':
      pairs.push(['sid', 'null'])
      break
    case 'absent':
      break
  }
  if (sid !== null) pairs.push(['sid', JSON.stringify(sid)])
  const ack = ackValue(spec.ack, spec.sid === 'own' && sid !== null ? actor.lastSeq : 0)
  if (ack !== null) pairs.push(['ack', ack])
  if (spec.ack === 'beyond') mustBeFresh = true
  if (spec.token !== null) pairs.push(['token', spec.token === 'good' ? JSON.stringify(TOKEN) : spec.token])
  if (spec.max !== null) pairs.push(['max', spec.max])
  if (spec.extra) pairs.push(['__proto__', `{"token":${JSON.stringify(TOKEN)},"max":512}`], ['x-client', '"fuzz"'])
  const text = objectText(pairs)
  const wasNew = conn.phase === 'new' && conn.fatal === null
  conn.send({ text })
  if (wasNew && conn.phase === 'open') {
    conn.hello = { ack: Number(ack ?? 0), mustBeFresh, text }
    actor.helloMax = spec.max
    count('hello:accepted')
    if (sid !== null) {
      for (const holder of world.sidPool.get(sid) ?? []) if (holder !== conn) holder.maybeReplaced = true
    }
  } else if (wasNew) {
    count(`hello:refused:${conn.fatal?.codes[0] ?? 'none'}`)
  }
}

function ackValue(spec: AckSpec, received: number): string | null {
  switch (spec) {
    case 'absent':
      return null
    case 'zero':
      return '0'
    case 'received':
      return String(received)
    case 'beyond':
      return String(BEYOND_SEQ + received)
    case 'negative':
      return '-1'
    case 'fraction':
      return '0.5'
    case 'string':
      return '"0"'
    case 'unsafe':
      return '9007199254740992'
    case 'null':
      return 'null'
  }
}

function uniqueId(prefix: string): string {
  world.idCounter += 1
  return `${prefix}~${world.idCounter.toString(36)}`
}

function makeId(spec: IdSpec & { usable: true }): string {
  const body = spec.body
  if (spec.unique && spec.len >= 8) {
    const suffix = uniqueId('')
    return fitUnits(body, spec.len - suffix.length) + suffix
  }
  return fitUnits(body, spec.len)
}

function reqText(conn: Conn, spec: ReqSpec): string {
  const id = spec.id.usable ? makeId(spec.id) : null
  const build = (paramsText: string | null): string => {
    const pairs: Array<[string, string]> = []
    if (spec.extra !== 'typeLast') pairs.push(['type', '"req"'])
    if (spec.extra === 'protoType') pairs.push(['__proto__', '{"type":"hello","id":"from-proto"}'])
    if (id !== null) pairs.push(['id', JSON.stringify(id)])
    else if (!spec.id.usable && spec.id.text !== null) pairs.push(['id', spec.id.text])
    if (!spec.id.usable && spec.id.hidden) pairs.push(['__proto__', '{"id":"hidden"}'])
    if (spec.extra === 'dupMethod') pairs.push(['method', '"list"'])
    if (spec.method !== null) pairs.push(['method', spec.method])
    if (paramsText !== null) pairs.push(['params', paramsText])
    if (spec.extra === 'unknownField') pairs.push(['x-extra', '{"nested":[1,{"__proto__":{"polluted":true}}]}'])
    if (spec.extra === 'typeLast') pairs.push(['type', '"req"'])
    return objectText(pairs)
  }
  const params = spec.params
  switch (params.p) {
    case 'absent':
      return build(null)
    case 'json':
      return build(params.text)
    case 'deep':
      return build(params.objects ? `${'{"a":'.repeat(params.depth)}1${'}'.repeat(params.depth)}` : `${'['.repeat(params.depth)}${']'.repeat(params.depth)}`)
    case 'sized': {
      const base = Buffer.byteLength(build('""'))
      let need = MAX_FRAME_BYTES + params.delta - base
      if (params.rel === 'reply' && id !== null) {
        const reply = Buffer.byteLength(JSON.stringify({ type: 'res', id, ok: true, result: '' }))
        const replyNeed = conn.max + params.delta - reply
        // Past the frame limit the request itself would be refused: stop at the limit instead.
        if (base + replyNeed <= MAX_FRAME_BYTES) need = replyNeed
      }
      return build(JSON.stringify(pad(need, params.pad)))
    }
  }
}

/** A string whose JSON text is `bytes` UTF-8 bytes (without the quotes). */
function pad(bytes: number, unit: string): string {
  if (bytes <= 0) return ''
  const unitBytes = Buffer.byteLength(JSON.stringify(unit)) - 2
  const units = Math.floor(bytes / unitBytes)
  return unit.repeat(units) + 'x'.repeat(bytes - units * unitBytes)
}

async function adminPush(spec: PushSpec, problems: string[]): Promise<void> {
  const topic: unknown = spec.topic.t === 'nonString' ? 42 : spec.topic.text
  let data: unknown
  let dataJson: string | null = null
  let orderId: string | undefined
  let unserializable = false
  const data0 = spec.data
  switch (data0.d) {
    case 'absent':
      break
    case 'json':
      data = JSON.parse(data0.text)
      break
    case 'sized': {
      const topicBytes = Buffer.byteLength(JSON.stringify(topic) ?? '')
      // {"type":"push","seq":1,"topic":T,"data":"…"}: 39 bytes around topic and data, plus the seq.
      data = pad(MAX_FRAME_BYTES + data0.delta - 40 - topicBytes - 2, data0.pad)
      break
    }
    case 'order': {
      const id = `fz-${data0.n}`
      const order = data0.valid
        ? { id, title: data0.title, amount: `${data0.n + 1}.50`, kind: data0.n % 2 === 0 ? 'jdc' : 'jsz', status: 'new', createdAt: 1_700_000_000_000 + data0.n }
        : { id, title: data0.title, amount: 12.5, kind: 'jdc' }
      data = { order }
      if (data0.valid && topic === 'notify') orderId = id
      break
    }
    case 'bigint':
      data = { big: BigInt(1) }
      unserializable = true
      break
    case 'cycle': {
      const cycle: Fields = { name: 'cycle' }
      cycle.self = cycle
      data = cycle
      unserializable = true
      break
    }
  }
  if (!unserializable) dataJson = JSON.stringify(data) ?? null
  const topicValid = isNameOfLength(topic, MAX_TOPIC_LENGTH)
  const orderInvalid = topic === 'notify' && data0.d === 'order' && !data0.valid
  const frameBytes = (seqDigits: number): number =>
    Buffer.byteLength(`{"type":"push","seq":${'9'.repeat(seqDigits)},"topic":${JSON.stringify(topic) ?? ''}${dataJson === null ? '' : `,"data":${dataJson}`}}`)
  let allowed: string[]
  if (!topicValid || unserializable || orderInvalid) allowed = ['bad_request']
  else if (frameBytes(1) > MAX_FRAME_BYTES) allowed = ['too_large']
  else if (frameBytes(16) + 16 <= MAX_FRAME_BYTES) allowed = ['ok']
  else allowed = ['ok', 'too_large']
  // A malformed address exists on the wire only: the API takes typed ones.
  const via = (spec.via === 'http' || spec.to === 'malformed') && !unserializable && typeof topic === 'string' ? 'http' : 'api'
  const to = pushAddress(spec.to)
  if (spec.to === 'malformed' && via === 'http') allowed = ['bad_request']
  let outcome: string
  if (via === 'api') {
    try {
      const delivered = await world.server.push(topic as string, data, spec.to === 'malformed' ? undefined : (to as { user: string } | { topic: string } | undefined))
      outcome = 'ok'
      deliveredProblem(spec.to, delivered, problems)
    } catch (error) {
      const code = (error as { code?: unknown }).code
      outcome = typeof code === 'string' ? code : `a thrown ${String(error)}`
    }
  } else {
    const response = await fetch(`${world.server.httpUrl}/admin/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ topic, data, to }),
    })
    const body = (await response.json()) as Fields
    if (response.status === 200) deliveredProblem(spec.to, Number(body.delivered), problems)
    const byStatus: Record<number, string> = { 200: 'ok', 400: 'bad_request', 413: 'too_large' }
    outcome = byStatus[response.status] ?? `HTTP ${response.status}`
    const code = isFields(body.error) ? body.error.code : undefined
    if (outcome !== 'ok' && code !== outcome) problems.push(`POST /admin/push ${response.status} with error code ${String(code)}`)
  }
  count(`push:${via}:${outcome}`)
  if (!allowed.includes(outcome)) {
    problems.push(`admin push (${via}) of topic ${short(JSON.stringify(topic) ?? '', 60)}, ${frameBytes(1)}-byte frame: ${outcome}, expected ${allowed.join(' or ')}`)
  }
  if (outcome === 'ok' && (spec.to === 'all' || spec.to === 'bystander' || (spec.to === 'malformed' && via === 'api'))) {
    world.adminLog.push({ topic: topic as string, dataJson, orderId })
  }
  if (outcome === 'ok' && orderId !== undefined) world.knownOrders.add(orderId)
}

/** The `to` of an admin push as the wire carries it. */
function pushAddress(to: PushTo): unknown {
  switch (to) {
    case 'all':
      return undefined
    case 'dev':
      return { user: 'dev' }
    case 'bystander':
      return { user: BYSTANDER_IDENTITY }
    case 'nobody':
      return { user: 'nobody' }
    case 'room':
      return { topic: SUBSCRIBE_TOPICS[0] }
    case 'malformed':
      return { user: '', topic: 'room-1' }
  }
}

/** Everyone and the bystander's identity include its session; nobody is nobody. */
function deliveredProblem(to: PushTo, delivered: number, problems: string[]): void {
  const reachesBystander = to === 'all' || to === 'bystander' || to === 'malformed'
  if (reachesBystander && !(delivered >= 1)) problems.push(`admin push to ${to} delivered to ${delivered} sessions (the bystander has one)`)
  if (to === 'nobody' && delivered !== 0) problems.push(`admin push to an identity without sessions delivered to ${delivered}`)
}

// ---------------------------------------------------------------------------------------------
// Verdicts on one connection's transcript.

function replyFrames(conn: Conn): Array<{ frame: Fields; text: string }> {
  const replies: Array<{ frame: Fields; text: string }> = []
  for (const received of conn.received) {
    const frame = received.frame
    if (!frame || (frame.type !== 'res' && frame.type !== 'pong')) continue
    if (frame.type === 'pong' && frame.ts === FLOOD_TS) continue
    replies.push({ frame, text: received.text })
  }
  return replies
}

function verifyConn(conn: Conn): string[] {
  const problems: string[] = []
  const say = (problem: string): void => {
    problems.push(`${conn.label}: ${problem}`)
  }
  const received = conn.received
  for (const [index, frame] of received.entries()) {
    if (frame.binary) say(`frame ${index} is binary`)
    else if (!frame.frame) say(`frame ${index} is not a JSON object: ${short(frame.text)}`)
    else if (!SERVER_FRAME_TYPES.has(String(frame.frame.type))) say(`frame ${index} has type ${String(frame.frame.type)}`)
    if (frame.bytes > conn.max) {
      say(`a ${frame.bytes}-byte ${String(frame.frame?.type)} frame is over this client's hello.max ${conn.max}: ${short(frame.text)}`)
    }
    if (frame.frame?.type === 'error' && index !== received.length - 1) say(`an error frame that is not the last one: ${short(frame.text)}`)
  }
  const frames = received.map((frame) => frame.frame).filter((frame): frame is Fields => frame !== null)
  count('frames received', received.length)
  for (const frame of frames) {
    if (frame.type === 'res') count(frame.ok === true ? 'res:ok' : `res:${isFields(frame.error) ? String(frame.error.code) : '?'}`)
    if (frame.type === 'push' && 'error' in frame) count('push stubs')
  }

  // The welcome, first; pushes in seq order from where the session resumed.
  const welcome = frames[0]?.type === 'welcome' ? frames[0] : undefined
  if (conn.hello) {
    // An error as the only frame: a limit refused the connection before its welcome.
    if (frames.length > 0 && !welcome && !(frames.length === 1 && frames[0].type === 'error')) say(`the first frame is not welcome: ${short(received[0].text)}`)
    if (welcome) {
      if (welcome.v !== 1 || typeof welcome.sid !== 'string' || welcome.sid.length < 32 || typeof welcome.resumed !== 'boolean' || typeof welcome.hb !== 'number') {
        say(`a malformed welcome ${short(JSON.stringify(welcome))}`)
      }
      if (welcome.max !== MAX_FRAME_BYTES) say(`welcome.max ${String(welcome.max)}, the server accepts ${MAX_FRAME_BYTES}`)
      if (conn.hello.mustBeFresh && welcome.resumed !== false) say('resumed a session that the hello could not resume (unknown sid or ack beyond)')
      if (welcome.resumed === true) count('hello:resumed')
    }
    if (frames.slice(1).some((frame) => frame.type === 'welcome')) say('a second welcome')
  } else if (frames.some((frame) => frame.type === 'welcome')) {
    say('a welcome without a valid hello')
  }
  const pushes = frames.filter((frame) => frame.type === 'push')
  const firstSeq = welcome?.resumed === true && conn.hello ? conn.hello.ack + 1 : 1
  for (const [index, push] of pushes.entries()) {
    if (push.seq !== firstSeq + index) {
      say(`push ${index} has seq ${String(push.seq)}, expected ${firstSeq + index}`)
      break
    }
    if (typeof push.topic !== 'string') say(`a push without a topic ${short(JSON.stringify(push))}`)
    if ('error' in push && (!isFields(push.error) || push.error.code !== 'too_large' || 'data' in push)) say(`a malformed push stub ${short(JSON.stringify(push))}`)
  }

  // Answers: res in the order their reqs were sent, pongs in the order of their pings (a pong
  // does not wait behind a running request), each one matching, none extra.
  const replies = replyFrames(conn)
  for (const kind of ['res', 'pong'] as const) {
    const expectedOfKind = conn.replies.filter((expected) => expected.kind === kind)
    const repliesOfKind = replies.filter((reply) => reply.frame.type === kind)
    for (const [index, reply] of repliesOfKind.entries()) {
      const expected = expectedOfKind[index]
      if (!expected) {
        say(`an answer nothing asked for (or a second one): ${short(reply.text)}`)
        break
      }
      const problem = replyProblem(expected, reply.frame)
      if (problem) {
        say(`${kind} ${index} to ${expected.what}: ${problem}; got ${short(reply.text)}`)
        break
      }
      expected.answer = reply.text
      const first = expected.sameAs?.answer
      if (first !== undefined && !expected.safeToDiffer && first !== reply.text) {
        say(`a repeated id got another answer: first ${short(first)}, then ${short(reply.text)}`)
      }
    }
  }
  const unanswered = conn.replies.filter((expected) => expected.answer === undefined)

  // How it ended, and whether every answer had to arrive.
  let mustAnswerAll: boolean
  const close = conn.close
  if (conn.openAtSettle) {
    mustAnswerAll = true
    if (conn.fatal) say(`still open after ${conn.fatal.why} (expected close ${conn.fatal.codes.join(' or ')})`)
  } else if (!close) {
    say('never closed')
    mustAnswerAll = false
  } else if (!close.byServer) {
    mustAnswerAll = false
  } else {
    const last = frames[frames.length - 1]
    const lastError = last?.type === 'error' ? String(last.code) : undefined
    if (conn.fatal?.codes.includes(close.code)) {
      count(`close:${close.code}`)
      // A frame over maxFrameBytes or not UTF-8 is cut by ws at once (1009, 1007), before the
      // answers of the reqs ahead of it leave: those are re-sent on the next connection and
      // answered from memory, so only the 4xxx closes owe every answer.
      mustAnswerAll = close.code >= 4000
      if (conn.fatal.error && close.code >= 4000 && lastError !== conn.fatal.error) {
        say(`closed ${close.code} for ${conn.fatal.why} without error ${conn.fatal.error} as the last frame (last: ${short(JSON.stringify(last) ?? 'none')})`)
      }
    } else if (close.code === 4429 && conn.sentBeforeWelcome > HELD_FRAMES_LIMIT) {
      count('close:4429 held frames')
      mustAnswerAll = false
      if (lastError !== 'rate_limited') say('closed 4429 without error rate_limited as the last frame')
    } else if (close.code === 4410 && conn.maybeReplaced) {
      count('close:4410')
      mustAnswerAll = false
      if (lastError !== 'replaced') say('closed 4410 without error replaced as the last frame')
    } else if (close.code === 1006 && conn.pressured && world.logLines.slice(runLogMark).some((line) => line.startsWith('cutting a connection'))) {
      count('close:1006 cut while not reading')
      mustAnswerAll = false
    } else if (conn.laterCuts.has(close.code)) {
      count(`close:${close.code} (a later frame)`)
      mustAnswerAll = false
    } else {
      say(`closed by the server with ${close.code} ${close.reason}${conn.fatal ? `; expected ${conn.fatal.codes.join(' or ')} for ${conn.fatal.why}` : ' with nothing to close for'}`)
      mustAnswerAll = false
    }
  }
  if (mustAnswerAll && unanswered.length > 0) {
    const missing = unanswered
    const where = conn.openAtSettle ? `connection still open after ${SETTLE_MS} ms` : `before close ${close?.code}`
    const problem = `${conn.label}: no answer to ${missing.length} of ${conn.replies.length} (first: ${missing[0].what}), ${where}`
    // A client that stopped reading gets, before a 4xxx close, what the socket took within the
    // server's grace period (ANSWERS_BEFORE_CLOSE_MS); the rest it re-sends on its next connection.
    const unread = close !== null && close !== undefined && !conn.openAtSettle && close.code >= 4000 && conn.everPaused
    if (unread) count('answers cut: the client stopped reading before a 4xxx close')
    else problems.push(problem)
  }
  if (conn.clientErrors.length > 0 && conn.endedByClient === null) count('client socket errors', conn.clientErrors.length)
  return problems
}

function replyProblem(expected: Expected, frame: Fields): string | null {
  if (expected.kind === 'pong') {
    if (frame.type !== 'pong') return 'expected a pong'
    if (expected.ts === undefined) return 'ts' in frame ? 'a pong with a ts the ping did not have' : null
    return frame.ts === expected.ts ? null : `a pong with ts ${String(frame.ts)}, expected ${expected.ts}`
  }
  if (frame.type !== 'res') return 'expected a res'
  if (frame.id !== expected.id) return `a res for id ${JSON.stringify(frame.id)}`
  if (typeof frame.ok !== 'boolean') return 'a res without ok'
  if (frame.ok === false) {
    const error = frame.error
    if (!isFields(error) || typeof error.code !== 'string' || typeof error.message !== 'string') return 'a failed res without error { code, message }'
  }
  return expected.check ? expected.check(frame) : null
}

async function serverConnections(): Promise<number> {
  const text = await (await fetch(`${world.server.httpUrl}/metrics`)).text()
  const match = /^ws_connections (\d+)/m.exec(text)
  return match ? Number(match[1]) : -1
}

// ---------------------------------------------------------------------------------------------
// Generators.

const WEIRD_UNITS = ['a', 'Z', '9', '-', '.', ':', '_', ' ', '"', '\\', '/', '\u0000', '\u0001', '\u001f', '\u007f', 'é', '中', '\u2028', '\ud800', '\udfff', '😀', '\ufeff', '{', '%']
const weirdString = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...WEIRD_UNITS), { minLength, maxLength }).map((units) => units.join(''))

const usableIdArb: fc.Arbitrary<IdSpec> = fc.record({
  usable: fc.constant(true as const),
  len: fc.oneof(fc.constant(1), fc.constant(REQUEST_ID_MAX_LENGTH), fc.integer({ min: 2, max: REQUEST_ID_MAX_LENGTH - 1 })),
  // Ids of units that JSON escapes to 6 bytes make the answers that quote them as large as they get.
  body: fc.oneof(
    { weight: 4, arbitrary: weirdString(0, REQUEST_ID_MAX_LENGTH) },
    { weight: 1, arbitrary: fc.constantFrom('', '\u0001'.repeat(REQUEST_ID_MAX_LENGTH), '\ud800'.repeat(REQUEST_ID_MAX_LENGTH), '中'.repeat(REQUEST_ID_MAX_LENGTH)) },
  ),
  // Shrinks towards unique ids: a shrunk id that collides with an earlier one would lose its checks.
  unique: fc.integer({ min: 0, max: 5 }).map((n) => n < 5),
})
const unusableIdArb: fc.Arbitrary<IdSpec> = fc.record({
  usable: fc.constant(false as const),
  text: fc.constantFrom<string | null>(null, '""', JSON.stringify('i'.repeat(REQUEST_ID_MAX_LENGTH + 1)), JSON.stringify('中'.repeat(REQUEST_ID_MAX_LENGTH + 1)), '5', 'null', '{}', '["a"]', 'true', '1e999'),
  hidden: fc.boolean(),
})

const hostileMethodArb: fc.Arbitrary<string | null> = fc.oneof(
  fc.constantFrom<string | null>(
    null,
    '""',
    '"no.such"',
    '"Echo"',
    '"echo "',
    '"$Subscribe"',
    '"$other"',
    '"constructor"',
    '"__proto__"',
    '"toString"',
    '"hasOwnProperty"',
    JSON.stringify('m'.repeat(METHOD_MAX_LENGTH)),
    JSON.stringify('m'.repeat(METHOD_MAX_LENGTH + 1)),
    JSON.stringify('m'.repeat(10_000)),
    '5',
    'null',
    '{"toString":"echo"}',
    '["echo"]',
    JSON.stringify('\u0001'.repeat(METHOD_MAX_LENGTH)),
    JSON.stringify('\udfff'.repeat(METHOD_MAX_LENGTH)),
  ),
  weirdString(1, METHOD_MAX_LENGTH).map((method) => JSON.stringify(method)),
)

const PAD_UNITS = ['x', 'é', '中', '\u0001', '😀', '"']
const sizedArb: fc.Arbitrary<ParamsSpec> = fc.record({
  p: fc.constant('sized' as const),
  rel: fc.constantFrom('frame' as const, 'reply' as const),
  delta: fc.constantFrom(-1, 0, 1, -2, 2, -300, 500),
  pad: fc.constantFrom(...PAD_UNITS),
})
const odd = ['1e999', '-0', '123456789012345678901234567890', '"\\ud800"', '"\\u0000"', '{"a":1,"a":2}', '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}', '[]', '{}', '""']
const genericParamsArb: fc.Arbitrary<ParamsSpec> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<ParamsSpec>({ p: 'absent' }) },
  { weight: 4, arbitrary: fc.json({ maxDepth: 3 }).map((text): ParamsSpec => ({ p: 'json', text })) },
  { weight: 2, arbitrary: fc.constantFrom(...odd).map((text): ParamsSpec => ({ p: 'json', text })) },
  { weight: 2, arbitrary: fc.record({ p: fc.constant('deep' as const), depth: fc.oneof(fc.integer({ min: 1, max: 700 }), fc.constantFrom(2000, 2047, 2100)), objects: fc.boolean() }) },
  { weight: 4, arbitrary: sizedArb },
)
const listParamsArb: fc.Arbitrary<ParamsSpec> = fc.oneof(
  fc.constant<ParamsSpec>({ p: 'absent' }),
  fc
    .record({
      limit: fc.option(fc.constantFrom('1', '50', '200', '201', '0', '-1', '1.5', '"5"', 'null', '1e308', '5e0', '200.0'), { nil: undefined }),
      before: fc.option(fc.constantFrom('"A1003"', '"A1001"', '"fz-3"', '"fz-11"', '"no-such-order"', '""', JSON.stringify('b'.repeat(65)), '5', 'null'), { nil: undefined }),
      proto: fc.boolean(),
    })
    .map(({ limit, before, proto }): ParamsSpec => {
      const pairs: Array<[string, string]> = []
      if (proto) pairs.push(['__proto__', '{"limit":201,"before":"no-such-order"}'])
      if (limit !== undefined) pairs.push(['limit', limit])
      if (before !== undefined) pairs.push(['before', before])
      return { p: 'json', text: objectText(pairs) }
    }),
  fc.constantFrom('null', '[]', '"list"', '7', '[1,2]', '{"limit":{"valueOf":5}}').map((text): ParamsSpec => ({ p: 'json', text })),
)
const confirmParamsArb: fc.Arbitrary<ParamsSpec> = fc.oneof(
  fc.constantFrom('"A1003"', '"A1004"', '"A1001"', '"fz-1"', '"fz-2"', '"fz-7"', '"no-such-order"').map((id): ParamsSpec => ({ p: 'json', text: `{"id":${id}}` })),
  fc
    .constantFrom('{"id":""}', `{"id":${JSON.stringify('c'.repeat(65))}}`, '{"id":5}', '{"id":null}', '{}', '[1,2]', '"A1003"', 'null', '{"__proto__":{"id":"A1003"}}', '{"id":"A1005","id":5}')
    .map((text): ParamsSpec => ({ p: 'json', text })),
  fc.constant<ParamsSpec>({ p: 'absent' }),
)
const topicsParamsArb: fc.Arbitrary<ParamsSpec> = fc.oneof(
  fc
    .array(fc.oneof(fc.constantFrom(...SUBSCRIBE_TOPICS), weirdString(1, 20), fc.constantFrom('\u0001'.repeat(MAX_TOPIC_LENGTH), '中'.repeat(MAX_TOPIC_LENGTH))), { maxLength: 4 })
    .map((topics): ParamsSpec => ({ p: 'json', text: JSON.stringify({ topics }) })),
  fc
    .constantFrom(
      '{"topics":[""]}',
      `{"topics":[${JSON.stringify('t'.repeat(MAX_TOPIC_LENGTH + 1))}]}`,
      `{"topics":${JSON.stringify(Array.from({ length: MAX_TOPICS_PER_SESSION + 1 }, (_unused, i) => `t${i}`))}}`,
      `{"topics":${JSON.stringify(Array.from({ length: MAX_TOPICS_PER_SESSION }, (_unused, i) => `many-${i}`))}}`,
      '{"topics":"room-1"}',
      '{"topics":[1,2]}',
      '{"topics":null}',
      '{"__proto__":{"topics":["room-1"]}}',
      '["room-1"]',
      'null',
    )
    .map((text): ParamsSpec => ({ p: 'json', text })),
  fc.constant<ParamsSpec>({ p: 'absent' }),
)
const extraArb = fc.constantFrom<ReqSpec['extra']>('none', 'none', 'none', 'none', 'unknownField', 'typeLast', 'dupMethod', 'protoType')

const reqArb: fc.Arbitrary<ReqSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ id: usableIdArb, method: fc.constant<string | null>('"echo"'), params: genericParamsArb, extra: extraArb }) },
  { weight: 3, arbitrary: fc.record({ id: usableIdArb, method: fc.constant<string | null>('"list"'), params: listParamsArb, extra: extraArb }) },
  { weight: 3, arbitrary: fc.record({ id: usableIdArb, method: fc.constant<string | null>('"order.confirm"'), params: confirmParamsArb, extra: extraArb }) },
  { weight: 2, arbitrary: fc.record({ id: usableIdArb, method: fc.constantFrom<string | null>('"$subscribe"', '"$unsubscribe"'), params: topicsParamsArb, extra: extraArb }) },
  { weight: 4, arbitrary: fc.record({ id: usableIdArb, method: hostileMethodArb, params: genericParamsArb, extra: extraArb }) },
  { weight: 1, arbitrary: fc.record({ id: unusableIdArb, method: fc.constant<string | null>('"echo"'), params: genericParamsArb, extra: extraArb }) },
)

const validMaxArb = fc.constantFrom<string | null>(null, null, String(MIN_CLIENT_MAX_BYTES), String(MIN_CLIENT_MAX_BYTES + 1), '1000', '2048', '4096', '4097', '65536', '1000000', '9007199254740991')
const goodHelloArb: fc.Arbitrary<HelloSpec> = fc.record({
  v: fc.constantFrom<string | null>('1', '1', '1.0'),
  sid: fc.constantFrom<SidSpec>('absent', 'absent', 'own', 'pool', 'unknown', 'max'),
  pick: fc.nat(),
  ack: fc.constantFrom<AckSpec>('absent', 'zero', 'received', 'beyond'),
  token: fc.constant<string | null>('good'),
  max: validMaxArb,
  extra: fc.boolean(),
})
const hostileHelloArb: fc.Arbitrary<HelloSpec> = fc.record({
  v: fc.constantFrom<string | null>('1', '1', null, '2', '"1"', '0', 'null', '1.5'),
  sid: fc.constantFrom<SidSpec>('absent', 'own', 'pool', 'unknown', 'max', 'long', 'empty', 'number', 'null'),
  pick: fc.nat(),
  ack: fc.constantFrom<AckSpec>('absent', 'zero', 'received', 'beyond', 'negative', 'fraction', 'string', 'unsafe', 'null'),
  token: fc.constantFrom<string | null>('good', 'good', null, '"nope"', '""', '7', 'null', JSON.stringify('k'.repeat(3000)), JSON.stringify('k'.repeat(MAX_TOKEN_LENGTH + 1))),
  max: fc.oneof(validMaxArb, fc.constantFrom<string | null>(String(MIN_CLIENT_MAX_BYTES - 1), '0', '-1', '1000.5', '"4096"', 'null', '9007199254740992', '1e999')),
  extra: fc.boolean(),
})
const helloArb = fc.oneof({ weight: 4, arbitrary: goodHelloArb }, { weight: 1, arbitrary: hostileHelloArb })

const GARBAGE = [
  '',
  ' ',
  '{',
  'nul',
  'undefined',
  '[]',
  '[{"type":"ping"}]',
  '1',
  '"req"',
  'null',
  'true',
  '{}',
  '{"type":"REQ","id":"a","method":"echo"}',
  '{"type":"req ","id":"a"}',
  '{"type":1}',
  '{"type":null}',
  '{"type":"welcome","v":1}',
  '{"type":"push","seq":1,"topic":"x"}',
  '{"type":"__proto__"}',
  '{"type":"constructor"}',
  '{"__proto__":{"type":"ping"}}',
  '\ufeff{"type":"ping"}',
  '{"type":"ping"} {"type":"ping"}',
  '{"type":"ping"',
  "{'type':'ping'}",
]
const garbageArb: fc.Arbitrary<FrameSpec> = fc.oneof(
  fc.constantFrom(...GARBAGE).map((text): FrameSpec => ({ f: 'garbage', text })),
  fc.string({ maxLength: 40 }).map((text): FrameSpec => ({ f: 'garbage', text })),
  fc.json({ maxDepth: 2 }).map((text): FrameSpec => ({ f: 'garbage', text })),
)
const pingTsArb = fc.oneof(
  fc.constant<string | null>(null),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((ts) => JSON.stringify(ts)),
  fc.constantFrom<string | null>('1e308', '-1e308', '5e-324', '-0', '0', '1e999', '"now"', 'null', '{}', '[1]', 'true'),
)
const otherFrameArb: fc.Arbitrary<FrameSpec> = fc.oneof(
  { weight: 4, arbitrary: pingTsArb.map((ts): FrameSpec => ({ f: 'ping', ts })) },
  { weight: 3, arbitrary: fc.constantFrom<AckSpec>('zero', 'received', 'received', 'beyond', 'negative', 'fraction', 'string', 'unsafe', 'null', 'absent').map((seq): FrameSpec => ({ f: 'ack', seq })) },
  { weight: 3, arbitrary: garbageArb },
  { weight: 1, arbitrary: helloArb.map((hello): FrameSpec => ({ f: 'hello', hello })) },
  { weight: 1, arbitrary: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant(Buffer.from('{"type":"ping"}'))).map((bytes): FrameSpec => ({ f: 'binary', bytes })) },
  { weight: 1, arbitrary: fc.constant<FrameSpec>({ f: 'badUtf8' }) },
  { weight: 1, arbitrary: fc.record({ f: fc.constant('oversize' as const), over: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 70_000 })), binary: fc.boolean() }) },
  { weight: 3, arbitrary: fc.nat().map((pick): FrameSpec => ({ f: 'repeat', pick })) },
)
const frameArb: fc.Arbitrary<FrameSpec> = fc.oneof(
  { weight: 3, arbitrary: reqArb.map((req): FrameSpec => ({ f: 'req', req })) },
  { weight: 1, arbitrary: otherFrameArb },
)

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 30, arbitrary: reqArb.map((req): Action => ({ a: 'frame', frame: { f: 'req', req } })) },
  { weight: 14, arbitrary: otherFrameArb.map((frame): Action => ({ a: 'frame', frame })) },
  { weight: 8, arbitrary: fc.array(frameArb, { minLength: 2, maxLength: 20 }).map((frames): Action => ({ a: 'burst', frames })) },
  { weight: 2, arbitrary: fc.record({ a: fc.constant('fragmented' as const), req: reqArb, parts: fc.integer({ min: 2, max: 5 }) }) },
  { weight: 3, arbitrary: fc.constant<Action>({ a: 'pause' }) },
  { weight: 3, arbitrary: fc.constant<Action>({ a: 'resume' }) },
  { weight: 1, arbitrary: fc.constant<Action>({ a: 'terminate' }) },
  { weight: 1, arbitrary: fc.constant<Action>({ a: 'close' }) },
  { weight: 3, arbitrary: fc.record({ a: fc.constant('reopen' as const), old: fc.constantFrom('terminate' as const, 'close' as const, 'keep' as const), hello: helloArb }) },
  { weight: 1, arbitrary: fc.constant<Action>({ a: 'flood' }) },
  { weight: 1, arbitrary: fc.integer({ min: 1500, max: 2600 }).map((n): Action => ({ a: 'pressure', count: n })) },
  { weight: 1, arbitrary: fc.constant<Action>({ a: 'wsPing' }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 60 }).map((ms): Action => ({ a: 'wait', ms })) },
)

const topicArb: fc.Arbitrary<TopicSpec> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('news', 'n', 'order.new', '$system').map((text): TopicSpec => ({ t: 'plain', text })) },
  { weight: 3, arbitrary: fc.constant<TopicSpec>({ t: 'notify', text: 'notify' }) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(weirdString(1, MAX_TOPIC_LENGTH), fc.constantFrom('\u0001'.repeat(MAX_TOPIC_LENGTH), '中'.repeat(MAX_TOPIC_LENGTH), '\ud800'.repeat(MAX_TOPIC_LENGTH)))
      .map((text): TopicSpec => ({ t: 'weird', text: fitUnits(text, Math.min(Math.max(text.length, 1), MAX_TOPIC_LENGTH)) })),
  },
  { weight: 1, arbitrary: fc.constantFrom<TopicSpec>({ t: 'empty', text: '' }, { t: 'long', text: 't'.repeat(MAX_TOPIC_LENGTH + 1) }, { t: 'nonString' }) },
)
const dataArb: fc.Arbitrary<DataSpec> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<DataSpec>({ d: 'absent' }) },
  { weight: 3, arbitrary: fc.json({ maxDepth: 3 }).map((text): DataSpec => ({ d: 'json', text })) },
  { weight: 1, arbitrary: fc.constantFrom(...odd.filter((text) => text !== '1e999')).map((text): DataSpec => ({ d: 'json', text })) },
  { weight: 3, arbitrary: fc.record({ d: fc.constant('sized' as const), delta: fc.constantFrom(-200, -70, -20, 0, 1, 500, 20_000), pad: fc.constantFrom(...PAD_UNITS) }) },
  { weight: 4, arbitrary: fc.record({ d: fc.constant('order' as const), n: fc.integer({ min: 0, max: ORDER_POOL - 1 }), valid: fc.integer({ min: 0, max: 4 }).map((n) => n > 0), title: fc.oneof(weirdString(0, 30), fc.constant('机动车年检代办')) }) },
  { weight: 1, arbitrary: fc.constantFrom<DataSpec>({ d: 'bigint' }, { d: 'cycle' }) },
)
const pushArb: fc.Arbitrary<PushSpec> = fc.record({
  via: fc.constantFrom('api' as const, 'api' as const, 'http' as const),
  topic: topicArb,
  data: dataArb,
  to: fc.constantFrom<PushTo>('all', 'all', 'all', 'dev', 'bystander', 'nobody', 'room', 'malformed'),
})

const openingArb: fc.Arbitrary<Opening> = fc.oneof(
  { weight: 10, arbitrary: goodHelloArb.map((hello): Opening => ({ kind: 'hello', hello })) },
  { weight: 3, arbitrary: hostileHelloArb.map((hello): Opening => ({ kind: 'hello', hello })) },
  { weight: 1, arbitrary: frameArb.map((frame): Opening => ({ kind: 'first', frame })) },
  { weight: 1, arbitrary: fc.constant<Opening>({ kind: 'silent' }) },
)
const gapArb = fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 15 }) })
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ who: fc.nat({ max: 3 }), action: actionArb, gap: gapArb }) },
  { weight: 1, arbitrary: fc.record({ who: fc.constant('admin' as const), push: pushArb, gap: gapArb }) },
)
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  actors: fc.array(openingArb, { minLength: 1, maxLength: 4 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 30, size: 'max' }),
})

// ---------------------------------------------------------------------------------------------
// Small helpers.

function objectText(pairs: Array<[string, string]>): string {
  return `{${pairs.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`
}

function own(fields: Fields, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(fields, key) ? fields[key] : undefined
}

function isFields(value: unknown): value is Fields {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function isStringOfLength(value: unknown, min: number, max: number): value is string {
  return typeof value === 'string' && value.length >= min && value.length <= max
}

/** A name the server keeps (topic, user): 1..max units of well-formed UTF-16, which a store gives back unchanged. */
function isNameOfLength(value: unknown, max: number): value is string {
  return isStringOfLength(value, 1, max) && !new RegExp(LONE_SURROGATE.source).test(value)
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/** `text` cut or padded to exactly `units` UTF-16 units (a cut may leave a lone surrogate, on purpose). */
function fitUnits(text: string, units: number): string {
  if (units <= 0) return ''
  return text.length >= units ? text.slice(0, units) : text + 'x'.repeat(units - text.length)
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data)
  return Buffer.from(data)
}

function short(text: string, max = 160): string {
  return text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text
}

/** Adds the time since the last call to the named phase, for the report. */
function timer(): (name: string) => void {
  let last = performance.now()
  return (name) => {
    const now = performance.now()
    count(`ms:${name}`, Math.round(now - last))
    last = now
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10
}

function envInt(name: string, fallback: number): number {
  const value = Number(process.env[name])
  return Number.isSafeInteger(value) && value > 0 ? value : fallback
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

async function waitUntil(predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await predicate()) return true
    if (Date.now() >= deadline) return false
    await delay(5)
  }
}

async function waitFor(predicate: () => boolean, timeoutMs: number, message: string): Promise<void> {
  if (!(await waitUntil(predicate, timeoutMs))) throw new Error(message)
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

// ---------------------------------------------------------------------------------------------

// Jest hands each test file a copy of `process` whose listeners never hear the real events;
// the server runs in this process, so what escapes it surfaces on the real one.
const realProcess = vm.runInThisContext('process') as NodeJS.Process
const onUncaught = (error: unknown): void => {
  world?.escaped.push(`uncaught exception: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
}
const onUnhandled = (reason: unknown): void => {
  world?.escaped.push(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`)
}

let heapBefore = 0
let watchdog: { worker: Worker; timer: NodeJS.Timeout } | null = null

/**
 * A thread that watches this one's heartbeat. A server stuck in a loop blocks every timer here
 * (Jest's included), so the watchdog pauses this thread through the inspector, prints where it
 * is and the run being played, writes that to the report, and kills the process.
 */
const WATCHDOG_SOURCE = `
const fs = require('node:fs')
const inspector = require('node:inspector')
const { workerData } = require('node:worker_threads')
const { beat, wedgeMs, outFile, runFile, cwd } = workerData
let last = -1
let since = Date.now()
let fired = false
setInterval(() => {
  const now = Atomics.load(beat, 0)
  if (now !== last) { last = now; since = Date.now(); return }
  if (fired || Date.now() - since < wedgeMs) return
  fired = true
  const session = new inspector.Session()
  session.connectToMainThread()
  session.on('Debugger.paused', (message) => {
    const stack = message.params.callFrames.slice(0, 12).map((frame) => (frame.functionName || '(anonymous)') + ' ' + frame.url.replace('file://', '').replace(cwd + '/', '') + ':' + (frame.location.lineNumber + 1))
    let run = ''
    try { run = fs.readFileSync(runFile, 'utf8') } catch (error) { run = String(error) }
    const report = { passed: false, wedged: { forMs: Date.now() - since, stack, run: run.length > 20000 ? run.slice(0, 20000) + '…' : run } }
    try { fs.writeFileSync(outFile, JSON.stringify(report, null, 2) + String.fromCharCode(10)) } catch {}
    fs.writeSync(2, 'hostile-client fuzz: the server blocked its thread for ' + report.wedged.forMs + ' ms, in:' + String.fromCharCode(10) + '  ' + stack.join(String.fromCharCode(10) + '  ') + String.fromCharCode(10) + 'run being played: ' + runFile + String.fromCharCode(10))
    process.kill(process.pid, 'SIGKILL')
  })
  session.post('Debugger.enable', () => session.post('Debugger.pause'))
}, 250)
`

function startWatchdog(): void {
  const beat = new Int32Array(new SharedArrayBuffer(4))
  const timer = setInterval(() => Atomics.add(beat, 0, 1), 200)
  timer.unref()
  const worker = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { beat, wedgeMs: WEDGE_MS, outFile: OUT_FILE, runFile: CURRENT_RUN_FILE, cwd: process.cwd() } })
  worker.unref()
  watchdog = { worker, timer }
}

const devAuth = staticTokenAuth(TOKEN)
const authenticate: Authenticate = (token, context) => (token === BYSTANDER_TOKEN ? BYSTANDER_IDENTITY : devAuth(token, context))

beforeAll(async () => {
  realProcess.on('uncaughtException', onUncaught)
  realProcess.on('unhandledRejection', onUnhandled)
  fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true })
  startWatchdog()
  const logLines: string[] = []
  const server = await startTestServer({
    host: '127.0.0.1',
    maxFrameBytes: MAX_FRAME_BYTES,
    helloTimeoutMs: HELLO_TIMEOUT_MS,
    rateLimit: RATE_LIMIT,
    // Trimming often: remembered answers of every kind of id are forgotten again and again.
    answeredLimit: 100,
    authenticate,
    log: (line) => {
      if (logLines.length < 100_000) logLines.push(line)
    },
  })
  const bystander = new Bystander(server.wsUrl)
  world = {
    server,
    bystander,
    sidPool: new Map(),
    usedIds: new Set(),
    knownOrders: new Set(SEEDED_ORDERS),
    adminLog: [],
    logLines,
    escaped: [],
    stats: {},
    idCounter: 0,
    running: 'before the first run',
    slowest: [],
    slowestRuns: [],
  }
  await bystander.start()
  heapBefore = process.memoryUsage().heapUsed
})

afterAll(async () => {
  try {
    await world?.bystander.stop()
    await world?.server.close()
  } finally {
    if (watchdog) {
      clearInterval(watchdog.timer)
      await watchdog.worker.terminate()
    }
    fs.rmSync(CURRENT_RUN_FILE, { force: true })
    realProcess.off('uncaughtException', onUncaught)
    realProcess.off('unhandledRejection', onUnhandled)
  }
})

const TEST_TIMEOUT_MS = Math.max(180_000, RUNS * 6_000)

it(
  `survives ${RUNS} runs of hostile clients, and a bystander is served throughout`,
  async () => {
    const started = Date.now()
    let failure: unknown = null
    try {
      await fc.assert(fc.asyncProperty(scenarioArb, runScenario), {
        numRuns: RUNS,
        seed: SEED,
        interruptAfterTimeLimit: TEST_TIMEOUT_MS - 30_000,
        markInterruptAsFailure: true,
      })
    } catch (error) {
      failure = error
    }
    // A settle without gc: what stays is what the server keeps, plus garbage not yet collected.
    await delay(1000)
    const heapAfter = process.memoryUsage().heapUsed
    const latency = world.bystander.stats
    const report = {
      runs: RUNS,
      seed: SEED ?? null,
      passed: failure === null,
      durationMs: Date.now() - started,
      bystander: latency,
      heapUsedMB: { before: mb(heapBefore), after: mb(heapAfter), growth: mb(heapAfter - heapBefore) },
      rssMB: mb(process.memoryUsage().rss),
      bystanderSlowest: world.slowest,
      slowestRuns: world.slowestRuns,
      coverage: Object.fromEntries(Object.entries(world.stats).sort(([a], [b]) => a.localeCompare(b))),
    }
    fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true })
    fs.writeFileSync(OUT_FILE, `${JSON.stringify(report, null, 2)}\n`)
    console.log(
      `hostile-client fuzz: ${RUNS} runs in ${report.durationMs} ms; bystander ${latency.answered}/${latency.echoes} echoes, ` +
        `latency max ${latency.maxMs} ms, p95 ${latency.p95Ms} ms; heap +${report.heapUsedMB.growth} MB; → ${path.relative(process.cwd(), OUT_FILE)}`,
    )
    if (failure !== null) throw failure
    expect(heapAfter - heapBefore).toBeLessThan(HEAP_GROWTH_LIMIT_BYTES)
    // The server still serves a newcomer after all of it.
    const late = new Bystander(world.server.wsUrl)
    await late.start()
    await delay(100)
    const problems: string[] = []
    await late.drain(problems)
    await late.stop()
    expect(problems).toEqual([])
  },
  TEST_TIMEOUT_MS,
)

function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10
}
