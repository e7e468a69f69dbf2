/**
 * What one connection sends, in order, paced by its socket's buffer.
 *
 * Frames go straight to the socket while it keeps up. Once the socket holds `highWaterBytes`
 * unsent, or while a replay is under way, they queue behind it and leave as the socket drains.
 * Pushes never queue as bytes: a run of pushes is a seq range read from the session's log when
 * it is its turn, so a replay of the whole log, or a client that reads slowly while pushes keep
 * coming, costs a few numbers of memory instead of megabytes, and always completes.
 *
 * No frame over the client's limit (hello.max) is written: a push that would be is replaced by
 * its stub (same seq and topic, `error` too_large, no data); answers are sized by the dispatcher.
 */
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import { oversizedPushFrame, pushFrame } from './protocol'
import type { StoredPush } from './store/types'

/** A push as handed to a connection: its seq, its encoded frame, and its topic as JSON. */
export interface PushOut {
  readonly seq: number
  readonly frame: Buffer
  readonly topicJson: string
}

/** What a connection is asked to send: a frame's text, or a push. */
export type OutgoingFrame = string | PushOut

/** Reads up to `maxCount` pushes of the session with seq >= `fromSeq`, in order. */
export type PushLoader = (fromSeq: number, maxCount: number) => Promise<StoredPush[]>

export interface OutboundLimits {
  /** Above this many unsent bytes in the socket, frames wait (default 1 MiB). */
  highWaterBytes: number
  /** Most bytes of non-push frames (answers, pongs) that may wait; over it the peer is cut. */
  maxQueuedBytes: number
  /** Pushes read from the log per batch. */
  replayBatch: number
}

export const DEFAULT_OUTBOUND_LIMITS: OutboundLimits = {
  highWaterBytes: 1024 * 1024,
  maxQueuedBytes: 4 * 1024 * 1024,
  replayBatch: 64,
}

type Queued = { kind: 'frame'; data: string | Buffer; bytes: number } | { kind: 'pushes'; from: number; to: number }

export interface OutboundEvents {
  /** The peer let `maxQueuedBytes` pile up: it is not reading. The owner cuts it. */
  overflow(queuedBytes: number): void
  /** The log no longer holds pushes this connection still has to send (trimmed under it). */
  lostPushes(fromSeq: number): void
  /** The log could not be read. */
  loadFailed(error: unknown): void
}

const OPEN = 1
const TEXT = { binary: false } as const

export class Outbound {
  /** The largest frame the client accepts (hello.max). */
  maxFrameBytes: number
  private readonly queue: Queued[] = []
  private queuedFrameBytes = 0
  private waitingForDrain = false
  private loader: PushLoader | null = null
  /** A batch of pushes is being read from the log: the queue waits for it. */
  private loading = false
  /** The seq the next push sent must have: older ones were sent, newer ones are read from the log first. */
  private nextSeq = 1
  private stopped = false
  /** Waiting for the queue to empty (a close that lets the answers before it out first). */
  private readonly flushed: Array<() => void> = []

  constructor(
    private readonly socket: WebSocket,
    private readonly limits: OutboundLimits,
    private readonly events: OutboundEvents,
    maxFrameBytes: number,
  ) {
    this.maxFrameBytes = maxFrameBytes
  }

  /** True while frames wait (a replay, or a socket that is behind). */
  get busy(): boolean {
    return this.queue.length > 0
  }

  /** Where replayed and deferred pushes are read from (set once the session is known). */
  useLog(loader: PushLoader): void {
    this.loader = loader
  }

  /** Sends a frame after everything queued before it. */
  frame(data: string | Buffer): void {
    if (this.stopped) return
    if (this.queue.length === 0 && !this.behind()) {
      this.write(data)
      return
    }
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length
    this.queuedFrameBytes += bytes
    this.queue.push({ kind: 'frame', data, bytes })
    if (this.queuedFrameBytes > this.limits.maxQueuedBytes) {
      this.stop()
      this.events.overflow(this.queuedFrameBytes)
      return
    }
    this.wait()
  }

  /**
   * Sends push `seq` (its frame already encoded) after everything queued before it. A seq
   * already sent is dropped; one beyond the next expected is sent after the pushes between,
   * read from the log (a delivery that was missed or overtaken).
   */
  push(seq: number, data: Buffer | string, topicJson: string): void {
    if (this.stopped || seq < this.nextSeq) return
    if (seq > this.nextSeq || this.queue.length > 0 || this.behind()) {
      this.deferPushes(this.nextSeq, seq)
      return
    }
    this.nextSeq = seq + 1
    this.writePush(seq, data, topicJson)
  }

  /** Queues the pushes `fromSeq..toSeq` (a replay); they are read from the log in batches. Later pushes follow them. */
  replay(fromSeq: number, toSeq: number): void {
    if (this.stopped) return
    if (fromSeq > toSeq) {
      this.nextSeq = Math.max(this.nextSeq, toSeq + 1)
      return
    }
    this.deferPushes(fromSeq, toSeq)
  }

  /** The session's log reaches `lastSeq`: what of it was not sent yet is read from the log and sent. */
  catchUp(lastSeq: number): void {
    if (this.stopped || lastSeq < this.nextSeq) return
    this.deferPushes(this.nextSeq, lastSeq)
  }

  /** The seq of the last push sent or queued. */
  get lastQueuedSeq(): number {
    return this.nextSeq - 1
  }

  /** Calls `done` once everything queued so far was handed to the socket (at once when nothing is). */
  whenFlushed(done: () => void): void {
    if (this.queue.length === 0) done()
    else this.flushed.push(done)
  }

  /** Drops everything queued; nothing more is written. */
  stop(): void {
    this.stopped = true
    this.queue.length = 0
    this.queuedFrameBytes = 0
    this.flushed.length = 0
  }

  private deferPushes(from: number, to: number): void {
    this.nextSeq = to + 1
    const last = this.queue[this.queue.length - 1]
    if (last?.kind === 'pushes' && last.to === from - 1) last.to = to
    else this.queue.push({ kind: 'pushes', from, to })
    this.wait()
  }

  private behind(): boolean {
    return this.socket.bufferedAmount >= this.limits.highWaterBytes
  }

  private wait(): void {
    if (this.waitingForDrain) return
    this.waitingForDrain = true
    const resume = (): void => {
      this.waitingForDrain = false
      this.pump()
    }
    const raw = rawSocketOf(this.socket)
    // 'drain': the kernel took what the socket held, so there is room again.
    if (raw && this.behind()) raw.once('drain', resume)
    else setImmediate(resume)
  }

  /** Writes queued frames until the socket is behind, the queue is empty, or a read from the log is under way. */
  private pump(): void {
    if (this.stopped || this.loading || this.socket.readyState !== OPEN) return
    const raw = rawSocketOf(this.socket)
    // One syscall for a batch instead of one per frame; ws has no public cork.
    raw?.cork()
    try {
      while (this.queue.length > 0 && !this.behind()) {
        const head = this.queue[0]
        if (head.kind === 'frame') {
          this.queue.shift()
          this.queuedFrameBytes -= head.bytes
          this.write(head.data)
          continue
        }
        this.loadPushBatch(head)
        return
      }
    } finally {
      raw?.uncork()
    }
    if (this.queue.length > 0) this.wait()
    else for (const done of this.flushed.splice(0)) done()
  }

  /** Reads the next batch of a pushes range, sends it, and carries on; the owner is told when the log lost them. */
  private loadPushBatch(range: { from: number; to: number }): void {
    const count = Math.min(this.limits.replayBatch, range.to - range.from + 1)
    this.loading = true
    const load = this.loader ? this.loader(range.from, count) : Promise.resolve([])
    load.then(
      (pushes) => {
        this.loading = false
        if (this.stopped) return
        if (pushes.length === 0 || pushes[0].seq !== range.from) {
          this.stop()
          this.events.lostPushes(range.from)
          return
        }
        const raw = rawSocketOf(this.socket)
        raw?.cork()
        for (const push of pushes) {
          if (push.seq > range.to) break
          const topicJson = JSON.stringify(push.topic)
          this.writePush(push.seq, pushFrame(push.seq, topicJson, push.data), topicJson)
          range.from = push.seq + 1
        }
        raw?.uncork()
        if (range.from > range.to && this.queue[0] === range) this.queue.shift()
        this.pump()
      },
      (error: unknown) => {
        this.loading = false
        if (this.stopped) return
        this.stop()
        this.events.loadFailed(error)
      },
    )
  }

  private writePush(seq: number, frame: Buffer | string, topicJson: string): void {
    const bytes = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length
    this.write(bytes > this.maxFrameBytes ? oversizedPushFrame(seq, topicJson, bytes, this.maxFrameBytes) : frame)
  }

  private write(data: string | Buffer): void {
    if (this.socket.readyState !== OPEN) return
    if (typeof data === 'string') this.socket.send(data)
    else this.socket.send(data, TEXT)
  }
}

/** The TCP socket under a ws socket (ws keeps it private; absent once closed). */
function rawSocketOf(socket: WebSocket): Socket | undefined {
  return (socket as unknown as { _socket?: Socket })._socket
}
