/**
 * The sessions attached to this instance and their connections: hello (a new session or a
 * resume with in-order replay), takeover by a newer connection on any instance (4410), pushes
 * delivered by the store, acks, and the periodic sweep.
 *
 * A connection holds its session with a generation; a delivery or takeover for an older one is
 * ignored, so a connection that lost its session never hears of what came after. Every push is
 * in the session's log before it is delivered, so a delivery missed here (raced by the attach,
 * or lost by the bus) is noticed by a position check and read from the log instead.
 */
import { MAX_TOPIC_LENGTH } from './constants'
import { CodedError } from './errors'
import type { ServerMetrics } from './metrics'
import { isStorableName, pushFrameFromTail, pushFrameTail, welcomeFrame } from './protocol'
import type { HelloFrame } from './protocol'
import type { DeliveryBatch, PushSpec, PushTarget, Store, StoreEvents, StoredPush } from './store/types'

/** A session as the connection serving it holds it. */
export interface ActiveSession {
  readonly sid: string
  readonly identity: string
  readonly gen: number
  /** Its topics, as last written. */
  topics: Set<string>
}

/** The side of a connection the hub talks to. */
export interface SessionPeer {
  /** Starts serving `session`: the welcome, then the pushes `replayFrom..lastSeq` from its log, then live ones. */
  begin(session: ActiveSession, welcome: string, replayFrom: number, lastSeq: number): void
  /** A live push (its frame encoded); one already sent is dropped, one beyond the next is sent after those between. */
  deliver(seq: number, frame: Buffer, topicJson: string): void
  /** The session's log reaches `lastSeq`: what of it was not sent yet is sent. */
  catchUp(lastSeq: number): void
  /** The seq of the last push sent or queued. */
  readonly lastQueuedSeq: number
  /** Ends the connection with `error` replaced + 4410: a newer connection took the session. */
  replace(): void
}

export interface SessionHubDeps {
  store: Store
  metrics: ServerMetrics
  heartbeatMs: number
  maxFrameBytes: number
  log(line: string): void
}

/** Room for `{"type":"push","seq":<16 digits>,"topic":…,"data":…}` around topic and data. */
const PUSH_FRAME_OVERHEAD_BYTES = 64

interface Attached {
  peer: SessionPeer
  gen: number
}

export class SessionHub implements StoreEvents {
  private readonly deps: SessionHubDeps
  private readonly live = new Map<string, Attached>()

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
   * of sessions, all connected; null when a newer connection took the session meanwhile.
   */
  async attach(peer: SessionPeer, hello: HelloFrame, identity: string, nowMs: number): Promise<ActiveSession | null> {
    const { store, metrics } = this.deps
    const outcome = await store.attach({ identity, sid: hello.sid, ack: hello.ack, nowMs })
    if (!outcome.ok) throw new CodedError('limit', outcome.message)
    const { lease, resumed } = outcome
    const previous = this.live.get(lease.sid)
    if (previous && previous.peer !== peer) {
      if (previous.gen > lease.gen) {
        // Two hellos raced on this instance and the other one won.
        peer.replace()
        return null
      }
      previous.peer.replace()
    }
    const entry: Attached = { peer, gen: lease.gen }
    this.live.set(lease.sid, entry)
    const session: ActiveSession = { sid: lease.sid, identity, gen: lease.gen, topics: new Set(lease.topics) }
    const replayFrom = resumed ? hello.ack + 1 : lease.lastSeq + 1
    peer.begin(session, welcomeFrame(lease.sid, resumed, this.deps.heartbeatMs, this.deps.maxFrameBytes), replayFrom, lease.lastSeq)
    metrics.hellos.inc({ resumed: String(resumed) })
    if (resumed) metrics.replays.inc(lease.lastSeq - hello.ack)
    // Pushes appended between the attach and now were delivered before the peer was known here.
    this.check(lease.sid, entry)
    return session
  }

  /** Unbinds `peer` from its session (when still bound) and starts the session's expiry clock. */
  detach(peer: SessionPeer, session: ActiveSession, nowMs: number): void {
    if (this.live.get(session.sid)?.peer === peer) this.live.delete(session.sid)
    this.deps.store.detach(session.sid, session.gen, nowMs)
  }

  /** Up to `maxCount` pushes of the session from `fromSeq` on, in order (fewer when the log lost them). */
  pushesFrom(session: ActiveSession, fromSeq: number, maxCount: number): Promise<StoredPush[]> {
    return this.deps.store.pushesFrom(session.sid, fromSeq, maxCount)
  }

  /** Records a cumulative ack; false when `seq` is beyond the last push sent (a sequence error). */
  ack(peer: SessionPeer, session: ActiveSession, seq: number): boolean {
    if (seq > peer.lastQueuedSeq) return false
    this.deps.store.ack(session.sid, session.gen, seq)
    return true
  }

  /**
   * A push to append, checked. Throws CodedError `bad_request` (bad topic, data not JSON) or
   * `too_large` (frame over the limit).
   */
  pushSpec(target: PushTarget, topic: string, data: unknown): PushSpec {
    if (!isStorableName(topic, MAX_TOPIC_LENGTH)) {
      throw new CodedError('bad_request', `topic must be a well-formed string of 1..${MAX_TOPIC_LENGTH} characters`)
    }
    const dataJson = serialize(data)
    const frameBytes = Buffer.byteLength(JSON.stringify(topic)) + (dataJson === null ? 0 : Buffer.byteLength(dataJson)) + PUSH_FRAME_OVERHEAD_BYTES
    if (frameBytes > this.deps.maxFrameBytes) {
      throw new CodedError('too_large', `the push frame would be about ${frameBytes} bytes, over the ${this.deps.maxFrameBytes} byte limit`)
    }
    return { target, topic, dataJson }
  }

  // ---- what the store tells this instance -----------------------------------------------------

  delivered(batch: DeliveryBatch): void {
    const topicJson = JSON.stringify(batch.topic)
    // Encoded once; each session's frame only differs in its seq.
    const tail = pushFrameTail(topicJson, batch.dataJson)
    for (const [sid, gen, seq] of batch.to) {
      const entry = this.live.get(sid)
      if (entry && entry.gen === gen) entry.peer.deliver(seq, pushFrameFromTail(seq, tail), topicJson)
    }
  }

  replaced(sid: string, gen: number): void {
    const entry = this.live.get(sid)
    if (!entry || entry.gen >= gen) return
    this.live.delete(sid)
    entry.peer.replace()
  }

  resync(): void {
    for (const [sid, entry] of this.live) this.check(sid, entry)
  }

  /** Keeps attached sessions alive, expires idle ones, writes acks. */
  sweep(nowMs: number): Promise<void> {
    const attached: Array<[string, number]> = []
    for (const [sid, entry] of this.live) attached.push([sid, entry.gen])
    return this.deps.store.sweep(nowMs, attached)
  }

  /** Compares what `entry` was sent with the session's log now: sends what it missed, or lets it go if the session moved on. */
  private check(sid: string, entry: Attached): void {
    this.deps.store.position(sid).then(
      (position) => {
        if (this.live.get(sid) !== entry) return
        if (!position || position.gen !== entry.gen) {
          this.live.delete(sid)
          entry.peer.replace()
          return
        }
        entry.peer.catchUp(position.lastSeq)
      },
      (error: unknown) => this.deps.log(`position of session ${sid} could not be read: ${String(error)}`),
    )
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
