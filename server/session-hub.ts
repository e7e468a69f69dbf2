/**
 * Sessions and their live connections: hello (a new session or a resume with in-order replay),
 * takeover of a session by a newer connection of its identity (4410), pushes to everyone, to
 * one identity or to a topic, acks, and the periodic sweep that expires idle sessions.
 */
import { MAX_TOPIC_LENGTH } from './constants'
import type { Database } from './database'
import { CodedError } from './errors'
import type { ServerMetrics } from './metrics'
import type { OutgoingFrame } from './outbound'
import { pushFrameFromTail, pushFrameTail, welcomeFrame } from './protocol'
import type { HelloFrame } from './protocol'
import type { PushTarget, SessionState, SessionStore, StoredPush } from './session-store'

/** The side of a connection the hub talks to. */
export interface SessionPeer {
  /**
   * Writes a frame once the running transaction (if any) commits, in call order; dropped when
   * the transaction rolls back or the socket is no longer open.
   */
  send(frame: OutgoingFrame): void
  /** Sends the session's pushes `fromSeq..toSeq` from its log, after what was sent before, paced. */
  replay(fromSeq: number, toSeq: number): void
  /** Ends the connection with `error` replaced + 4410: a newer connection took the session. */
  replace(): void
}

export interface SessionHubDeps {
  db: Database
  store: SessionStore
  metrics: ServerMetrics
  heartbeatMs: number
  sessionTtlMs: number
  maxFrameBytes: number
  maxSessionsPerIdentity: number
  maxSessions: number
}

/** Room for `{"type":"push","seq":<16 digits>,"topic":…,"data":…}` around topic and data. */
const PUSH_FRAME_OVERHEAD_BYTES = 64

export class SessionHub {
  private readonly deps: SessionHubDeps
  /** Sessions with a connection attached, and that connection. */
  private readonly live = new Map<SessionState, SessionPeer>()

  constructor(deps: SessionHubDeps) {
    this.deps = deps
  }

  /** Connected sessions. */
  get liveCount(): number {
    return this.live.size
  }

  /**
   * Answers a hello of `identity`: resumes the asked session when it is the identity's own and
   * every push after `hello.ack` is still held (welcome resumed:true, then those pushes in
   * order), else starts a new session (resumed:false). Another identity's sid is an unknown sid:
   * its session is not touched. Throws CodedError `limit` when the identity holds its maximum
   * of sessions, all connected.
   */
  attach(peer: SessionPeer, hello: HelloFrame, identity: string, nowMs: number): SessionState {
    const { db, store, metrics } = this.deps
    const asked = hello.sid === undefined ? undefined : store.get(hello.sid)
    const known = asked && asked.identity === identity ? asked : undefined
    const resumable = known !== undefined && store.canResume(known, hello.ack)
    if (known) {
      const previous = this.live.get(known)
      if (previous && previous !== peer) {
        this.live.delete(known)
        previous.replace()
      }
    }
    const session = resumable
      ? known
      : db.transaction(() => {
          // Its pushes are gone or its ack is from another life: it cannot be resumed.
          if (known) store.delete(known)
          this.makeRoom(identity)
          return store.create(identity, nowMs)
        })
    store.touch(session, nowMs)
    this.live.set(session, peer)
    peer.send(welcomeFrame(session.sid, resumable, this.deps.heartbeatMs, this.deps.maxFrameBytes))
    metrics.hellos.inc({ resumed: String(resumable) })
    if (resumable) {
      store.recordAck(session, hello.ack)
      const lastSeq = store.lastSeq(session)
      // Read from the log as the socket drains: a replay of any size completes.
      peer.replay(hello.ack + 1, lastSeq)
      metrics.replays.inc(lastSeq - hello.ack)
    }
    return session
  }

  /** Unbinds `peer` from its session (when still bound) and starts the session's expiry clock. */
  detach(peer: SessionPeer, session: SessionState, nowMs: number): void {
    if (this.live.get(session) === peer) this.live.delete(session)
    if (this.deps.store.get(session.sid) === session) this.deps.store.touch(session, nowMs)
  }

  /** Records a cumulative ack; false when `seq` is beyond the last push sent (a sequence error). */
  ack(session: SessionState, seq: number): boolean {
    if (seq > this.deps.store.lastSeq(session)) return false
    this.deps.store.recordAck(session, seq)
    return true
  }

  /** Up to `maxCount` pushes of the session from `fromSeq` on, in order (fewer when the log lost them). */
  pushesFrom(session: SessionState, fromSeq: number, maxCount: number): StoredPush[] {
    return this.deps.store.pushesFrom(session, fromSeq, maxCount)
  }

  /** The seq of the session's last push (0 before the first). */
  lastSeq(session: SessionState): number {
    return this.deps.store.lastSeq(session)
  }

  /**
   * Appends a push to every session `target` reaches (connected or not) and sends it to the
   * connected ones once the append is committed. Returns the number of sessions reached.
   * Throws CodedError `bad_request` (bad topic, data not JSON) or `too_large` (frame over the limit).
   */
  publish(target: PushTarget, topic: string, data: unknown): number {
    if (typeof topic !== 'string' || topic.length < 1 || topic.length > MAX_TOPIC_LENGTH) {
      throw new CodedError('bad_request', `topic must be a string of 1..${MAX_TOPIC_LENGTH} characters`)
    }
    const dataJson = serialize(data)
    const topicJson = JSON.stringify(topic)
    const frameBytes = Buffer.byteLength(topicJson) + (dataJson === null ? 0 : Buffer.byteLength(dataJson)) + PUSH_FRAME_OVERHEAD_BYTES
    if (frameBytes > this.deps.maxFrameBytes) {
      throw new CodedError('too_large', `the push frame would be about ${frameBytes} bytes, over the ${this.deps.maxFrameBytes} byte limit`)
    }
    const { db, store, metrics } = this.deps
    const deliveries = store.append(target, topic, dataJson)
    db.afterCommit(() => metrics.pushes.inc(deliveries.length))
    // Encoded once; each session's frame only differs in its seq. Peers queue their writes
    // until the append is committed (dropped if it rolls back).
    const tail = pushFrameTail(topicJson, dataJson)
    for (const { session, seq } of deliveries) {
      this.live.get(session)?.send({ seq, frame: pushFrameFromTail(seq, tail), topicJson })
    }
    return deliveries.length
  }

  /** Keeps live sessions fresh, expires the ones unused for the TTL and old answers, flushes acks. Returns how many expired. */
  sweep(nowMs: number): number {
    const { store } = this.deps
    for (const session of this.live.keys()) store.touch(session, nowMs)
    const expired = store.expire(nowMs, this.deps.sessionTtlMs, (session) => this.live.has(session))
    store.flush()
    return expired
  }

  /**
   * Before a new session of `identity`: at its limit (or the server's), its least recently used
   * idle session goes (then the server's); when all of them are connected, the hello is refused.
   */
  private makeRoom(identity: string): void {
    const { store, maxSessionsPerIdentity, maxSessions } = this.deps
    const own = store.sessionsOf(identity)
    if (own.size >= maxSessionsPerIdentity) {
      const idle = this.leastRecentlyUsedIdle(own)
      if (!idle) throw new CodedError('limit', `identity ${identity} already has ${own.size} connected sessions`)
      store.delete(idle)
    }
    if (store.size >= maxSessions) {
      const idle = this.leastRecentlyUsedIdle(store.sessionsFor({ kind: 'all' }), 1000)
      if (!idle) throw new CodedError('limit', `the server holds ${store.size} connected sessions`)
      store.delete(idle)
    }
  }

  /** The idle session seen longest ago among the first `scan` of `sessions`. */
  private leastRecentlyUsedIdle(sessions: Iterable<SessionState>, scan = Infinity): SessionState | undefined {
    let oldest: SessionState | undefined
    let seen = 0
    for (const session of sessions) {
      if (seen++ >= scan) break
      if (this.live.has(session)) continue
      if (!oldest || session.lastSeenMs < oldest.lastSeenMs) oldest = session
    }
    return oldest
  }
}

function serialize(data: unknown): string | null {
  if (data === undefined) return null
  let json: string | undefined
  try {
    json = JSON.stringify(data)
  } catch (error) {
    throw new CodedError('bad_request', `push data is not JSON-serializable: ${(error as Error).message}`)
  }
  // JSON.stringify returns undefined for functions and symbols: such data is simply absent.
  return json === undefined ? null : json
}
